/**
 * The one loop runner. A loop runs its pass at start and then on its interval, never overlaps
 * itself, never dies on an error, and records every outcome in the status record and the store.
 * When `signal` aborts it lets the pass in flight finish its current items and returns.
 */
import type { Clock } from "./clock.ts";
import { errorMessage } from "./errors.ts";
import type { Logger } from "./log.ts";
import type { PassResult } from "./processor.ts";
import type { StatusRecord } from "./status.ts";
import type { Store } from "./store.ts";

/** One loop of one offering. */
export interface LoopSpec {
  offering: string;
  loop: string;
  intervalMs: number;
  pass: (signal: AbortSignal) => Promise<PassResult>;
}

/** What a loop records into. */
export interface LoopDeps {
  clock: Clock;
  status: StatusRecord;
  store: Store;
  log: Logger;
}

/** Runs one pass and records it; never throws. */
export async function runPass(
  spec: LoopSpec,
  deps: LoopDeps,
  signal: AbortSignal,
): Promise<PassResult> {
  const { clock, status, store, log } = deps;
  const startedAt = clock.now();
  const started = clock.monotonic();
  status.loopStarted(spec.offering, spec.loop);
  let result: PassResult;
  try {
    result = await spec.pass(signal);
  } catch (error) {
    result = { outcome: "failed", error: errorMessage(error), stats: {} };
  }
  const elapsed = clock.monotonic() - started;
  const finishedAt = startedAt + elapsed;
  status.loopFinished(
    spec.offering,
    spec.loop,
    result.outcome,
    result.error,
    Math.max(0, spec.intervalMs - elapsed),
  );
  try {
    store.recordRun({
      offering: spec.offering,
      loop: spec.loop,
      startedAt,
      finishedAt,
      outcome: result.outcome,
      ...(result.error ? { error: result.error } : {}),
      stats: result.stats,
    });
  } catch (error) {
    log.error("cannot record the pass in the state file", { error: errorMessage(error) });
  }
  const fields = {
    offering: spec.offering,
    loop: spec.loop,
    ms: Math.round(elapsed),
    ...result.stats,
  };
  if (result.outcome === "ok") log.info(`${spec.loop} pass ok`, fields);
  else log.warn(`${spec.loop} pass ${result.outcome}: ${result.error}`, fields);
  return result;
}

/** Runs a loop until `signal` aborts. Its schedule is on monotonic time: a wall-clock step moves no pass. */
export async function runLoop(spec: LoopSpec, deps: LoopDeps, signal: AbortSignal): Promise<void> {
  let next = deps.clock.monotonic();
  deps.status.addLoop(spec.offering, spec.loop, spec.intervalMs);
  while (!signal.aborted) {
    const wait = next - deps.clock.monotonic();
    if (wait > 0) await deps.clock.sleep(wait, signal);
    if (signal.aborted) break;
    const started = deps.clock.monotonic();
    await runPass(spec, deps, signal);
    next = Math.max(started + spec.intervalMs, deps.clock.monotonic());
  }
}
