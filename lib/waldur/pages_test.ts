import assert from "node:assert/strict";
import { z } from "zod";
import { ManualClock } from "../../testing/manual_clock.ts";
import { createHttp } from "../http.ts";
import { pageAt, readPages } from "./pages.ts";

Deno.test("pageAt: page boundaries read whole pages; otherwise the page that reaches furthest", () => {
  assert.deepEqual(pageAt(0, 300), { page: 1, size: 300 });
  assert.deepEqual(pageAt(600, 300), { page: 3, size: 300 });
  assert.deepEqual(pageAt(299, 300), { page: 2, size: 299 });
  assert.deepEqual(pageAt(167, 300), { page: 2, size: 167 });
  for (let offset = 0; offset < 5_000; offset += 7) {
    const { page, size } = pageAt(offset, 300);
    const start = (page - 1) * size;
    assert.ok(size >= 1 && size <= 300);
    assert.ok(start <= offset, `${offset}: starts after it`);
    assert.ok(start + size - offset >= 150, `${offset}: reaches only ${start + size - offset}`);
  }
});

/**
 * A DRF listing (page, page_size ≤ `cap`, x-result-count, 404 past the end) of `items`, which
 * the caller changes between reads.
 */
function listing(items: { uuid: string }[], cap = 300) {
  const reads: string[] = [];
  const http = createHttp({
    system: "waldur",
    baseUrl: "http://waldur.test/api",
    clock: new ManualClock(),
    fetch: (request) => {
      const url = new URL(request.url);
      const size = Math.min(cap, Number(url.searchParams.get("page_size")));
      const page = Number(url.searchParams.get("page"));
      reads.push(`${page}/${size}`);
      if (page > 1 && (page - 1) * size >= items.length) {
        return Promise.resolve(Response.json({ detail: "Invalid page." }, { status: 404 }));
      }
      return Promise.resolve(Response.json(items.slice((page - 1) * size, page * size), {
        headers: { "x-result-count": String(items.length) },
      }));
    },
  });
  return { http, reads };
}

const Item = z.object({ uuid: z.string() });

/** Reads `items` page by page; `fate` says whether an item leaves the listing once handled. */
async function drain(
  items: { uuid: string }[],
  leaves: (uuid: string) => boolean,
  cap?: number,
): Promise<{ handled: string[]; reads: string[] }> {
  const { http, reads } = listing(items, cap);
  const handled: string[] = [];
  const pages = readPages(http, "/orders/", Item, {}, "list orders");
  let left = 0;
  for (let page = await pages.next(); !page.done; page = await pages.next(left)) {
    left = 0;
    for (const item of page.value.items) {
      handled.push(item.uuid);
      if (leaves(item.uuid)) {
        items.splice(items.findIndex((i) => i.uuid === item.uuid), 1);
        left++;
      }
    }
  }
  return { handled, reads };
}

Deno.test("readPages: every item once, whatever share of them leaves the listing", async () => {
  let seed = 7;
  const random = () => (seed = (seed * 16807) % 2147483647) / 2147483647;
  for (const n of [0, 1, 299, 300, 301, 700, 2_000]) {
    for (const share of [0, 0.01, 0.3, 0.5, 0.9, 1]) {
      const items = Array.from({ length: n }, (_, i) => ({ uuid: `o${i}` }));
      const fate = new Map(items.map((i) => [i.uuid, random() < share]));
      const { handled, reads } = await drain(items, (uuid) => fate.get(uuid) ?? false);
      assert.equal(handled.length, n, `${n} items, ${share} leaving: ${handled.length} handled`);
      assert.equal(new Set(handled).size, n, "none twice");
      const pages = Math.max(1, Math.ceil(n / 300));
      assert.ok(reads.length <= 2 * pages + 1, `${n}, ${share}: ${reads.length} reads`);
    }
  }
});

Deno.test("readPages: a server that caps page_size lower is still read to the end", async () => {
  const items = Array.from({ length: 450 }, (_, i) => ({ uuid: `o${i}` }));
  const { handled, reads } = await drain(items, (uuid) => Number(uuid.slice(1)) % 2 === 0, 100);
  assert.equal(new Set(handled).size, 450);
  assert.equal(reads[0], "1/100");
  assert.ok(reads.length <= 12, reads.join(" "));
});
