/**
 * The usage processor: reads usage from the backend for every provisioned resource and reports
 * it to Waldur for the current billing period with two decimals. Unchanged amounts are not sent
 * again; decreases are reported; a failed read is skipped and shown, never reported as 0.
 */
import { REPORT_USAGE } from "./audit_log.ts";
import { errorMessage } from "./errors.ts";
import { forEachLimit } from "./pool.ts";
import {
  type PassResult,
  passResult,
  type ProcessorContext,
  recordAudit,
  recordHistory,
} from "./processor.ts";
import { parseLimits, toSpec } from "./resource_spec.ts";
import type { ResourceSpec } from "./backend.ts";
import type { UsageRecord } from "./history.ts";

/** The billing period containing `now` in `timeZone`: `YYYY-MM-01` and its start as an ISO date. */
export function billingPeriod(now: number, timeZone: string): { period: string; date: string } {
  const here = Temporal.Instant.fromEpochMilliseconds(now).toZonedDateTimeISO(timeZone);
  const start = here.with({ day: 1 }).startOfDay();
  return {
    period: start.toPlainDate().toString(),
    // the local midnight of the 1st with its offset then (summer time is not that of today)
    date: start.toString({ timeZoneName: "never", smallestUnit: "second" }),
  };
}

/** An amount as Waldur's decimal string, rounded half away from zero to two decimals. */
export function formatAmount(value: number): string {
  const cents = Math.round(Math.abs(value) * 100 + Number.EPSILON * 100);
  return `${value < 0 && cents > 0 ? "-" : ""}${Math.floor(cents / 100)}.${pad(cents % 100)}`;
}

/** One usage pass over the offering. */
export async function reportUsage(
  ctx: ProcessorContext,
  signal?: AbortSignal,
): Promise<PassResult> {
  const mark = ctx.activity.mark();
  const { items, rejected } = await ctx.waldur.listResources(ctx.offering.offeringUuid, [
    "OK",
    "Erred",
    "Updating",
    "Terminating",
  ]);
  const failures = rejected.map((r) =>
    `resource ${r.uuid ?? "(no uuid)"} is malformed: ${r.problem}`
  );
  const specs: ResourceSpec[] = [];
  /** Each resource's limits as Waldur has them, for the history's quota line. */
  const limits = new Map<string, Record<string, number>>();
  // A resource an order acts on, or acted on since the list was asked for, is left for the next
  // pass; one an order touches while its usage is read has no usage worth a failure.
  for (const r of items) {
    if (r.backend_id === "" || ctx.activity.touchedSince(r.uuid, mark)) continue;
    try {
      specs.push(toSpec(r, {}));
      limits.set(r.uuid, limitsOf(r.limits));
    } catch (error) {
      failures.push(`resource ${r.name}: ${errorMessage(error)}`);
    }
  }
  const { period, date } = billingPeriod(ctx.clock.now(), ctx.timezone);
  const known = Object.keys(ctx.offering.components);
  const results = await ctx.backend.usage(specs);
  const stats = { resources: specs.length, reported: 0, unchanged: 0, failed: 0 };
  /** The history's records of this pass, written in one transaction at its end. */
  const found: UsageRecord[] = [];
  const remember = (uuid: string, amounts: Record<string, string>): void => {
    const quotas = limits.get(uuid);
    found.push({
      resource: uuid,
      amounts: numbers(amounts),
      at: ctx.clock.now(),
      ...(quotas ? { limits: quotas } : {}),
    });
  };
  // Reports go out side by side, like orders and memberships (`concurrency`).
  await forEachLimit(specs, ctx.offering.concurrency, async (spec) => {
    const result = results.get(spec.uuid);
    if (ctx.activity.touchedSince(spec.uuid, mark)) return;
    if (!result || !result.ok) {
      stats.failed++;
      failures.push(
        `usage of ${spec.name} not read: ${result ? errorMessage(result.error) : "no answer"}`,
      );
      return;
    }
    const amounts: Record<string, string> = {};
    for (const [component, value] of Object.entries(result.amounts)) {
      if (known.length > 0 && !known.includes(component)) continue;
      if (!Number.isFinite(value) || value < 0) {
        failures.push(`usage of ${spec.name}: ${component} is not a valid amount`);
        continue;
      }
      amounts[component] = formatAmount(value);
    }
    if (Object.keys(amounts).length === 0) return;
    const last = ctx.store.lastUsage(spec.uuid, period);
    if (Object.entries(amounts).every(([k, v]) => last[k] === v)) {
      stats.unchanged++;
      // the history keeps the amount in force, so a flat series is still drawn to now
      remember(spec.uuid, amounts);
      return;
    }
    try {
      await ctx.waldur.setUsage(
        spec.uuid,
        Object.entries(amounts).map(([type, amount]) => ({ type, amount })),
        date,
      );
      ctx.store.saveUsage(spec.uuid, period, amounts, ctx.clock.now());
      stats.reported++;
      remember(spec.uuid, amounts);
      recordAudit(ctx, {
        system: "waldur",
        action: REPORT_USAGE,
        target: spec.uuid,
        result: "ok",
        detail: `${spec.name} ${period} ${JSON.stringify(amounts)}`,
        resource: spec.uuid,
      });
    } catch (error) {
      failures.push(`usage of ${spec.name} not reported: ${errorMessage(error)}`);
    }
    ctx.status.heartbeat(ctx.offering.name, "usage");
  }, signal);
  recordHistory(ctx, (h) => h.recordUsages(found));
  return passResult(failures, stats, stats.reported > 0);
}

/** A resource's limits for the history; limits Waldur gave malformed are left out. */
function limitsOf(raw: unknown): Record<string, number> {
  try {
    return parseLimits(raw, "resource limits");
  } catch {
    return {};
  }
}

/** The reported decimal strings as numbers, for the history. */
function numbers(amounts: Record<string, string>): Record<string, number> {
  return Object.fromEntries(Object.entries(amounts).map(([k, v]) => [k, Number(v)]));
}

function pad(n: number): string {
  return String(n).padStart(2, "0");
}
