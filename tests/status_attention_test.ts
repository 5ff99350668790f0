import assert from "node:assert/strict";
import { StatusModel } from "../lib/status.ts";
import { createApp } from "../routes/app.tsx";
import { fixtureStatus } from "./support/status_fixture.ts";

async function pageOf(options: Parameters<typeof fixtureStatus>[0], path = "/"): Promise<string> {
  const { status } = fixtureStatus(options);
  const res = await createApp({ status }).request(path);
  assert.equal(res.status, 200);
  return await res.text();
}

/** Where `needle` first is in `html`, failing when it is not there. */
function at(html: string, needle: string): number {
  const i = html.indexOf(needle);
  assert.ok(i >= 0, `${needle} is on the page`);
  return i;
}

/** The `<details class="fold">` of a table key: its opening tag. */
function fold(html: string, key: string): string {
  return /<details id="fold-[a-z0-9]+" class="fold"[^>]*>/.exec(
    html.slice(at(html, `<details id="fold-${key}"`)),
  )?.[0] ?? "";
}

Deno.test("the page opens with the summary and the attention list, before the loops and every other section", async () => {
  const html = await pageOf({});
  const order = [
    'id="summary"',
    'id="attention"',
    'id="loops"',
    'id="breakers"',
    'data-table="h0"',
    'data-table="g1"',
    'id="orders"',
    'id="events"',
    'id="errors"',
  ].map((id) => at(html, id));
  assert.deepEqual(order, [...order].sort((a, b) => a - b));
  const attention = html.slice(at(html, 'id="attention"'), at(html, 'id="loops"'));
  assert.match(attention, /order erred<\/span>.*Update order of Beta images erred/s);
  assert.match(attention, /<a href="\/resources\/res-beta-images">open its page/);
  assert.match(attention, /first seen <time datetime="[^"]+">2 s ago<\/time>/);
  assert.match(attention, /<b>Next:<\/b> Fix what the message names/);
  // the link's target is on the page, and marked
  assert.match(html, /<tr id="r-res-beta-images" class="attention">/);
  assert.match(
    html,
    /<section id="summary">.*<dt>Resources<\/dt><dd><span class="n"><b>2<\/b> ok/s,
  );
});

Deno.test("with 1,000 projects the summary, attention list and loops come before any folded section, and the big tables are folded", async () => {
  const html = await pageOf({ harborProjects: 1_000, rancherProjects: 1_000 });
  const firstFold = at(html, 'class="fold"');
  for (const id of ['id="summary"', 'id="attention"', 'id="loops"']) {
    assert.ok(at(html, id) < firstFold, `${id} before the first folded section`);
  }
  const loops = html.slice(at(html, 'id="loops"')).split("</section>")[0] ?? "";
  assert.ok(!loops.includes('class="fold"'), "the loops never fold");
  for (const key of ["h0", "r1", "g1"]) assert.doesNotMatch(fold(html, key), / open/, key);
  // short sections stay open
  assert.match(fold(html, "orders"), / open/);
  // a page link of a table, or the filter, opens it
  const paged = await pageOf({ harborProjects: 1_000, rancherProjects: 1_000 }, "/?p.h0=3");
  assert.match(fold(paged, "h0"), / open/);
  assert.doesNotMatch(fold(paged, "r1"), / open/);
  const filteredPage = await pageOf(
    { harborProjects: 1_000, rancherProjects: 1_000 },
    "/?q=proj-0001",
  );
  for (const key of ["h0", "r1", "g1"]) assert.match(fold(filteredPage, key), / open/, key);
});

Deno.test("every row that stands for a resource shows its last successful sync", async () => {
  const html = await pageOf({ harborProjects: 120, rancherProjects: 30 }, "/?n=500");
  const rows = html.match(/<tr id="r-[^"]*"[^>]*>.*?<\/tr>/gs) ?? [];
  assert.equal(rows.length, 4 + 120 + 2 + 30);
  for (const row of rows) {
    assert.match(row, /<td class="sync"><time datetime="[^"]*">[^<]+<\/time><\/td><\/tr>$/, row);
  }
  assert.match(
    html,
    /<tr id="r-res-acme-registry">.*?<td class="sync"><time datetime="2026-11-15T12:00:05Z">2 s ago<\/time>/s,
  );
  assert.match(html, /<tr id="r-res-proj-00001">(?:(?!<\/tr>).)*>never<\/time>/s);
  // a table header per presented table says so
  assert.equal((html.match(/<th>Last sync<\/th>/g) ?? []).length, 2);
});

Deno.test("a hostile name in an attention entry is text, and its ids and links stay ids and links", async () => {
  const hostile = `"><script>alert(1)</script><img src=x onerror=alert(2)>#'`;
  const { status, clock } = fixtureStatus({ hostileName: hostile });
  status.attention.orderErred({
    offering: "registry",
    uuid: hostile,
    type: "Create",
    resource: `res-${hostile}`, // the fixture's row of that name stands for it
    resourceName: hostile,
    message: hostile,
  });
  status.publish("k8s", {
    kind: "rancher",
    at: clock.now(),
    rows: [],
    groups: [{
      path: `/c/${hostile}`,
      members: 1,
      added: [],
      removed: [],
      missing: [hostile],
      error: "",
    }],
  });
  const app = createApp({ status });
  const html = await (await app.request("/")).text();
  assert.ok(!html.includes("<script>alert"), "no script element from a name");
  assert.ok(!html.includes("<img src=x"), "no attribute break-out");
  for (const [, id] of html.matchAll(/ id="([^"]*)"/g)) {
    assert.match(id ?? "", /^[A-Za-z0-9_.-]+$/, "every id is a plain id");
  }
  const links = [...html.matchAll(/<a href="([^"]*)">go to its row/g)].map((m) => m[1] ?? "");
  assert.ok(links.length >= 2);
  for (const link of links) {
    // encodeURIComponent keeps ' (escaped in the attribute as &#39;)
    assert.match(link, /^(\?q=([A-Za-z0-9%._~!*()-]|&#39;)+)?#[A-Za-z0-9_.-]+$/);
  }
  // an erred order's link leads to its resource's page, whatever its name
  const erred = status.snapshot().attention.find((e) =>
    e.kind === "order-erred" && e.resource === `res-${hostile}`
  );
  assert.equal(erred?.link, `/resources/${encodeURIComponent(`res-${hostile}`)}`);
  // a row's link leads to its row: the filter finds it, the id is on it
  const row = status.snapshot().attention.find((e) => e.link.includes("#"));
  const id = row?.link.split("#")[1] ?? "";
  const filtered = await (await app.request(`/${row?.link.split("#")[0] ?? ""}`)).text();
  assert.ok(filtered.includes(`id="${id}"`), "the filtered page has the row the link names");
});

Deno.test("/api/status has the attention list and the summary, as its schema says", async () => {
  const { status } = fixtureStatus();
  const body = StatusModel.parse(await (await createApp({ status }).request("/api/status")).json());
  assert.deepEqual(
    body.attention.map((e) => e.kind),
    ["loop-failing", "circuit-open", "order-erred", "resource-erred", "keycloak-user-missing"],
  );
  assert.deepEqual(body.summary.orders, {
    inFlight: 1,
    erred: 1,
    doneSinceStart: 2,
    erredSinceStart: 1,
  });
  assert.deepEqual(body.summary.resources, { total: 6, ok: 2, erred: 1, flagged: 4 });
  assert.deepEqual(body.summary.upstreams, { closed: 0, halfOpen: 0, open: 1 });
  assert.equal(typeof body.lastSync.registry?.["res-acme-registry"], "number");
});
