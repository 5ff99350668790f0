import assert from "node:assert/strict";
import { Breakers, type BreakerStatus, changeLine, CircuitOpenError } from "./breaker.ts";
import { ManualClock } from "../testing/manual_clock.ts";

function setup() {
  const clock = new ManualClock({ autoAdvance: false });
  const changes: BreakerStatus[] = [];
  const breakers = new Breakers({ clock, onChange: (s) => changes.push(s) });
  breakers.label("https://harbor.test/api/v2.0", "harbor");
  let status = 503;
  let calls = 0;
  const fetch = breakers.wrap(() => {
    calls++;
    return Promise.resolve(new Response("x", { status }));
  });
  const get = () => fetch(new Request("https://harbor.test/api/v2.0/projects"));
  return {
    clock,
    changes,
    breakers,
    get,
    calls: () => calls,
    answer: (s: number) => status = s,
  };
}

Deno.test("a breaker opens after five failures in a row and then refuses without calling the server", async () => {
  const b = setup();
  for (let i = 0; i < 5; i++) await (await b.get()).body?.cancel();
  assert.equal(b.calls(), 5);
  assert.equal(b.breakers.all()[0]?.state, "open");
  assert.equal(b.breakers.all()[0]?.system, "harbor");
  await assert.rejects(b.get(), CircuitOpenError);
  await assert.rejects(
    b.get(),
    /circuit open after 5 failures \(HTTP 503\); next probe in 5 s/,
  );
  assert.equal(b.calls(), 5, "no request reached the server");
  assert.equal(b.changes.at(-1)?.state, "open");
});

Deno.test("half-open lets one probe by; success closes, failure doubles the wait up to the cap", async () => {
  const b = setup();
  for (let i = 0; i < 5; i++) await (await b.get()).body?.cancel();
  b.clock.advance(5_000);
  await (await b.get()).body?.cancel(); // the probe fails
  assert.equal(b.breakers.all()[0]?.state, "open");
  assert.equal(b.breakers.all()[0]?.retryAt, b.clock.now() + 10_000, "twice as long");
  b.clock.advance(9_999);
  await assert.rejects(b.get(), CircuitOpenError);
  b.clock.advance(1);
  for (let i = 0; i < 5; i++) {
    await (await b.get()).body?.cancel();
    b.clock.advance(60_000);
  }
  // the last probe failed 60 s ago and its wait was 60 s, not 80 s or more: the cap
  assert.equal(b.breakers.all()[0]?.retryAt, b.clock.now(), "capped at 60 s");
  b.answer(404); // a 4xx is an answer: the server is up
  const res = await b.get();
  await res.body?.cancel();
  assert.equal(res.status, 404);
  assert.equal(b.breakers.all()[0]?.state, "closed");
  assert.equal(b.breakers.all()[0]?.failures, 0);
  assert.equal(b.breakers.all()[0]?.opens, 1, "one outage, one open, however many probes failed");
  assert.deepEqual(b.changes.map((c) => c.state).slice(0, 4), [
    "closed", // reported at its first call
    "open",
    "half-open",
    "open",
  ]);
});

Deno.test("a breaker reports itself closed at its first call, so every server called is listed", async () => {
  const b = setup();
  b.answer(200);
  await (await b.get()).body?.cancel();
  await (await b.get()).body?.cancel();
  assert.deepEqual(b.changes.map((c) => [c.system, c.target, c.state, c.failures]), [
    ["harbor", "https://harbor.test", "closed", 0],
  ]);
  assert.equal(changeLine(b.changes[0]!), undefined, "its first call logs nothing");
});

Deno.test("a breaker's changes are logged: warn when it opens, info when it half-opens and closes", async () => {
  const b = setup();
  for (let i = 0; i < 5; i++) await (await b.get()).body?.cancel();
  b.clock.advance(5_000);
  b.answer(200);
  await (await b.get()).body?.cancel();
  assert.deepEqual(b.changes.map(changeLine), [
    undefined,
    { level: "warn", text: "harbor https://harbor.test: circuit open (HTTP 503)" },
    { level: "info", text: "harbor https://harbor.test: circuit half-open" },
    { level: "info", text: "harbor https://harbor.test: circuit closed" },
  ]);
});

Deno.test("half-open: while the probe is in flight, a second request is refused without reaching the server", async () => {
  const clock = new ManualClock({ autoAdvance: false });
  const breakers = new Breakers({ clock });
  let calls = 0;
  let hold: PromiseWithResolvers<Response> | null = null;
  const fetch = breakers.wrap(() => {
    calls++;
    if (hold) return hold.promise;
    return Promise.resolve(new Response("x", { status: 503 }));
  });
  const get = () => fetch(new Request("https://harbor.test/api/v2.0/projects"));
  for (let i = 0; i < 5; i++) await (await get()).body?.cancel();
  assert.equal(breakers.all()[0]?.state, "open");
  assert.equal(calls, 5);
  clock.advance(5_000);
  hold = Promise.withResolvers<Response>();
  const probe = get(); // the probe is let by and waits for its answer
  assert.equal(breakers.all()[0]?.state, "half-open");
  assert.equal(calls, 6, "the probe reached the server");
  const second = get();
  assert.equal(calls, 6, "the second request never reached the server");
  await assert.rejects(second, CircuitOpenError, "one probe at a time");
  hold.resolve(new Response("ok", { status: 200 }));
  await (await probe).body?.cancel();
  assert.equal(breakers.all()[0]?.state, "closed");
});

Deno.test("a success between failures resets the count; thrown errors count as failures", async () => {
  const b = setup();
  for (let i = 0; i < 4; i++) await (await b.get()).body?.cancel();
  b.answer(200);
  await (await b.get()).body?.cancel();
  b.answer(503);
  for (let i = 0; i < 4; i++) await (await b.get()).body?.cancel();
  assert.equal(b.breakers.all()[0]?.state, "closed");
  const clock = new ManualClock({ autoAdvance: false });
  const breakers = new Breakers({ clock, threshold: 2 });
  const down = breakers.wrap(() => Promise.reject(new TypeError("connection refused")));
  const req = () => down(new Request("https://w.test/api/"));
  await assert.rejects(req(), /connection refused/);
  await assert.rejects(req(), /connection refused/);
  await assert.rejects(
    req(),
    /circuit open after 2 failures \(connection refused: https:\/\/w\.test\)/,
  );
  assert.equal(breakers.all()[0]?.system, "upstream", "an unlabelled server");
});
