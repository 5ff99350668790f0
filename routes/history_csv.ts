/**
 * The history as CSV (`/api/history.csv`): a header row, one line per point or hour, times in
 * ISO 8601 UTC. Fields are quoted when they need it, and a text that a spreadsheet would take
 * for a formula (`=`, `+`, `-`, `@` first) is prefixed with `'`.
 */
import type { LoopBucket, OrderBucket, UsageSeries } from "../lib/history.ts";
import { formatTime } from "./view.ts";

/** One CSV field. */
export function csvField(value: string | number | null): string {
  if (value === null) return "";
  if (typeof value === "number") return String(value);
  const text = /^[=+\-@\t\r]/.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

function lines(header: readonly string[], rows: (string | number | null)[][]): string {
  return [header, ...rows].map((r) => r.map(csvField).join(",")).join("\r\n") + "\r\n";
}

/** The CSV of each history series. */
export const historyCsv = {
  /** A resource's reported usage: one line per point (`peak`: the bucket's largest amount). */
  usage(resource: string, series: readonly UsageSeries[]): string {
    return lines(
      ["resource", "component", "at", "amount", "quota", "peak"],
      series.flatMap((s) =>
        s.points.map((p) => [resource, s.component, formatTime(p.at), p.amount, p.quota, p.peak])
      ),
    );
  },
  /** Orders finished per offering and hour, with their latency. */
  orders(buckets: readonly OrderBucket[]): string {
    return lines(
      ["offering", "hour", "done", "erred", "mean_latency_ms", "max_latency_ms"],
      buckets.map((b) => [
        b.offering,
        formatTime(b.at),
        b.done,
        b.erred,
        b.meanLatencyMs,
        b.maxLatencyMs,
      ]),
    );
  },
  /** Loop passes per offering, loop and hour, with their durations. */
  loops(buckets: readonly LoopBucket[]): string {
    return lines(
      ["offering", "loop", "hour", "runs", "failed", "mean_ms", "max_ms"],
      buckets.map((
        b,
      ) => [b.offering, b.loop, formatTime(b.at), b.runs, b.failed, b.meanMs, b.maxMs]),
    );
  },
};
