/**
 * `deno task bench` (history part): the state file's history at 10,000 resources over 30 days.
 * Fills a state file as 30 days of a site would (10,000 Harbor resources with a storage
 * component and 10,000 Rancher resources with cpu and memory, one usage point per 6-hour bucket;
 * orders and loop passes of two offerings every hour; the audit log at its bound: 10 `report usage`
 * events a resource and as many others), then prints the file's size and rows, what one usage
 * pass's history writes cost (every amount changed; nothing changed), and p50/p99 of the page (one page of each table with
 * its sparklines), `/api/status` with its history, a resource's page and the CSV export.
 */
import { AUDIT_MAX_ROWS, USAGE_EVENTS_KEPT } from "../lib/audit_log.ts";
import type { UsageRecord } from "../lib/history.ts";
import { print } from "../lib/log.ts";
import { StatusRecord } from "../lib/status.ts";
import { Store } from "../lib/store.ts";
import { createApp } from "../routes/app.tsx";
import { ManualClock } from "../testing/manual_clock.ts";
import { fixtureStatus } from "../tests/support/status_fixture.ts";

const RESOURCES = Number(Deno.env.get("RESOURCES") ?? 10_000);
const DAYS = 30;
const HOUR = 3_600_000;

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

function summary(samples: number[]): string {
  const s = [...samples].sort((a, b) => a - b);
  return `${percentile(s, 0.5).toFixed(2)} ms | ${percentile(s, 0.99).toFixed(2)} ms`;
}

/** The fixture's resource uuids are `res-<project>`; the history uses the same keys. */
const harbor = (i: number): string => `res-proj-${String(i + 1).padStart(5, "0")}`;
const rancher = (i: number): string => `res-rp-${String(i + 1).padStart(5, "0")}`;

/** A resource with a Waldur uuid (the fixture's are not), for its page and its CSV. */
const ONE = "ab".repeat(16);

const dir = await Deno.makeTempDir({ prefix: "berth-history-bench-" });
const path = `${dir}/state.db`;
const clock = new ManualClock({ start: Date.UTC(2026, 9, 16, 0, 0, 0) });
try {
  const fillStart = performance.now();
  {
    using store = Store.open(path);
    const h = store.history;
    const steps = DAYS * 24;
    for (let hour = 0; hour < steps; hour++) {
      for (const offering of ["registry", "k8s"]) {
        h.recordOrder(
          offering,
          hour % 10 === 0 ? "erred" : "done",
          20_000 + hour * 10,
          clock.now(),
        );
        for (const loop of ["orders", "membership", "usage"]) {
          store.recordRun({
            offering,
            loop,
            startedAt: clock.now() - 2_000,
            finishedAt: clock.now(),
            outcome: "ok",
          });
        }
      }
      if (hour % 6 === 0) {
        for (let i = 0; i < RESOURCES / 2; i++) {
          h.recordUsage(harbor(i), { storage: (i % 50) + hour / 100 }, clock.now(), {
            storage: 50,
          });
          h.recordUsage(rancher(i), { cpu: (i % 8) / 2, memory: i % 16 }, clock.now(), {
            cpu: 4,
            memory: 16,
          });
        }
      }
      clock.advance(HOUR);
    }
    for (let k = 0; k < 120; k++) {
      h.recordUsage(ONE, { cpu: k % 7, memory: k % 5 }, clock.now() - k * 6 * HOUR, {
        cpu: 8,
        memory: 16,
      });
    }
    const rows = h.rowCounts();
    store.execute("PRAGMA wal_checkpoint(TRUNCATE)");
    const historyOnly = (await Deno.stat(path)).size;
    print(`state file with the history only: ${(historyOnly / 1024 ** 2).toFixed(1)} MiB`);
    // the audit log at its bound: each resource's last usage reports, and as many other changes
    const others = Math.max(0, Math.floor(AUDIT_MAX_ROWS / RESOURCES) - USAGE_EVENTS_KEPT);
    for (let i = 0; i < RESOURCES; i++) {
      const resource = i % 2 === 0 ? harbor(i >> 1) : rancher(i >> 1);
      store.transaction(() => {
        for (let k = 0; k < USAGE_EVENTS_KEPT + others; k++) {
          const usage = k >= others;
          store.audit({
            at: clock.now() - k * HOUR,
            offering: i % 2 === 0 ? "registry" : "k8s",
            system: usage ? "waldur" : "harbor",
            action: usage ? "report usage" : k % 2 === 0 ? "set limits" : "add member",
            target: usage ? resource : `waldur-project-${i}`,
            result: "ok",
            detail: usage
              ? `project ${i} 2026-11-01 {"storage":"${(i % 50).toFixed(2)}"}`
              : `user-${k}@example.org`,
            resource,
          });
        }
      });
    }
    print(
      `history of ${RESOURCES} resources over ${DAYS} days, filled in ${
        ((performance.now() - fillStart) / 1000).toFixed(1)
      } s: ${JSON.stringify(rows)}, audit rows: ${
        store.select("SELECT count(*) AS n FROM audit")[0]?.n
      }`,
    );
  }
  const size = (await Deno.stat(path)).size;
  print(
    `state file: ${(size / 1024 ** 2).toFixed(1)} MiB (${
      (size / RESOURCES).toFixed(0)
    } bytes a resource)`,
  );

  using store = Store.open(path);
  // one usage pass's history writes as lib/usage.ts makes them (one transaction), every
  // resource in a bucket that already has its point: every amount changed, then none
  const records: UsageRecord[] = [];
  for (let i = 0; i < RESOURCES / 2; i++) {
    records.push({
      resource: harbor(i),
      amounts: { storage: i % 50 },
      at: clock.now(),
      limits: { storage: 50 },
    }, {
      resource: rancher(i),
      amounts: { cpu: 1, memory: 2 },
      at: clock.now(),
      limits: { cpu: 4, memory: 16 },
    });
  }
  for (const label of ["every amount changed", "nothing changed"]) {
    const pass = performance.now();
    store.history.recordUsages(records);
    print(
      `one usage pass's history writes (${RESOURCES} resources, ${label}): ${
        (performance.now() - pass).toFixed(0)
      } ms`,
    );
  }

  const { status: fixture } = fixtureStatus({
    harborProjects: RESOURCES / 2,
    rancherProjects: RESOURCES / 2,
  });
  // the fixture's model with the filled history behind it
  const status = new StatusRecord({
    version: "bench",
    configPath: "bench.yaml",
    offerings: fixture.offerings,
    now: () => clock.now(),
    history: store.history,
  });
  for (const b of fixture.snapshot().backends) status.publish(b.offering, b);
  const app = createApp({ status });
  print("| measure | p50 | p99 | size |\n|---|---|---|---|");
  for (
    const [label, url] of [
      ["page, 50 + 50 rows with sparklines and #history", "/"],
      ["page, 500 + 500 rows (`?n=500`)", "/?n=500"],
      ["/api/status with history", "/api/status"],
      ["a resource's page (found in the history)", `/resources/${ONE}`],
      ["/api/resources/<uuid>", `/api/resources/${ONE}`],
      [
        "/api/history.csv?series=usage&resource=<uuid>",
        `/api/history.csv?series=usage&resource=${ONE}`,
      ],
      ["/api/history.csv?series=loops", "/api/history.csv?series=loops"],
    ]
  ) {
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 110; i++) {
      const t0 = performance.now();
      const res = await app.request(url ?? "/");
      const text = await res.text();
      if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status}`);
      if (i >= 10) times.push(performance.now() - t0);
      bytes = text.length;
    }
    print(`| ${label} | ${summary(times)} | ${(bytes / 1024).toFixed(0)} KiB |`);
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
