/**
 * `deno task compile`: single binaries for linux x86_64 and aarch64 into dist/. Needs a machine
 * that can download Deno's runtime for each target (deno compile fetches it); everything else
 * runs through `deno run`/`deno task` without it.
 *
 * The binaries carry narrow permissions: network, reading (config, CA and secret files may be
 * anywhere), the environment (`${VAR}` in the config), and writing only to the state directory
 * and the temporary directory (the demo's state). Run the binary with its state file under
 * `BERTH_STATE_DIR` (default /var/lib/berth), as the systemd unit, the image and the Kubernetes
 * manifests in deploy/ do.
 */
import { V8_FLAGS_ARG } from "../lib/v8_flags.ts";
import { VERSION } from "../lib/version.ts";

/** The targets `deno compile` builds. */
export const TARGETS = ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"] as const;

/**
 * The permissions the binary carries: network, reading, the environment, and writing only to
 * the state directory and the temporary directory (`tests/first_run_test.ts` runs main.ts with
 * exactly these).
 */
export function binaryPermissions(options: { stateDir: string; tmpDir: string }): string[] {
  return [
    "--allow-net",
    "--allow-read",
    `--allow-write=${options.stateDir},${options.tmpDir}`,
    "--allow-env",
  ];
}

/**
 * The environment the binary carries (`deno compile --env-file` embeds it): its state directory
 * is the one it may write, so a binary built for `/srv/berth` defaults to `/srv/berth/berth.db`.
 * A BERTH_STATE_DIR set when the binary runs wins over it.
 */
export function binaryEnv(options: { stateDir: string }): string {
  return `BERTH_STATE_DIR=${options.stateDir}\n`;
}

/** The `deno compile` arguments for one target; `envFile` holds {@link binaryEnv}. */
export function compileArgs(
  target: string,
  options: { stateDir: string; tmpDir: string; outDir: string; envFile: string },
): string[] {
  return [
    "compile",
    "--frozen",
    "--target",
    target,
    ...binaryPermissions(options),
    `--env-file=${options.envFile}`,
    V8_FLAGS_ARG,
    "--output",
    `${options.outDir}/berth-${VERSION}-${target}`,
    "main.ts",
  ];
}

if (import.meta.main) {
  const options = {
    stateDir: Deno.env.get("BERTH_STATE_DIR") ?? "/var/lib/berth",
    tmpDir: Deno.env.get("TMPDIR") ?? "/tmp",
    outDir: "dist",
    envFile: "dist/berth.env",
  };
  await Deno.mkdir(options.outDir, { recursive: true });
  await Deno.writeTextFile(options.envFile, binaryEnv(options));
  for (const target of TARGETS) {
    const { code } = await new Deno.Command(Deno.execPath(), {
      args: compileArgs(target, options),
      stdout: "inherit",
      stderr: "inherit",
    }).output();
    if (code !== 0) {
      // deno compile downloads the runtime of each target; say so when that is what failed
      Deno.stderr.writeSync(
        new TextEncoder().encode(
          `deno compile failed for ${target}; it needs to download Deno's runtime ` +
            "(dl.deno.land), so run it on a connected machine\n",
        ),
      );
      Deno.exit(code);
    }
  }
}
