/**
 * The bounded history the state file keeps for the page's charts, `/api/status`, the resource
 * pages and the CSV export: the usage reported per resource and component, orders finished per
 * hour with their latency, and loop passes per hour with their durations.
 *
 * Bounds: everything older than the retention (`status.history_days`, 30 days by default) goes.
 * Usage is kept at most {@link USAGE_POINTS} points per series (resource × component): one
 * point per bucket of `retention / USAGE_POINTS` (at least an hour; 6 h at 30 days), keeping the
 * bucket's last amount and its largest (`peak`). Orders and loops are hourly buckets, one row per
 * offering (and loop) and hour. A series not written for the whole retention is dropped with its
 * points (once an hour); an older point of a live series goes when the series starts a new bucket,
 * and is never read.
 *
 * Writes: a usage pass is one transaction ({@link History.recordUsages}); a bucket's row is
 * rewritten only when its amount or limit changed. The pruning's "now" never runs ahead of the
 * monotonic clock (see {@link History.trustedNow}): a wall clock stepped forwards, even for a
 * moment, does not wipe the history.
 */
import type { StatementSync } from "node:sqlite";
import { z } from "zod";
import type { AuditEvent, AuditLog } from "./audit_log.ts";

/** One hour in milliseconds: the buckets of the orders' and loops' history. */
export const HOUR_MS = 3_600_000;
/** The retention unless `status.history_days` says otherwise. */
export const DEFAULT_HISTORY_DAYS = 30;
/** The longest retention `status.history_days` accepts. */
export const MAX_HISTORY_DAYS = 366;
/** The most points a usage series (one resource's component) keeps. */
export const USAGE_POINTS = 120;

/** The migration that adds the history tables (appended to the store's migrations). */
export const HISTORY_MIGRATION = `
  CREATE TABLE usage_series (
    id INTEGER PRIMARY KEY, resource_uuid TEXT NOT NULL, component TEXT NOT NULL,
    last_at INTEGER NOT NULL, UNIQUE (resource_uuid, component));
  CREATE TABLE usage_history (
    series INTEGER NOT NULL, bucket INTEGER NOT NULL, at INTEGER NOT NULL, amount REAL NOT NULL,
    quota REAL, PRIMARY KEY (series, bucket)) WITHOUT ROWID;
  CREATE TABLE order_history (
    offering TEXT NOT NULL, hour INTEGER NOT NULL, done INTEGER NOT NULL, erred INTEGER NOT NULL,
    timed INTEGER NOT NULL, latency_sum INTEGER NOT NULL, latency_max INTEGER NOT NULL,
    PRIMARY KEY (offering, hour)) WITHOUT ROWID;
  CREATE TABLE loop_history (
    offering TEXT NOT NULL, loop TEXT NOT NULL, hour INTEGER NOT NULL, runs INTEGER NOT NULL,
    failed INTEGER NOT NULL, duration_sum INTEGER NOT NULL, duration_max INTEGER NOT NULL,
    PRIMARY KEY (offering, loop, hour)) WITHOUT ROWID;
  ALTER TABLE audit ADD COLUMN resource_uuid TEXT;
  CREATE INDEX audit_by_resource ON audit (resource_uuid, id) WHERE resource_uuid IS NOT NULL;`;

/** The migration that keeps each usage bucket's largest amount (older rows: their amount). */
export const USAGE_PEAK_MIGRATION = `
  ALTER TABLE usage_history ADD COLUMN peak REAL NOT NULL DEFAULT 0;
  UPDATE usage_history SET peak = amount;`;

/**
 * When the history began (its first write): a chart's first bucket starts no earlier, before and
 * after a restart. An older file's first row stands for it.
 */
export const HISTORY_BEGAN_MIGRATION = `
  CREATE TABLE history_began (id INTEGER PRIMARY KEY CHECK (id = 1), at INTEGER NOT NULL);
  INSERT INTO history_began (id, at) SELECT 1, min(x) FROM (
    SELECT min(at) AS x FROM usage_history UNION ALL SELECT min(hour) FROM order_history
    UNION ALL SELECT min(hour) FROM loop_history) WHERE x IS NOT NULL HAVING min(x) IS NOT NULL;`;

/** One resource's amounts found by a usage pass (reported or unchanged), and its limits then. */
export interface UsageRecord {
  resource: string;
  amounts: Readonly<Record<string, number>>;
  at: number;
  limits?: Readonly<Record<string, number>>;
}

/** One reported amount of a component, at the time it was reported, and its limit then. */
export const UsagePoint = z.object({
  at: z.number(),
  /** The last amount reported in the point's bucket. */
  amount: z.number(),
  /** The largest amount reported in the point's bucket (a spike between two passes' amounts). */
  peak: z.number(),
  /** The resource's limit of the component in Waldur (same unit); null when it has none. */
  quota: z.number().nullable(),
});
/** A point of a usage series. */
export type UsagePoint = z.infer<typeof UsagePoint>;

/** One component's reported usage of one resource, oldest point first. */
export const UsageSeries = z.object({ component: z.string(), points: z.array(UsagePoint) });
/** A component's usage over time. */
export type UsageSeries = z.infer<typeof UsageSeries>;

/** Orders of one offering finished in one hour, and how long they took from Waldur's `created`. */
export const OrderBucket = z.object({
  offering: z.string(),
  /** The hour's start. */
  at: z.number(),
  done: z.number(),
  erred: z.number(),
  /** Mean and longest time from the order's creation in Waldur to done or erred; null: none timed. */
  meanLatencyMs: z.number().nullable(),
  maxLatencyMs: z.number().nullable(),
});
/** An hour of an offering's orders. */
export type OrderBucket = z.infer<typeof OrderBucket>;

/** Passes of one loop that ended in one hour. */
export const LoopBucket = z.object({
  offering: z.string(),
  loop: z.string(),
  /** The hour's start. */
  at: z.number(),
  runs: z.number(),
  /** Passes that failed or left items failing. */
  failed: z.number(),
  meanMs: z.number(),
  maxMs: z.number(),
});
/** An hour of one loop's passes. */
export type LoopBucket = z.infer<typeof LoopBucket>;

/** The history in `/api/status`: hourly orders and loop passes over the retention. */
export const HistoryModel = z.object({
  retentionDays: z.number(),
  bucketMs: z.number(),
  /** The history's first write (Unix ms), null before it: no chart starts earlier. */
  beganAt: z.number().nullable(),
  orders: z.array(OrderBucket),
  loops: z.array(LoopBucket),
});
/** The history in `/api/status`. */
export type HistoryModel = z.infer<typeof HistoryModel>;

/** An audit event of one resource, newest first on its page (the store's {@link AuditEvent}). */
export type ResourceEvent = AuditEvent;

/** What the history needs of the state file: cached prepared statements and a transaction. */
export interface HistoryDb {
  prepare(sql: string): StatementSync;
  tx(work: () => void): void;
}

/** The history in the state file: written by the loops, read by the routes. */
export class History {
  #db: HistoryDb;
  /** The retention in milliseconds. */
  readonly retentionMs: number;
  /** The width of a usage point's bucket. */
  readonly usageBucketMs: number;
  #lastPrune = Number.NEGATIVE_INFINITY;
  /** Bumped by every write of what the summary holds (orders, loops, a prune). */
  #version = 0;
  #cached: { version: number; from: number; model: HistoryModel } | undefined;
  #monotonic: (() => number) | undefined;
  /** The wall and monotonic times of the first write: where {@link trustedNow} counts from. */
  #anchor: { wall: number; mono: number } | undefined;
  #audit: AuditLog | undefined;

  /**
   * `monotonic` (the clock's, lib/clock.ts) keeps the pruning from following a wall clock that
   * runs ahead; without it the wall clock is trusted. `audit` is the store's audit log: its
   * events of a resource ({@link eventsOf}) and its rows past the retention go with the history's.
   */
  constructor(
    db: HistoryDb,
    options: { days?: number; monotonic?: () => number; audit?: AuditLog } = {},
  ) {
    this.#db = db;
    this.#monotonic = options.monotonic;
    this.#audit = options.audit;
    const days = Math.min(Math.max(options.days ?? DEFAULT_HISTORY_DAYS, 1), MAX_HISTORY_DAYS);
    this.retentionMs = days * 24 * HOUR_MS;
    this.usageBucketMs = Math.max(1, Math.ceil(this.retentionMs / USAGE_POINTS / HOUR_MS)) *
      HOUR_MS;
  }

  /** The retention in days. */
  get retentionDays(): number {
    return this.retentionMs / (24 * HOUR_MS);
  }

  /** Records the amounts a usage pass found for a resource (reported or unchanged), and its limits. */
  recordUsage(
    resource: string,
    amounts: Readonly<Record<string, number>>,
    at: number,
    limits: Readonly<Record<string, number>> = {},
  ): void {
    this.recordUsages([{ resource, amounts, at, limits }]);
  }

  /**
   * Records a usage pass's amounts in one transaction. A bucket's row is written only when its
   * amount or limit changed; a series' older rows (past the retention, or more than
   * {@link USAGE_POINTS}) go only when it starts a new bucket. The summary holds no usage: its
   * cache stays.
   */
  recordUsages(records: readonly UsageRecord[]): void {
    if (records.length === 0) return;
    this.#db.tx(() => {
      this.#began(Math.min(...records.map((r) => r.at)));
      for (const record of records) this.#writeUsage(record);
    });
  }

  /** Notes the history's first write, once. */
  #began(at: number): void {
    if (this.#beganAt !== undefined) return;
    this.#db.prepare("INSERT OR IGNORE INTO history_began (id, at) VALUES (1, ?)").run(at);
    this.#beganAt = this.beganAt() ?? at;
  }

  #beganAt: number | undefined;

  /** When the history began: its first write (none yet: undefined). */
  beganAt(): number | undefined {
    if (this.#beganAt !== undefined) return this.#beganAt;
    const at = this.#db.prepare("SELECT at FROM history_began WHERE id = 1").get()?.at;
    return at === undefined || at === null ? undefined : this.#beganAt = Number(at);
  }

  #writeUsage({ resource, amounts, at, limits = {} }: UsageRecord): void {
    const bucket = floorTo(at, this.usageBucketMs);
    for (const [component, amount] of Object.entries(amounts)) {
      const quota = limits[component] ?? null;
      const current = this.#db.prepare(
        `SELECT s.id AS id, h.bucket AS bucket, h.amount AS amount, h.quota AS quota
         FROM usage_series s LEFT JOIN usage_history h ON h.series = s.id AND h.bucket = ?
         WHERE s.resource_uuid = ? AND s.component = ?`,
      ).get(bucket, resource, component);
      if (current && current.bucket !== null) {
        // the bucket has its row: rewritten only when something in it changes
        if (current.amount === amount && current.quota === quota) continue;
        this.#db.prepare(
          `UPDATE usage_history SET at = ?, amount = ?, quota = ?, peak = max(peak, ?)
           WHERE series = ? AND bucket = ?`,
        ).run(at, amount, quota, amount, Number(current.id), bucket);
        continue;
      }
      let series: number;
      if (current) {
        series = Number(current.id);
        this.#db.prepare("UPDATE usage_series SET last_at = ? WHERE id = ?").run(at, series);
      } else {
        series = Number(
          this.#db.prepare(
            `INSERT INTO usage_series (resource_uuid, component, last_at) VALUES (?, ?, ?)
             RETURNING id`,
          ).get(resource, component, at)?.id,
        );
      }
      this.#db.prepare(
        `INSERT INTO usage_history (series, bucket, at, amount, peak, quota)
         VALUES (?, ?, ?, ?, ?, ?)`,
      ).run(series, bucket, at, amount, amount, quota);
      if (current) {
        // a new bucket: the series' rows past the retention, or past the newest USAGE_POINTS, go
        const keep = floorTo(this.trustedNow(at) - this.retentionMs, this.usageBucketMs);
        this.#db.prepare(
          `DELETE FROM usage_history WHERE series = ?1 AND (bucket < ?2 OR bucket <= (
             SELECT bucket FROM usage_history WHERE series = ?1 ORDER BY bucket DESC
             LIMIT 1 OFFSET ?3))`,
        ).run(series, keep, USAGE_POINTS);
      }
    }
  }

  /**
   * The wall time `wall` as far as the monotonic clock vouches for it: never later than the first
   * write's wall time plus the monotonic time since. A wall clock stepped forwards (a wrong RTC, an
   * NTP step, a restored VM) does not move the pruning's cutoff; one stepped back is followed.
   */
  trustedNow(wall: number): number {
    if (!this.#monotonic) return wall;
    const mono = this.#monotonic();
    if (!this.#anchor) {
      this.#anchor = { wall, mono };
      return wall;
    }
    return Math.min(wall, this.#anchor.wall + (mono - this.#anchor.mono));
  }

  /** Records a finished order; `latencyMs` is null when Waldur gave no creation time. */
  recordOrder(
    offering: string,
    outcome: "done" | "erred",
    latencyMs: number | null,
    at: number,
  ): void {
    const latency = latencyMs === null ? 0 : Math.max(0, Math.round(latencyMs));
    this.#began(at);
    this.#db.prepare(
      `INSERT INTO order_history (offering, hour, done, erred, timed, latency_sum, latency_max)
       VALUES (?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (offering, hour) DO UPDATE SET done = done + excluded.done,
         erred = erred + excluded.erred, timed = timed + excluded.timed,
         latency_sum = latency_sum + excluded.latency_sum,
         latency_max = max(latency_max, excluded.latency_max)`,
    ).run(
      offering,
      floorTo(at, HOUR_MS),
      outcome === "done" ? 1 : 0,
      outcome === "erred" ? 1 : 0,
      latencyMs === null ? 0 : 1,
      latency,
      latency,
    );
    this.#version++;
  }

  /** Records a finished loop pass, and drops what is past the retention (once an hour). */
  recordLoop(
    run: { offering: string; loop: string; startedAt: number; finishedAt: number; ok: boolean },
  ): void {
    const ms = Math.max(0, Math.round(run.finishedAt - run.startedAt));
    this.#began(run.startedAt);
    this.#db.prepare(
      `INSERT INTO loop_history (offering, loop, hour, runs, failed, duration_sum, duration_max)
       VALUES (?, ?, ?, 1, ?, ?, ?)
       ON CONFLICT (offering, loop, hour) DO UPDATE SET runs = runs + 1,
         failed = failed + excluded.failed, duration_sum = duration_sum + excluded.duration_sum,
         duration_max = max(duration_max, excluded.duration_max)`,
    ).run(run.offering, run.loop, floorTo(run.finishedAt, HOUR_MS), run.ok ? 0 : 1, ms, ms);
    this.#version++;
    // either way: after the wall clock stepped back, pruning must not wait for it to catch up
    const now = this.trustedNow(run.finishedAt);
    if (Math.abs(now - this.#lastPrune) >= HOUR_MS) this.prune(now);
  }

  /**
   * Drops every row past the retention, the usage series not written within it, and the audit
   * events older than it. `now` is a trusted time ({@link trustedNow}).
   */
  prune(now: number): void {
    const cutoff = now - this.retentionMs;
    this.#db.tx(() => {
      this.#db.prepare(
        `DELETE FROM usage_history WHERE series IN (SELECT id FROM usage_series WHERE last_at < ?)`,
      ).run(cutoff);
      this.#db.prepare("DELETE FROM usage_series WHERE last_at < ?").run(cutoff);
      this.#db.prepare("DELETE FROM order_history WHERE hour < ?").run(floorTo(cutoff, HOUR_MS));
      this.#db.prepare("DELETE FROM loop_history WHERE hour < ?").run(floorTo(cutoff, HOUR_MS));
      this.#audit?.trimBefore(cutoff);
    });
    this.#lastPrune = now;
    this.#version++;
  }

  /**
   * The usage series of each of `resources` within the retention, read in one query: a row per
   * series with its points as one JSON array (a row per point costs ten times as much to read).
   */
  usageOf(resources: readonly string[], now: number): Map<string, UsageSeries[]> {
    const out = new Map<string, UsageSeries[]>();
    if (resources.length === 0) return out;
    const rows = this.#db.prepare(
      `SELECT s.resource_uuid AS r, s.component AS c,
         json_group_array(json_array(h.at, h.amount, h.quota, h.peak) ORDER BY h.bucket) AS p
       FROM usage_series s JOIN usage_history h ON h.series = s.id
       WHERE s.resource_uuid IN (SELECT value FROM json_each(?)) AND h.bucket >= ?
         AND h.at <= ?
       GROUP BY s.id ORDER BY s.resource_uuid, s.component`,
    ).all(JSON.stringify(resources), floorTo(now - this.retentionMs, this.usageBucketMs), now);
    for (const row of rows) {
      const resource = String(row.r);
      let list = out.get(resource);
      if (!list) out.set(resource, list = []);
      list.push({ component: String(row.c), points: pointsOf(String(row.p)) });
    }
    return out;
  }

  /** Whether any usage of `resource` is kept. */
  knows(resource: string): boolean {
    return this.#db.prepare("SELECT 1 AS x FROM usage_series WHERE resource_uuid = ? LIMIT 1")
      .get(resource) !== undefined;
  }

  /** The audit events written for `resource`, newest first (the store's audit log). */
  eventsOf(resource: string, limit: number): ResourceEvent[] {
    return this.#audit?.recent({ resource, limit }) ?? [];
  }

  /** The hourly orders and loop passes within the retention (cached until the next write). */
  summary(now: number): HistoryModel {
    const from = floorTo(now - this.retentionMs, HOUR_MS);
    const cached = this.#cached;
    if (cached && cached.version === this.#version && cached.from === from) return cached.model;
    const orders = this.#db.prepare(
      "SELECT * FROM order_history WHERE hour >= ? AND hour <= ? ORDER BY offering, hour",
    ).all(from, now).map((r): OrderBucket => {
      const timed = Number(r.timed);
      return {
        offering: String(r.offering),
        at: Number(r.hour),
        done: Number(r.done),
        erred: Number(r.erred),
        meanLatencyMs: timed === 0 ? null : Math.round(Number(r.latency_sum) / timed),
        maxLatencyMs: timed === 0 ? null : Number(r.latency_max),
      };
    });
    const loops = this.#db.prepare(
      "SELECT * FROM loop_history WHERE hour >= ? AND hour <= ? ORDER BY offering, loop, hour",
    ).all(from, now).map((r): LoopBucket => ({
      offering: String(r.offering),
      loop: String(r.loop),
      at: Number(r.hour),
      runs: Number(r.runs),
      failed: Number(r.failed),
      meanMs: Math.round(Number(r.duration_sum) / Math.max(1, Number(r.runs))),
      maxMs: Number(r.duration_max),
    }));
    const model = {
      retentionDays: this.retentionDays,
      bucketMs: HOUR_MS,
      beganAt: this.beganAt() ?? null,
      orders,
      loops,
    };
    this.#cached = { version: this.#version, from, model };
    return model;
  }

  /** How many rows each history table holds (tests, the benchmark). */
  rowCounts(): Record<
    "usage_series" | "usage_history" | "order_history" | "loop_history",
    number
  > {
    const count = (table: string): number =>
      Number(this.#db.prepare(`SELECT count(*) AS n FROM ${table}`).get()?.n);
    return {
      usage_series: count("usage_series"),
      usage_history: count("usage_history"),
      order_history: count("order_history"),
      loop_history: count("loop_history"),
    };
  }
}

/** The points of a series as the query aggregates them: `[[at, amount, quota, peak], ...]`. */
function pointsOf(json: string): UsagePoint[] {
  const parsed: unknown = JSON.parse(json);
  if (!Array.isArray(parsed)) return [];
  const points: UsagePoint[] = [];
  for (const item of parsed) {
    if (!Array.isArray(item)) continue;
    const [at, amount, quota, peak] = item;
    if (typeof at !== "number" || typeof amount !== "number") continue;
    points.push({
      at,
      amount,
      peak: typeof peak === "number" ? peak : amount,
      quota: typeof quota === "number" ? quota : null,
    });
  }
  return points;
}

/** `at` rounded down to a multiple of `step`. */
function floorTo(at: number, step: number): number {
  return Math.floor(at / step) * step;
}
