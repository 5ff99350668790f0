/** What the three processors share: their dependencies and the result of one pass. */
import type { ResourceActivity } from "./activity.ts";
import type { Backend } from "./backend.ts";
import type { Clock } from "./clock.ts";
import type { ConditionLog } from "./conditions.ts";
import type { OfferingConfig } from "./config.ts";
import type { Logger } from "./log.ts";
import type { StatusRecord } from "./status.ts";
import { errorMessage } from "./errors.ts";
import type { AuditEvent, Store } from "./store.ts";
import type { WaldurClient } from "./waldur/client.ts";

/** Dependencies of a processor for one offering. */
export interface ProcessorContext {
  offering: OfferingConfig;
  waldur: WaldurClient;
  backend: Backend;
  store: Store;
  status: StatusRecord;
  clock: Clock;
  log: Logger;
  /** Removes secrets from text that leaves Berth (error messages sent to Waldur). */
  redact: (text: string) => string;
  exposeErrorDetails: boolean;
  timezone: string;
  /** Interval of the orders loop: the shortest per-order retry delay. */
  ordersIntervalMs: number;
  /** Which resources an order acts on now (shared by the offering's three loops). */
  activity: ResourceActivity;
  /** The offering's orders that Waldur lists malformed, pass after pass: logged once each. */
  malformed: ConditionLog;
}

/** How a pass went: ok, partial (some items failed) or failed (nothing could be done). */
export interface PassResult {
  outcome: "ok" | "partial" | "failed";
  error: string;
  stats: Record<string, number>;
  /** True when the pass did work (an order handled, a change made, usage reported). */
  changed?: boolean;
}

/** Where audit events go. */
export interface AuditSink {
  store: Store;
  status: StatusRecord;
  clock: Clock;
  log: Logger;
}

/**
 * Records a change to an external system in the store, the status record and the log. The one
 * audit path: processors call it through {@link recordAudit}, backends through their context.
 */
export function writeAudit(
  sink: AuditSink,
  offering: string,
  event: Omit<AuditEvent, "at" | "offering">,
): void {
  const full: AuditEvent = { ...event, at: sink.clock.now(), offering };
  try {
    sink.store.audit(full);
  } catch (error) {
    sink.log.error("cannot write the audit log", { error });
  }
  sink.status.audit(full);
  sink.log.info(`${event.system}: ${event.action} ${event.target}`, {
    result: event.result,
    ...(event.detail ? { detail: event.detail } : {}),
  });
}

/** Records a change made by a processor. */
export function recordAudit(
  ctx: ProcessorContext,
  event: Omit<AuditEvent, "at" | "offering">,
): void {
  writeAudit(ctx, ctx.offering.name, event);
}

/** Writes to the state file's history; a failure is logged, never a failed item. */
export function recordHistory(
  ctx: ProcessorContext,
  write: (history: Store["history"]) => void,
): void {
  try {
    write(ctx.store.history);
  } catch (error) {
    ctx.log.warn("cannot record the history in the state file", { error: errorMessage(error) });
  }
}

/** Sums the outcome of a pass from its failures; `changed`: it did work. */
export function passResult(
  failures: string[],
  stats: Record<string, number>,
  changed = false,
): PassResult {
  if (failures.length === 0) return { outcome: "ok", error: "", stats, changed };
  const first = failures[0] ?? "";
  return {
    outcome: "partial",
    error: failures.length === 1 ? first : `${first} (and ${failures.length - 1} more)`,
    stats,
    changed,
  };
}

/** Shows the offering's refused terminations (from the state file) on the page and the API. */
export function publishRefusals(
  sink: { store: Store; status: StatusRecord },
  offering: string,
): void {
  sink.status.refused(
    offering,
    sink.store.refusals(offering).map((r) => ({
      offering: r.offering,
      resource: r.resourceUuid,
      resourceName: r.resourceName,
      order: r.orderUuid,
      message: r.message,
      at: r.at,
    })),
  );
}
