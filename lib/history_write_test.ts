import assert from "node:assert/strict";
import { DatabaseSync } from "node:sqlite";
import { ManualClock } from "../testing/manual_clock.ts";
import { USAGE_EVENTS_KEPT } from "./audit_log.ts";
import { History, HOUR_MS, USAGE_PEAK_MIGRATION } from "./history.ts";
import type { Logger } from "./log.ts";
import { MIGRATIONS, Store } from "./store.ts";

const DAY = 24 * HOUR_MS;
const R1 = "a0000000000000000000000000000001";
const R2 = "a0000000000000000000000000000002";

Deno.test("a usage bucket keeps its last amount and its largest (peak)", () => {
  using store = Store.open(":memory:");
  const clock = new ManualClock({ start: Date.UTC(2026, 10, 15, 0, 0, 0) });
  const h = store.history;
  for (const amount of [5, 90, 7]) { // a spike over the quota between two passes of a 6-hour bucket
    h.recordUsage(R1, { cpu: amount }, clock.now(), { cpu: 8 });
    clock.advance(HOUR_MS);
  }
  clock.advance(6 * HOUR_MS);
  h.recordUsage(R1, { cpu: 3 }, clock.now(), { cpu: 8 });
  const points = h.usageOf([R1], clock.now()).get(R1)?.[0]?.points ?? [];
  assert.deepEqual(points.map((p) => [p.amount, p.peak]), [[7, 90], [3, 3]]);
});

/** The state file of the Berth before these migrations: the first `upTo` applied, with rows. */
function oldStateFile(path: string, upTo: number, fill: (db: DatabaseSync) => void): void {
  const db = new DatabaseSync(path);
  db.exec("CREATE TABLE schema_version (version INTEGER NOT NULL)");
  for (let v = 0; v < upTo; v++) {
    db.exec(MIGRATIONS[v] ?? "");
    db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(v + 1);
  }
  fill(db);
  db.close();
}

Deno.test("an older state file: usage points get their amount as peak, old audit rows their resource", () => {
  const dir = Deno.makeTempDirSync();
  const path = `${dir}/berth.db`;
  const clock = new ManualClock();
  try {
    // written before the audit table had `resource_uuid` (migrations 1-3)
    oldStateFile(path, 3, (db) => {
      const audit = db.prepare(
        `INSERT INTO audit (at, offering, system, action, target, result) VALUES (?, 'registry', ?, ?, ?, 'ok')`,
      );
      for (const action of ["set backend_id", "set limits", "report usage", "mark resource OK"]) {
        audit.run(clock.now(), "waldur", action, R1);
      }
      audit.run(clock.now(), "waldur", "Create order done", "0rder");
      audit.run(clock.now(), "harbor", "create project", "waldur-team");
      // then the history (4) and attention (5): the schema before the peak's migration
      for (let v = 3; v < MIGRATIONS.indexOf(USAGE_PEAK_MIGRATION); v++) {
        db.exec(MIGRATIONS[v] ?? "");
        db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(v + 1);
      }
      db.exec(`INSERT INTO usage_series (id, resource_uuid, component, last_at)
        VALUES (1, '${R2}', 'storage', ${clock.now()})`);
      db.exec(`INSERT INTO usage_history (series, bucket, at, amount, quota)
        VALUES (1, ${
        Math.floor(clock.now() / (6 * HOUR_MS)) * 6 * HOUR_MS
      }, ${clock.now()}, 4.5, 20)`);
    });
    using store = Store.open(path);
    assert.deepEqual(store.history.usageOf([R2], clock.now()).get(R2)?.[0]?.points, [
      { at: clock.now(), amount: 4.5, peak: 4.5, quota: 20 },
    ]);
    assert.deepEqual(
      store.recentAudit({ resource: R1, limit: 10 }).map((e) => [e.action, e.resource]).reverse(),
      [
        ["set backend_id", R1],
        ["set limits", R1],
        ["report usage", R1],
        ["mark resource OK", R1],
      ],
    );
    assert.deepEqual(
      store.recentAudit(10).filter((e) => e.resource === undefined).map((e) => e.action),
      ["create project", "Create order done"],
      "an order's and a project's events name no resource uuid: left unlinked",
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a wall clock stepped a year forwards for hours, then back, leaves the history whole", () => {
  const clock = new ManualClock({ start: Date.UTC(2026, 10, 15, 0, 0, 0) });
  using store = Store.open(":memory:", { historyDays: 2, monotonic: () => clock.monotonic() });
  const h = store.history;
  const pass = (): void =>
    store.recordRun({
      offering: "registry",
      loop: "orders",
      startedAt: clock.now() - 500,
      finishedAt: clock.now(),
      outcome: "ok",
    });
  const hour = (): void => {
    h.recordUsage(R1, { storage: clock.now() % 7 }, clock.now());
    h.recordOrder("registry", "done", 1_000, clock.now());
    pass();
    clock.advance(HOUR_MS);
  };
  for (let i = 0; i < 24; i++) hour();
  const before = h.rowCounts();
  clock.stepWall(365 * DAY); // a wrong RTC, a restored VM: three hours a year ahead
  for (let i = 0; i < 3; i++) hour();
  clock.stepWall(-365 * DAY);
  hour();
  const after = h.rowCounts();
  assert.ok(after.usage_history >= before.usage_history, JSON.stringify({ before, after }));
  assert.ok(after.order_history >= before.order_history, JSON.stringify({ before, after }));
  assert.ok(after.loop_history >= before.loop_history, JSON.stringify({ before, after }));
  const points = h.usageOf([R1], clock.now()).get(R1)?.[0]?.points ?? [];
  assert.equal(points.length, 25, "the day's 24 hourly points and this hour's");
  // pruning goes on at the monotonic clock's pace: two days later the first day is gone
  for (let i = 0; i < 48; i++) hour();
  assert.ok(h.summary(clock.now()).orders.every((o) => o.at >= clock.now() - 2 * DAY - HOUR_MS));
  assert.ok(h.rowCounts().order_history <= 2 * 24 + 1 + 3, JSON.stringify(h.rowCounts()));
});

Deno.test("a usage pass is one transaction, and an unchanged amount in its bucket writes nothing", () => {
  const clock = new ManualClock({ start: Date.UTC(2026, 10, 15, 0, 0, 0) });
  const db = new DatabaseSync(":memory:");
  db.exec(
    "CREATE TABLE audit (id INTEGER PRIMARY KEY, at, offering, system, action, target, result, detail)",
  );
  for (const sql of MIGRATIONS.slice(3)) db.exec(sql);
  let transactions = 0;
  const h = new History({
    prepare: (sql) => db.prepare(sql),
    tx: (work) => {
      transactions++;
      db.exec("BEGIN");
      work();
      db.exec("COMMIT");
    },
  });
  const changes = (): number => Number(db.prepare("SELECT total_changes() AS n").get()?.n);
  const pass = (amount: number): void =>
    h.recordUsages(
      Array.from({ length: 50 }, (_, i) => ({
        resource: `r${i}`,
        amounts: { cpu: amount, memory: 2 },
        at: clock.now(),
        limits: { cpu: 4 },
      })),
    );
  pass(1);
  assert.equal(transactions, 1, "one transaction for 50 resources");
  const written = changes();
  assert.equal(written, 50 * 2 * 2 + 1, "a series and its point per component, and the beginning");
  clock.advance(HOUR_MS);
  pass(1);
  assert.equal(changes(), written, "nothing changed in the bucket: no row written");
  pass(2);
  assert.equal(changes(), written + 50, "the cpu row of each resource, once");
  clock.advance(6 * HOUR_MS);
  pass(2);
  assert.equal(changes(), written + 50 + 50 * 2 * 2, "a new bucket: its point and last_at");
  assert.equal(transactions, 4);
  db.close();
});

Deno.test("a failed history write is logged and the pass is still recorded", () => {
  const warned: string[] = [];
  const log: Pick<Logger, "warn"> = { warn: (message) => void warned.push(message) };
  using store = Store.open(":memory:", { log });
  store.execute("DROP TABLE loop_history");
  store.recordRun({ offering: "r", loop: "usage", startedAt: 1, finishedAt: 2, outcome: "ok" });
  assert.equal(store.lastRun("r", "usage")?.finishedAt, 2);
  assert.deepEqual(warned, ["cannot record the history in the state file"]);
});

Deno.test("a usage write keeps the cached summary: it holds orders and loops only", () => {
  using store = Store.open(":memory:");
  const clock = new ManualClock();
  const h = store.history;
  h.recordOrder("registry", "done", 1_000, clock.now());
  const first = h.summary(clock.now());
  h.recordUsage(R1, { storage: 3 }, clock.now());
  h.recordUsages([{ resource: R2, amounts: { cpu: 1 }, at: clock.now() }]);
  assert.equal(h.summary(clock.now()), first, "not read again");
});

Deno.test("audit retention: the last report-usage events per resource, the rest by age and a cap", () => {
  using store = Store.open(":memory:", { historyDays: 2 });
  const clock = new ManualClock();
  const event = (action: string, resource: string) =>
    store.audit({
      at: clock.now(),
      offering: "registry",
      system: "waldur",
      action,
      target: resource,
      result: "ok",
      resource,
    });
  event("Create order done", R1);
  event("set limits", R1);
  for (let i = 0; i < 3 * USAGE_EVENTS_KEPT; i++) {
    event("report usage", R1);
    event("report usage", R2);
  }
  const actions = (r: string): string[] =>
    store.recentAudit({ resource: r, limit: 1_000 }).map((e) => e.action);
  assert.deepEqual(actions(R1), [
    ...Array(USAGE_EVENTS_KEPT).fill("report usage"),
    "set limits",
    "Create order done",
  ]);
  assert.equal(actions(R2).length, USAGE_EVENTS_KEPT);
  assert.equal(store.recentAudit(1)[0]?.resource, R2, "the newest, with its resource");
  // past the retention (two days), at the hourly prune
  clock.advance(3 * DAY);
  event("set limits", R2);
  store.recordRun({
    offering: "registry",
    loop: "orders",
    startedAt: clock.now() - 1,
    finishedAt: clock.now(),
    outcome: "ok",
  });
  assert.deepEqual(actions(R1), []);
  assert.deepEqual(actions(R2), ["set limits"]);
});
