/** The agent as a real process (`deno run main.ts run`), for the browser test and benchmarks. */
import { type DemoConfigOptions, type DemoSite, startDemoSite } from "../../lib/demo/site.ts";
import { V8_FLAGS } from "../../lib/v8_flags.ts";
import { realWorld } from "../../lib/world.ts";

/** A running agent; `await using` SIGTERMs it (unless it has exited) and waits for it. */
export interface AgentProcess extends AsyncDisposable {
  child: Deno.ChildProcess;
  /** The status server's URL, ending in `/`. */
  url: string;
  /** Its stderr so far. */
  lines: string[];
  /** Resolves when stderr closes. */
  drained: Promise<void>;
}

/**
 * `deno run` arguments for the agent as it is shipped (its permissions and {@link V8_FLAGS}):
 * `deno` flags (a `--v8-flags=` among them adds to Berth's), then the entry point (main.ts unless
 * `main` names another), then the agent's own arguments.
 */
export function agentArgs(
  args: readonly string[],
  options: { flags?: readonly string[]; main?: string; permissions?: readonly string[] } = {},
): string[] {
  const V8 = "--v8-flags=";
  const flags = options.flags ?? [];
  const v8 = flags.filter((f) => f.startsWith(V8)).map((f) => f.slice(V8.length));
  return [
    "run",
    ...(options.permissions ?? ["--allow-net", "--allow-read", "--allow-write", "--allow-env"]),
    `${V8}${[...V8_FLAGS, ...v8].join(",")}`,
    ...flags.filter((f) => !f.startsWith(V8)),
    options.main ?? new URL("../../main.ts", import.meta.url).pathname,
    ...args,
  ];
}

/** How {@link startAgent} starts the process. */
export interface AgentOptions {
  /**
   * The process's file-descriptor limit (`ulimit -n`, soft and hard), set by starting it through
   * `bash -c "ulimit -n N && exec deno ..."`.
   */
  fileLimit?: number;
  /** `deno run`'s permission flags instead of net, read, write and env to everything. */
  permissions?: readonly string[];
  /** The process's whole environment (nothing inherited) and working directory. */
  env?: Record<string, string>;
  cwd?: string;
}

/** Starts `berth run` as a process; resolves with its status URL once it listens. */
export async function startAgent(
  configPath: string,
  options: AgentOptions = {},
): Promise<AgentProcess> {
  const args = agentArgs(
    ["run", "-c", configPath],
    options.permissions ? { permissions: options.permissions } : {},
  );
  const where = {
    ...(options.env ? { env: options.env, clearEnv: true } : {}),
    ...(options.cwd ? { cwd: options.cwd } : {}),
  };
  const command = options.fileLimit === undefined
    ? new Deno.Command(Deno.execPath(), { args, stdout: "null", stderr: "piped", ...where })
    : new Deno.Command("bash", {
      // exec: the agent is this child (same pid), so a signal reaches it
      args: ["-c", `ulimit -n ${options.fileLimit} && exec "$0" "$@"`, Deno.execPath(), ...args],
      stdout: "null",
      stderr: "piped",
      ...where,
    });
  const child = command.spawn();
  const lines: string[] = [];
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let url = "";
  try {
    while (!url) {
      const { value, done } = await reader.read();
      if (done) throw new Error(`the agent exited before listening:\n${lines.join("\n")}`);
      buffer += value;
      const parts = buffer.split("\n");
      buffer = parts.pop() ?? "";
      for (const line of parts) {
        lines.push(line);
        url ||= /status on (http:\/\/[^\s"]+)/.exec(line)?.[1] ?? "";
      }
    }
  } catch (error) {
    await child[Symbol.asyncDispose]();
    throw error;
  }
  // keep draining stderr so the agent never blocks on a full pipe
  const drained = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      lines.push(value);
    }
  })();
  return {
    child,
    url,
    lines,
    drained,
    async [Symbol.asyncDispose]() {
      await child[Symbol.asyncDispose]();
      await drained;
    },
  };
}

/** Polls `probe` every 100 ms until it returns a value, or throws after `ms`. */
export async function waitFor<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  ms = 15_000,
): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * An agent process on the loopback demo site, ready (every loop finished a first pass);
 * `await using` stops it as {@link DemoRun.stop} does.
 */
export interface DemoRun extends AsyncDisposable {
  site: DemoSite;
  agent: AgentProcess;
  /**
   * SIGTERM, then waits; resolves with the agent's exit code once everything is closed. Calling
   * it again resolves the same way and stops nothing twice.
   */
  stop(): Promise<number>;
}

/**
 * Writes the demo site's config into `dir` (`config.yaml`: status on a free loopback port, the
 * state file `berth.db` beside it); resolves with its path.
 */
export async function writeDemoConfig(
  site: DemoSite,
  dir: string,
  options: Omit<DemoConfigOptions, "listen" | "stateFile">,
): Promise<string> {
  const configPath = `${dir}/config.yaml`;
  await Deno.writeTextFile(
    configPath,
    site.config({ listen: "127.0.0.1:0", stateFile: `${dir}/berth.db`, ...options }),
  );
  return configPath;
}

/** Starts the demo site and `berth run` on it, in a fresh temporary directory. */
export async function startAgentOnDemoSite(
  options: Pick<DemoConfigOptions, "intervals" | "token"> & AgentOptions,
): Promise<DemoRun> {
  // what is started so far, closed in reverse if a later step throws
  await using started = new AsyncDisposableStack();
  const dir = await Deno.makeTempDir({ prefix: "berth-agent-" });
  started.defer(() => Deno.remove(dir, { recursive: true }));
  const site = started.use(await startDemoSite(realWorld().serve, { now: () => Date.now() }));
  const configPath = await writeDemoConfig(site, dir, {
    ...(options.intervals ? { intervals: options.intervals } : {}),
    ...(options.token ? { token: options.token } : {}),
  });
  const agent = started.use(
    await startAgent(
      configPath,
      options.fileLimit === undefined ? {} : { fileLimit: options.fileLimit },
    ),
  );
  await waitFor("the agent to be ready", async () => {
    const res = await fetch(`${agent.url}readyz`);
    await res.body?.cancel();
    return res.status === 200 ? true : undefined;
  });
  const running = started.move();
  let stopped: Promise<number> | undefined;
  const stop = () =>
    stopped ??= (async () => {
      try {
        try {
          agent.child.kill("SIGTERM");
        } catch {
          // it has exited already: its status says how
        }
        return (await agent.child.status).code;
      } finally {
        // the agent (already exited: its stderr drains), the site, the directory
        await running.disposeAsync();
      }
    })();
  return {
    site,
    agent,
    stop,
    async [Symbol.asyncDispose]() {
      await stop();
    },
  };
}
