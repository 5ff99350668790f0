/**
 * Peak memory under hostile answers, against the agent as a real process (`berth run` with
 * Berth's V8 flags) on the loopback demo site (two offerings, a Harbor registry and a Rancher
 * cluster, both with Keycloak). In each scenario one system answers as an attacker would; the
 * others are the demo's fakes. The agent must refuse the answer in every pass (the loop's
 * lastError names the refusal, twice), keep running, answer /healthz, keep its peak resident set
 * (VmHWM) under 300 MB, and stop with exit 0 on SIGTERM.
 *
 * The hostile answers are made in this process without being held: the 300 MB body is streamed
 * from one 64 KiB chunk as the agent reads it, and pages that never end are one precomputed page
 * sent again (Waldur, Harbor) or one small page with a fresh link (Rancher, Kubernetes).
 *
 * `cat /proc/<pid>/status` reads VmHWM: Deno lets only --allow-all read another process's /proc
 * with its own file API, and test:core runs with --allow-run.
 */
import assert from "node:assert/strict";
import { type Serve, startDemoSite } from "../lib/demo/site.ts";
import { print } from "../lib/log.ts";
import { realWorld } from "../lib/world.ts";
import { startAgent } from "./support/agent_process.ts";

const TOKEN = "hostile-rss-status-token-0123";
/** The requirement: the agent's peak RSS stays under this, whatever a server answers. */
const RSS_BOUND_MB = 300;
const INTERVALS = { orders: "1s", membership: "2s", usage: "2s" };
/** The most one scenario may take to show two refused passes of every loop it attacks. */
const SCENARIO_MS = 45_000;

/** How long the agent may take to exit after SIGTERM. */
const STOP_MS = 20_000;

/** Answers a request as the attacker, or undefined for the demo's fake to answer it. */
type Intercept = (request: Request) => Response | undefined;

/** A loop that must be refused: its lastError matches `error`. */
interface Target {
  offering: "registry" | "kubernetes";
  loop: "orders" | "membership" | "usage";
  error: RegExp;
}

interface LoopView {
  offering: string;
  loop: string;
  runs: number;
  lastError: string | null;
}

const hex = (n: number) => n.toString(16).padStart(32, "0");

/** A Waldur order as the listing gives it (about 400 bytes of JSON). */
function order(i: number): Record<string, unknown> {
  return {
    uuid: hex(0x10_000_000 + i),
    type: "Create",
    state: "pending-provider",
    marketplace_resource_uuid: hex(0x20_000_000 + i),
    resource_uuid: hex(0x20_000_000 + i),
    resource_name: `hostile-${i}`,
    project_uuid: hex(0x30_000_000),
    project_slug: "astro",
    customer_slug: "uni-tartu",
    limits: { storage: 10, cpu: 2, memory: 4 },
    attributes: { name: `hostile-${i}`, description: "an order of a hostile listing" },
    created: "2025-01-01T00:00:00.000000Z",
    error_message: "",
  };
}

/** A Waldur resource as the provider listing gives it (about 600 bytes of JSON). */
function resource(i: number): Record<string, unknown> {
  return {
    uuid: hex(0x40_000_000 + i),
    name: `hostile-${i}`,
    slug: `hostile-${i}`,
    state: "OK",
    backend_id: `waldur-hostile-${i}`,
    limits: { storage: 10, cpu: 2, memory: 4 },
    project_uuid: hex(0x30_000_000 + (i % 50)),
    project_slug: `project-${i % 50}`,
    project_name: `Project ${i % 50}`,
    customer_uuid: hex(0x50_000_000),
    customer_slug: "uni-tartu",
    customer_name: "University of Tartu",
    offering_uuid: hex(0x60_000_000),
    paused: false,
    downscaled: false,
    restrict_member_access: false,
  };
}

/** A full Waldur page (300 items, DRF's maximum), as text sent again and again. */
const page = (item: (i: number) => Record<string, unknown>) =>
  JSON.stringify(Array.from({ length: 300 }, (_, i) => item(i)));
const ORDERS_PAGE = page(order);
const RESOURCES_PAGE = page(resource);

const isGet = (request: Request, path: string | RegExp) => {
  const pathname = new URL(request.url).pathname;
  return request.method === "GET" &&
    (typeof path === "string" ? pathname === path : path.test(pathname));
};
const ORDERS = "/api/marketplace-orders/";
const RESOURCES = "/api/marketplace-provider-resources/";

const json = (text: string, headers: Record<string, string> = {}) =>
  new Response(text, { headers: { "content-type": "application/json", ...headers } });

/**
 * A JSON list of orders `bytes` long, made as it is read: one 64 KiB chunk, copied per pull, so
 * the test holds one chunk per response however much is sent. `sent` records each response's
 * bytes as they go.
 */
function endlessOrders(bytes: number, sent: number[]): ReadableStream<Uint8Array> {
  const encode = (text: string) => new TextEncoder().encode(text);
  const item = JSON.stringify(order(0));
  const chunk = encode(`${Array(160).fill(item).join(",")},`);
  const at = sent.push(0) - 1;
  return new ReadableStream<Uint8Array>({
    start: (c) => {
      c.enqueue(encode("["));
      sent[at] = 1;
    },
    pull: (c) => {
      const done = (sent[at] ?? 0) + chunk.byteLength >= bytes;
      const next = done ? encode(`${item}]`) : chunk.slice();
      sent[at] = (sent[at] ?? 0) + next.byteLength;
      c.enqueue(next);
      if (done) c.close();
    },
  });
}

/** The World's serve, with `intercept` answering first on every server of the site. */
function hostileServe(intercept: Intercept): Serve {
  const serve = realWorld().serve;
  return (listen, handler, signal, onEvent) =>
    serve(listen, (request) => intercept(request) ?? handler(request), signal, onEvent);
}

/** The agent's loops from `/api/status`, or undefined when it does not answer now. */
async function loops(url: string): Promise<LoopView[] | undefined> {
  try {
    const res = await fetch(`${url}api/status`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: AbortSignal.timeout(5_000),
    });
    if (res.status !== 200) {
      await res.body?.cancel();
      return undefined;
    }
    return ((await res.json()) as { loops: LoopView[] }).loops;
  } catch {
    return undefined;
  }
}

/** Calls `probe` every `everyMs` until it returns a value; throws after `ms`. */
async function poll<T>(
  what: string,
  probe: () => Promise<T | undefined>,
  { ms, everyMs }: { ms: number; everyMs: number },
): Promise<T> {
  const until = performance.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (performance.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** A process's peak and current resident set (MB), from /proc/<pid>/status. */
async function memory(pid: number): Promise<{ peakMb: number; rssMb: number }> {
  const out = await new Deno.Command("cat", {
    args: [`/proc/${pid}/status`],
    stdout: "piped",
    stderr: "null",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  const kb = (field: string) => Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(text)?.[1]);
  const peakMb = kb("VmHWM") / 1024;
  assert.ok(Number.isFinite(peakMb), `no VmHWM in /proc/${pid}/status:\n${text}`);
  return { peakMb, rssMb: kb("VmRSS") / 1024 };
}

/**
 * Runs the agent on the demo site with `intercept` in front of it until every target loop has
 * been refused in two passes; asserts it is alive, healthy, under the bound and stops with exit 0.
 * Returns its VmHWM (MB).
 */
async function underAttack(
  name: string,
  intercept: Intercept,
  targets: readonly Target[],
  options: {
    /** YAML appended at the top level of the demo's config. */
    extra?: string;
    /** Edits the config (switches loops off). */
    yaml?: (text: string) => string;
    /** The bound of this scenario (default {@link SCENARIO_MS}). */
    ms?: number;
    /** How often `/api/status` is read (default 100 ms). */
    pollMs?: number;
  } = {},
): Promise<number> {
  const started = performance.now();
  await using stack = new AsyncDisposableStack();
  const dir = await Deno.makeTempDir({ prefix: "berth-rss-" });
  stack.defer(() => Deno.remove(dir, { recursive: true }));
  const site = stack.use(await startDemoSite(hostileServe(intercept), { now: () => Date.now() }));
  const configPath = `${dir}/config.yaml`;
  const yaml = site.config({
    listen: "127.0.0.1:0",
    stateFile: `${dir}/berth.db`,
    intervals: INTERVALS,
    token: TOKEN,
    ...(options.extra ? { extra: options.extra } : {}),
  });
  await Deno.writeTextFile(configPath, options.yaml ? options.yaml(yaml) : yaml);
  const agent = stack.use(await startAgent(configPath));
  let exited: Deno.CommandStatus | undefined;
  agent.child.status.then((s) => exited = s);
  // runs before the agent's own disposal (SIGTERM, then wait): an agent that a failed scenario
  // left reading for ever gets SIGKILL after STOP_MS, so the suite does not hang on it
  stack.defer(async () => {
    if (exited) return;
    const timer = setTimeout(() => {
      if (!exited) agent.child.kill("SIGKILL");
    }, STOP_MS);
    try {
      if (!exited) agent.child.kill("SIGTERM");
    } catch {
      // it has exited meanwhile
    }
    await agent.child.status;
    clearTimeout(timer);
  });
  const tail = () => agent.lines.slice(-20).join("\n");
  const pid = agent.child.pid;

  // the `runs` at which each target was first seen refused; done once a later pass is refused too
  const refusedAt = new Map<Target, number>();
  let last: LoopView[] = [];
  let peakSeen = 0;
  try {
    await poll(`${name}: two refused passes of every target loop`, async () => {
      if (exited) {
        throw new Error(`${name}: the agent exited (${JSON.stringify(exited)}):\n${tail()}`);
      }
      peakSeen = Math.max(peakSeen, (await memory(pid)).peakMb);
      // over the bound already: no need to wait for the passes
      if (peakSeen >= RSS_BOUND_MB) throw new Error(`${name}: peak RSS over ${RSS_BOUND_MB} MB`);
      last = await loops(agent.url) ?? last;
      for (const t of targets) {
        const l = last.find((l) => l.offering === t.offering && l.loop === t.loop);
        if (!l || !t.error.test(l.lastError ?? "")) continue;
        const first = refusedAt.get(t);
        if (first === undefined) refusedAt.set(t, l.runs);
        else if (l.runs > first) refusedAt.set(t, -1);
      }
      return targets.every((t) => refusedAt.get(t) === -1) ? true : undefined;
    }, { ms: options.ms ?? SCENARIO_MS, everyMs: options.pollMs ?? 100 });
  } catch (error) {
    const seen = last.map((l) => `  ${l.offering}/${l.loop} runs ${l.runs}: ${l.lastError}`);
    throw new Error(
      `${error instanceof Error ? error.message : String(error)}\n` +
        `VmHWM so far ${peakSeen.toFixed(0)} MB; loops:\n${seen.join("\n")}\nlog:\n${tail()}`,
    );
  }

  assert.equal(exited, undefined, `${name}: the agent is still running`);
  const health = await fetch(`${agent.url}healthz`, { signal: AbortSignal.timeout(5_000) });
  await health.body?.cancel();
  assert.equal(health.status, 200, `${name}: /healthz`);
  const { peakMb, rssMb } = await memory(pid);
  const passes = targets.map((t) =>
    `${t.offering}/${t.loop} ${
      last.find((l) => l.offering === t.offering && l.loop === t.loop)?.runs
    }`
  );
  print(
    `hostile RSS: ${name}: VmHWM ${peakMb.toFixed(1)} MB, VmRSS ${rssMb.toFixed(1)} MB, ` +
      `${((performance.now() - started) / 1000).toFixed(1)} s (passes: ${passes.join(", ")})`,
  );
  assert.ok(
    peakMb < RSS_BOUND_MB,
    `${name}: peak RSS ${peakMb.toFixed(1)} MB, over ${RSS_BOUND_MB} MB\nlog:\n${tail()}`,
  );

  agent.child.kill("SIGTERM");
  let timer: ReturnType<typeof setTimeout> | undefined;
  const stopped = await Promise.race([
    agent.child.status,
    new Promise<undefined>((r) => timer = setTimeout(() => r(undefined), STOP_MS)),
  ]);
  clearTimeout(timer);
  assert.ok(stopped, `${name}: the agent did not stop within ${STOP_MS} ms of SIGTERM:\n${tail()}`);
  assert.equal(stopped.code, 0, `${name}: exit code after SIGTERM:\n${tail()}`);
  return peakMb;
}

const everyLoop = (loops: Target["loop"][], error: RegExp): Target[] =>
  (["registry", "kubernetes"] as const).flatMap((offering) =>
    loops.map((loop) => ({ offering, loop, error }))
  );

/** The config with `keys` (`order_processing_backend`, ...) set to "" in `backend`'s offering. */
const loopsOff = (backend: "harbor" | "rancher", keys: readonly string[]) => (yaml: string) =>
  yaml.replace(
    `    backend_type: ${backend}\n`,
    `    backend_type: ${backend}\n${keys.map((k) => `    ${k}: ""\n`).join("")}`,
  );

// ---- Waldur ---------------------------------------------------------------------------------

const TOO_LARGE = /^waldur: cannot list orders: the response is larger than 32 MiB; refused/;

Deno.test("hostile RSS: a 300 MB orders body from Waldur is refused at max_response_mb", async () => {
  const sent: number[] = [];
  const body = 300 * 1024 ** 2;
  await underAttack(
    "300 MB orders body",
    (request) =>
      isGet(request, ORDERS)
        ? new Response(endlessOrders(body, sent), {
          headers: { "content-type": "application/json" },
        })
        : undefined,
    everyLoop(["orders"], TOO_LARGE),
  );
  assert.ok(sent.length >= 4, `${sent.length} responses`);
  const most = Math.max(...sent);
  assert.ok(most < body / 2, `a response was read to ${most} bytes: the cap did not stop it`);
});

/**
 * The cap is per response, so the six Waldur reads of two offerings (orders, membership, usage)
 * each held up to 32 MiB at once: VmHWM was about 425 MB. The bodies read at once now share one
 * budget (twice max_response_mb).
 */
Deno.test({
  name: "hostile RSS: a 300 MB body on every Waldur list is refused at max_response_mb",
  fn: async () => {
    const sent: number[] = [];
    await underAttack(
      "300 MB body on every Waldur list",
      (request) =>
        isGet(request, ORDERS) || isGet(request, RESOURCES)
          ? new Response(endlessOrders(300 * 1024 ** 2, sent), {
            headers: { "content-type": "application/json" },
          })
          : undefined,
      everyLoop(
        ["orders", "membership", "usage"],
        /^waldur: cannot list (orders|resources): the response is larger than 32 MiB; refused/,
      ),
    );
  },
});

Deno.test("hostile RSS: Waldur full pages with x-result-count 1e12 are refused at the first page", async () => {
  await underAttack(
    "x-result-count 1e12",
    (request) =>
      isGet(request, ORDERS)
        ? json(ORDERS_PAGE, { "x-result-count": "1e12" })
        : isGet(request, RESOURCES)
        ? json(RESOURCES_PAGE, { "x-result-count": "1e12" })
        : undefined,
    everyLoop(
      ["orders", "membership", "usage"],
      /^waldur: cannot list (orders|resources): the server announces 1,000,000,000,000 items, more than Berth reads \(100,000\); refusing/,
    ),
  );
});

/**
 * A whole list (readAll) holds every resource read until the bound, about 100 MB at 100,000
 * resources, and the two offerings' membership and usage passes read four at once: VmHWM was
 * about 515 MB. The lists read at once now share one item budget (MAX_LIST_ITEMS in all).
 */
Deno.test({
  name:
    "hostile RSS: Waldur resources in full pages forever, without a count, end at MAX_LIST_ITEMS",
  fn: async () => {
    await underAttack(
      "full resource pages forever",
      (request) => isGet(request, RESOURCES) ? json(RESOURCES_PAGE) : undefined,
      everyLoop(
        ["membership", "usage"],
        // one list alone stops at the bound; lists read side by side share one item budget
        /^waldur: cannot list resources: (the list is still full after 100,000 items; refusing|the lists being read at once hold more than 100,000 items)/,
      ),
    );
  },
});

Deno.test("hostile RSS: Waldur orders in full pages forever (the same page), without a count, end at the page bound", async () => {
  // each of the 300 orders is handled once a pass (its approval answers 404: deferred), then
  // the listing is read on to its bound: 670 pages of 300 orders a pass
  await underAttack(
    "the same full orders page forever",
    (request) => isGet(request, ORDERS) ? json(ORDERS_PAGE) : undefined,
    everyLoop(["orders"], /^waldur: cannot list orders: the list did not end after 670 pages/),
  );
});

/**
 * Every order of a new page is handled (its approval answers 404: deferred), and the status
 * record kept each deferred order until a pass that ends normally dropped the ones no longer
 * listed; a pass refused at the bound never did, so each added 100,000 orders to it (VmHWM about
 * 300 MB after one pass, 460 MB after two). The record now keeps the 1,000 most recent. About
 * 45 s a pass, one offering's orders loop alone.
 */
Deno.test({
  name:
    "hostile RSS: Waldur orders in full pages forever (new orders on every page) end at MAX_LIST_ITEMS",
  fn: async () => {
    let pages = 0;
    await underAttack(
      "new full orders pages forever",
      (request) => {
        if (!isGet(request, ORDERS)) return undefined;
        const first = ++pages * 1000;
        return json(JSON.stringify(Array.from({ length: 300 }, (_, i) => order(first + i))));
      },
      [{
        offering: "registry",
        loop: "orders",
        error: /^waldur: cannot list orders: the list is still full after 100,000 items/,
      }],
      {
        yaml: (yaml) =>
          loopsOff("rancher", [
            "order_processing_backend",
            "membership_sync_backend",
            "reporting_backend",
          ])(
            loopsOff("harbor", ["membership_sync_backend", "reporting_backend"])(yaml),
          ),
        ms: 300_000,
        // the status holds 100,000 orders and more: read it as the page does, not 10 times a second
        pollMs: 5_000,
      },
    );
  },
});

// ---- Harbor, Rancher, Kubernetes ------------------------------------------------------------

Deno.test("hostile RSS: Harbor X-Total-Count 1e12 with one full page is refused", async () => {
  const projects = JSON.stringify(
    Array.from({ length: 100 }, (_, i) => ({
      project_id: 1000 + i,
      name: `hostile-${i}`,
      repo_count: 0,
      metadata: { public: "false" },
    })),
  );
  await underAttack(
    "Harbor X-Total-Count 1e12",
    (request) =>
      isGet(request, "/api/v2.0/projects")
        ? json(projects, { "x-total-count": "1000000000000" })
        : undefined,
    [{
      offering: "registry",
      loop: "membership",
      error:
        /^harbor: cannot list projects: the server announces 1,000,000,000,000 items, more than Berth reads/,
    }],
  );
});

// The cluster-wide lists (membership and usage read them) never end; the lists of one project,
// by name or label, are the fake's, so the orders create the projects and usage reaches the lists.

Deno.test("hostile RSS: a Rancher pagination.next that never ends (a new link each time) ends at the page bound", async () => {
  let marker = 0;
  await underAttack(
    "Rancher pagination.next forever",
    (request) => {
      if (!isGet(request, "/v3/projects")) return undefined;
      const next = new URL(request.url);
      if (next.searchParams.has("name")) return undefined;
      next.searchParams.set("marker", `m-${++marker}`);
      return Response.json({
        type: "collection",
        data: [{
          id: `c-m-7x2k9q4d:p-h${marker}`,
          name: `hostile-${marker}`,
          clusterId: "c-m-7x2k9q4d",
        }],
        pagination: { limit: 1000, next: `${next}` },
      });
    },
    (["membership", "usage"] as const).map((loop) => ({
      offering: "kubernetes" as const,
      loop,
      error:
        /rancher: cannot list the projects of cluster c-m-7x2k9q4d: the list did not end after 200 pages/,
    })),
  );
});

Deno.test("hostile RSS: a Kubernetes continue that never ends (a new token each time) ends at the page bound", async () => {
  let token = 0;
  await underAttack(
    "Kubernetes continue forever",
    (request) => {
      if (!isGet(request, /^\/k8s\/clusters\/[^/]+\/api\/v1\/namespaces$/)) return undefined;
      if (new URL(request.url).searchParams.has("labelSelector")) return undefined;
      token++;
      return Response.json({
        kind: "NamespaceList",
        apiVersion: "v1",
        metadata: { continue: `hostile-${token}` },
        items: [{ metadata: { name: `hostile-${token}` }, status: { phase: "Active" } }],
      });
    },
    (["membership", "usage"] as const).map((loop) => ({
      offering: "kubernetes" as const,
      loop,
      error:
        /kubernetes: cannot list the namespaces of c-m-7x2k9q4d: the list did not end after 200 pages/,
    })),
  );
});
