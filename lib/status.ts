/**
 * The one status record: the loops and processors write it, and the status page, `/api/status`,
 * `/metrics` and the probes read it. The model is a zod schema so the JSON API is documented by
 * the same code that checks it.
 */
import { z } from "zod";
import type { BackendSnapshot } from "./backend.ts";
import type { AuditEvent } from "./store.ts";

const LoopState = z.enum(["never", "running", "ok", "partial", "failed"]);

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

export const AuditEventSchema = z.object({
  at: z.number(),
  offering: z.string(),
  system: z.string(),
  action: z.string(),
  target: z.string(),
  result: z.enum(["ok", "failed"]),
  detail: z.string().optional(),
});

export const ErrorEvent = z.object({
  at: z.number(),
  offering: z.string(),
  loop: z.string(),
  message: z.string(),
});
export type ErrorEvent = z.infer<typeof ErrorEvent>;

export const StatusModel = z.object({
  version: z.string(),
  startedAt: z.number(),
  now: z.number(),
  configPath: z.string(),
  offerings: z.array(
    z.object({ name: z.string(), backendType: z.string(), offeringUuid: z.string() }),
  ),
  loops: z.array(LoopStatus),
  orders: z.array(OrderStatus),
  events: z.array(AuditEventSchema),
  errors: z.array(ErrorEvent),
  backends: z.array(z.object({
    offering: z.string(),
    kind: z.string(),
    at: z.number(),
    rows: z.array(z.record(z.string(), z.unknown())),
    groups: z.array(z.record(z.string(), z.unknown())).optional(),
  })),
});
export type StatusModel = z.infer<typeof StatusModel>;

const KEEP_EVENTS = 200;
const KEEP_ERRORS = 100;

/** Counters behind `/metrics`. */
export interface Counters {
  loopRuns: Map<string, number>;
  orders: Map<string, number>;
  http: Map<string, number>;
}

/** The live status record. */
export class StatusRecord {
  readonly version: string;
  readonly startedAt: number;
  readonly configPath: string;
  readonly offerings: StatusModel["offerings"];
  readonly counters: Counters = { loopRuns: new Map(), orders: new Map(), http: new Map() };
  /** Pass durations per loop, for the histogram. */
  readonly durations: { loop: string; offering: string; seconds: number }[] = [];
  #loops = new Map<string, LoopStatus>();
  #orders = new Map<string, OrderStatus>();
  #events: AuditEvent[] = [];
  #errors: ErrorEvent[] = [];
  #backends = new Map<string, BackendSnapshot & { offering: string }>();
  #now: () => number;

  constructor(options: {
    version: string;
    configPath: string;
    offerings: StatusModel["offerings"];
    now: () => number;
  }) {
    this.version = options.version;
    this.configPath = options.configPath;
    this.offerings = options.offerings;
    this.#now = options.now;
    this.startedAt = options.now();
  }

  /** Declares a loop so it shows as "never run" before its first pass. */
  addLoop(offering: string, loop: string, intervalMs: number): void {
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

  #loop(offering: string, loop: string): LoopStatus {
    const key = `${offering}/${loop}`;
    let l = this.#loops.get(key);
    if (!l) {
      this.addLoop(offering, loop, 0);
      l = this.#loops.get(key);
    }
    if (!l) throw new Error("unreachable");
    return l;
  }

  loopStarted(offering: string, loop: string): void {
    const l = this.#loop(offering, loop);
    l.state = "running";
    l.lastStart = this.#now();
    l.heartbeat = l.lastStart;
  }

  /** A sign of life from a long pass (each item processed). */
  heartbeat(offering: string, loop: string): void {
    this.#loop(offering, loop).heartbeat = this.#now();
  }

  loopFinished(
    offering: string,
    loop: string,
    outcome: "ok" | "partial" | "failed",
    error: string,
    nextRun: number,
  ): void {
    const l = this.#loop(offering, loop);
    const now = this.#now();
    l.state = outcome;
    l.lastEnd = now;
    l.durationMs = l.lastStart === null ? null : now - l.lastStart;
    l.nextRun = nextRun;
    l.heartbeat = now;
    l.runs++;
    if (outcome === "ok") l.lastSuccess = now;
    l.lastError = error;
    const key = `${loop}\u0000${offering}\u0000${outcome}`;
    this.counters.loopRuns.set(key, (this.counters.loopRuns.get(key) ?? 0) + 1);
    if (l.durationMs !== null) {
      this.durations.push({ loop, offering, seconds: l.durationMs / 1000 });
      if (this.durations.length > 5000) this.durations.splice(0, 1000);
    }
    if (error) this.error(offering, loop, error);
  }

  error(offering: string, loop: string, message: string): void {
    this.#errors.unshift({ at: this.#now(), offering, loop, message });
    if (this.#errors.length > KEEP_ERRORS) this.#errors.length = KEEP_ERRORS;
  }

  audit(event: AuditEvent): void {
    this.#events.unshift(event);
    if (this.#events.length > KEEP_EVENTS) this.#events.length = KEEP_EVENTS;
  }

  orderPending(order: OrderStatus): void {
    this.#orders.set(order.uuid, order);
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

  publish(offering: string, snapshot: BackendSnapshot): void {
    this.#backends.set(offering, { ...snapshot, offering });
  }

  loops(): LoopStatus[] {
    return [...this.#loops.values()].map((l) => ({ ...l }));
  }

  /** The whole model, as `/api/status` returns it. */
  snapshot(): StatusModel {
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
      backends: [...this.#backends.values()].map((b) => ({
        offering: b.offering,
        kind: b.kind,
        at: b.at,
        rows: b.rows,
        ...(b.groups ? { groups: b.groups } : {}),
      })),
    };
  }
}
