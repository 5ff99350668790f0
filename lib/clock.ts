/**
 * The time source every loop and processor receives, so tests can drive time. Wall time
 * (`now`) is for what is shown or stored (timestamps); elapsed time (durations, deadlines,
 * schedules, liveness, token lifetimes) is measured on `monotonic`, which an NTP step or a VM
 * resumed after suspend never moves.
 */
export interface Clock {
  /** Milliseconds since the epoch (wall time: it may step forwards or back). */
  now(): number;
  /** Milliseconds on a clock that only moves forward at the pace of real time. */
  monotonic(): number;
  /** Resolves after `ms` of monotonic time, or early (without throwing) when `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}
