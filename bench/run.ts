/**
 * `deno task bench`: the core benchmark. 1,000 pending Create orders on the fake Waldur with the
 * in-memory backend: Waldur requests per order, requests per idle cycle, wall time per order.
 */
import { processOrders } from "../lib/orders.ts";
import { print } from "../lib/log.ts";
import { makeSite, orderCreate } from "../tests/support/site.ts";

const N = 1000;
const site = makeSite();
for (let i = 0; i < N; i++) orderCreate(site, `bench-${i}`, { storage: 5 });
const t0 = performance.now();
const result = await processOrders(site.offering.context);
const ms = performance.now() - t0;
const firstPass = site.waldur.requests.length;
const before = site.waldur.requests.length;
await processOrders(site.offering.context);
const idle = site.waldur.requests.length - before;
const done = [...site.waldur.orders.values()].filter((o) => o.state === "done").length;
print(`| measure | value |\n|---|---|`);
print(`| orders done | ${done} of ${N} (${result.outcome}) |`);
print(`| Waldur requests per order | ${(firstPass / N).toFixed(2)} |`);
print(`| Waldur requests per idle cycle | ${idle} |`);
print(`| wall time per order | ${(ms / N).toFixed(2)} ms |`);
print(`| peak RSS | ${(Deno.memoryUsage().rss / 2 ** 20).toFixed(0)} MB |`);
site.close();
