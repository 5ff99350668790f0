/**
 * The state file: SQLite through `node:sqlite`, WAL mode, an exclusive lock so a second agent
 * on the same file fails fast, and versioned migrations. It keeps loop runs, an audit log of
 * every change made to an external system, the order journal (attempts, backoff, outcome) and
 * the last usage reported per resource and billing period, and which backend objects Berth
 * created for which resource (its proof of ownership). The file is private: Berth creates it
 * 0600 (its directory 0700), SQLite's -wal and -journal files lose any group or other bits, and a
 * file others may read or write is warned about.
 */
import { DatabaseSync, type StatementSync } from "node:sqlite";
import {
  AUDIT_BACKFILL_MIGRATION,
  type AuditEvent,
  AuditLog,
  type AuditQuery,
} from "./audit_log.ts";
import { BerthError, errorMessage } from "./errors.ts";
import {
  History,
  HISTORY_BEGAN_MIGRATION,
  HISTORY_MIGRATION,
  USAGE_PEAK_MIGRATION,
} from "./history.ts";
import type { Logger } from "./log.ts";
import { preparePrivateFile, restrictCompanions } from "./private_file.ts";

export { AuditEvent } from "./audit_log.ts";

/** One finished loop pass. */
export interface LoopRun {
  offering: string;
  loop: string;
  startedAt: number;
  finishedAt: number;
  outcome: "ok" | "partial" | "failed";
  error?: string;
  stats?: Record<string, number>;
}

/** What Berth remembers of one order. */
export interface OrderJournal {
  orderUuid: string;
  offering: string;
  type: string;
  attempts: number;
  lastError: string;
  nextAttemptAt: number;
  finalState: "" | "done" | "erred" | "rejected";
  updatedAt: number;
}

/** The schema, one migration after another (never edit one; append); exported for the tests. */
export const MIGRATIONS: readonly string[] = [
  `CREATE TABLE loop_runs (
     id INTEGER PRIMARY KEY, offering TEXT NOT NULL, loop TEXT NOT NULL,
     started_at INTEGER NOT NULL, finished_at INTEGER NOT NULL, outcome TEXT NOT NULL,
     error TEXT, stats TEXT);
   CREATE INDEX loop_runs_by_loop ON loop_runs (offering, loop, started_at);
   CREATE TABLE audit (
     id INTEGER PRIMARY KEY, at INTEGER NOT NULL, offering TEXT NOT NULL, system TEXT NOT NULL,
     action TEXT NOT NULL, target TEXT NOT NULL, result TEXT NOT NULL, detail TEXT);
   CREATE INDEX audit_by_time ON audit (at);
   CREATE TABLE order_journal (
     order_uuid TEXT PRIMARY KEY, offering TEXT NOT NULL, type TEXT NOT NULL,
     attempts INTEGER NOT NULL, last_error TEXT NOT NULL, next_attempt_at INTEGER NOT NULL,
     final_state TEXT NOT NULL, updated_at INTEGER NOT NULL);
   CREATE TABLE usage_reports (
     resource_uuid TEXT NOT NULL, period TEXT NOT NULL, component TEXT NOT NULL,
     amount TEXT NOT NULL, reported_at INTEGER NOT NULL,
     PRIMARY KEY (resource_uuid, period, component));`,
  // What Berth created, per resource: proof of ownership when a name no longer derives
  `CREATE TABLE owned (
     offering TEXT NOT NULL, resource_uuid TEXT NOT NULL, backend_id TEXT NOT NULL,
     recorded_at INTEGER NOT NULL, PRIMARY KEY (offering, resource_uuid));`,
  // Terminations refused (a project still holding images or claims), kept visible until a new
  // order of the resource is done or what blocked it is gone
  `CREATE TABLE refusals (
     offering TEXT NOT NULL, resource_uuid TEXT NOT NULL, resource_name TEXT NOT NULL,
     order_uuid TEXT NOT NULL, message TEXT NOT NULL, at INTEGER NOT NULL,
     PRIMARY KEY (offering, resource_uuid));`,
  // The bounded history (lib/history.ts) and the resource an audit event was written for
  HISTORY_MIGRATION,
  // What needs attention (lib/attention_book.ts: the entry and its source as JSON, first seen
  // kept) and each resource's last successful sync: both survive a restart
  `CREATE TABLE attention (
     key TEXT PRIMARY KEY, entry TEXT NOT NULL, source TEXT NOT NULL);
   CREATE TABLE last_sync (
     offering TEXT NOT NULL, resource_uuid TEXT NOT NULL, at INTEGER NOT NULL,
     PRIMARY KEY (offering, resource_uuid));`,
  // Each usage bucket's largest amount too (lib/history.ts)
  USAGE_PEAK_MIGRATION,
  // The audit rows written before `resource_uuid` existed, linked to their resource
  AUDIT_BACKFILL_MIGRATION,
  // When the history began (lib/history.ts): charts start there, after a restart too
  HISTORY_BEGAN_MIGRATION,
];

/** A refused termination, as the state file keeps it. */
export interface Refusal {
  offering: string;
  resourceUuid: string;
  resourceName: string;
  orderUuid: string;
  message: string;
  at: number;
}

/** How many loop runs are kept (the audit log's bounds are in lib/audit_log.ts). */
const KEEP_ROWS = 50_000;

/** How a store is opened: the history's retention and clock, where a history failure is logged. */
export interface StoreOptions {
  /** The history's retention in days (`status.history_days`). */
  historyDays?: number;
  /** The monotonic clock (lib/clock.ts): the history's pruning never runs ahead of it. */
  monotonic?: () => number;
  /** Where a failed history write of {@link Store.recordRun} is logged (it never fails the run). */
  log?: Pick<Logger, "warn">;
}

/** The state store; `using store = Store.open(path)` closes it at the end of the scope. */
export class Store implements Disposable {
  #db: DatabaseSync;
  /**
   * Prepared statements by SQL text. A statement prepared per call holds a few KB of SQLite's
   * memory that V8 does not see until it collects the wrapper: 10,000 orders left ~60 MB behind.
   */
  #statements = new Map<string, StatementSync>();
  readonly path: string;
  /** What is wrong with the file's permissions, for the log at start (empty when nothing). */
  readonly warnings: readonly string[];
  /** The bounded history of usage, orders and loop passes (lib/history.ts). */
  readonly history: History;
  #audit: AuditLog;
  #log: Pick<Logger, "warn"> | undefined;

  private constructor(
    db: DatabaseSync,
    path: string,
    warnings: readonly string[],
    options: StoreOptions,
  ) {
    this.#db = db;
    this.path = path;
    this.warnings = warnings;
    this.#log = options.log;
    const prepare = (text: string): StatementSync => this.#prepare(text);
    this.#audit = new AuditLog(prepare);
    this.history = new History({ prepare, tx: (w: () => void) => this.#tx(w) }, {
      ...(options.historyDays === undefined ? {} : { days: options.historyDays }),
      ...(options.monotonic ? { monotonic: options.monotonic } : {}),
      audit: this.#audit,
    });
  }

  /**
   * Opens (or creates) the state file and applies pending migrations. A file Berth creates is
   * 0600 in a directory it creates 0700; an existing file that others may read or write is kept
   * as it is and named in {@link warnings}. `historyDays` is the history's retention.
   */
  static open(path: string, options: StoreOptions = {}): Store {
    let db: DatabaseSync | undefined;
    try {
      const warnings = preparePrivateFile(path);
      db = new DatabaseSync(path);
      db.exec("PRAGMA busy_timeout = 2000");
      db.exec("PRAGMA locking_mode = EXCLUSIVE");
      db.exec("PRAGMA journal_mode = WAL");
      db.exec("PRAGMA synchronous = NORMAL");
      const store = new Store(db, path, warnings, options);
      store.#migrate();
      restrictCompanions(path);
      return store;
    } catch (cause) {
      db?.close();
      throw storeError(path, cause);
    }
  }

  #migrate(): void {
    this.#db.exec("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
    const row = this.#db.prepare("SELECT max(version) AS v FROM schema_version").get();
    const current = typeof row?.v === "number" ? row.v : 0;
    if (current > MIGRATIONS.length) {
      throw new Error(`schema version ${current} is newer than this Berth (${MIGRATIONS.length})`);
    }
    for (let v = current; v < MIGRATIONS.length; v++) {
      this.#tx(() => {
        this.#db.exec(MIGRATIONS[v] ?? "");
        this.#db.prepare("INSERT INTO schema_version (version) VALUES (?)").run(v + 1);
      });
    }
  }

  #prepare(sql: string): StatementSync {
    let statement = this.#statements.get(sql);
    if (!statement) {
      statement = this.#db.prepare(sql);
      this.#statements.set(sql, statement);
    }
    return statement;
  }

  #tx(work: () => void): void {
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      work();
      this.#db.exec("COMMIT");
    } catch (error) {
      this.#db.exec("ROLLBACK");
      throw error;
    }
  }

  #run(sql: string, ...params: (string | number | null)[]): void {
    try {
      this.#prepare(sql).run(...params);
    } catch (cause) {
      throw storeError(this.path, cause);
    }
  }

  /** Runs a statement of another module's table (`lib/attention_store.ts`). */
  execute(sql: string, ...params: (string | number | null)[]): void {
    this.#run(sql, ...params);
  }

  /** The rows a query of another module's table selects. */
  select(sql: string, ...params: (string | number | null)[]): Record<string, unknown>[] {
    return this.#prepare(sql).all(...params);
  }

  /** Runs `work` in one transaction. */
  transaction(work: () => void): void {
    try {
      this.#tx(work);
    } catch (cause) {
      throw cause instanceof BerthError ? cause : storeError(this.path, cause);
    }
  }

  /** Records a change made to an external system. */
  audit(event: AuditEvent): void {
    try {
      this.#audit.write(event);
    } catch (cause) {
      throw storeError(this.path, cause);
    }
  }

  /**
   * The most recent audit events, newest first: `limit` of them (a number, or `{limit}`; 50 by
   * default), of one resource only with `{resource}`.
   */
  recentAudit(query: number | AuditQuery = {}): AuditEvent[] {
    return this.#audit.recent(typeof query === "number" ? { limit: query } : query);
  }

  /**
   * Records a finished loop pass and trims old rows. Its history (lib/history.ts) is written after
   * the run: a failure there is logged, never a failed record.
   */
  recordRun(run: LoopRun): void {
    this.#run(
      "INSERT INTO loop_runs (offering, loop, started_at, finished_at, outcome, error, stats) VALUES (?, ?, ?, ?, ?, ?, ?)",
      run.offering,
      run.loop,
      run.startedAt,
      run.finishedAt,
      run.outcome,
      run.error ?? null,
      run.stats ? JSON.stringify(run.stats) : null,
    );
    this.#run(`DELETE FROM loop_runs WHERE id <= (SELECT max(id) FROM loop_runs) - ${KEEP_ROWS}`);
    try {
      this.#audit.trimRows();
    } catch (cause) {
      throw storeError(this.path, cause);
    }
    try {
      this.history.recordLoop({ ...run, ok: run.outcome === "ok" });
    } catch (error) {
      this.#log?.warn("cannot record the history in the state file", {
        error: errorMessage(error),
      });
    }
  }

  /** The last recorded run of a loop, if any. */
  lastRun(offering: string, loop: string): LoopRun | undefined {
    const r = this.#prepare(
      "SELECT * FROM loop_runs WHERE offering = ? AND loop = ? ORDER BY id DESC LIMIT 1",
    ).get(offering, loop);
    if (!r) return undefined;
    return {
      offering: String(r.offering),
      loop: String(r.loop),
      startedAt: Number(r.started_at),
      finishedAt: Number(r.finished_at),
      outcome: r.outcome === "ok" ? "ok" : r.outcome === "partial" ? "partial" : "failed",
      ...(r.error === null ? {} : { error: String(r.error) }),
    };
  }

  /** The journal entry of an order, if Berth has seen it before. */
  order(uuid: string): OrderJournal | undefined {
    const r = this.#prepare("SELECT * FROM order_journal WHERE order_uuid = ?").get(uuid);
    if (!r) return undefined;
    const final = String(r.final_state);
    return {
      orderUuid: String(r.order_uuid),
      offering: String(r.offering),
      type: String(r.type),
      attempts: Number(r.attempts),
      lastError: String(r.last_error),
      nextAttemptAt: Number(r.next_attempt_at),
      finalState: final === "done" || final === "erred" || final === "rejected" ? final : "",
      updatedAt: Number(r.updated_at),
    };
  }

  /** Writes an order's journal entry. */
  saveOrder(entry: OrderJournal): void {
    this.#run(
      `INSERT INTO order_journal (order_uuid, offering, type, attempts, last_error, next_attempt_at, final_state, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (order_uuid) DO UPDATE SET attempts = excluded.attempts, last_error = excluded.last_error,
         next_attempt_at = excluded.next_attempt_at, final_state = excluded.final_state, updated_at = excluded.updated_at`,
      entry.orderUuid,
      entry.offering,
      entry.type,
      entry.attempts,
      entry.lastError,
      entry.nextAttemptAt,
      entry.finalState,
      entry.updatedAt,
    );
  }

  /** The amounts last reported for a resource and period, component → amount string. */
  lastUsage(resourceUuid: string, period: string): Record<string, string> {
    const rows = this.#prepare(
      "SELECT component, amount FROM usage_reports WHERE resource_uuid = ? AND period = ?",
    ).all(resourceUuid, period);
    return Object.fromEntries(rows.map((r) => [String(r.component), String(r.amount)]));
  }

  /** Remembers what was reported. */
  saveUsage(
    resourceUuid: string,
    period: string,
    amounts: Record<string, string>,
    at: number,
  ): void {
    try {
      this.#tx(() => {
        for (const [component, amount] of Object.entries(amounts)) {
          this.#prepare(
            `INSERT INTO usage_reports (resource_uuid, period, component, amount, reported_at) VALUES (?, ?, ?, ?, ?)
             ON CONFLICT (resource_uuid, period, component) DO UPDATE SET amount = excluded.amount, reported_at = excluded.reported_at`,
          ).run(resourceUuid, period, component, amount, at);
        }
      });
    } catch (cause) {
      throw storeError(this.path, cause);
    }
  }

  /** The backend object Berth created (or adopted) for a resource, if it recorded one. */
  owned(offering: string, resourceUuid: string): string | undefined {
    const r = this.#prepare(
      "SELECT backend_id FROM owned WHERE offering = ? AND resource_uuid = ?",
    ).get(offering, resourceUuid);
    return r ? String(r.backend_id) : undefined;
  }

  /** Records that Berth created (or adopted) `backendId` for a resource. */
  recordOwned(offering: string, resourceUuid: string, backendId: string, at: number): void {
    this.#run(
      `INSERT INTO owned (offering, resource_uuid, backend_id, recorded_at) VALUES (?, ?, ?, ?)
       ON CONFLICT (offering, resource_uuid) DO UPDATE SET backend_id = excluded.backend_id,
         recorded_at = excluded.recorded_at`,
      offering,
      resourceUuid,
      backendId,
      at,
    );
  }

  /** The resource Berth recorded creating or adopting `backendId` for, if any. */
  ownerOf(offering: string, backendId: string): string | undefined {
    const r = this.#prepare(
      "SELECT resource_uuid FROM owned WHERE offering = ? AND backend_id = ? LIMIT 1",
    ).get(offering, backendId);
    return r ? String(r.resource_uuid) : undefined;
  }

  /** Forgets a resource's record (its backend object is gone). */
  forgetOwned(offering: string, resourceUuid: string): void {
    this.#run("DELETE FROM owned WHERE offering = ? AND resource_uuid = ?", offering, resourceUuid);
  }

  /** Records (or replaces) a resource's refused termination. */
  saveRefusal(refusal: Refusal): void {
    this.#run(
      `INSERT INTO refusals (offering, resource_uuid, resource_name, order_uuid, message, at)
       VALUES (?, ?, ?, ?, ?, ?)
       ON CONFLICT (offering, resource_uuid) DO UPDATE SET resource_name = excluded.resource_name,
         order_uuid = excluded.order_uuid, message = excluded.message, at = excluded.at`,
      refusal.offering,
      refusal.resourceUuid,
      refusal.resourceName,
      refusal.orderUuid,
      refusal.message,
      refusal.at,
    );
  }

  /** The refused terminations of an offering (all offerings without one), oldest first. */
  refusals(offering?: string): Refusal[] {
    const rows = offering === undefined
      ? this.#prepare("SELECT * FROM refusals ORDER BY at").all()
      : this.#prepare("SELECT * FROM refusals WHERE offering = ? ORDER BY at").all(offering);
    return rows.map((r) => ({
      offering: String(r.offering),
      resourceUuid: String(r.resource_uuid),
      resourceName: String(r.resource_name),
      orderUuid: String(r.order_uuid),
      message: String(r.message),
      at: Number(r.at),
    }));
  }

  /** Forgets a resource's refused termination. */
  clearRefusal(offering: string, resourceUuid: string): void {
    this.#run(
      "DELETE FROM refusals WHERE offering = ? AND resource_uuid = ?",
      offering,
      resourceUuid,
    );
  }

  /** Closes the state file; closing again does nothing. */
  close(): void {
    this.#statements.clear();
    if (this.#db.isOpen) this.#db.close();
  }

  /** {@link close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function storeError(path: string, cause: unknown): BerthError {
  const message = cause instanceof Error ? cause.message : String(cause);
  let why = message;
  if (/locked|busy/i.test(message)) {
    why = "it is locked: another Berth process is using it (one agent per state file)";
  } else if (/not a database|malformed|corrupt/i.test(message)) {
    why =
      "it is not a valid SQLite database (corrupt, or another kind of file); move it away to start fresh";
  } else if (/unable to open|readonly|permission/i.test(message)) {
    why = `it cannot be opened for writing (${message})`;
  }
  return new BerthError(`state file ${path}: ${why}`, { system: "store", transient: false, cause });
}
