/**
 * The page's history section (`#history`): per offering, orders finished per bin and their
 * latency, and each loop's pass duration, from `/api/status`'s `history`. The window runs from the
 * oldest hour kept to now (at least an hour); hours are merged into bins of whole hours when the
 * window is long, and a bin's count is the orders of the hours it holds (the caption says how
 * many hours a bin is).
 */
import { type HistoryModel, HOUR_MS, type UsageSeries } from "../../lib/history.ts";
import { formatDuration } from "../view.ts";
import {
  binText,
  byBucket,
  chartWindow,
  dataStart,
  legend,
  type LegendEntry,
  type Line,
  oldestOf,
  spanText,
  SPARK_COLOURS,
  sparkline,
  timeChart,
} from "./charts.tsx";
import { esc, type Rendered } from "./parts.tsx";

/** The legend of a chart of means and maxima. */
const MEAN_MAX: readonly LegendEntry[] = [
  { cls: "mean", text: "mean" },
  { cls: "max", text: "longest" },
];

/** The charts of the orders' and loops' history; nothing without a state file's history. */
export function HistorySection(
  { history, now, startedAt }: {
    history: HistoryModel | undefined;
    now: number;
    startedAt: number;
  },
): Rendered {
  if (!history) return null;
  const { from, to } = chartWindow(
    dataStart(
      oldestOf([...history.orders, ...history.loops].map((b) => b.at)),
      history.bucketMs,
      history.beganAt ?? startedAt,
    ),
    now,
    history.retentionDays * 24 * HOUR_MS,
  );
  // a mean or maximum of a bin is drawn at the middle of the time the bin covers in the window
  const mid = (at: number): number => (Math.max(at, from) + Math.min(at + binMs, to)) / 2;
  // at most CHART_BINS bins (4 hours at 30 days): a chart is ~600 units wide
  const binMs = Math.max(history.bucketMs, Math.ceil((to - from) / CHART_BINS / HOUR_MS) * HOUR_MS);
  const per = binText(binMs);
  const offerings = [
    ...new Set([...history.orders.map((o) => o.offering), ...history.loops.map((l) => l.offering)]),
  ];
  const count = (n: number): string => String(Math.round(n));
  return (
    <section id="history">
      <h2>
        History <small>{spanText(to - from)}, per {per}</small>{" "}
        <a class="count" href="/api/history.csv?series=orders">orders CSV</a>{" "}
        <a class="count" href="/api/history.csv?series=loops">loops CSV</a>
      </h2>
      {offerings.length === 0 ? <p class="empty">No order or pass finished yet.</p> : ""}
      {offerings.map((offering, i) => {
        const orders = binned(
          history.orders.filter((o) => o.offering === offering).map((o) => ({
            at: o.at,
            count: o.done + o.erred,
            weight: o.meanLatencyMs === null ? 0 : o.done + o.erred,
            mean: o.meanLatencyMs ?? 0,
            max: o.maxLatencyMs ?? 0,
          })),
          binMs,
        );
        const loops = [
          ...new Set(history.loops.filter((l) => l.offering === offering).map((l) => l.loop)),
        ];
        const timed = orders.filter((o) => o.weight > 0);
        const latency: Line[] = [
          { cls: "mean", points: timed.map((o) => ({ at: mid(o.at), value: o.mean })) },
          { cls: "max", points: timed.map((o) => ({ at: mid(o.at), value: o.max })) },
        ];
        return (
          <div class="charts" data-offering={offering}>
            <h3>{offering}</h3>
            {timeChart({
              id: `orders-${i}`,
              title: `${offering}: orders finished per ${per}`,
              from,
              to,
              // a bin's count as it is: the orders of the hours it holds, however few have passed
              lines: [{ cls: "bar", points: orders.map((o) => ({ at: o.at, value: o.count })) }],
              bars: { ms: binMs },
              format: (v) => `${count(v)} per ${per}`,
              caption: `Orders finished per ${per} (done and erred)`,
            })}
            {timeChart({
              id: `latency-${i}`,
              title: `${offering}: order latency, mean and longest per ${per}`,
              from,
              to,
              lines: latency,
              format: formatDuration,
              caption: "Order latency, from Waldur's creation to done or erred:",
              legend: MEAN_MAX,
            })}
            {loops.map((loop) => {
              const runs = binned(
                history.loops.filter((l) => l.offering === offering && l.loop === loop).map((
                  l,
                ) => ({ at: l.at, count: l.runs, weight: l.runs, mean: l.meanMs, max: l.maxMs })),
                binMs,
              );
              return timeChart({
                id: `loop-${i}-${loop}`,
                title: `${offering}: ${loop} pass duration, mean and longest per ${per}`,
                from,
                to,
                lines: [
                  { cls: "mean", points: runs.map((r) => ({ at: mid(r.at), value: r.mean })) },
                  { cls: "max", points: runs.map((r) => ({ at: mid(r.at), value: r.max })) },
                ],
                format: formatDuration,
                caption: `${loop} pass duration:`,
                legend: MEAN_MAX,
              });
            })}
          </div>
        );
      })}
    </section>
  );
}

/** The most bins a time chart draws. */
const CHART_BINS = 180;

/** Hourly buckets as a chart draws them. */
interface Bin {
  at: number;
  count: number;
  /** What `mean` is weighted by (0: no mean in this bucket). */
  weight: number;
  mean: number;
  max: number;
}

/** Hourly buckets (oldest first) merged into bins of `binMs`: counts add, means weigh, maxima max. */
function binned(buckets: readonly Bin[], binMs: number): Bin[] {
  const out: Bin[] = [];
  for (const b of buckets) {
    const at = Math.floor(b.at / binMs) * binMs;
    const last = out.at(-1);
    if (!last || last.at !== at) {
      out.push({ ...b, at });
      continue;
    }
    const weight = last.weight + b.weight;
    last.mean = weight === 0 ? 0 : (last.mean * last.weight + b.mean * b.weight) / weight;
    last.weight = weight;
    last.count += b.count;
    last.max = Math.max(last.max, b.max);
  }
  return out;
}

/** What a backend table needs to draw its rows' usage: the window, one read for a page of rows. */
export interface RowHistory {
  /** Now: the sparklines' end. */
  to: number;
  /** The retention: the longest window a sparkline draws. */
  maxMs: number;
  /** The width of a usage point's bucket: a point is drawn from its bucket's start. */
  bucketMs: number;
  /** When the history began (its first write; else this process's start): no point is older. */
  beganAt: number;
  /** The usage series of each resource, read in one query. */
  usageOf(resources: readonly string[]): Map<string, UsageSeries[]>;
  /** Each offering's components in order, with their `measured_unit`. */
  units: Readonly<Record<string, Readonly<Record<string, string>>>>;
}

/** The usage cells of a page of rows: one window for all of them, and the legend saying it. */
export interface UsageColumn {
  /** A row's usage cell: its sparkline, linked to the resource's page. */
  cell(resource: string, name: string): string;
  /** What the sparklines show: the window, each component's colour and unit. */
  legend: string;
}

/** The usage column of a page of rows of `offering`: their series read in one query. */
export function usageColumn(
  history: RowHistory,
  offering: string,
  resources: readonly string[],
): UsageColumn {
  const series = new Map(
    [...history.usageOf(resources)].map(([r, list]) => [
      r,
      list.map((s) => byBucket(s, history.bucketMs)),
    ]),
  );
  const oldest = oldestOf(
    [...series.values()].flatMap((list) => list.map((s) => s.points[0]?.at ?? history.to)),
  );
  const window = chartWindow(
    dataStart(oldest, history.bucketMs, history.beganAt),
    history.to,
    history.maxMs,
  );
  const units = history.units[offering] ?? {};
  const seen = [...new Set([...series.values()].flatMap((list) => list.map((s) => s.component)))];
  const components = [...Object.keys(units), ...seen.sort().filter((c) => !(c in units))];
  const used = components.filter((c) => seen.includes(c));
  const keys = used.map((c) => ({
    cls: `c${components.indexOf(c) % SPARK_COLOURS.length}`,
    text: units[c] ? `${c} (${units[c]})` : c,
  }));
  return {
    cell: (resource, name) => {
      const href = `/resources/${encodeURIComponent(resource)}`;
      return `<td class="spark"><a href="${esc(href)}">${
        sparkline(series.get(resource) ?? [], { ...window, name, components, units })
      }</a></td>`;
    },
    legend: `<p class="legend">Usage, ${esc(spanText(window.to - window.from))}${
      keys.length > 0 ? ":" : ""
    } ${legend(keys)}</p>`,
  };
}
