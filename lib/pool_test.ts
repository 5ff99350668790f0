import assert from "node:assert/strict";
import { forEachKeyed } from "./pool.ts";

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
});
