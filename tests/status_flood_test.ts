/**
 * A connection flood on the status port, against the agent as a real process with a low
 * file-descriptor limit: more connections than the process may hold open must not take the agent
 * down, and its loops must go on.
 */
import assert from "node:assert/strict";
import { startAgentOnDemoSite, waitFor } from "./support/agent_process.ts";

const FILE_LIMIT = 256;
/** Raw TCP connections opened and held per flood: well over the agent's limit. */
const FLOOD = 600;
const TOKEN = "flood-test-status-token-0123";

/** Loop passes finished so far and the accept failures survived, from `/api/status`. */
async function progress(
  url: string,
): Promise<{ runs: number; acceptFailures: number } | undefined> {
  try {
    const res = await fetch(`${url}api/status`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: AbortSignal.timeout(2_000),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      return undefined;
    }
    const body: { loops: { runs: number }[]; server?: { acceptFailures: number } } = await res
      .json();
    return {
      runs: body.loops.reduce((sum, l) => sum + l.runs, 0),
      acceptFailures: body.server?.acceptFailures ?? 0,
    };
  } catch {
    return undefined;
  }
}

/** Opens up to `count` raw TCP connections and holds them; refused ones are counted. */
async function flood(url: string, count: number): Promise<{ held: Deno.Conn[]; refused: number }> {
  const { hostname, port } = new URL(url);
  const held: Deno.Conn[] = [];
  let refused = 0;
  for (let i = 0; i < count; i++) {
    try {
      held.push(await Deno.connect({ hostname, port: Number(port) }));
    } catch {
      refused++;
    }
  }
  return { held, refused };
}

/** A few real requests while the flood holds the connections: they may fail, never hang. */
async function requestsDuringFlood(url: string): Promise<string[]> {
  return await Promise.all(["healthz", "readyz", "api/status", "metrics"].map(async (path) => {
    try {
      const res = await fetch(`${url}${path}`, { signal: AbortSignal.timeout(3_000) });
      await res.body?.cancel();
      return `${path}: ${res.status}`;
    } catch (error) {
      return `${path}: ${error instanceof Error ? error.name : "failed"}`;
    }
  }));
}

/** True when a connection to `url` is refused now: nothing listens (the listener failed). */
async function refusedNow(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  try {
    (await Deno.connect({ hostname, port: Number(port) })).close();
    return false;
  } catch {
    return true;
  }
}

Deno.test("a flood of connections beyond the file-descriptor limit leaves the agent running; the accept failure is logged once", async () => {
  await using run = await startAgentOnDemoSite({
    intervals: { orders: "1s", membership: "1s", usage: "1s" },
    token: TOKEN,
    fileLimit: FILE_LIMIT,
  });
  const { agent } = run;
  let exited: Deno.CommandStatus | undefined;
  agent.child.status.then((status) => exited = status);
  const log = () => agent.lines.join("\n");
  const failureLines = () =>
    log().match(/status server: cannot accept connections: [^"]*Too many open files/g) ?? [];

  for (let round = 1; round <= 2; round++) {
    const before = await waitFor("the status API", () => progress(agent.url));
    const { held, refused } = await flood(agent.url, FLOOD);
    try {
      const during = await requestsDuringFlood(agent.url);
      // a refused connection means the listener failed (today's Deno ends its accept loop then)
      await waitFor(
        `round ${round}: the listener to fail, or the agent to exit`,
        async () => exited || refused > 0 || await refusedNow(agent.url) ? true : undefined,
      );
      assert.equal(
        exited,
        undefined,
        `round ${round}: the agent exited (${held.length} held, ${refused} refused; ${during}):\n${log()}`,
      );
    } finally {
      for (const conn of held) conn.close();
    }
    // the status server listens again, and the loops went on
    await waitFor(`round ${round}: /healthz 200 after the flood`, async () => {
      if (exited) throw new Error(`the agent exited:\n${log()}`);
      try {
        const res = await fetch(`${agent.url}healthz`, { signal: AbortSignal.timeout(2_000) });
        await res.body?.cancel();
        return res.status === 200 ? true : undefined;
      } catch {
        return undefined;
      }
    }, 30_000);
    const after = await waitFor(`round ${round}: loop passes after the flood`, async () => {
      const now = await progress(agent.url);
      return now && now.runs > before.runs ? now : undefined;
    });
    assert.ok(after.acceptFailures > before.acceptFailures, `round ${round}: the listener failed`);
  }
  assert.equal(exited, undefined, "the agent is still running");
  assert.equal(
    failureLines().length,
    1,
    "logged once: the second flood, within a minute, adds no line",
  );
  assert.doesNotMatch(log(), /Uncaught/);
  assert.equal(await run.stop(), 0, "SIGTERM still stops it cleanly");
});
