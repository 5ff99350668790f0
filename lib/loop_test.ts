import assert from "node:assert/strict";
import { ManualClock } from "../testing/manual_clock.ts";
import { silentLogger } from "../testing/silent_logger.ts";
import { createLogger } from "./log.ts";
import { LoopTrigger, runLoop, runPass } from "./loop.ts";
import type { PassResult } from "./processor.ts";
import { StatusRecord } from "./status.ts";
import { Store } from "./store.ts";

function deps(clock: ManualClock) {
  const status = new StatusRecord({
    version: "t",
    configPath: "c",
    offerings: [],
    now: () => clock.now(),
    monotonic: () => clock.monotonic(),
  });
  return { clock, status, store: Store.open(":memory:"), log: silentLogger() };
}

const tick = () => new Promise((r) => setTimeout(r, 0));

Deno.test("a loop runs at start, then on its interval, survives a throwing pass and stops on abort", async () => {
  const clock = new ManualClock({ autoAdvance: false });
  const d = deps(clock);
  const stop = new AbortController();
  let passes = 0;
  const done = runLoop(
    {
      offering: "o",
      loop: "orders",
      intervalMs: 60_000,
      pass: (): Promise<PassResult> => {
        passes++;
        if (passes === 2) return Promise.reject(new Error("boom"));
        return Promise.resolve({ outcome: "ok", error: "", stats: {} });
      },
    },
    d,
    stop.signal,
  );
  try {
    await tick();
    assert.equal(passes, 1, "runs at start");
    clock.advance(59_000);
    await tick();
    assert.equal(passes, 1, "not before its interval");
    clock.advance(1_000);
    await tick();
    assert.equal(passes, 2);
    const [l] = d.status.loops();
    assert.equal(l?.state, "failed");
    assert.equal(l?.lastError, "boom");
    clock.advance(60_000);
    await tick();
    assert.equal(passes, 3, "an error does not kill the loop");
    assert.equal(d.status.loops()[0]?.state, "ok");
    stop.abort();
    await done;
    assert.equal(d.store.lastRun("o", "orders")?.outcome, "ok");
  } finally {
    stop.abort();
    await done;
    d.store.close();
  }
});

Deno.test("a wall-clock step moves no pass: the schedule is on monotonic time", async () => {
  const clock = new ManualClock({ autoAdvance: false });
  const d = deps(clock);
  const stop = new AbortController();
  const steps = [-60 * 60_000, 2 * 60 * 60_000]; // during pass 2, then during pass 3
  let passes = 0;
  const done = runLoop(
    {
      offering: "o",
      loop: "orders",
      intervalMs: 60_000,
      pass: () => {
        passes++;
        if (passes > 1) clock.stepWall(steps[passes - 2] ?? 0);
        return Promise.resolve({ outcome: "ok", error: "", stats: {} });
      },
    },
    d,
    stop.signal,
  );
  try {
    await tick();
    assert.equal(passes, 1);
    clock.advance(60_000);
    await tick();
    assert.equal(passes, 2, "pass 2 steps the wall clock back an hour");
    clock.advance(60_000);
    await tick();
    assert.equal(passes, 3, "the pass after a step back runs on time, not an hour late");
    clock.advance(30_000);
    await tick();
    assert.equal(passes, 3, "a step forward (in pass 3) runs no pass early");
    clock.advance(30_000);
    await tick();
    assert.equal(passes, 4);
    assert.equal(d.status.loops()[0]?.durationMs, 0, "durations are elapsed time, not wall steps");
  } finally {
    stop.abort();
    await done;
    d.store.close();
  }
});

Deno.test("a loop never overlaps itself: a slow pass delays the next one", async () => {
  const clock = new ManualClock({ autoAdvance: false });
  const d = deps(clock);
  const stop = new AbortController();
  let running = 0;
  let maxRunning = 0;
  let release: () => void = () => {};
  const done = runLoop(
    {
      offering: "o",
      loop: "usage",
      intervalMs: 1_000,
      pass: async () => {
        running++;
        maxRunning = Math.max(maxRunning, running);
        await new Promise<void>((r) => release = r);
        running--;
        return { outcome: "ok", error: "", stats: {} };
      },
    },
    d,
    stop.signal,
  );
  try {
    await tick();
    clock.advance(10_000);
    await tick();
    assert.equal(running, 1);
    release();
    await tick();
    await tick();
    assert.equal(maxRunning, 1);
  } finally {
    stop.abort();
    release();
    await done;
    d.store.close();
  }
});

const OK: PassResult = { outcome: "ok", error: "", stats: {} };

/** An orders loop of an hour: only its first pass and its trigger's come by. */
function hourly(pass: () => Promise<PassResult>) {
  return { offering: "o", loop: "orders", intervalMs: 3_600_000, pass };
}

Deno.test("a trigger's requests share one pass after the debounce window of the first", async () => {
  const clock = new ManualClock({ autoAdvance: false });
  const window = new ManualClock({ autoAdvance: false });
  const d = deps(clock);
  const stop = new AbortController();
  const trigger = new LoopTrigger({ debounceMs: 50, sleep: (ms, s) => window.sleep(ms, s) });
  let passes = 0;
  const done = runLoop(
    hourly(() => {
      passes++;
      return Promise.resolve(OK);
    }),
    d,
    stop.signal,
    trigger,
  );
  try {
    await tick();
    assert.equal(passes, 1, "runs at start");
    const answers = [trigger.soon(), trigger.soon()];
    await tick();
    window.advance(30);
    answers.push(trigger.soon());
    await tick();
    assert.equal(passes, 1, "waits for the window");
    window.advance(20);
    assert.deepEqual(await Promise.all(answers), [true, true, true]);
    assert.equal(passes, 2, "one pass for the three requests, without the interval");
    assert.equal(clock.monotonic(), 0);
  } finally {
    stop.abort();
    await done;
  }
});

Deno.test("a request whose pass a stop cut short is answered false (its message is redelivered)", async () => {
  const clock = new ManualClock({ autoAdvance: false });
  const d = deps(clock);
  const stop = new AbortController();
  const trigger = new LoopTrigger();
  let release = () => {};
  let passes = 0;
  const done = runLoop(
    hourly(() => {
      passes++;
      if (passes === 1) return Promise.resolve(OK);
      return new Promise((resolve) => release = () => resolve(OK));
    }),
    d,
    stop.signal,
    trigger,
  );
  await tick();
  const answer = trigger.soon();
  await tick();
  assert.equal(passes, 2);
  stop.abort();
  release();
  assert.equal(await answer, false);
  await done;
});

Deno.test("a request made after its loop stopped is answered false at once", async () => {
  const clock = new ManualClock({ autoAdvance: false });
  const trigger = new LoopTrigger();
  const stop = new AbortController();
  stop.abort();
  await runLoop(hourly(() => Promise.resolve(OK)), deps(clock), stop.signal, trigger);
  assert.equal(await trigger.soon(), false);
});

Deno.test("a window's pass covers the union of its requests' scopes; one without a scope makes it whole", async () => {
  const clock = new ManualClock({ autoAdvance: false });
  const d = deps(clock);
  const stop = new AbortController();
  const trigger = new LoopTrigger();
  const scopes: (string[] | undefined)[] = [];
  const spec = {
    ...hourly(() => Promise.resolve(OK)),
    pass: (_signal: AbortSignal, scope?: ReadonlySet<string>) => {
      scopes.push(scope && [...scope].sort());
      return Promise.resolve(OK);
    },
  };
  const done = runLoop(spec, d, stop.signal, trigger);
  try {
    await tick();
    assert.deepEqual(await Promise.all([trigger.soon("b"), trigger.soon("a")]), [true, true]);
    assert.deepEqual(await Promise.all([trigger.soon("a"), trigger.soon()]), [true, true]);
    assert.deepEqual(scopes, [undefined, ["a", "b"], undefined]);
    // the interval's own pass is whole
    clock.advance(3_600_000);
    await tick();
    assert.equal(scopes.length, 4);
    assert.equal(scopes.at(-1), undefined);
  } finally {
    stop.abort();
    await done;
  }
});

Deno.test("a routine pass is logged at debug; one that did work, failed anew or recovered at info or warn", async () => {
  const clock = new ManualClock({ autoAdvance: false });
  const lines: string[] = [];
  const d = {
    ...deps(clock),
    log: createLogger({
      level: "debug",
      write: (line, level) => lines.push(`${level} ${JSON.parse(line).msg}`),
    }),
  };
  const results: PassResult[] = [
    OK,
    OK,
    { ...OK, changed: true },
    OK,
    { outcome: "partial", error: "order x is malformed", stats: {} },
    { outcome: "partial", error: "order x is malformed", stats: {} },
    { outcome: "partial", error: "order y is malformed", stats: {} },
    OK,
  ];
  try {
    for (const result of results) {
      await runPass(hourly(() => Promise.resolve(result)), d, new AbortController().signal);
    }
    assert.deepEqual(lines, [
      "info orders pass ok",
      "debug orders pass ok",
      "info orders pass ok",
      "debug orders pass ok",
      "warn orders pass partial: order x is malformed",
      "debug orders pass partial: order x is malformed",
      "warn orders pass partial: order y is malformed",
      "info orders pass ok",
    ]);
  } finally {
    d.store.close();
  }
});
