import assert from "node:assert/strict";
import { KeyedLock } from "./keyed_lock.ts";

Deno.test("keyed lock: one key's work runs one at a time, in order; other keys side by side", async () => {
  const lock = new KeyedLock();
  const log: string[] = [];
  let releaseA = () => {};
  const a = lock.run("k", async () => {
    log.push("a start");
    await new Promise<void>((r) => releaseA = r);
    log.push("a end");
  });
  const b = lock.run("k", () => {
    log.push("b");
    return Promise.resolve();
  });
  const other = lock.run("other", () => {
    log.push("other");
    return Promise.resolve();
  });
  await other;
  assert.deepEqual(log, ["a start", "other"], "b waits for a; other does not");
  releaseA();
  await Promise.all([a, b]);
  assert.deepEqual(log, ["a start", "other", "a end", "b"]);
  await assert.rejects(lock.run("k", () => Promise.reject(new Error("boom"))), /boom/);
  assert.equal(await lock.run("k", () => Promise.resolve(7)), 7, "a failure frees the key");
});
