/**
 * The one status record: the loops and processors write it, and the status page, `/api/status`,
 * `/metrics` and the probes read it. The model is a zod schema so the JSON API is documented by
 * the same code that checks it.
 */
import { z } from "zod";
import { AttentionEntry, AttentionSummary } from "./attention.ts";
import { attend, AttentionBook } from "./attention_book.ts";
import { BackendSnapshot } from "./backend.ts";
import { BreakerStatus } from "./breaker.ts";
import { EventConnections, EventConnectionStatus } from "./events/status.ts";
import { type History, HistoryModel } from "./history.ts";
import type { ServeEvent } from "./status_server.ts";
import { AuditEvent } from "./store.ts";

const LoopState = z.enum(["never", "running", "ok", "partial", "failed"]);

/** One loop of one offering: its state, interval, runs, last success and last error. */
export const LoopStatus = z.object({
  offering: z.string(),
  loop: z.string(),
  intervalMs: z.number(),
  state: LoopState,
  lastStart: z.number().nullable(),
  lastEnd: z.number().nullable(),
  durationMs: z.number().nullable(),
  nextRun: z.number().nullable(),
  lastSuccess: z.number().nullable(),
  lastError: z.string(),
  runs: z.number(),
  /** Last sign of life of the pass in flight (or of the loop between passes). */
  heartbeat: z.number(),
});
export type LoopStatus = z.infer<typeof LoopStatus>;

/** An order in flight or just finished, as the page's orders list shows it. */
export const OrderStatus = z.object({
  uuid: z.string(),
  offering: z.string(),
  type: z.string(),
  resourceName: z.string(),
  attempts: z.number(),
  lastError: z.string(),
  nextAttemptAt: z.number(),
});
export type OrderStatus = z.infer<typeof OrderStatus>;

/** A refused termination: shown until a new order of the resource is done or the cause is gone. */
export const RefusalStatus = z.object({
  offering: z.string(),
  resource: z.string(),
  resourceName: z.string(),
  order: z.string(),
  message: z.string(),
  at: z.number(),
});
export type RefusalStatus = z.infer<typeof RefusalStatus>;

/** One error the loops hit, kept in the status record's last-errors list. */
export const ErrorEvent = z.object({
  at: z.number(),
  offering: z.string(),
  loop: z.string(),
  message: z.string(),
});
export type ErrorEvent = z.infer<typeof ErrorEvent>;

/** The status server itself: where it listens, who may read it, what it survived. */
export const ServerStatus = z.object({
  /** `status.listen` (or `--listen`) as given. */
  listen: z.string(),
  /** Everything but the probes needs `status.token`. */
  tokenRequired: z.boolean(),
  /** Reachable beyond this host with no token: the page shows a banner. */
  openToNetwork: z.boolean(),
  /** Times the listener stopped accepting (out of file descriptors, ...) and listened again. */
  acceptFailures: z.number(),
  lastAcceptError: z.string(),
});
export type ServerStatus = z.infer<typeof ServerStatus>;

/** The whole status record at one moment: what every route renders. */
export const StatusModel = z.object({
  version: z.string(),
  startedAt: z.number(),
  now: z.number(),
  configPath: z.string(),
  offerings: z.array(
    z.object({
      name: z.string(),
      backendType: z.string(),
      offeringUuid: z.string(),
      /** Each component's `measured_unit`, in the config's order (the charts' units). */
      units: z.record(z.string(), z.string()).optional(),
    }),
  ),
  loops: z.array(LoopStatus),
  orders: z.array(OrderStatus),
  events: z.array(AuditEvent),
  errors: z.array(ErrorEvent),
  /** Terminations refused (images or volume claims left), with what to do. */
  refusals: z.array(RefusalStatus),
  /** Circuit breakers of the upstream servers that have been called. */
  breakers: z.array(BreakerStatus),
  /** Each offering's backend snapshot; its plugin's presentation reads the rows. */
  backends: z.array(BackendSnapshot.extend({ offering: z.string() })),
  /** Event mode's connections, one per offering and object type; absent without event mode. */
  eventConnections: z.array(EventConnectionStatus).optional(),
  /** Absent until `berth run` starts the status server (and in `--once`). */
  server: ServerStatus.optional(),
  /** Hourly orders and loop passes over the retention; with a state file, in `/api/status`. */
  history: HistoryModel.optional(),
  /** What needs attention, until its condition clears (`lib/attention.ts`). */
  attention: z.array(AttentionEntry),
  /** Counts per state of orders, resources, groups, upstreams and loops. */
  summary: AttentionSummary,
  /** Per offering, each resource's last successful sync (a pass or an order), Unix ms. */
  lastSync: z.record(z.string(), z.record(z.string(), z.number())),
});
export type StatusModel = z.infer<typeof StatusModel>;

const KEEP_EVENTS = 200;
const KEEP_ERRORS = 100;
/** Orders in flight kept for the page and the API, the most recent first. */
const KEEP_ORDERS = 1_000;

/** A loop's signs of life on monotonic time (see {@link StatusRecord.liveness}). */
export interface LoopLiveness {
  offering: string;
  loop: string;
  running: boolean;
  /** Milliseconds since the last sign of life. */
  silentMs: number;
  /** Milliseconds past the time the next pass was due (negative: not due yet); 0 while running. */
  lateMs: number;
}

interface LoopAlive {
  heartbeat: number;
  started: number | null;
  nextRun: number;
}

/** Counters behind `/metrics`. */
export interface Counters {
  loopRuns: Map<string, number>;
  orders: Map<string, number>;
  http: Map<string, number>;
}

/** Upper bounds (seconds) of the pass-duration histogram's buckets. */
export const DURATION_BUCKETS = [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600];

/** A cumulative histogram of one loop's pass durations. */
export interface DurationHistogram {
  loop: string;
  offering: string;
  /** Counts per bucket of {@link DURATION_BUCKETS} (not cumulative), then the overflow. */
  counts: number[];
  sum: number;
  count: number;
}

/** `value` with every string in it passed through `redact`. */
function redactStrings<T>(value: T, redact: (text: string) => string): T {
  if (typeof value === "string") return redact(value) as T;
  if (Array.isArray(value)) return value.map((v) => redactStrings(v, redact)) as T;
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = redactStrings(v, redact);
    return out as T;
  }
  return value;
}

/** The live status record. */
export class StatusRecord {
  readonly version: string;
  readonly startedAt: number;
  readonly configPath: string;
  readonly offerings: StatusModel["offerings"];
  readonly counters: Counters = { loopRuns: new Map(), orders: new Map(), http: new Map() };
  /** Resources Erred in Waldur, per offering, after its last whole membership pass. */
  readonly erred = new Map<string, number>();
  /** Pass durations per loop, for the histogram. */
  readonly durations = new Map<string, DurationHistogram>();
  #loops = new Map<string, LoopStatus>();
  #orders = new Map<string, OrderStatus>();
  #events: AuditEvent[] = [];
  #errors: ErrorEvent[] = [];
  #refusals = new Map<string, RefusalStatus[]>();
  /** Per offering, the backend's view: a source read when the model is, cached until the next publish. */
  #backends = new Map<
    string,
    { source: () => BackendSnapshot; value?: BackendSnapshot & { offering: string } }
  >();
  #breakers = new Map<string, BreakerStatus>();
  #server: ServerStatus | undefined;
  /** Event mode's connections (`lib/events/`). */
  readonly eventConnections: EventConnections;
  /** The state file's history (charts, resource pages, CSV); absent without a state file. */
  readonly history: History | undefined;
  /** What needs attention and each resource's last sync (`lib/attention_book.ts`). */
  readonly attention: AttentionBook;
  /** Per loop, its signs of life on monotonic time (the probes' view). */
  #alive = new Map<string, LoopAlive>();
  #now: () => number;
  #monotonic: () => number;
  #redact: (text: string) => string;

  constructor(options: {
    version: string;
    configPath: string;
    offerings: StatusModel["offerings"];
    /** Wall time, for what is shown. */
    now: () => number;
    /** Elapsed time for liveness and durations (`performance.now`); defaults to `now`. */
    monotonic?: () => number;
    /** Applied to every text written here, so no secret reaches the page or the API. */
    redact?: (text: string) => string;
    /** The state file's history, read (never written) through this record. */
    history?: History;
  }) {
    this.history = options.history;
    this.#redact = options.redact ?? ((text) => text);
    this.eventConnections = new EventConnections(this.#redact);
    this.attention = new AttentionBook({
      now: options.now,
      redact: this.#redact,
      onError: (message) => this.error("", "attention", message),
    });
    this.version = options.version;
    this.configPath = options.configPath;
    this.offerings = options.offerings;
    this.#now = options.now;
    this.#monotonic = options.monotonic ?? options.now;
    this.startedAt = options.now();
  }

  /** Declares a loop so it shows as "never run" before its first pass. */
  addLoop(offering: string, loop: string, intervalMs: number): void {
    const mono = this.#monotonic();
    this.#alive.set(`${offering}/${loop}`, { heartbeat: mono, started: null, nextRun: mono });
    this.#loops.set(`${offering}/${loop}`, {
      offering,
      loop,
      intervalMs,
      state: "never",
      lastStart: null,
      lastEnd: null,
      durationMs: null,
      nextRun: this.#now(),
      lastSuccess: null,
      lastError: "",
      runs: 0,
      heartbeat: this.#now(),
    });
  }

  #loop(offering: string, loop: string): { l: LoopStatus; alive: LoopAlive } {
    const key = `${offering}/${loop}`;
    if (!this.#loops.has(key)) this.addLoop(offering, loop, 0);
    const l = this.#loops.get(key);
    const alive = this.#alive.get(key);
    if (!l || !alive) throw new Error("unreachable");
    return { l, alive };
  }

  loopStarted(offering: string, loop: string): void {
    const { l, alive } = this.#loop(offering, loop);
    l.state = "running";
    l.lastStart = this.#now();
    l.heartbeat = l.lastStart;
    alive.started = alive.heartbeat = this.#monotonic();
  }

  /** A sign of life from a long pass (each item processed). */
  heartbeat(offering: string, loop: string): void {
    const { l, alive } = this.#loop(offering, loop);
    l.heartbeat = this.#now();
    alive.heartbeat = this.#monotonic();
  }

  /** A pass ended; the next one is due in `nextRunInMs`. */
  loopFinished(
    offering: string,
    loop: string,
    outcome: "ok" | "partial" | "failed",
    error: string,
    nextRunInMs: number,
  ): void {
    const { l, alive } = this.#loop(offering, loop);
    const now = this.#now();
    const mono = this.#monotonic();
    l.state = outcome;
    l.lastEnd = now;
    l.durationMs = alive.started === null ? null : mono - alive.started;
    l.nextRun = now + nextRunInMs;
    l.heartbeat = now;
    alive.heartbeat = mono;
    alive.started = null;
    alive.nextRun = mono + nextRunInMs;
    l.runs++;
    if (outcome === "ok") l.lastSuccess = now;
    l.lastError = this.#redact(error);
    const key = `${loop}\u0000${offering}\u0000${outcome}`;
    this.counters.loopRuns.set(key, (this.counters.loopRuns.get(key) ?? 0) + 1);
    if (l.durationMs !== null) this.#observeDuration(offering, loop, l.durationMs / 1000);
    if (error) this.error(offering, loop, error);
    // what a pass changed needs attention now, in the state file too, whoever reads the page:
    // the view of this pass's offering is read (one per pass; its entries' `since` is when the
    // pass saw them, not when someone first looked), the others' only if a reader already did
    try {
      this.#attend(offering);
    } catch (cause) {
      this.error(offering, loop, `attention: ${cause instanceof Error ? cause.message : cause}`);
    }
  }

  #observeDuration(offering: string, loop: string, seconds: number): void {
    const key = `${loop}\u0000${offering}`;
    let h = this.durations.get(key);
    if (!h) {
      h = { loop, offering, counts: DURATION_BUCKETS.map(() => 0).concat(0), sum: 0, count: 0 };
      this.durations.set(key, h);
    }
    const i = DURATION_BUCKETS.findIndex((le) => seconds <= le);
    const slot = i === -1 ? DURATION_BUCKETS.length : i;
    h.counts[slot] = (h.counts[slot] ?? 0) + 1;
    h.sum += seconds;
    h.count++;
  }

  error(offering: string, loop: string, message: string): void {
    this.#errors.unshift({ at: this.#now(), offering, loop, message: this.#redact(message) });
    if (this.#errors.length > KEEP_ERRORS) this.#errors.length = KEEP_ERRORS;
  }

  audit(event: AuditEvent): void {
    this.#events.unshift(redactStrings(event, this.#redact));
    if (this.#events.length > KEEP_EVENTS) this.#events.length = KEEP_EVENTS;
  }

  /** The refused terminations of an offering, as the state file has them now. */
  refused(offering: string, refusals: readonly RefusalStatus[]): void {
    this.#refusals.set(offering, refusals.map((r) => redactStrings(r, this.#redact)));
  }

  orderPending(order: OrderStatus): void {
    this.#orders.delete(order.uuid);
    this.#orders.set(order.uuid, redactStrings(order, this.#redact));
    // the most recent ones are what the page can show; a flood of orders is not kept whole
    while (this.#orders.size > KEEP_ORDERS) {
      const oldest = this.#orders.keys().next().value;
      if (oldest === undefined) break;
      this.#orders.delete(oldest);
    }
  }

  /** How many of an offering's resources are Erred in Waldur after a whole membership pass. */
  erredResources(offering: string, count: number): void {
    this.erred.set(offering, count);
  }

  orderFinished(uuid: string, type: string, outcome: string): void {
    this.#orders.delete(uuid);
    const key = `${type}\u0000${outcome}`;
    this.counters.orders.set(key, (this.counters.orders.get(key) ?? 0) + 1);
  }

  /** Drops in-flight orders of an offering that Waldur no longer lists. */
  keepOrders(offering: string, listed: ReadonlySet<string>): void {
    for (const [uuid, o] of this.#orders) {
      if (o.offering === offering && !listed.has(uuid)) this.#orders.delete(uuid);
    }
  }

  httpExchange(system: string, method: string, status: number): void {
    const key = `${system}\u0000${method}\u0000${status === 0 ? "error" : status}`;
    this.counters.http.set(key, (this.counters.http.get(key) ?? 0) + 1);
  }

  /** A circuit breaker changed state. */
  breaker(status: BreakerStatus): void {
    this.#breakers.set(status.target, redactStrings(status, this.#redact));
  }

  /** The status server is about to listen on `server.listen`. */
  serving(server: { listen: string; tokenRequired: boolean; openToNetwork: boolean }): void {
    this.#server = { ...server, acceptFailures: 0, lastAcceptError: "" };
  }

  /** Something the status server survived; accept failures are counted. */
  serverEvent(event: ServeEvent): void {
    if (!this.#server || event.kind !== "accept") return;
    this.#server.acceptFailures++;
    this.#server.lastAcceptError = this.#redact(event.message);
  }

  /**
   * A backend's view changed. A function is read only when the model is (the page, /metrics), so
   * a pass that publishes after every project costs nothing per project.
   */
  publish(offering: string, snapshot: BackendSnapshot | (() => BackendSnapshot)): void {
    this.#backends.set(offering, {
      source: typeof snapshot === "function" ? snapshot : () => snapshot,
    });
  }

  #backend(offering: string): BackendSnapshot & { offering: string } {
    const entry = this.#backends.get(offering);
    if (!entry) throw new Error(`no backend view for ${offering}`);
    entry.value ??= { ...redactStrings(entry.source(), this.#redact), offering };
    return entry.value;
  }

  loops(): LoopStatus[] {
    return [...this.#loops.values()].map((l) => ({ ...l }));
  }

  /**
   * Each loop's signs of life as elapsed monotonic time: how long its pass has been silent, or
   * how late its next pass is. The probes read this, so a wall-clock step never fails them.
   */
  liveness(): LoopLiveness[] {
    const mono = this.#monotonic();
    return [...this.#loops.entries()].map(([key, l]) => {
      const alive = this.#alive.get(key);
      const running = l.state === "running";
      return {
        offering: l.offering,
        loop: l.loop,
        running,
        silentMs: alive ? mono - alive.heartbeat : 0,
        lateMs: alive && !running ? mono - alive.nextRun : 0,
      };
    });
  }

  /**
   * The attention entries reconciled with the record now, and the summary's counts; `read`: every
   * backend's view is read (`true`), or one offering's, the others counting only when a reader
   * already read them (what comes of those stays as kept).
   */
  #attend(read: true | string): Pick<StatusModel, "attention" | "summary"> {
    const backends = [...this.#backends.entries()].flatMap(([name, entry]) =>
      read === true || read === name ? [this.#backend(name)] : entry.value ? [entry.value] : []
    );
    return attend(this.attention, {
      loops: [...this.#loops.values()],
      liveness: this.liveness(),
      breakers: [...this.#breakers.values()],
      refusals: [...this.#refusals.values()].flat(),
      backends,
    }, {
      offerings: this.offerings.map((o) => o.name),
      orders: this.counters.orders,
      inFlight: this.#orders.size,
    });
  }

  /** The whole model, as `/api/status` returns it (`history` when asked and kept). */
  snapshot(options: { history?: boolean } = {}): StatusModel {
    const connections = this.eventConnections.list();
    const { attention, summary } = this.#attend(true);
    return {
      version: this.version,
      startedAt: this.startedAt,
      now: this.#now(),
      configPath: this.configPath,
      offerings: this.offerings,
      loops: this.loops(),
      orders: [...this.#orders.values()],
      events: [...this.#events],
      errors: [...this.#errors],
      refusals: [...this.#refusals.values()].flat().sort((a, b) => a.at - b.at),
      breakers: [...this.#breakers.values()].map((b) => ({ ...b })),
      backends: [...this.#backends.keys()].map((name) => this.#backend(name)).map((b) => ({
        offering: b.offering,
        kind: b.kind,
        at: b.at,
        rows: b.rows,
        ...(b.groups ? { groups: b.groups } : {}),
        ...(b.tables ? { tables: b.tables } : {}),
      })),
      ...(this.#server ? { server: { ...this.#server } } : {}),
      ...(connections.length > 0 ? { eventConnections: connections } : {}),
      attention,
      summary,
      lastSync: this.attention.lastSync(),
      ...(options.history && this.history ? { history: this.history.summary(this.#now()) } : {}),
    };
  }
}
