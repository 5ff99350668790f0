/**
 * The history as server-rendered SVG: a usage sparkline per resource row, a usage chart against
 * the quota on a resource's page, and time charts of order latency, orders per hour and loop
 * durations. Pure functions of their data; no inline style or script (colours are CSS classes
 * in `routes/assets.ts`), every text escaped, a `<title>` on each chart for screen readers.
 */
import { raw } from "hono/html";
import { escapeToBuffer, type HtmlEscapedString } from "hono/utils/html";
import type { UsageSeries } from "../../lib/history.ts";

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

/** Text escaped as JSX escapes it. */
function esc(text: string): string {
  const buffer: [string] = [""];
  escapeToBuffer(text, buffer);
  return buffer[0];
}

/** A coordinate with at most one decimal. */
function n(x: number): string {
  return String(Math.round(x * 10) / 10);
}

/** The `points` attribute of a polyline through `points` in a `width` × `height` box. */
function polyline(
  line: Line,
  box: { from: number; to: number; max: number; width: number; height: number; pad: number },
): string {
  const span = Math.max(1, box.to - box.from);
  const x = (at: number): number =>
    box.pad + (Math.min(Math.max(at, box.from), box.to) - box.from) /
      span * (box.width - 2 * box.pad);
  const y = (v: number): number =>
    box.height - box.pad - (box.max <= 0 ? 0 : v / box.max) * (box.height - 2 * box.pad);
  const out: string[] = [];
  line.points.forEach((p, i) => {
    if (line.step && i > 0) out.push(`${n(x(p.at))},${n(y(line.points[i - 1]?.value ?? 0))}`);
    out.push(`${n(x(p.at))},${n(y(p.value))}`);
  });
  const last = line.points.at(-1);
  if (line.step && last) out.push(`${n(x(box.to))},${n(y(last.value))}`);
  return out.join(" ");
}

/** The largest value of `lines` (at least `floor`). */
function maxOf(lines: readonly Line[], floor = 0): number {
  let max = floor;
  for (const l of lines) for (const p of l.points) if (p.value > max) max = p.value;
  return max;
}

/**
 * A row's usage sparkline: each component a line scaled to its own largest amount (or limit),
 * steps held to `to`. No point: an empty sparkline that says so in its title.
 */
export function sparkline(
  series: readonly UsageSeries[],
  options: { from: number; to: number; name: string },
): HtmlEscapedString {
  const width = 120;
  const height = 24;
  const shown = series.filter((s) => s.points.length > 0);
  const lines = shown.map((s, i) => {
    const line: Line = { cls: `c${i % 4}`, step: true, points: thinned(s.points, options) };
    const quota = s.points.reduce((m, p) => Math.max(m, p.quota ?? 0), 0);
    const max = maxOf([line], quota);
    return `<polyline class="${line.cls}" points="${
      polyline(line, { ...options, max, width, height, pad: 2 })
    }"/>`;
  });
  const latest = shown.map((s) => `${s.component} ${formatAmount(s.points.at(-1)?.amount ?? 0)}`);
  const title = shown.length === 0
    ? `${options.name}: no usage reported yet`
    : `${options.name}: ${latest.join(", ")}`;
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

/**
 * A time chart: lines (or, with `bars`, the first line as bars of `barMs`), a dashed limit line
 * when given, the largest value and the time span as labels.
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
  },
): HtmlEscapedString {
  const width = 600;
  const height = 120;
  const pad = 4;
  const all = options.limit ? [...options.lines, options.limit] : options.lines;
  const max = maxOf(all);
  const box = { from: options.from, to: options.to, max, width, height, pad };
  let body = "";
  const first = options.lines[0];
  if (options.bars && first) {
    const span = Math.max(1, options.to - options.from);
    const w = Math.max(1, options.bars.ms / span * (width - 2 * pad));
    for (const p of first.points) {
      const x = pad + (p.at - options.from) / span * (width - 2 * pad);
      const h = max <= 0 ? 0 : p.value / max * (height - 2 * pad);
      body += `<rect class="${first.cls}" x="${n(x)}" y="${n(height - pad - h)}" width="${
        n(Math.max(1, w - 1))
      }" height="${n(h)}"/>`;
    }
  } else {
    for (const line of options.lines) {
      if (line.points.length === 0) continue;
      body += `<polyline class="${line.cls}" points="${polyline(line, box)}"/>`;
    }
  }
  if (options.limit && options.limit.points.length > 0) {
    body += `<polyline class="quota" points="${polyline({ ...options.limit, step: true }, box)}"/>`;
  }
  const empty = all.every((l) => l.points.length === 0);
  const label = empty ? "no data yet" : `max ${options.format(max)}`;
  return raw(
    `<svg id="${esc(options.id)}" class="chart${
      empty ? " empty" : ""
    }" viewBox="0 0 ${width} ${height}" ` +
      `role="img"><title>${esc(options.title)}</title>` +
      `<line class="base" x1="${pad}" y1="${height - pad}" x2="${width - pad}" y2="${
        height - pad
      }"/>` +
      `${body}<text class="label" x="${pad + 2}" y="14">${esc(label)}</text></svg>`,
  );
}

/** An amount as Waldur reports it: up to two decimals. */
export function formatAmount(value: number): string {
  return String(Math.round(value * 100) / 100);
}
