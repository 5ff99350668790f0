import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { ManualClock } from "../testing/manual_clock.ts";
import { HOUR_MS, USAGE_POINTS } from "./history.ts";
import { Store } from "./store.ts";

const DAY = 24 * HOUR_MS;
const R1 = "a0000000000000000000000000000001";
const R2 = "a0000000000000000000000000000002";

Deno.test("a new state file has the history tables, and the history survives a reopen", () => {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/berth.db`;
  const clock = new ManualClock();
  try {
    {
      using store = Store.open(path);
      store.history.recordUsage(R1, { storage: 1.5 }, clock.now(), { storage: 20 });
      store.history.recordOrder("registry", "done", 4_000, clock.now());
      store.recordRun({
        offering: "registry",
        loop: "orders",
        startedAt: clock.now() - 1_200,
        finishedAt: clock.now(),
        outcome: "ok",
      });
      store.audit({
        at: clock.now(),
        offering: "registry",
        system: "harbor",
        action: "create project",
        target: "waldur-team",
        result: "ok",
        resource: R1,
      });
    }
    const db = new DatabaseSync(path);
    const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").all()
      .map((r) => String(r.name));
    for (const t of ["usage_series", "usage_history", "order_history", "loop_history"]) {
      assert.ok(tables.includes(t), `${t} exists`);
    }
    // the history's migration (the fourth) is recorded; later ones may follow it
    const version = Number(db.prepare("SELECT max(version) AS v FROM schema_version").get()?.v);
    assert.ok(version >= 4, `schema version ${version}`);
    db.close();
    using again = Store.open(path);
    assert.deepEqual(again.history.usageOf([R1], clock.now()).get(R1), [
      { component: "storage", points: [{ at: clock.now(), amount: 1.5, peak: 1.5, quota: 20 }] },
    ]);
    const summary = again.history.summary(clock.now());
    assert.deepEqual(summary.orders.map((o) => [o.done, o.erred, o.meanLatencyMs]), [[
      1,
      0,
      4_000,
    ]]);
    assert.deepEqual(summary.loops.map((l) => [l.loop, l.runs, l.meanMs]), [["orders", 1, 1_200]]);
    assert.deepEqual(again.history.eventsOf(R1, 10).map((e) => e.action), ["create project"]);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("usage history keeps at most 120 points a series, the last amount of each bucket", () => {
  using store = Store.open(":memory:");
  const clock = new ManualClock();
  const h = store.history;
  assert.equal(h.usageBucketMs, 6 * HOUR_MS, "30 days in 120 buckets");
  // every 30 minutes for 90 days: 4,320 reports
  for (let i = 0; i < 90 * 48; i++) {
    h.recordUsage(R1, { cpu: i, memory: 2 * i }, clock.now());
    clock.advance(30 * 60_000);
  }
  const rows = h.rowCounts();
  assert.equal(rows.usage_series, 2);
  assert.ok(rows.usage_history <= 2 * USAGE_POINTS, `${rows.usage_history} rows`);
  const cpu = h.usageOf([R1], clock.now()).get(R1)?.find((s) => s.component === "cpu");
  assert.ok(cpu);
  assert.ok(cpu.points.length <= USAGE_POINTS && cpu.points.length >= USAGE_POINTS - 1);
  assert.equal(cpu.points.at(-1)?.amount, 90 * 48 - 1, "the last report wins its bucket");
  assert.ok((cpu.points[0]?.at ?? 0) >= clock.now() - 30 * DAY, "nothing older than 30 days");
});

Deno.test("retention: what is older than history_days goes, series not reported within it too", () => {
  using store = Store.open(":memory:", { historyDays: 2 });
  const clock = new ManualClock();
  const h = store.history;
  h.recordUsage(R1, { storage: 1 }, clock.now());
  h.recordUsage(R2, { storage: 2 }, clock.now());
  h.recordOrder("registry", "erred", null, clock.now());
  const pass = (): void =>
    store.recordRun({
      offering: "registry",
      loop: "usage",
      startedAt: clock.now() - 500,
      finishedAt: clock.now(),
      outcome: "partial",
    });
  pass();
  clock.advance(DAY);
  h.recordUsage(R2, { storage: 3 }, clock.now());
  pass();
  assert.deepEqual(h.rowCounts(), {
    usage_series: 2,
    usage_history: 3,
    order_history: 1,
    loop_history: 2,
  });
  clock.advance(DAY + 2 * HOUR_MS);
  pass(); // a pass at least an hour after the last prune prunes
  // R1 (not reported for two days) is gone; R2's old point is no longer read, and goes at its
  // series' next write
  assert.deepEqual(h.rowCounts(), {
    usage_series: 1,
    usage_history: 2,
    order_history: 0,
    loop_history: 2,
  });
  const amounts = (): number[] | undefined =>
    h.usageOf([R1, R2], clock.now()).get(R2)?.[0]?.points.map((p) => p.amount);
  assert.deepEqual(amounts(), [3]);
  assert.equal(h.usageOf([R1, R2], clock.now()).has(R1), false);
  h.recordUsage(R2, { storage: 4 }, clock.now());
  assert.deepEqual(amounts(), [3, 4]);
  assert.equal(h.rowCounts().usage_history, 2);
  const loops = h.summary(clock.now()).loops;
  assert.deepEqual(loops.map((l) => [l.runs, l.failed]), [[1, 1], [1, 1]]);
});

Deno.test("orders per hour count done and erred; latency only over orders with a creation time", () => {
  using store = Store.open(":memory:");
  const clock = new ManualClock({ start: Date.UTC(2026, 10, 15, 12, 0, 0) });
  const h = store.history;
  h.recordOrder("registry", "done", 1_000, clock.now());
  h.recordOrder("registry", "done", 3_000, clock.now() + 60_000);
  h.recordOrder("registry", "erred", null, clock.now() + 120_000);
  clock.advance(HOUR_MS);
  h.recordOrder("registry", "done", 500, clock.now());
  h.recordOrder("k8s", "erred", 9_000, clock.now());
  assert.deepEqual(h.summary(clock.now()).orders, [
    {
      offering: "k8s",
      at: clock.now(),
      done: 0,
      erred: 1,
      meanLatencyMs: 9_000,
      maxLatencyMs: 9_000,
    },
    {
      offering: "registry",
      at: clock.now() - HOUR_MS,
      done: 2,
      erred: 1,
      meanLatencyMs: 2_000,
      maxLatencyMs: 3_000,
    },
    {
      offering: "registry",
      at: clock.now(),
      done: 1,
      erred: 0,
      meanLatencyMs: 500,
      maxLatencyMs: 500,
    },
  ]);
});

Deno.test("the summary is cached until the next write", () => {
  using store = Store.open(":memory:");
  const clock = new ManualClock();
  const h = store.history;
  h.recordOrder("registry", "done", 1_000, clock.now());
  const first = h.summary(clock.now());
  assert.equal(h.summary(clock.now()), first, "the same object while nothing changed");
  h.recordOrder("registry", "done", 1_000, clock.now());
  assert.notEqual(h.summary(clock.now()), first);
  assert.equal(h.summary(clock.now()).orders[0]?.done, 2);
});

Deno.test("usage of a page of resources is one read; a resource without history is absent", () => {
  using store = Store.open(":memory:");
  const clock = new ManualClock();
  const h = store.history;
  h.recordUsage(R1, { storage: 1 }, clock.now());
  clock.advance(7 * HOUR_MS);
  h.recordUsage(R1, { storage: 2 }, clock.now(), { storage: 10 });
  h.recordUsage(R2, { cpu: 0.5 }, clock.now());
  const got = h.usageOf([R1, R2, "a0000000000000000000000000000009"], clock.now());
  assert.deepEqual([...got.keys()].sort(), [R1, R2]);
  assert.deepEqual(got.get(R1)?.[0]?.points.map((p) => [p.amount, p.quota]), [[1, null], [2, 10]]);
  assert.equal(h.knows(R2), true);
  assert.equal(h.knows("a0000000000000000000000000000009"), false);
});

Deno.test("a wall clock stepped back: what was written 'later' is not read as the latest, and pruning goes on", () => {
  using store = Store.open(":memory:", { historyDays: 2 });
  const clock = new ManualClock();
  const h = store.history;
  const pass = (): void =>
    store.recordRun({
      offering: "registry",
      loop: "orders",
      startedAt: clock.now() - 500,
      finishedAt: clock.now(),
      outcome: "ok",
    });
  // a year ahead (a wrong RTC, a restored VM), then back to the right time
  clock.advance(365 * DAY);
  h.recordUsage(R1, { storage: 77 }, clock.now());
  h.recordOrder("registry", "done", 1_000, clock.now());
  pass();
  clock.advance(-365 * DAY);
  h.recordUsage(R1, { storage: 3 }, clock.now());
  const points = h.usageOf([R1], clock.now()).get(R1)?.[0]?.points ?? [];
  assert.deepEqual(points.map((p) => p.amount), [3], "the future point is not the latest amount");
  assert.deepEqual(h.summary(clock.now()).orders, [], "no future hour in the summary");
  // R2 stops reporting; the prune after a step back still drops it once it is past the retention
  h.recordUsage(R2, { storage: 1 }, clock.now());
  pass();
  clock.advance(3 * DAY);
  h.recordUsage(R1, { storage: 4 }, clock.now());
  pass();
  assert.equal(h.usageOf([R2], clock.now()).has(R2), false);
  assert.equal(
    Number(h.rowCounts().usage_series),
    1,
    "R2's series is pruned although the last prune ran 'a year later'",
  );
});
