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
import type { LoopRun, Store } from "./store.ts";

/** One loop of one offering. */
export interface LoopSpec {
  offering: string;
  loop: string;
  intervalMs: number;
  /**
   * One pass; with `scope` (a triggered membership pass: the Waldur projects its events named),
   * over those projects only. The loop's own passes are whole: `scope` undefined.
   */
  pass: (signal: AbortSignal, scope?: ReadonlySet<string>) => Promise<PassResult>;
}

/** What a loop records into. */
export interface LoopDeps {
  clock: Clock;
  status: StatusRecord;
  store: Store;
  log: Logger;
}

/** Runs one pass (over `scope` only, when given) and records it; never throws. */
export async function runPass(
  spec: LoopSpec,
  deps: LoopDeps,
  signal: AbortSignal,
  scope?: ReadonlySet<string>,
): Promise<PassResult> {
  const { clock, status, store, log } = deps;
  const startedAt = clock.now();
  const started = clock.monotonic();
  status.loopStarted(spec.offering, spec.loop);
  let result: PassResult;
  try {
    result = await (scope ? spec.pass(signal, scope) : spec.pass(signal));
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
  let previous: LoopRun | undefined;
  try {
    previous = store.lastRun(spec.offering, spec.loop);
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
  // a routine pass (no work, the same outcome as the one before) is said at debug: a failure is
  // logged when it appears and when it clears, a pass that did work is logged as it happens
  const same = previous?.outcome === result.outcome && (previous.error ?? "") === result.error;
  const level = result.changed || !same ? (result.outcome === "ok" ? "info" : "warn") : "debug";
  log[level](
    result.outcome === "ok"
      ? `${spec.loop} pass ok`
      : `${spec.loop} pass ${result.outcome}: ${result.error}`,
    fields,
  );
  return result;
}

/** The debounce of event mode's triggers: a pass starts at most this long after its first request. */
export const TRIGGER_DEBOUNCE_MS = 50;

/** Options of a {@link LoopTrigger}. */
export interface TriggerOptions {
  /**
   * How long a pass waits after the first request it answers, so that the requests of a burst
   * share it (default 0: none). Counted from the first request, not the last: a stream of
   * requests never holds a pass back longer than this.
   */
  debounceMs?: number;
  /** The debounce's sleep (real time; `Clock.sleep` in production). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
}

/**
 * "Run soon" for one loop (event mode): a request wakes the loop from its wait, and every request
 * made before a pass starts is answered by that pass. The pass starts `debounceMs` after the
 * first of them (the requests of a burst share it); requests made while a pass runs wait for the
 * next one, which starts as soon as this one ends (its window counted from its first request):
 * a burst costs a few passes, never overlapping ones.
 */
export class LoopTrigger {
  #waiting: ((ran: boolean) => void)[] = [];
  /** The union of the pending requests' scopes; undefined once one asked for a whole pass. */
  #scope: Set<string> | undefined = new Set();
  #wake: (() => void) | undefined;
  #debounceMs: number;
  #sleep: ((ms: number, signal: AbortSignal) => Promise<void>) | undefined;
  #window: AbortController | undefined;
  #settled: Promise<void> = Promise.resolve();
  #closed = false;

  constructor(options: TriggerOptions = {}) {
    this.#debounceMs = options.debounceMs ?? 0;
    this.#sleep = options.sleep;
  }

  /**
   * Asks for a pass; resolves true once a pass that started after this call has finished
   * without being stopped, or false when the loop stopped first (or was never run). With
   * `scope` (a Waldur project uuid), a pass over that project does: the pass answering the
   * requests of one window covers the union of their scopes, or everything when one of them
   * gave none.
   */
  soon(scope?: string): Promise<boolean> {
    if (this.#closed) return Promise.resolve(false);
    if (scope === undefined) this.#scope = undefined;
    else this.#scope?.add(scope);
    return new Promise((resolve) => {
      if (this.#waiting.length === 0 && this.#debounceMs > 0 && this.#sleep) {
        this.#window = new AbortController();
        this.#settled = this.#sleep(this.#debounceMs, this.#window.signal);
      }
      this.#waiting.push(resolve);
      this.#wake?.();
    });
  }

  /**
   * The scope the pending requests ask for: undefined when none is pending or one asked for a
   * whole pass.
   */
  get scope(): ReadonlySet<string> | undefined {
    return this.#waiting.length > 0 && this.#scope ? new Set(this.#scope) : undefined;
  }

  /** Whether a pass has been asked for. */
  get requested(): boolean {
    return this.#waiting.length > 0;
  }

  /** The loop's side: resolves once the debounce window of the pending requests has passed. */
  settled(): Promise<void> {
    return this.#settled;
  }

  /** The loop's side: it has stopped; every request, now or later, is answered false. */
  close(): void {
    this.#closed = true;
    for (const done of this.take()) done(false);
  }

  /** The loop's side: what to call to cut its wait short. */
  onWake(wake: (() => void) | undefined): void {
    this.#wake = wake;
  }

  /** The loop's side: the requests the pass about to start answers (their window closes). */
  take(): ((ran: boolean) => void)[] {
    const taken = this.#waiting;
    this.#waiting = [];
    this.#scope = new Set();
    this.#window?.abort();
    this.#window = undefined;
    this.#settled = Promise.resolve();
    return taken;
  }
}

/**
 * Runs a loop until `signal` aborts. Its schedule is on monotonic time: a wall-clock step moves no
 * pass. With a `trigger`, a request starts a pass after its debounce window (and after the one in
 * flight), and the interval counts again from that pass when it was whole; a pass the requests
 * scoped (their projects only) leaves the interval's whole pass where it was.
 */
export async function runLoop(
  spec: LoopSpec,
  deps: LoopDeps,
  signal: AbortSignal,
  trigger?: LoopTrigger,
): Promise<void> {
  let next = deps.clock.monotonic();
  deps.status.addLoop(spec.offering, spec.loop, spec.intervalMs);
  try {
    while (!signal.aborted) {
      const wait = next - deps.clock.monotonic();
      if (wait > 0 && !trigger?.requested) await wakeableSleep(deps.clock, wait, signal, trigger);
      if (signal.aborted) break;
      if (trigger?.requested) await trigger.settled();
      if (signal.aborted) break;
      // the interval's pass is whole, even when requests wait for it too
      const scope = deps.clock.monotonic() >= next ? undefined : trigger?.scope;
      const answered = trigger?.take() ?? [];
      const started = deps.clock.monotonic();
      await runPass(spec, deps, signal, scope);
      // a pass cut short by a stop may have left the request undone: not answered as done
      for (const done of answered) done(!signal.aborted);
      // a scoped pass moves no whole pass: the interval counts from the last whole one
      if (!scope) next = Math.max(started + spec.intervalMs, deps.clock.monotonic());
    }
  } finally {
    trigger?.onWake(undefined);
    trigger?.close();
  }
}

/** Sleeps `ms`, or less when `signal` aborts or `trigger` is asked for a pass. */
async function wakeableSleep(
  clock: Clock,
  ms: number,
  signal: AbortSignal,
  trigger: LoopTrigger | undefined,
): Promise<void> {
  if (!trigger) return await clock.sleep(ms, signal);
  const cut = new AbortController();
  const onAbort = () => cut.abort();
  signal.addEventListener("abort", onAbort, { once: true });
  trigger.onWake(onAbort);
  try {
    await clock.sleep(ms, cut.signal);
  } finally {
    trigger.onWake(undefined);
    signal.removeEventListener("abort", onAbort);
  }
}
