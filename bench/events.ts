/**
 * `deno task bench` (event mode). `berth run` as a process on the loopback demo site (no seed),
 * its registry offering in event mode on a private RabbitMQ node. 200 Create orders are made
 * one by one, one every 50 ms; an order's latency runs from its creation in Waldur to the
 * agent's `set_state_done` reaching Waldur. Then the same orders again with polling at a 1 s
 * orders interval, to count Waldur's requests per order both ways. Polling's latency at the
 * default interval is computed: an order waits for the next pass, uniformly 0..60 s.
 */
import { type DemoSite, startDemoSite } from "../lib/demo/site.ts";
import { print } from "../lib/log.ts";
import { realWorld } from "../lib/world.ts";
import { startRabbit } from "../testing/rabbitmq.ts";
import { startAgent, waitFor, writeDemoConfig } from "../tests/support/agent_process.ts";

const N = 200;
const EVERY_MS = 50;
const DEFAULT_ORDERS_INTERVAL_S = 60;
/** The Python agent's Waldur requests per event before its processor runs (reference §3). */
const PYTHON_EXTRA_PER_EVENT = 8;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

interface Run {
  latencies: number[];
  requestsPerOrder: number;
  seconds: number;
}

async function measure(events: boolean): Promise<Run> {
  await using stack = new AsyncDisposableStack();
  const node = events ? stack.use(await startRabbit()) : undefined;
  const dir = await Deno.makeTempDir({ prefix: "berth-bench-events-" });
  stack.defer(() => Deno.remove(dir, { recursive: true }));
  const created = new Map<string, number>();
  const done = new Map<string, number>();
  let counting = false;
  let waldurRequests = 0;
  const site: DemoSite = stack.use(
    await startDemoSite(realWorld().serve, {
      now: () => Date.now(),
      seed: false,
      onRequest: (system, request) => {
        if (system !== "waldur") return;
        if (counting) waldurRequests++;
        const m = /marketplace-orders\/([^/]+)\/set_state_done\/$/.exec(
          new URL(request.url).pathname,
        );
        if (m?.[1] && request.method === "POST") done.set(m[1], performance.now());
      },
      ...(node
        ? {
          rabbit: {
            managementUrl: node.managementUrl(),
            adminUser: node.adminUser,
            adminPass: node.adminPass,
            fetch: (input: RequestInfo | URL, init?: RequestInit) => fetch(input, init),
          },
        }
        : {}),
    }),
  );
  const configPath = await writeDemoConfig(site, dir, {
    intervals: events
      ? { orders: "1h", membership: "1h", usage: "1h" }
      : { orders: "1s", membership: "1h", usage: "1h" },
    ...(node ? { events: node.stompWsUrl() } : {}),
  });
  const agent = stack.use(await startAgent(configPath));
  await waitFor("the agent ready", async () => {
    const res = await fetch(`${agent.url}api/status`);
    const model = await res.json();
    const rows: { state: string }[] = model.eventConnections ?? [];
    const loops: { state: string }[] = model.loops ?? [];
    const ready = loops.every((l) => l.state !== "never" && l.state !== "running") &&
      rows.every((r) => r.state === "connected");
    return ready ? true : undefined;
  }, 60_000);
  counting = true;
  const started = performance.now();
  for (let i = 0; i < N; i++) {
    const { order } = site.waldur.orderCreate(site.harborOffering, {
      name: `bench-${i}`,
      limits: { storage: 1 },
      project: "astro",
      customer: "uni-tartu",
    });
    created.set(order, performance.now());
    await new Promise((r) => setTimeout(r, EVERY_MS));
  }
  await waitFor(
    "every order done",
    () => Promise.resolve(done.size >= N ? true : undefined),
    120_000,
  );
  const seconds = (performance.now() - started) / 1000;
  counting = false;
  await site.waldur.eventsSettled().catch(() => {});
  const latencies = [...created].map(([order, at]) => (done.get(order) ?? NaN) - at)
    .sort((a, b) => a - b);
  return { latencies, requestsPerOrder: waldurRequests / N, seconds };
}

const event = await measure(true);
const polling = await measure(false);
const p = (r: Run, q: number) => `${(percentile(r.latencies, q) / 1000).toFixed(3)} s`;
const pollingListsPerOrder = (polling.seconds / 1) / N;
print(`| ${N} Create orders, one every ${EVERY_MS} ms | p50 | p99 | Waldur requests per order |`);
print("|---|---|---|---|");
print(
  `| event mode (measured, real RabbitMQ, agent process) | ${p(event, 0.5)} | ${
    p(event, 0.99)
  } | ` +
    `${event.requestsPerOrder.toFixed(2)} (list passes included; no extra per event) |`,
);
print(
  `| polling, 1 s orders interval (measured) | ${p(polling, 0.5)} | ${p(polling, 0.99)} | ` +
    `${polling.requestsPerOrder.toFixed(2)} (of which ~${
      pollingListsPerOrder.toFixed(2)
    } the interval's list calls) |`,
);
print(
  `| polling, default ${DEFAULT_ORDERS_INTERVAL_S} s interval (computed: an order waits for the next ` +
    `pass, uniform over the interval: p50 = interval/2, p99 = 0.99 × interval) | ` +
    `${(DEFAULT_ORDERS_INTERVAL_S / 2).toFixed(1)} s | ${
      (DEFAULT_ORDERS_INTERVAL_S * 0.99).toFixed(1)
    } s | ` +
    `the pass's own, plus 1 list per interval whether or not there is an order |`,
);
print(
  `| the Python agent's event_process (reference) | | | the pass's own + ~${PYTHON_EXTRA_PER_EVENT} ` +
    "per event (identity lookup, register_service, users/me, offering, provider lookups) |",
);
