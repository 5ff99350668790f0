import assert from "node:assert/strict";
import { forEachKeyed, forEachLimit } from "./pool.ts";

Deno.test("forEachKeyed: one key's items in order, different keys side by side", async () => {
  const log: string[] = [];
  let inFlight = 0;
  let most = 0;
  const items = ["a1", "b1", "a2", "c1", "b2", "a3"];
  await forEachKeyed(items, (x) => x[0] ?? "", 3, async (x) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise((r) => setTimeout(r, x.startsWith("a") ? 5 : 1));
    log.push(x);
    inFlight--;
  });
  assert.deepEqual(log.filter((x) => x.startsWith("a")), ["a1", "a2", "a3"]);
  assert.deepEqual(log.filter((x) => x.startsWith("b")), ["b1", "b2"]);
  assert.equal(most, 3, "three keys ran at once");
  assert.equal(log.length, items.length);

  // more keys than the limit: never more than `limit` in flight
  inFlight = 0;
  most = 0;
  const done: string[] = [];
  const many = ["a1", "b1", "c1", "d1", "e1", "a2", "c2", "e2"];
  await forEachKeyed(many, (x) => x[0] ?? "", 2, async (x) => {
    inFlight++;
    most = Math.max(most, inFlight);
    await new Promise<void>((r) => queueMicrotask(r));
    done.push(x);
    inFlight--;
  });
  assert.equal(most, 2, "five keys, at most two at once");
  assert.deepEqual(done.toSorted(), many.toSorted(), "every item ran once");
});

Deno.test("forEachLimit: once the signal aborts no new item starts; the ones in flight finish", async () => {
  const stop = new AbortController();
  const started: number[] = [];
  const finished: number[] = [];
  await forEachLimit([1, 2, 3, 4, 5, 6], 2, async (n) => {
    started.push(n);
    if (n === 3) stop.abort();
    await new Promise<void>((r) => queueMicrotask(r));
    finished.push(n);
  }, stop.signal);
  assert.deepEqual(started, [1, 2, 3], "the item that aborted was the last to start");
  assert.deepEqual(finished.toSorted(), started, "the items in flight finished");

  const aborted = AbortSignal.abort();
  const none: number[] = [];
  await forEachLimit([1, 2, 3], 2, (n) => {
    none.push(n);
    return Promise.resolve();
  }, aborted);
  assert.deepEqual(none, [], "an aborted signal starts nothing");
});
