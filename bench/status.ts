/**
 * `deno task bench` (status part).
 * 1. Page render: the status page for 10,000 Harbor and 10,000 Rancher projects (one page of
 *    each table), and a filtered render, through `app.request()`; p50/p99 over 200 renders.
 * 2. Under load: a real agent process runs its loops (1 s intervals) against the loopback demo
 *    site while this process sends `/healthz` and `/api/status` in waves of 200 concurrent
 *    requests; p50/p99 latency per path.
 */
import { print } from "../lib/log.ts";
import { createApp } from "../routes/app.tsx";
import { startAgentOnDemoSite } from "../tests/support/agent_process.ts";
import { fixtureStatus } from "../tests/support/status_fixture.ts";

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

function summary(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  return `${percentile(s, 0.5).toFixed(2)} ms | ${percentile(s, 0.99).toFixed(2)} ms`;
}

async function renders(path: string, n: number): Promise<{ times: number[]; bytes: number }> {
  const { status } = fixtureStatus({ harborProjects: 10_000, rancherProjects: 10_000 });
  const app = createApp({ status });
  const times: number[] = [];
  let bytes = 0;
  for (let i = 0; i < n + 10; i++) {
    const t0 = performance.now();
    const res = await app.request(path);
    const text = await res.text();
    if (res.status !== 200) throw new Error(`${path}: HTTP ${res.status}`);
    if (i >= 10) times.push(performance.now() - t0); // the first ten warm up the JIT
    bytes = text.length;
  }
  return { times, bytes };
}

print("| measure | p50 | p99 | notes |\n|---|---|---|---|");
for (
  const [label, path] of [
    ["page, 10,000 + 10,000 projects, page 1", "/"],
    ["page, same, page 100 of each table", "/?p.h0=100&p.r1=100&p.g1=100"],
    ["page, same, filtered (`proj-0999`)", "/?q=proj-0999"],
    ["/api/status, same site", "/api/status"],
    ["/metrics, same site", "/metrics"],
  ]
) {
  const r = await renders(path ?? "/", 200);
  print(`| ${label} | ${summary(r.times)} | ${(r.bytes / 1024).toFixed(0)} KiB |`);
}

const { agent, stop } = await startAgentOnDemoSite({
  intervals: { orders: "1s", membership: "1s", usage: "1s" },
});
try {
  for (const path of ["healthz", "api/status"]) {
    const times: number[] = [];
    let failures = 0;
    let bytes = 0;
    const started = performance.now();
    for (let wave = 0; wave < 20; wave++) {
      await Promise.all(Array.from({ length: 200 }, async () => {
        const t0 = performance.now();
        const res = await fetch(`${agent.url}${path}`);
        const body = await res.text();
        times.push(performance.now() - t0);
        bytes = body.length;
        if (res.status !== 200) failures++;
      }));
    }
    const seconds = (performance.now() - started) / 1000;
    print(
      `| /${path}, 200 concurrent × 20 waves, loops running | ${summary(times)} | ` +
        `${(times.length / seconds).toFixed(0)} req/s, ${failures} not 200, ${bytes} bytes |`,
    );
  }
} finally {
  await stop();
}
