/**
 * The copied binary's first run: `main.ts` through `deno run` with exactly the permissions
 * `deno task compile` gives the binary (write: the state directory and the temporary directory,
 * here both temporary), a config with no `state_file`, on the demo's fakes over loopback.
 */
import assert from "node:assert/strict";
import { defaultStateFile, stateFileProblem } from "../lib/cli/wire.ts";
import { startDemoSite } from "../lib/demo/site.ts";
import { BerthError } from "../lib/errors.ts";
import { realWorld } from "../lib/world.ts";
import { binaryEnv, binaryPermissions } from "../scripts/compile.ts";
import { agentArgs, startAgent } from "./support/agent_process.ts";

/** What Deno needs from the environment to find its cache; nothing else is inherited. */
function baseEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const name of ["PATH", "HOME", "DENO_DIR", "XDG_CACHE_HOME"]) {
    const value = Deno.env.get(name);
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** A temporary directory with the demo site's config (no state_file), removed at the end. */
async function firstRunSetup() {
  const stack = new AsyncDisposableStack();
  const dir = await Deno.makeTempDir({ prefix: "berth-first-run-" });
  stack.defer(() => Deno.remove(dir, { recursive: true }));
  const site = stack.use(await startDemoSite(realWorld().serve, { now: () => Date.now() }));
  const config = `${dir}/config.yaml`;
  await Deno.writeTextFile(config, site.config({ listen: "127.0.0.1:0" }));
  assert.doesNotMatch(await Deno.readTextFile(config), /state_file/);
  await Deno.mkdir(`${dir}/tmp`);
  const permissions = binaryPermissions({ stateDir: `${dir}/state`, tmpDir: `${dir}/tmp` });
  return { dir, config, permissions, [Symbol.asyncDispose]: () => stack.disposeAsync() };
}

/** `berth run` with the binary's permissions until it exits: its code and stderr lines. */
async function runToExit(
  setup: { dir: string; config: string; permissions: string[] },
  env: Record<string, string>,
): Promise<{ code: number; lines: string[] }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: agentArgs(["run", "-c", setup.config], { permissions: setup.permissions }),
    cwd: setup.dir,
    env: { ...baseEnv(), ...env },
    clearEnv: true,
    stdout: "null",
    stderr: "piped",
  }).output();
  const lines = new TextDecoder().decode(out.stderr).split("\n").filter((l) => l.trim() !== "");
  return { code: out.code, lines };
}

Deno.test("the binary's permissions and no state_file: berth run creates $BERTH_STATE_DIR/berth.db and answers /healthz", async () => {
  await using setup = await firstRunSetup();
  const stateDir = `${setup.dir}/state`;
  await using agent = await startAgent(setup.config, {
    permissions: setup.permissions,
    env: { ...baseEnv(), BERTH_STATE_DIR: stateDir, TMPDIR: `${setup.dir}/tmp` },
    cwd: setup.dir,
  });
  const res = await fetch(`${agent.url}healthz`);
  await res.body?.cancel();
  assert.equal(res.status, 200);
  // created by Berth (the directory did not exist), private
  assert.equal((await Deno.stat(stateDir)).mode! & 0o777, 0o700);
  assert.equal((await Deno.stat(`${stateDir}/berth.db`)).mode! & 0o777, 0o600);
  agent.child.kill("SIGTERM");
  assert.equal((await agent.child.status).code, 0);
});

Deno.test("a binary built for another state directory defaults to it: its environment, no BERTH_STATE_DIR at run time", async () => {
  await using setup = await firstRunSetup();
  const stateDir = `${setup.dir}/state`;
  // what deno compile embeds with --env-file; deno run --env-file loads it the same way
  await Deno.writeTextFile(`${setup.dir}/berth.env`, binaryEnv({ stateDir }));
  await using agent = await startAgent(setup.config, {
    permissions: [...setup.permissions, `--env-file=${setup.dir}/berth.env`],
    env: { ...baseEnv(), TMPDIR: `${setup.dir}/tmp` },
    cwd: setup.dir,
  });
  const res = await fetch(`${agent.url}healthz`);
  await res.body?.cancel();
  assert.equal(res.status, 200);
  assert.equal((await Deno.stat(`${stateDir}/berth.db`)).mode! & 0o777, 0o600);
  agent.child.kill("SIGTERM");
  assert.equal((await agent.child.status).code, 0);
});

Deno.test("the binary's permissions and no state_file or BERTH_STATE_DIR: berth run exits 1 with one line naming /var/lib/berth and what to set", async () => {
  await using setup = await firstRunSetup();
  // the working directory is not writable under these permissions: the default is /var/lib/berth
  const { code, lines } = await runToExit(setup, {});
  assert.equal(code, 1);
  assert.equal(lines.length, 1, lines.join("\n"));
  assert.match(
    lines[0] ?? "",
    /state file \/var\/lib\/berth\/berth\.db: this Berth may not write in \/var\/lib\/berth: .*the state directory it was built for .*unset BERTH_STATE_DIR, state_file and --state to use it, or point BERTH_STATE_DIR, state_file or --state at a path inside it/,
  );
});

Deno.test("the binary's permissions and a state directory that cannot be created: berth run exits 1 with one line saying what to create", async () => {
  await using setup = await firstRunSetup();
  // a file where the state directory's parent should be: the OS refuses the directory
  await Deno.writeTextFile(`${setup.dir}/state`, "");
  const stateDir = `${setup.dir}/state/berth`;
  const { code, lines } = await runToExit(setup, { BERTH_STATE_DIR: stateDir });
  assert.equal(code, 1);
  assert.equal(lines.length, 1, lines.join("\n"));
  const line = lines[0] ?? "";
  for (
    const part of [
      `state file ${stateDir}/berth.db: cannot create it (ENOTDIR: not a directory`,
      `): create ${stateDir} for the user Berth runs as (sudo install -d -m 0700 -o $(id -un) ${stateDir}), or point BERTH_STATE_DIR, state_file or --state at a directory it may write`,
    ]
  ) assert.ok(line.includes(part), `${part}\n${line}`);
});

Deno.test("the default state file: $BERTH_STATE_DIR/berth.db, else ./berth.db where Berth may write, else /var/lib/berth/berth.db", () => {
  const world = (env: Record<string, string>, writable: boolean) => ({
    env: (name: string) => env[name],
    mayWrite: () => writable,
  });
  assert.equal(
    defaultStateFile(world({ BERTH_STATE_DIR: "/srv/berth/" }, true)),
    "/srv/berth/berth.db",
  );
  assert.equal(defaultStateFile(world({}, true)), "./berth.db");
  assert.equal(defaultStateFile(world({}, false)), "/var/lib/berth/berth.db");
  assert.equal(defaultStateFile({ env: () => undefined }), "./berth.db");
});

Deno.test("a state file that is locked or corrupt keeps the store's own reason", () => {
  const error = new BerthError("state file x.db: it is locked: another Berth process is using it", {
    system: "store",
    transient: false,
    cause: new Error("database is locked"),
  });
  assert.equal(stateFileProblem("x.db", error), error.message);
});
