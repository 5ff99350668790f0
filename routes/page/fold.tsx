/**
 * Folding of the page's long sections (backend tables, Keycloak groups, orders, changes,
 * errors): a `<details>`, no script. Open when the section is short, when the filter is set or
 * when a page link of its table is followed; closed otherwise, so a big site's summary,
 * attention list and loops stay on the first screen.
 */
import type { Child } from "hono/jsx";
import type { PageQuery, Rendered } from "./parts.tsx";

/** A section with at most this many rows is shown open. */
export const FOLD_ROWS = 10;

/** Whether a section of `rows` rows (its table key, when it pages) is shown open. */
export function foldOpen(rows: number, query: PageQuery, tableKey?: string): boolean {
  return rows <= FOLD_ROWS || query.q.trim() !== "" ||
    (tableKey !== undefined && query.pages[tableKey] !== undefined);
}

/** The section's content in a `<details>` with `label` as its toggle. */
export function Fold(
  { id, open, label, children }: { id: string; open: boolean; label: string; children?: Child },
): Rendered {
  return (
    <details id={id} class="fold" open={open}>
      <summary>{label}</summary>
      {children}
    </details>
  );
}
