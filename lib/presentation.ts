/**
 * What a backend shows of itself, declared by its plugin: the zod schema of its status rows, a
 * section of the status page (a table whose cells are in a small vocabulary the page renders)
 * and its metric families with the series each row has. The page and `/metrics` render any
 * backend from this alone, so `routes/` names none. No JSX here and nothing of `routes/`.
 */
import type { z } from "zod";

/**
 * One cell of a section's table, in the vocabulary the page renders:
 * - `text`: plain text;
 * - `noted`: text with a small note after it (a uuid, an id), none when the note is null;
 * - `usage`: used of hard, in bytes, as text, a meter and a percentage;
 * - `pair`: requested / limit, as CPU cores or bytes;
 * - `bytes`: one amount of bytes;
 * - `mark`: text, then ✓ (`ok`) or ✗ with the title of each, nothing when `ok` is null;
 * - `flags`: short flags (`over quota`, `adopted`), coloured by what they say;
 * - `names`: a list of names.
 */
export type Cell =
  | { kind: "text"; text: string }
  | { kind: "noted"; text: string; note: string | null }
  | { kind: "usage"; used: number | null; hard: number | null }
  | { kind: "pair"; requested: number | null; limit: number | null; format: "cpu" | "bytes" }
  | { kind: "bytes"; bytes: number | null }
  | { kind: "mark"; text: string; ok: boolean | null; titles: { ok: string; bad: string } }
  | { kind: "flags"; flags: readonly string[] }
  | { kind: "names"; names: readonly string[] };

/** A column of a section's table: its heading, and whether its cells are numbers (right-aligned). */
export interface Column {
  heading: string;
  numeric?: boolean;
}

/**
 * A backend's table on the status page. Its key prefix and the offering's place in the config
 * name the table in page links (`h` → `?p.h0=3`); `g` is taken by the Keycloak group tree.
 */
export interface Section<R> {
  /** The heading, `Harbor projects`. */
  title: string;
  /** What one row is, singular: `project` (the count says `2 projects`). */
  noun: string;
  /** The table key's prefix, one letter, unique among the plugins. */
  key: string;
  columns: readonly Column[];
  /** A parsed row's cells, one per column. */
  cells(row: R): Cell[];
}

/** A metric family: one HELP and TYPE line in the exposition. */
export interface MetricFamily {
  name: string;
  type: "counter" | "gauge" | "histogram";
  help: string;
}

/** Label names → values. */
export type Labels = Readonly<Record<string, string>>;

/** One series of every row: its family, the labels that set it apart, its value (none: null). */
export interface Series<R> {
  family: string;
  labels: Labels;
  value(row: R): number | null;
}

/**
 * A row's samples, declared rather than built per row: each series of `series` gives a sample
 * (family, `offering` + `labels(row)` + the series' labels, value) unless its value is null.
 * The exposition formats each series' labels once per scrape and a row's labels once per row.
 */
export interface RowMetrics<R> {
  /** Written even when there is no row. */
  families: readonly MetricFamily[];
  /** The labels that name the row (`project`), after `offering`. */
  labels(row: R): Labels;
  series: readonly Series<R>[];
}

/**
 * How a backend presents its status rows. `R` is the row type the schema parses to; the page and
 * `/metrics` hold presentations as `Presentation` (rows as records) and hand `cells`, `labels`
 * and `value` only rows that `schema` parsed, which is why those are methods (their parameter
 * is then checked both ways, so a `Presentation<HarborRow>` is a `Presentation`).
 */
export interface Presentation<R = Record<string, unknown>> {
  /** What a row is; a row that does not parse is not shown (the page says how many). */
  schema: z.ZodType<R>;
  section: Section<R>;
  metrics: RowMetrics<R>;
  /** The snapshot's table it shows: absent, the snapshot's `rows`; else `tables[table]`. */
  table?: string;
  /**
   * Rows someone must act on (conflicts): the page shows the table with what needs attention,
   * before the other tables, and only while it has rows.
   */
  attention?: boolean;
  /**
   * A row of an attention table as an entry of the page's "Needs attention" list: its kind
   * (`identity-conflict`), its id within the offering (a username), what happened and what to do.
   */
  attend?(row: R): { kind: string; id: string; what: string; action: string };
  /**
   * The Waldur resource uuid a row stands for, when it stands for one: the page links the row to
   * `/resources/<uuid>`, shows its last successful sync and its usage history.
   */
  resourceOf?(row: R): string;
  /**
   * The identity group whose members have the row's access (a group name: the last segment of a
   * Keycloak group path), when the row names one: the resource page lists its members.
   */
  groupOf?(row: R): string;
}

/** The rows of a snapshot a presentation shows. */
export function rowsOf(
  snapshot: {
    rows: Record<string, unknown>[];
    tables?: Record<string, Record<string, unknown>[]> | undefined;
  },
  presentation: { table?: string | undefined },
): Record<string, unknown>[] {
  return presentation.table === undefined
    ? snapshot.rows
    : snapshot.tables?.[presentation.table] ?? [];
}

/** A backend's −1 ("no limit") as `+Inf`, the exposition's unlimited. */
export function unlimited(value: number): number {
  return value < 0 ? Infinity : value;
}
