/** The agent as a real process (`deno run main.ts run`), for the browser test and benchmarks. */

/** A running agent. */
export interface AgentProcess {
  child: Deno.ChildProcess;
  /** The status server's URL, ending in `/`. */
  url: string;
  /** Its stderr so far. */
  lines: string[];
  /** Resolves when stderr closes. */
  drained: Promise<void>;
}

/** Starts `berth run` as a process; resolves with its status URL once it listens. */
export async function startAgent(configPath: string): Promise<AgentProcess> {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "--allow-net",
      "--allow-read",
      "--allow-write",
      "--allow-env",
      new URL("../../main.ts", import.meta.url).pathname,
      "run",
      "-c",
      configPath,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  const lines: string[] = [];
  const reader = child.stderr.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let url = "";
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
  // keep draining stderr so the agent never blocks on a full pipe
  const drained = (async () => {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      lines.push(value);
    }
  })();
  return { child, url, lines, drained };
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
