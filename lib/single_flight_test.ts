import assert from "node:assert/strict";
import { SingleFlight } from "./single_flight.ts";

Deno.test("single flight: concurrent callers of one key share one call; later callers make a new one", async () => {
  const flights = new SingleFlight<number>();
  let calls = 0;
  let release = () => {};
  const work = () => {
    calls++;
    return new Promise<number>((resolve) => release = () => resolve(calls));
  };
  const a = flights.run("k", work);
  const b = flights.run("k", work);
  const other = flights.run("other", () => Promise.resolve(-1));
  release();
  assert.deepEqual(await Promise.all([a, b, other]), [1, 1, -1]);
  assert.equal(calls, 1);
  const c = flights.run("k", work);
  release();
  assert.equal(await c, 2, "a settled flight is not a cache");
});

Deno.test("single flight: a failure reaches every caller of that flight, and the next call retries", async () => {
  const flights = new SingleFlight<string>();
  let calls = 0;
  const fail = () => {
    calls++;
    return Promise.reject(new Error(`boom ${calls}`));
  };
  const results = await Promise.allSettled([flights.run("k", fail), flights.run("k", fail)]);
  assert.deepEqual(results.map((r) => r.status === "rejected" && String(r.reason)), [
    "Error: boom 1",
    "Error: boom 1",
  ]);
  await assert.rejects(flights.run("k", fail), /boom 2/);
});
