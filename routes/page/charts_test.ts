import assert from "node:assert/strict";
import {
  chartWindow,
  dataStart,
  spanText,
  sparkline,
  timeChart,
  timeLabel,
  usageChart,
} from "./charts.tsx";

const T0 = Date.UTC(2026, 10, 1);
const HOUR = 3_600_000;

Deno.test("a sparkline of a small series draws each component as steps held to the end", async (t) => {
  const svg = String(sparkline([
    {
      component: "cpu",
      points: [
        { at: T0 + 6 * HOUR, amount: 1, peak: 1, quota: 4 },
        { at: T0 + 12 * HOUR, amount: 3, peak: 3, quota: 4 },
      ],
    },
    { component: "memory", points: [{ at: T0 + 6 * HOUR, amount: 2, peak: 2, quota: null }] },
  ], { from: T0, to: T0 + 24 * HOUR, name: "alpha" }));
  await t.assertSnapshot(svg);
  assert.match(svg, /^<svg class="spark" /);
  assert.match(svg, /<title>alpha: cpu 3 \(blue\), memory 2 \(green\); the last 24 hours<\/title>/);
});

Deno.test("an empty sparkline says there is no usage yet", async (t) => {
  const svg = String(sparkline([], { from: T0, to: T0 + 24 * HOUR, name: "beta" }));
  await t.assertSnapshot(svg);
  assert.match(svg, /class="spark empty"/);
  assert.doesNotMatch(svg, /polyline/);
});

Deno.test("a flat series is one level line at the top of its sparkline, not a division by zero", async (t) => {
  const svg = String(sparkline([{
    component: "storage",
    points: [
      { at: T0, amount: 5, peak: 5, quota: null },
      { at: T0 + 12 * HOUR, amount: 5, peak: 5, quota: null },
    ],
  }], { from: T0, to: T0 + 24 * HOUR, name: "flat" }));
  await t.assertSnapshot(svg);
  assert.doesNotMatch(svg, /NaN|Infinity/);
  assert.match(svg, /points="2,2 118,2"/);
  const zeros = String(sparkline([{
    component: "storage",
    points: [{ at: T0, amount: 0, peak: 0, quota: null }],
  }], { from: T0, to: T0 + 24 * HOUR, name: "zero" }));
  assert.match(zeros, /points="2,22 118,22"/, "all zero: along the bottom");
});

Deno.test("a usage chart draws the quota as a dashed step line and scales to it", async (t) => {
  const svg = String(timeChart({
    id: "usage-0",
    title: "acme: storage reported, and its limit",
    from: T0,
    to: T0 + 24 * HOUR,
    lines: [{
      cls: "usage",
      step: true,
      points: [{ at: T0 + 6 * HOUR, value: 5 }, { at: T0 + 18 * HOUR, value: 8 }],
    }],
    limit: { cls: "quota", points: [{ at: T0 + 6 * HOUR, value: 10 }] },
    format: String,
  }));
  await t.assertSnapshot(svg);
  assert.match(svg, /<polyline class="quota" points="[^"]*"\/>/);
  assert.match(svg, /max 10</, "the quota sets the scale");
});

Deno.test("orders per hour are bars; an empty chart says there is no data", async (t) => {
  const bars = String(timeChart({
    id: "orders-0",
    title: "registry: orders finished per hour",
    from: T0,
    to: T0 + 4 * HOUR,
    lines: [{ cls: "bar", points: [{ at: T0, value: 2 }, { at: T0 + 2 * HOUR, value: 4 }] }],
    bars: { ms: HOUR },
    format: String,
  }));
  await t.assertSnapshot(bars);
  assert.equal(bars.match(/<rect /g)?.length, 2);
  const empty = String(timeChart({
    id: "loop-0-orders",
    title: "registry: orders pass duration",
    from: T0,
    to: T0 + 4 * HOUR,
    lines: [{ cls: "mean", points: [] }],
    format: String,
  }));
  assert.match(empty, /class="chart empty"/);
  assert.match(empty, />no data yet</);
});

Deno.test("names in a chart's title are escaped", () => {
  const svg = String(sparkline([], { from: T0, to: T0 + HOUR, name: '<script>"x"</script>' }));
  assert.match(svg, /<title>&lt;script&gt;&quot;x&quot;&lt;\/script&gt;: no usage reported yet/);
  assert.doesNotMatch(svg, /<script>/);
});

Deno.test("a sparkline of 120 changing points draws at most 58, the last amount of each slot", () => {
  const points = Array.from({ length: 120 }, (_, i) => ({
    at: T0 + i * 6 * HOUR,
    amount: i,
    peak: i,
    quota: null,
  }));
  const svg = String(sparkline([{ component: "cpu", points }], {
    from: T0,
    to: T0 + 720 * HOUR,
    name: "busy",
  }));
  const drawn = /points="([^"]*)"/.exec(svg.slice(svg.indexOf("<polyline")))?.[1] ?? "";
  const pairs = drawn.split(" ").length;
  assert.ok(pairs <= 2 * 58 + 1 && pairs > 58, `${pairs} coordinate pairs`);
  assert.match(drawn, / 118,2$/, "the last amount, the largest, held to the end");
});

Deno.test("a usage chart draws the bucket's peaks as a band under the amount, and says so", () => {
  const svg = String(usageChart({
    component: "storage",
    points: [
      { at: T0, amount: 5, quota: 10, peak: 9 },
      { at: T0 + 6 * HOUR, amount: 6, quota: 10 },
    ],
  }, { id: "usage-0", name: "acme", unit: "GB", from: T0, to: T0 + 12 * HOUR }));
  assert.match(svg, /<polyline class="peak" points="6,16\.8 300,16\.8 300,49\.2 594,49\.2"\/>/);
  assert.match(svg, /<i class="k k-peak"><\/i>peak/);
  assert.match(svg, /storage: 6 of 10 GB \(limit\)/);
  const plain = String(usageChart({
    component: "storage",
    points: [{ at: T0, amount: 5, quota: null }],
  }, { id: "usage-1", name: "acme", unit: undefined, from: T0, to: T0 + HOUR }));
  assert.doesNotMatch(plain, /peak/, "no band without peaks");
  assert.match(plain, /storage: 5<\/figcaption>|storage: 5 </);
});

Deno.test("a chart's window starts at its oldest point, at least a minute and at most the retention", () => {
  const now = T0 + 30 * 24 * HOUR;
  assert.deepEqual(chartWindow(now - 3 * 60_000, now, 30 * 24 * HOUR), {
    from: now - 3 * 60_000,
    to: now,
  });
  assert.deepEqual(chartWindow(now, now, 30 * 24 * HOUR), { from: now - 60_000, to: now });
  assert.deepEqual(chartWindow(undefined, now, 30 * 24 * HOUR), { from: now - 60_000, to: now });
  assert.deepEqual(chartWindow(T0 - 90 * 24 * HOUR, now, 30 * 24 * HOUR), { from: T0, to: now });
  // a bucket Berth started within begins at the start; an older one at its own start
  assert.equal(dataStart(T0 + 6 * HOUR, 6 * HOUR, T0 + 8 * HOUR), T0 + 8 * HOUR);
  assert.equal(dataStart(T0 + 6 * HOUR, 6 * HOUR, T0 + 20 * HOUR), T0 + 6 * HOUR);
  assert.equal(dataStart(undefined, 6 * HOUR, T0), undefined);
  assert.equal(spanText(3 * 60_000), "the last 3 minutes");
  assert.equal(spanText(60_000), "the last minute");
  assert.equal(spanText(12 * 24 * HOUR), "the last 12 days");
  assert.equal(timeLabel(T0 + 12 * HOUR + 4 * 60_000, HOUR), "12:04 UTC");
  assert.equal(timeLabel(T0, 12 * 24 * HOUR), "Nov 1");
});

Deno.test("a single point is a dot, on a line chart and on a sparkline", () => {
  const chart = String(timeChart({
    id: "loop-0-usage",
    title: "registry: usage pass duration",
    from: T0,
    to: T0 + HOUR,
    lines: [{ cls: "mean", points: [{ at: T0 + HOUR / 2, value: 800 }] }],
    format: String,
  }));
  assert.match(chart, /<circle class="mean dot" cx="300" cy="6" r="5"\/>/);
  const spark = String(sparkline([{
    component: "storage",
    points: [{ at: T0 + HOUR, amount: 5, quota: null }],
  }], { from: T0, to: T0 + HOUR, name: "new" }));
  assert.match(spark, /<circle class="c0 dot" cx="118" cy="2" r="1\.5"\/>/);
});
