/**
 * The page's history section (`#history`): per offering, orders finished per hour and their
 * latency, and each loop's pass duration over the retention, from `/api/status`'s `history`.
 */
import { escapeToBuffer } from "hono/utils/html";
import type { HistoryModel, UsageSeries } from "../../lib/history.ts";
import { formatDuration } from "../view.ts";
import { type Line, sparkline, timeChart } from "./charts.tsx";
import type { Rendered } from "./parts.tsx";

/** The charts of the orders' and loops' history; nothing without a state file's history. */
export function HistorySection(
  { history, now }: { history: HistoryModel | undefined; now: number },
): Rendered {
  if (!history) return null;
  const from = now - history.retentionDays * 24 * 3_600_000;
  // drawn in at most CHART_BINS bins (4 hours at 30 days): a chart is ~600 px wide
  const binMs = Math.max(history.bucketMs, Math.ceil((now - from) / CHART_BINS / HOUR) * HOUR);
  const perHour = HOUR / binMs;
  const offerings = [
    ...new Set([...history.orders.map((o) => o.offering), ...history.loops.map((l) => l.offering)]),
  ];
  const count = (n: number): string => String(Math.round(n));
  return (
    <section id="history">
      <h2>
        History <small>the last {history.retentionDays} days, per hour</small>{" "}
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
          { cls: "mean", points: timed.map((o) => ({ at: o.at, value: o.mean })) },
          { cls: "max", points: timed.map((o) => ({ at: o.at, value: o.max })) },
        ];
        return (
          <div class="charts" data-offering={offering}>
            <h3>{offering}</h3>
            <figure>
              {timeChart({
                id: `orders-${i}`,
                title: `${offering}: orders finished per hour`,
                from,
                to: now,
                lines: [{
                  cls: "bar",
                  points: orders.map((o) => ({ at: o.at, value: o.count * perHour })),
                }],
                bars: { ms: binMs },
                format: count,
              })}
              <figcaption>Orders per hour (done and erred)</figcaption>
            </figure>
            <figure>
              {timeChart({
                id: `latency-${i}`,
                title: `${offering}: order latency, mean and longest per hour`,
                from,
                to: now,
                lines: latency,
                format: formatDuration,
              })}
              <figcaption>
                Order latency: Waldur's creation to done or erred (mean, longest)
              </figcaption>
            </figure>
            {loops.map((loop) => {
              const runs = binned(
                history.loops.filter((l) => l.offering === offering && l.loop === loop).map((
                  l,
                ) => ({ at: l.at, count: l.runs, weight: l.runs, mean: l.meanMs, max: l.maxMs })),
                binMs,
              );
              return (
                <figure>
                  {timeChart({
                    id: `loop-${i}-${loop}`,
                    title: `${offering}: ${loop} pass duration, mean and longest per hour`,
                    from,
                    to: now,
                    lines: [
                      { cls: "mean", points: runs.map((r) => ({ at: r.at, value: r.mean })) },
                      { cls: "max", points: runs.map((r) => ({ at: r.at, value: r.max })) },
                    ],
                    format: formatDuration,
                  })}
                  <figcaption>{loop} pass duration (mean, longest)</figcaption>
                </figure>
              );
            })}
          </div>
        );
      })}
    </section>
  );
}

const HOUR = 3_600_000;
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
  from: number;
  to: number;
  /** The usage series of each resource, read in one query. */
  usageOf(resources: readonly string[]): Map<string, UsageSeries[]>;
}

/** A row's usage cell: its sparkline, linked to the resource's page. */
export function usageCell(
  resource: string,
  series: readonly UsageSeries[],
  options: { name: string; from: number; to: number },
): string {
  const href = `/resources/${encodeURIComponent(resource)}`;
  return `<td class="spark"><a href="${esc(href)}">${
    sparkline(series, { ...options, name: options.name })
  }</a></td>`;
}

/** Text escaped as JSX escapes it. */
function esc(text: string): string {
  const buffer: [string] = [""];
  escapeToBuffer(text, buffer);
  return buffer[0];
}
