/**
 * The status page's view of the status model: the overall state, which backends are presented
 * and how, text filtering and paging of the big tables, and the number and time formats. Pure:
 * the page renders what this returns.
 */
import type { z } from "zod";
import type { GroupRow } from "../lib/keycloak/group_row.ts";
import { PLUGINS } from "../lib/plugins.ts";
import type { Presentation } from "../lib/presentation.ts";
import type { LoopStatus, StatusModel } from "../lib/status.ts";

/** The header's one-word summary. */
export type Overall = "starting" | "fresh" | "stale" | "failing";

/** A loop whose last success is older than this many intervals is stale. */
const STALE_INTERVALS = 2;

/**
 * The overall state: failing if a loop's last pass failed or left items failing, stale if a
 * loop has not succeeded for two intervals.
 */
export function overallState(loops: readonly LoopStatus[], now: number): Overall {
  if (loops.some((l) => l.state === "failed" || l.state === "partial")) return "failing";
  if (loops.length === 0 || loops.every((l) => l.runs === 0)) return "starting";
  const stale = loops.some((l) =>
    l.runs > 0 && (l.lastSuccess === null ||
      now - l.lastSuccess > STALE_INTERVALS * Math.max(l.intervalMs, 1000))
  );
  return stale ? "stale" : "fresh";
}

/** Rows per page unless the URL asks for another size. */
export const PAGE_SIZE = 50;
/** The largest page size a URL may ask for. */
export const MAX_PAGE_SIZE = 500;

/** One page of a filtered table. */
export interface Page<T> {
  rows: T[];
  /** 1-based. */
  page: number;
  pages: number;
  /** Rows that match the filter. */
  matched: number;
  total: number;
}

/** True when any string (or string in an array) of `row` contains `needle` (lower case). */
function matches(row: Record<string, unknown>, needle: string): boolean {
  for (const v of Object.values(row)) {
    if (typeof v === "string" && v.toLowerCase().includes(needle)) return true;
    if (Array.isArray(v)) {
      for (const item of v) {
        if (typeof item === "string" && item.toLowerCase().includes(needle)) return true;
      }
    }
  }
  return false;
}

/**
 * Filters `rows` by `query`, then parses only the requested page with `schema`; a row that
 * does not parse is left out of the page and counted in `invalid` (the page says so).
 */
export function pageOf<T>(
  rows: readonly Record<string, unknown>[],
  schema: z.ZodType<T>,
  options: { query: string; page: number; size: number },
): Page<T> & { invalid: number } {
  const needle = options.query.trim().toLowerCase();
  const kept = needle === "" ? rows : rows.filter((r) => matches(r, needle));
  const pages = Math.max(1, Math.ceil(kept.length / options.size));
  const page = Math.min(Math.max(1, options.page), pages);
  const slice = kept.slice((page - 1) * options.size, page * options.size);
  const parsed: T[] = [];
  let invalid = 0;
  for (const r of slice) {
    const p = schema.safeParse(r);
    if (p.success) parsed.push(p.data);
    else invalid++;
  }
  return { rows: parsed, page, pages, matched: kept.length, total: rows.length, invalid };
}

/** A Keycloak parent group and its children, from child paths `/parent/child`. */
export interface GroupTree {
  parent: string;
  children: GroupRow[];
}

/** Groups child rows under their parent, in path order. */
export function groupTree(rows: readonly GroupRow[]): GroupTree[] {
  const parents = new Map<string, GroupRow[]>();
  for (const row of rows) {
    const parts = row.path.split("/").filter((p) => p !== "");
    const parent = parts.length > 1 ? `/${parts.slice(0, -1).join("/")}` : "/";
    const list = parents.get(parent) ?? [];
    list.push(row);
    parents.set(parent, list);
  }
  return [...parents.entries()].sort(([a], [b]) => a.localeCompare(b)).map((
    [parent, children],
  ) => ({ parent, children }));
}

/** The last segment of a group path. */
export function leafName(path: string): string {
  return path.split("/").filter((p) => p !== "").at(-1) ?? path;
}

/** Bytes in binary units (`1.5 GiB`): the one formatter, lib/bytes.ts. */
export { formatBytes } from "../lib/bytes.ts";

/** CPU cores: `1.5`, `250m`. */
export function formatCpu(cores: number | null): string {
  if (cores === null) return "–";
  if (cores < 0) return "unlimited";
  if (cores !== 0 && cores < 1) return `${Math.round(cores * 1000)}m`;
  return `${Number(cores.toFixed(3))}`;
}

/** A duration in the largest two units: `3h 02m`, `45 s`, `120 ms`. */
export function formatDuration(ms: number): string {
  const abs = Math.abs(ms);
  if (abs < 1000) return `${Math.round(abs)} ms`;
  const s = Math.floor(abs / 1000);
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, "0")}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, "0")}m`;
  return `${Math.floor(h / 24)}d ${String(h % 24).padStart(2, "0")}h`;
}

/** `at` relative to `now`: `12 s ago`, `in 3m 00s`. */
export function formatAge(at: number | null, now: number): string {
  if (at === null) return "never";
  const d = now - at;
  return d >= 0 ? `${formatDuration(d)} ago` : `in ${formatDuration(-d)}`;
}

/** An ISO time without milliseconds, in UTC. */
export function formatTime(at: number | null): string {
  if (at === null) return "–";
  return new Date(at).toISOString().replace(/\.\d{3}Z$/, "Z");
}

/** The used share of a quota in [0, 1], or null when there is no finite quota. */
export function usedShare(used: number | null, hard: number | null): number | null {
  if (used === null || hard === null || hard <= 0) return null;
  return used / hard;
}

/** The first line of a message. */
export function firstLine(text: string): string {
  const i = text.indexOf("\n");
  return i === -1 ? text : text.slice(0, i);
}

/** Each plugin's presentation by its `type` (the `kind` of its snapshots), in plugin order. */
export function presentations(): ReadonlyMap<string, readonly Presentation[]> {
  const out = new Map<string, readonly Presentation[]>();
  for (const p of PLUGINS) if (p.presentations?.length) out.set(p.type, p.presentations);
  return out;
}

/** A backend snapshot of the model and the presentation of its kind. */
export interface Presented {
  backend: StatusModel["backends"][number];
  presentation: Presentation;
}

/**
 * The model's backends that have a presentation, grouped by plugin (in plugin order), each
 * group in the model's order. A kind without one (the in-memory test backend) is left out, and
 * so is a further table a backend does not publish (an offering without that feature).
 */
export function presented(model: StatusModel): Presented[] {
  return [...presentations()].flatMap(([kind, list]) =>
    model.backends.filter((b) => b.kind === kind).flatMap((backend) =>
      // a further table shows only when the backend keeps it (its feature is on)
      list.filter((p) => p.table === undefined || backend.tables?.[p.table] !== undefined)
        .map((presentation) => ({ backend, presentation }))
    )
  );
}
