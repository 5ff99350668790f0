/**
 * The history's pictures read right: the numbers a chart shows are the data's (orders of an hour
 * are not divided by a bin's width), the window starts at the oldest point so a fresh install
 * draws across its charts, a single point is a dot, and each chart says its span and unit.
 */
import assert from "node:assert/strict";
import { Store } from "../lib/store.ts";
import { createApp } from "../routes/app.tsx";
import { registryRecord } from "./support/history_record.ts";
import { ManualClock } from "../testing/manual_clock.ts";

const HOUR = 3_600_000;
const MINUTE = 60_000;
const ACME = "aa000000000000000000000000000001";
/** The start of an hour that also starts a 4-hour bin. */
const T0 = Date.UTC(2026, 10, 16, 8);

/** A Harbor offering of one project over an in-memory state file (30 days kept), at `T0`. */
function site() {
  const clock = new ManualClock({ autoAdvance: false, start: T0 });
  const store = Store.open(":memory:");
  const status = registryRecord(store, clock);
  const publish = () =>
    status.publish("registry", {
      kind: "harbor",
      at: clock.now(),
      rows: [{
        project: "acme",
        resource: ACME,
        resourceName: "Acme",
        quotaBytes: 40 * 1024 ** 3,
        usedBytes: 1024 ** 3,
        repositories: 1,
        group: "waldur-acme",
        groupBound: true,
        flags: [],
      }],
      groups: [{
        path: "/waldur-acme",
        members: 1,
        added: [],
        removed: [],
        missing: [],
        error: "",
      }],
    });
  const app = createApp({ status });
  const html = async (path: string) => await (await app.request(path)).text();
  return { app, store, clock, publish, html, [Symbol.dispose]: () => store.close() };
}

/** The first x of the `points` of the first element of class `cls` inside the element `id`. */
function firstX(html: string, id: string, cls: string): number {
  const svg = html.slice(html.indexOf(id));
  const points = new RegExp(`<polyline class="${cls}" points="([^"]*)"`).exec(svg)?.[1];
  assert.ok(points, `a ${cls} line in ${id}`);
  return Number(points.split(",")[0]);
}

Deno.test("orders per hour show every order of the hour just begun, at 30 days of retention", async () => {
  using s = site();
  for (let i = 0; i < 13; i++) {
    s.store.history.recordOrder("registry", "done", 5_000, T0 + i * 1_000);
  }
  s.clock.advance(3 * MINUTE);
  const fresh = await s.html("/");
  assert.match(fresh, /<div class="axis y">max 13 per hour<\/div><svg id="orders-0"/);
  assert.match(fresh, /Orders finished per hour \(done and erred\)/);
  const csv = await s.html("/api/history.csv?series=orders");
  assert.match(csv, /registry,2026-11-16T08:00:00Z,13,0,/, "the CSV says the same");
  // with 29 days of history the chart bins 4 hours: a bin's count is its orders, not a quarter
  s.store.history.recordOrder("registry", "done", 5_000, T0 - 29 * 24 * HOUR);
  const long = await s.html("/");
  assert.match(long, /<div class="axis y">max 13 per 4 hours<\/div><svg id="orders-0"/);
  assert.match(long, /Orders finished per 4 hours/);
  assert.match(long, /<div class="axis x"><span>Oct 18<\/span><span>now<\/span>/);
});

Deno.test("a usage series minutes old is drawn across its chart and its row's sparkline", async () => {
  using s = site();
  // a pass a minute, as the demo runs: each write of the 6-hour bucket replaces the last
  for (const amount of [22, 22.8, 23.6]) {
    s.store.history.recordUsage(ACME, { storage: amount }, s.clock.now(), { storage: 40 });
    s.clock.advance(MINUTE);
  }
  s.publish();
  const resource = await s.html(`/resources/${ACME}`);
  // the window starts at the oldest point: the line starts at the left edge, not near "now"
  assert.ok(firstX(resource, 'id="usage-0"', "usage") < 60, "the usage line starts at the left");
  assert.ok(firstX(resource, 'id="usage-0"', "quota") < 60, "the limit line starts at the left");
  assert.match(resource, /reported to Waldur, the last 3 minutes/);
  assert.match(resource, /<div class="axis x"><span>08:00 UTC<\/span><span>now<\/span><\/div>/);
  assert.match(resource, /<div class="axis y">max 40 GB<\/div>/, "the scale in the unit");
  assert.match(resource, /storage: 23\.6 of 40 GB \(limit\)/);
  const page = await s.html("/");
  assert.ok(firstX(page, `href="/resources/${ACME}"`, "c0") < 12, "the sparkline starts left");
  assert.match(page, /<title>acme: storage 23\.6 GB \(blue\); the last 3 minutes<\/title>/);
  assert.match(
    page,
    /<p class="legend">Usage, the last 3 minutes: <span class="key"><i class="k k-c0"><\/i>storage \(GB\)/,
  );
});

Deno.test("a loop's single pass and a single timed order are drawn as dots", async () => {
  using s = site();
  s.store.recordRun({
    offering: "registry",
    loop: "usage",
    startedAt: T0 + MINUTE,
    finishedAt: T0 + MINUTE + 800,
    outcome: "ok",
  });
  s.store.history.recordOrder("registry", "done", 12_000, T0 + MINUTE);
  s.clock.advance(2 * MINUTE);
  const html = await s.html("/");
  for (const id of ["loop-0-usage", "latency-0"]) {
    const svg = html.slice(html.indexOf(`<svg id="${id}"`));
    const chart = svg.slice(0, svg.indexOf("</svg>"));
    assert.match(chart, /<circle class="mean dot" cx="[\d.]+" cy="[\d.]+" r="5"\/>/, id);
    assert.match(chart, /<circle class="max dot"/, id);
  }
  assert.match(
    html,
    /<i class="k k-mean"><\/i>mean<\/span> <span class="key"><i class="k k-max"><\/i>longest/,
  );
});

Deno.test("the history comes after the project tables and the Keycloak groups", async () => {
  using s = site();
  s.store.history.recordOrder("registry", "done", 5_000, T0);
  s.publish();
  const html = await s.html("/");
  const history = html.indexOf('<section id="history">');
  assert.ok(history > 0);
  assert.ok(html.indexOf('<section class="backend harbor"') < history, "after the tables");
  assert.ok(html.indexOf('<section class="keycloak"') < history, "after the groups");
  assert.ok(html.indexOf('<section id="loops">') < history);
  assert.ok(history < html.indexOf('<section id="orders">'), "before orders in flight");
});

Deno.test("after a restart the charts start where the history began, not where the process did", async () => {
  using s = site();
  s.clock.advance(30 * MINUTE); // the first usage pass, half an hour into the hour
  for (const amount of [22, 22.8, 23.6]) {
    s.store.history.recordUsage(ACME, { storage: amount }, s.clock.now(), { storage: 40 });
    s.store.history.recordLoop({
      offering: "registry",
      loop: "usage",
      startedAt: s.clock.now(),
      finishedAt: s.clock.now() + 100,
      ok: true,
    });
    s.clock.advance(MINUTE);
  }
  s.clock.advance(HOUR);
  // a new process on the same state file
  const restarted = createApp({ status: registryRecord(s.store, s.clock) });
  const html = async (path: string) => await (await restarted.request(path)).text();
  const resource = await html(`/resources/${ACME}`);
  assert.match(resource, /<div class="axis x"><span>08:30 UTC<\/span><span>now<\/span><\/div>/);
  const page = await html("/");
  assert.match(page, /<div class="axis x"><span>08:30 UTC<\/span><span>now<\/span><\/div>/);
  assert.doesNotMatch(page, /<span>08:00 UTC<\/span>/, "not the hour's start");
  assert.doesNotMatch(page, /<span>09:33 UTC<\/span>/, "not the restart");
});
