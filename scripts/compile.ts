/**
 * `deno task compile`: single binaries for linux x86_64 and aarch64 into dist/. Needs a machine
 * that can download Deno's runtime for each target (deno compile fetches it).
 */
const targets = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"];
for (const target of targets) {
  const out = `dist/berth-${target}`;
  const cmd = new Deno.Command(Deno.execPath(), {
    args: [
      "compile",
      "--frozen",
      "--target",
      target,
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      "--output",
      out,
      "main.ts",
    ],
    stdout: "inherit",
    stderr: "inherit",
  });
  const { code } = await cmd.output();
  if (code !== 0) Deno.exit(code);
}
