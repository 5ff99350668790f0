/**
 * The history on the page, the resource page, its JSON and the CSV export, through the app with
 * no socket: a status record over an in-memory state file with a known history.
 */
import assert from "node:assert/strict";
import { StatusModel, StatusRecord } from "../lib/status.ts";
import { Store } from "../lib/store.ts";
import { createApp } from "../routes/app.tsx";
import { registryRecord } from "./support/history_record.ts";
import { ResourceModel } from "../routes/resource.tsx";
import { ManualClock } from "../testing/manual_clock.ts";

const GIB = 1024 ** 3;
const HOUR = 3_600_000;
const ACME = "aa000000000000000000000000000001";
const BETA = "bb000000000000000000000000000002";
const GONE = "cc000000000000000000000000000003";

function harborRow(project: string, resource: string, resourceName: string) {
  return {
    project,
    resource,
    resourceName,
    quotaBytes: 20 * GIB,
    usedBytes: 2 * GIB,
    repositories: 1,
    group: `waldur-${project}`,
    groupBound: true,
    flags: [],
  };
}

/** A record with a Harbor offering of two projects, a day of history and one Keycloak group. */
function site(options: { token?: string } = {}) {
  const clock = new ManualClock({ autoAdvance: false });
  const store = Store.open(":memory:");
  const status = registryRecord(store, clock);
  const h = store.history;
  for (let i = 0; i < 24; i++) {
    h.recordUsage(ACME, { storage: 1 + i / 10 }, clock.now(), { storage: 20 });
    h.recordOrder("registry", i % 6 === 0 ? "erred" : "done", 30_000 + i * 1_000, clock.now());
    store.recordRun({
      offering: "registry",
      loop: "orders",
      startedAt: clock.now() - 1_500,
      finishedAt: clock.now(),
      outcome: "ok",
    });
    clock.advance(HOUR);
  }
  h.recordUsage(GONE, { storage: 7 }, clock.now());
  store.audit({
    at: clock.now(),
    offering: "registry",
    system: "harbor",
    action: "create project",
    target: "waldur-acme",
    result: "ok",
    detail: "storage quota 20 GiB",
    resource: ACME,
  });
  store.audit({
    at: clock.now(),
    offering: "registry",
    system: "harbor",
    action: "create project",
    target: "waldur-beta",
    result: "ok",
    resource: BETA,
  });
  status.publish("registry", {
    kind: "harbor",
    at: clock.now(),
    rows: [
      harborRow("acme", ACME, "Acme <images>"),
      harborRow("beta", BETA, "Beta"),
    ],
    groups: [{
      path: "/waldur-acme",
      members: 3,
      added: ["ann"],
      removed: [],
      missing: ["ghost"],
      error: "",
      names: ["ann", "bob"],
    }],
  });
  const app = createApp({ status, ...(options.token ? { token: options.token } : {}) });
  return { app, store, clock, [Symbol.dispose]: () => store.close() };
}

Deno.test("the page draws a usage sparkline per project row, linked to its page, and the #history charts", async () => {
  using s = site();
  const html = await (await s.app.request("/")).text();
  assert.match(html, /<th>Usage<\/th>/);
  assert.match(
    html,
    new RegExp(
      `<td class="spark"><a href="/resources/${ACME}"><svg class="spark" [^>]*><title>acme: storage 3\\.3 GB \\(blue\\); the last 24 hours</title>`,
    ),
  );
  // a row with no usage yet still links to its page, with an empty sparkline
  assert.match(html, new RegExp(`<a href="/resources/${BETA}"><svg class="spark empty"`));
  assert.match(html, /<section id="history">/);
  assert.match(html, /<svg id="orders-0" class="chart"/);
  assert.match(html, /<svg id="latency-0" class="chart"/);
  assert.match(html, /<svg id="loop-0-orders" class="chart"/);
  assert.doesNotMatch(html, / style=|<script>/, "no inline style or script");
});

Deno.test("/api/status carries the hourly history, and its schema accepts it", async () => {
  using s = site();
  const body = await (await s.app.request("/api/status")).json();
  const model = StatusModel.parse(body);
  assert.ok(model.history);
  assert.equal(model.history.retentionDays, 30);
  assert.equal(model.history.orders.length, 24);
  assert.deepEqual(
    model.history.orders.slice(0, 2).map((o) => [o.done, o.erred, o.meanLatencyMs]),
    [[0, 1, 30_000], [1, 0, 31_000]],
  );
  assert.deepEqual(model.history.loops[0], {
    offering: "registry",
    loop: "orders",
    at: model.history.loops[0]?.at,
    runs: 1,
    failed: 0,
    meanMs: 1_500,
    maxMs: 1_500,
  });
});

Deno.test("a resource's page shows its rows, usage against its quota, its changes and its members", async () => {
  using s = site();
  const res = await s.app.request(`/resources/${ACME}`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-security-policy") ?? "", /default-src 'none'/);
  const html = await res.text();
  assert.match(html, /<h1 id="resource">acme <small class="uuid">aa0+1<\/small>/);
  assert.match(
    html,
    /<svg id="usage-0" class="chart"[^>]*><title>acme: storage reported, and its limit, the last 24 hours: max 20 GB<\/title>/,
  );
  assert.match(html, /<polyline class="quota"/);
  assert.match(html, /storage: 3\.3 of 20 GB \(limit\)/, "the amount in its unit");
  assert.match(html, /create project <b>waldur-acme<\/b>/);
  assert.doesNotMatch(html, /waldur-beta/, "another resource's changes are not shown");
  assert.match(html, /<span class="members">3 members<\/span>/);
  assert.match(html, /<span class="names">ann, bob and 1 more<\/span>/, "who they are");
  assert.match(html, /missing in Keycloak: ghost/);
  assert.match(html, /Acme &lt;images&gt;/, "names are escaped");
  assert.doesNotMatch(html, / style=|<script/);
});

Deno.test("/api/resources/<uuid> gives the same data, and its schema accepts it", async () => {
  using s = site();
  const res = await s.app.request(`/api/resources/${ACME.toUpperCase()}`);
  assert.equal(res.status, 200);
  const model = ResourceModel.parse(await res.json());
  assert.equal(model.resource, ACME);
  assert.deepEqual(model.rows.map((r) => [r.offering, r.kind, r.row.project]), [[
    "registry",
    "harbor",
    "acme",
  ]]);
  assert.equal(model.usage[0]?.points.length, 4, "24 hourly reports in 6-hour buckets");
  assert.deepEqual(model.usage[0]?.points.at(-1), {
    at: model.usage[0]?.points.at(-1)?.at,
    amount: 3.3,
    peak: 3.3,
    quota: 20,
  });
  assert.deepEqual(model.events.map((e) => e.target), ["waldur-acme"]);
  assert.deepEqual(model.groups.map((g) => g.path), ["/waldur-acme"]);
});

Deno.test("a resource only the history knows has a page; an unknown uuid is 404, a malformed one 400", async () => {
  using s = site();
  assert.equal((await s.app.request(`/resources/${GONE}`)).status, 200);
  for (const path of [`/resources/${"dd".repeat(16)}`, `/api/resources/${"dd".repeat(16)}`]) {
    const res = await s.app.request(path);
    assert.equal(res.status, 404, path);
    assert.match(await res.text(), /knows no such resource/);
  }
  for (const bad of ["res-acme", "..%2F..%2Fetc", `${ACME}x`, "%3Cscript%3E"]) {
    const res = await s.app.request(`/resources/${bad}`);
    assert.equal(res.status, 400, bad);
    assert.doesNotMatch(await res.text(), /<script/);
    assert.equal((await s.app.request(`/api/resources/${bad}`)).status, 400);
  }
});

Deno.test("/api/history.csv exports usage, orders and loops with a header and as an attachment", async () => {
  using s = site();
  const usage = await s.app.request(`/api/history.csv?series=usage&resource=${ACME}`);
  assert.equal(usage.status, 200);
  assert.match(usage.headers.get("content-type") ?? "", /^text\/csv/);
  assert.equal(
    usage.headers.get("content-disposition"),
    `attachment; filename="berth-usage-${ACME}.csv"`,
    "each resource's export has a name of its own",
  );
  const lines = (await usage.text()).trimEnd().split("\r\n");
  assert.equal(lines[0], "resource,component,at,amount,quota,peak");
  assert.equal(lines.length, 5);
  assert.match(
    lines[4] ?? "",
    new RegExp(`^${ACME},storage,2026-11-\\d\\dT\\d\\d:00:00Z,3\\.3,20,3\\.3$`),
  );
  const orders = (await (await s.app.request("/api/history.csv?series=orders")).text()).split(
    "\r\n",
  );
  assert.equal(orders[0], "offering,hour,done,erred,mean_latency_ms,max_latency_ms");
  assert.equal(orders[1], "registry,2026-11-15T12:00:00Z,0,1,30000,30000");
  const loops = (await (await s.app.request("/api/history.csv?series=loops")).text()).split("\r\n");
  assert.equal(loops[0], "offering,loop,hour,runs,failed,mean_ms,max_ms");
  assert.equal(loops.length, 26, "a header, 24 hours and the final line break");
  assert.equal((await s.app.request("/api/history.csv?series=usage")).status, 400);
  assert.equal((await s.app.request("/api/history.csv?series=usage&resource=x")).status, 400);
  assert.equal((await s.app.request("/api/history.csv?series=bogus")).status, 400);
  assert.equal(
    (await s.app.request(`/api/history.csv?series=orders&resource=${ACME}`)).status,
    400,
  );
});

Deno.test("the resource page, its JSON and the CSV need the status token", async () => {
  const token = "a-token-of-16-chars-or-more";
  using s = site({ token });
  for (
    const path of [`/resources/${ACME}`, `/api/resources/${ACME}`, "/api/history.csv?series=orders"]
  ) {
    assert.equal((await s.app.request(path)).status, 401, path);
    const ok = await s.app.request(path, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200, path);
  }
});

Deno.test("without a state file's history the page has no usage column and the CSV is 404", async () => {
  const status = new StatusRecord({ version: "t", configPath: "c", offerings: [], now: () => 0 });
  status.publish("registry", { kind: "harbor", at: 0, rows: [harborRow("acme", ACME, "Acme")] });
  const app = createApp({ status });
  const html = await (await app.request("/")).text();
  assert.doesNotMatch(html, /svg class="spark"|id="history"/);
  assert.equal(
    StatusModel.parse(await (await app.request("/api/status")).json()).history,
    undefined,
  );
  assert.equal((await app.request("/api/history.csv?series=orders")).status, 404);
  assert.equal((await app.request(`/resources/${ACME}`)).status, 200, "the row is known");
});

Deno.test("a uuid written with dashes finds the resource, its JSON and its CSV", async () => {
  using s = site();
  const dashed = `${ACME.slice(0, 8)}-${ACME.slice(8, 12)}-${ACME.slice(12, 16)}-${
    ACME.slice(16, 20)
  }-${ACME.slice(20)}`;
  assert.equal((await s.app.request(`/resources/${dashed}`)).status, 200);
  const model = ResourceModel.parse(
    await (await s.app.request(`/api/resources/${dashed.toUpperCase()}`)).json(),
  );
  assert.equal(model.resource, ACME);
  const csv = await (await s.app.request(`/api/history.csv?series=usage&resource=${dashed}`))
    .text();
  assert.equal(csv.trimEnd().split("\r\n").length, 5, "the same four points as without dashes");
});

Deno.test("a resource known only by its changes (a Create that erred) has a page", async () => {
  using s = site();
  const erred = "ee000000000000000000000000000005";
  s.store.audit({
    at: s.clock.now(),
    offering: "registry",
    system: "waldur",
    action: "Create order erred",
    target: "0rder",
    result: "ok",
    detail: "harbor refused the project name",
    resource: erred,
  });
  const res = await s.app.request(`/resources/${erred}`);
  assert.equal(res.status, 200);
  assert.match(await res.text(), /Create order erred <b>0rder<\/b>/);
});
