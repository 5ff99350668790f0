/** The status page's shared parts: the URL query it reads, table heads, pagers, flags, sections. */
import type { Child } from "hono/jsx";
import { escapeToBuffer, type HtmlEscapedString } from "hono/utils/html";
import type { StatusModel } from "../../lib/status.ts";
import { firstLine, formatAge, formatTime, type Page } from "../view.ts";

/** What a component renders: markup, or nothing. */
export type Rendered = HtmlEscapedString | Promise<HtmlEscapedString> | null;

/** What the page shows besides the model: the URL's filter, paging and refresh period. */
export interface PageQuery {
  q: string;
  size: number;
  /** Page numbers by table key: a section's letter and the offering's place (`g0`: groups). */
  pages: Record<string, number>;
  refreshSeconds: number;
  /** The URL's search parameters, for the paging links. */
  params: URLSearchParams;
}

/** Text escaped as JSX escapes it (`&`, `<`, `>`, `'`, `"`), for markup written as strings. */
export function esc(text: string): string {
  const buffer: [string] = [""];
  escapeToBuffer(text, buffer);
  return buffer[0];
}

/** A table header row of the given columns. */
export function Head({ cols }: { cols: readonly string[] }): Rendered {
  return (
    <thead>
      <tr>
        {cols.map((c) => <th>{c}</th>)}
      </tr>
    </thead>
  );
}

/** A time as "… ago", with the exact time in its title. */
export function Ago({ at, now }: { at: number | null; now: number }): Rendered {
  return <time datetime={formatTime(at)}>{formatAge(at, now)}</time>;
}

/** A long text cut to its first line, the whole of it one click away (no script). */
export function Expandable(
  { id, text, past = false }: { id: string; text: string; past?: boolean },
): Rendered {
  const first = firstLine(text);
  const cls = past ? "error past" : "error";
  if (first === text && text.length <= 160) return <span class={cls}>{text}</span>;
  return (
    <details id={id} class={cls}>
      <summary>{first.length > 160 ? `${first.slice(0, 160)}…` : first}</summary>
      <pre>{text}</pre>
    </details>
  );
}

/** One backend snapshot of the status model. */
export type Backend = StatusModel["backends"][number];

/** `1 project`, `2 projects`. */
export function counted(n: number, noun: string): string {
  return `${n} ${n === 1 ? noun : `${noun}s`}`;
}

/** A backend table's heading: its title, the offering, how many rows match the filter. */
export function TableHead(
  { title, backend, page, noun }: {
    title: string;
    backend: Backend;
    page: Page<unknown>;
    noun: string;
  },
): Rendered {
  return (
    <h2>
      {title} <small>{backend.offering}</small>
      <span class="count">
        {page.matched === page.total
          ? counted(page.total, noun)
          : `${page.matched} of ${counted(page.total, noun)} match`} · observed{" "}
        <time datetime={formatTime(backend.at)}>{formatTime(backend.at)}</time>
      </span>
    </h2>
  );
}

/** The links to the other pages of one table. */
export function Pager(
  { page, query, tableKey }: { page: Page<unknown>; query: PageQuery; tableKey: string },
): Rendered {
  if (page.pages <= 1) return null;
  const href = (n: number) => {
    const p = new URLSearchParams(query.params);
    p.set(`p.${tableKey}`, String(n));
    return `?${p.toString()}`;
  };
  return (
    <nav class="pager" aria-label="pages">
      {page.page > 1 ? <a data-nav href={href(page.page - 1)} rel="prev">‹ previous</a> : ""}
      <span>page {page.page} of {page.pages}</span>
      {page.page < page.pages ? <a data-nav href={href(page.page + 1)} rel="next">next ›</a> : ""}
    </nav>
  );
}

/** The filter and paging a table key asks for in the URL. */
export function pageFor(
  query: PageQuery,
  tableKey: string,
): { query: string; page: number; size: number } {
  return { query: query.q, page: query.pages[tableKey] ?? 1, size: query.size };
}

/** A row's flags as badges. */
export function Flags({ flags }: { flags: readonly string[] }): Rendered {
  return (
    <>
      {flags.map((f) => <span class={`flag ${flagClass(f)}`}>{f}</span>)}
    </>
  );
}

/** The badge class of a flag: bad, warn or plain. */
export function flagClass(flag: string): string {
  if (/over|not found|missing|error/.test(flag)) return "bad";
  if (/near/.test(flag)) return "warn";
  return "info";
}

/** Under a table: how many of its rows could not be shown, and the pager. */
export function TableFoot(
  { page, query, tableKey }: {
    page: Page<unknown> & { invalid: number };
    query: PageQuery;
    tableKey: string;
  },
): Rendered {
  return (
    <>
      <Unshown page={page} />
      <Pager page={page} query={query} tableKey={tableKey} />
    </>
  );
}

/** Rows of a page that do not match their schema: said, not silently dropped. */
export function Unshown({ page }: { page: { invalid: number } }): Rendered {
  if (page.invalid === 0) return null;
  return (
    <p class="unshown" role="alert">
      {counted(page.invalid, "row")}{" "}
      on this page could not be shown: not what the page expects (<code>/api/status</code>{" "}
      has them as they are).
    </p>
  );
}

/** The items any of whose texts contain the filter. */
export function filtered<T extends Record<string, unknown>>(items: readonly T[], q: string): T[] {
  const needle = q.trim().toLowerCase();
  if (needle === "") return [...items];
  return items.filter((i) =>
    Object.values(i).some((v) => typeof v === "string" && v.toLowerCase().includes(needle))
  );
}

/** A titled section with a count, or what it says when empty. */
export function Section(
  { id, title, empty, count, children }: {
    id: string;
    title: string;
    empty: string;
    count: number;
    children?: Child;
  },
): Rendered {
  return (
    <section id={id}>
      <h2>
        {title} <span class="count">{count}</span>
      </h2>
      {count === 0 ? <p class="empty">{empty}</p> : <div class="scroll">{children}</div>}
    </section>
  );
}

/** A labelled list of names, nothing when empty. */
export function Names(
  { label, names, cls }: { label: string; names: readonly string[]; cls: string },
): Rendered {
  return (names.length === 0 ? null : (
    <span class={cls}>
      {label}: {names.join(", ")}
    </span>
  ));
}
