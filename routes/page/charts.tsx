/**
 * The history as server-rendered SVG: a usage sparkline per resource row, a usage chart against
 * the quota on a resource's page, and time charts of order latency, orders per bin and loop
 * durations. Pure functions of their data; no inline style or script (colours are CSS classes
 * in `routes/assets.ts`), every text escaped, a `<title>` on each chart for screen readers.
 *
 * A chart's window runs from its oldest point to now (at least {@link MIN_SPAN_MS}, at most the
 * retention), so a fresh install draws across the chart; its labels (the largest value, the
 * start and end times, the legend) are HTML around the SVG, legible at any width.
 */
import { raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import { HOUR_MS } from "../../lib/history.ts";
import { esc } from "./parts.tsx";

/** A value at a time, as the charts draw it. */
export interface Point {
  at: number;
  value: number;
}

/** One line of a time chart: its CSS class and its points (oldest first). */
export interface Line {
  cls: string;
  points: readonly Point[];
  /** A value holds until the next point (usage, a quota): drawn as steps, to the chart's end. */
  step?: boolean;
}

/** A usage point as the charts read it; `peak` (the bucket's largest amount) when kept. */
export interface UsageDrawn {
  at: number;
  amount: number;
  quota: number | null;
  peak?: number;
}

/** A component's usage series as the charts read it. */
export interface UsageSeriesDrawn {
  component: string;
  points: readonly UsageDrawn[];
}

/** The shortest window a chart draws: a point of just now is not a zero-width window. */
export const MIN_SPAN_MS = 60_000;

/** The sparkline colours (classes `c0`…`c3`), named in titles and legends. */
export const SPARK_COLOURS = ["blue", "green", "amber", "grey"] as const;

/** A chart's window: from its oldest point (`undefined`: none) to `now`, within the bounds. */
export function chartWindow(
  oldest: number | undefined,
  now: number,
  maxMs: number,
): { from: number; to: number } {
  const from = Math.min(now - MIN_SPAN_MS, Math.max(oldest ?? now, now - maxMs));
  return { from, to: now };
}

/**
 * When the data of buckets of `bucketMs` begins: the oldest bucket's start, or the process's
 * start when that falls within the oldest bucket (nothing was recorded before it).
 */
export function dataStart(
  oldest: number | undefined,
  bucketMs: number,
  startedAt: number,
): number | undefined {
  if (oldest === undefined) return undefined;
  const start = Math.floor(oldest / bucketMs) * bucketMs;
  return startedAt > start && startedAt < start + bucketMs ? startedAt : start;
}

/** A usage series with each point at its bucket's start: a point stands for its bucket. */
export function byBucket<T extends { points: readonly { at: number }[] }>(
  series: T,
  bucketMs: number,
): T {
  return {
    ...series,
    points: series.points.map((p) => ({ ...p, at: Math.floor(p.at / bucketMs) * bucketMs })),
  };
}

/** The oldest time among `times` (undefined when there is none). */
export function oldestOf(times: Iterable<number>): number | undefined {
  let oldest: number | undefined;
  for (const at of times) if (oldest === undefined || at < oldest) oldest = at;
  return oldest;
}

/** A span as a caption says it: "the last 3 minutes", "the last 5 hours", "the last 12 days". */
export function spanText(ms: number): string {
  const [n, unit] = ms < 2 * HOUR_MS
    ? [Math.max(1, Math.round(ms / 60_000)), "minute"]
    : ms < 48 * HOUR_MS
    ? [Math.round(ms / HOUR_MS), "hour"]
    : [Math.round(ms / (24 * HOUR_MS)), "day"];
  return n === 1 ? `the last ${unit}` : `the last ${n} ${unit}s`;
}

/** A bin width as a caption says it: "hour", "4 hours". */
export function binText(ms: number): string {
  const hours = Math.round(ms / HOUR_MS);
  return hours === 1 ? "hour" : `${hours} hours`;
}

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** A window's start as its axis says it (UTC): "12:04 UTC" within two days, "Nov 3" beyond. */
export function timeLabel(at: number, spanMs: number): string {
  const d = new Date(at);
  if (spanMs <= 48 * HOUR_MS) {
    const hm = `${String(d.getUTCHours()).padStart(2, "0")}:${
      String(d.getUTCMinutes()).padStart(2, "0")
    }`;
    return spanMs <= 24 * HOUR_MS
      ? `${hm} UTC`
      : `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()} ${hm}`;
  }
  return `${MONTHS[d.getUTCMonth()]} ${d.getUTCDate()}`;
}

/** A coordinate with at most one decimal. */
function n(x: number): string {
  return String(Math.round(x * 10) / 10);
}

/** The drawing box of a chart: its window, scale and size in SVG units. */
interface Box {
  from: number;
  to: number;
  max: number;
  width: number;
  height: number;
  pad: number;
}

/** The x of a time in `box` (clamped to the window). */
function xOf(box: Box, at: number): number {
  const span = Math.max(1, box.to - box.from);
  return box.pad + (Math.min(Math.max(at, box.from), box.to) - box.from) / span *
      (box.width - 2 * box.pad);
}

/** The y of a value in `box`. */
function yOf(box: Box, v: number): number {
  return box.height - box.pad - (box.max <= 0 ? 0 : v / box.max) * (box.height - 2 * box.pad);
}

/**
 * A line as SVG: a polyline through its points (steps held to the window's end for a step line),
 * and a dot where it would be shorter than `dot` units (a single point, a point of just now).
 */
function drawLine(line: Line, box: Box, dot: number): string {
  const xy: [number, number][] = [];
  line.points.forEach((p, i) => {
    const prev = line.points[i - 1];
    if (line.step && prev) xy.push([xOf(box, p.at), yOf(box, prev.value)]);
    xy.push([xOf(box, p.at), yOf(box, p.value)]);
  });
  const last = line.points.at(-1);
  if (!last) return "";
  if (line.step) xy.push([xOf(box, box.to), yOf(box, last.value)]);
  const points = xy.map(([x, y]) => `${n(x)},${n(y)}`).join(" ");
  let out = `<polyline class="${line.cls}" points="${points}"/>`;
  const xs = xy.map(([x]) => x);
  if (Math.max(...xs) - Math.min(...xs) < dot) {
    const [x, y] = xy.at(-1) ?? [0, 0];
    out += `<circle class="${line.cls} dot" cx="${n(x)}" cy="${n(y)}" r="${n(dot / 2)}"/>`;
  }
  return out;
}

/** The largest value of `lines` (at least `floor`). */
function maxOf(lines: readonly Line[], floor = 0): number {
  let max = floor;
  for (const l of lines) for (const p of l.points) if (p.value > max) max = p.value;
  return max;
}

/** A component's unit after an amount ("23.6 GB"); the bare amount without a unit. */
export function withUnit(amount: string, unit: string | undefined): string {
  return unit ? `${amount} ${unit}` : amount;
}

/**
 * A row's usage sparkline: each component a line scaled to its own largest amount (or limit,
 * or peak), steps held to `to`, coloured by its place in `components` (the offering's order).
 * The title names each component's colour, latest amount and the window. No point: an empty
 * sparkline that says so in its title.
 */
export function sparkline(
  series: readonly UsageSeriesDrawn[],
  options: {
    from: number;
    to: number;
    name: string;
    /** The offering's components in order: a component's colour is its place here. */
    components?: readonly string[];
    /** Each component's `measured_unit`. */
    units?: Readonly<Record<string, string>>;
  },
): HtmlEscapedString {
  const width = 120;
  const height = 24;
  const shown = series.filter((s) => s.points.length > 0);
  const order = options.components ?? [];
  const colour = (component: string, i: number): number => {
    const at = order.indexOf(component);
    return (at >= 0 ? at : i) % SPARK_COLOURS.length;
  };
  const lines = shown.map((s, i) => {
    const line: Line = {
      cls: `c${colour(s.component, i)}`,
      step: true,
      points: thinned(s.points, options),
    };
    const limit = s.points.reduce((m, p) => Math.max(m, p.quota ?? 0, p.peak ?? 0), 0);
    return drawLine(line, { ...options, max: maxOf([line], limit), width, height, pad: 2 }, 3);
  });
  const latest = shown.map((s, i) =>
    `${s.component} ${
      withUnit(formatAmount(s.points.at(-1)?.amount ?? 0), options.units?.[s.component])
    } (${SPARK_COLOURS[colour(s.component, i)]})`
  );
  const title = shown.length === 0
    ? `${options.name}: no usage reported yet`
    : `${options.name}: ${latest.join(", ")}; ${spanText(options.to - options.from)}`;
  return raw(
    `<svg class="spark${shown.length === 0 ? " empty" : ""}" viewBox="0 0 ${width} ${height}" ` +
      `width="${width}" height="${height}" role="img"><title>${esc(title)}</title>` +
      `<line class="base" x1="2" y1="${height - 2}" x2="${width - 2}" y2="${height - 2}"/>` +
      `${lines.join("")}</svg>`,
  );
}

/** Points a sparkline draws at most: one every two pixels. */
const SPARK_POINTS = 58;

/**
 * A step series as a sparkline draws it: the last amount of each of at most {@link SPARK_POINTS}
 * slots (the page holds a sparkline per row), and only where the amount changes.
 */
function thinned(
  points: readonly { at: number; amount: number }[],
  window: { from: number; to: number },
): Point[] {
  const slot = Math.max(1, (window.to - window.from) / SPARK_POINTS);
  const slotOf = (at: number): number => Math.floor((at - window.from) / slot);
  const out: Point[] = [];
  for (const p of points) {
    const last = out.at(-1);
    if (last && slotOf(p.at) === slotOf(last.at)) {
      last.value = p.amount; // the later amount of a slot wins, at the slot's first time
    } else if (!last || last.value !== p.amount) {
      out.push({ at: p.at, value: p.amount });
    }
  }
  // a slot's later amount may equal the one before it: no step there
  return out.filter((p, i) => i === 0 || out[i - 1]?.value !== p.value);
}

/** An entry of a chart's legend: a line's class and what it stands for. */
export interface LegendEntry {
  cls: string;
  text: string;
}

/** A legend: a key (a short line in the class's colour and dash) before each entry. */
export function legend(entries: readonly LegendEntry[]): string {
  return entries.map((e) =>
    `<span class="key"><i class="k k-${esc(e.cls)}"></i>${esc(e.text)}</span>`
  )
    .join(" ");
}

/**
 * A time chart as a `<figure>`: the SVG (lines, or with `bars` the first line as bars of
 * `bars.ms` clipped to the window, a dashed limit line when given), and around it, in HTML, the
 * largest value above, the window's start and "now" below, and the caption with its legend.
 */
export function timeChart(
  options: {
    id: string;
    title: string;
    from: number;
    to: number;
    lines: readonly Line[];
    /** A quota: drawn as a dashed line and counted in the scale. */
    limit?: Line;
    format: (value: number) => string;
    bars?: { ms: number };
    caption?: string;
    legend?: readonly LegendEntry[];
  },
): HtmlEscapedString {
  const width = 600;
  const height = 120;
  const pad = 6;
  const all = options.limit ? [...options.lines, options.limit] : options.lines;
  const max = maxOf(all);
  const box: Box = { from: options.from, to: options.to, max, width, height, pad };
  let body = "";
  const first = options.lines[0];
  if (options.bars && first) {
    for (const p of first.points) {
      const x = xOf(box, p.at);
      const end = xOf(box, p.at + options.bars.ms);
      const h = max <= 0 ? 0 : p.value / max * (height - 2 * pad);
      body += `<rect class="${first.cls}" x="${n(x)}" y="${n(height - pad - h)}" width="${
        n(Math.max(2, end - x - 1))
      }" height="${n(h)}"/>`;
    }
  } else {
    for (const line of options.lines) body += drawLine(line, box, 10);
  }
  if (options.limit) body += drawLine({ ...options.limit, cls: "quota", step: true }, box, 10);
  const empty = all.every((l) => l.points.length === 0);
  const top = empty ? "no data yet" : `max ${options.format(max)}`;
  const span = options.to - options.from;
  const caption = options.caption === undefined ? "" : esc(options.caption);
  const keys = options.legend && options.legend.length > 0
    ? ` <span class="keys">${legend(options.legend)}</span>`
    : "";
  return raw(
    `<figure class="plot"><div class="axis y">${esc(top)}</div>` +
      `<svg id="${esc(options.id)}" class="chart${empty ? " empty" : ""}" ` +
      `viewBox="0 0 ${width} ${height}" role="img"><title>${esc(options.title)}, ${
        esc(spanText(span))
      }: ${esc(top)}</title>` +
      `<line class="base" x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${
        height - pad
      }"/>${body}</svg>` +
      `<div class="axis x"><span>${
        esc(timeLabel(options.from, span))
      }</span><span>now</span></div>` +
      (caption || keys ? `<figcaption>${caption}${keys}</figcaption>` : "") + `</figure>`,
  );
}

/** A component's last amount and limit, in its unit: "23.6 of 40 GB (limit)", "5 GB". */
function usageText(amount: number, quota: number | null, unit: string | undefined): string {
  return quota === null
    ? withUnit(formatAmount(amount), unit)
    : `${formatAmount(amount)} of ${withUnit(formatAmount(quota), unit)} (limit)`;
}

/**
 * A component's usage against its limit (a dashed step line), its peaks (a light band) when the
 * history keeps them, the caption its last amount of its limit in its unit.
 */
export function usageChart(
  series: UsageSeriesDrawn,
  options: { id: string; name: string; unit: string | undefined; from: number; to: number },
): HtmlEscapedString {
  const { unit } = options;
  const points = series.points;
  const peaks = points.some((p) => p.peak !== undefined && p.peak > p.amount);
  const last = points.at(-1);
  const legend: LegendEntry[] = [
    { cls: "usage", text: "reported" },
    ...(peaks ? [{ cls: "peak", text: "peak" }] : []),
    ...(points.some((p) => p.quota !== null) ? [{ cls: "quota", text: "limit" }] : []),
  ];
  return timeChart({
    id: options.id,
    title: `${options.name}: ${series.component} reported, and its limit`,
    from: options.from,
    to: options.to,
    lines: [
      ...(peaks
        ? [{
          cls: "peak",
          step: true,
          points: points.map((p) => ({ at: p.at, value: Math.max(p.peak ?? p.amount, p.amount) })),
        }]
        : []),
      { cls: "usage", step: true, points: points.map((p) => ({ at: p.at, value: p.amount })) },
    ],
    limit: {
      cls: "quota",
      points: points.filter((p) => p.quota !== null).map((p) => ({
        at: p.at,
        value: p.quota ?? 0,
      })),
    },
    format: (v) => withUnit(formatAmount(v), unit),
    caption: `${series.component}: ${usageText(last?.amount ?? 0, last?.quota ?? null, unit)}`,
    legend,
  });
}

/** An amount as Waldur reports it: up to two decimals. */
export function formatAmount(value: number): string {
  return String(Math.round(value * 100) / 100);
}
