/** The status page's backend sections (each plugin's presentation) and the Keycloak groups. */
import { raw } from "hono/html";
import type { HtmlEscapedString } from "hono/utils/html";
import { anchors } from "../../lib/attention.ts";
import { GroupRow } from "../../lib/keycloak/group_row.ts";
import { type Cell, type Column, rowsOf } from "../../lib/presentation.ts";
import {
  firstLine,
  formatAge,
  formatBytes,
  formatCpu,
  formatTime,
  groupTree,
  leafName,
  pageOf,
  type Presented,
  usedShare,
} from "../view.ts";
import { type RowHistory, usageColumn } from "./history.tsx";
import { Fold, foldOpen } from "./fold.tsx";
import {
  type Backend,
  counted,
  esc,
  flagClass,
  Head,
  Names,
  pageFor,
  type PageQuery,
  type Rendered,
  TableFoot,
  TableHead,
} from "./parts.tsx";

/**
 * A backend's table, as its plugin presents it: heading with counts, the rows, the pager; folded
 * when long (`fold.tsx`). A row that stands for a Waldur resource has its id (`r-<uuid>`, the
 * attention list links to it), its last successful sync, and is marked while an entry of the
 * attention list is about it.
 */
export function BackendSection(
  { presented: { backend, presentation }, query, tableKey, now, lastSync, attention, history }: {
    presented: Presented;
    query: PageQuery;
    tableKey: string;
    now: number;
    /** The offering's resources → their last successful sync. */
    lastSync: Readonly<Record<string, number>>;
    /** Resources with an attention entry. */
    attention: ReadonlySet<string>;
    /** With a state file's history: a usage sparkline per resource row, linked to its page. */
    history?: RowHistory | undefined;
  },
): Rendered {
  const { schema, section } = presentation;
  const rows = rowsOf(backend, presentation);
  // a table of what needs attention is shown only while there is something to do
  if (presentation.attention && rows.length === 0) return null;
  const page = pageOf(rows, schema, pageFor(query, tableKey));
  const usage = usageCells(presentation, backend.offering, page.rows, history);
  const resourceOf = presentation.resourceOf?.bind(presentation);
  const attend = presentation.attend?.bind(presentation);
  const cols = section.columns.map((c) => c.heading);
  return (
    <section
      class={`backend ${backend.kind}${presentation.attention ? " attention" : ""}`}
      data-table={tableKey}
      data-offering={backend.offering}
    >
      <TableHead title={section.title} backend={backend} page={page} noun={section.noun} />
      <Fold
        id={`fold-${tableKey}`}
        open={foldOpen(rows.length, query, tableKey)}
        label={counted(page.matched, section.noun)}
      >
        {usage?.legend ?? ""}
        <div class="scroll">
          <table>
            <Head
              cols={[...cols, ...(resourceOf ? ["Last sync"] : []), ...(usage ? ["Usage"] : [])]}
            />
            <tbody>
              {page.rows.map((r) => {
                const cells = rowCells(section.cells(r), section.columns);
                if (resourceOf) {
                  const uuid = resourceOf(r);
                  return (
                    <tr
                      id={anchors.resource(uuid)}
                      {...(attention.has(uuid) ? { class: "attention" } : {})}
                    >
                      {cells}
                      {syncCell(lastSync[uuid] ?? null, now)}
                      {usage?.cell(r) ?? ""}
                    </tr>
                  );
                }
                const entry = attend?.(r);
                const id = entry ? { id: anchors.row(backend.offering, entry.kind, entry.id) } : {};
                return presentation.attention
                  ? <tr class="attention" {...id}>{cells}</tr>
                  : <tr {...id}>{cells}</tr>;
              })}
            </tbody>
          </table>
        </div>
        <TableFoot page={page} query={query} tableKey={tableKey} />
      </Fold>
    </section>
  );
}

/** The usage cell of each row of a page, its series read in one query; none without history. */
function usageCells(
  presentation: Presented["presentation"],
  offering: string,
  rows: readonly Record<string, unknown>[],
  history: RowHistory | undefined,
):
  | { cell: (row: Record<string, unknown>) => HtmlEscapedString; legend: HtmlEscapedString }
  | undefined {
  const resourceOf = presentation.resourceOf?.bind(presentation);
  if (!history || !resourceOf || presentation.attention) return undefined;
  const column = usageColumn(history, offering, rows.map((r) => resourceOf(r)));
  return {
    cell: (row) => {
      const first = presentation.section.cells(row)[0];
      const name = first && (first.kind === "text" || first.kind === "noted") ? first.text : "";
      return raw(column.cell(resourceOf(row), name));
    },
    legend: raw(column.legend),
  };
}

/** A row's last successful sync as an age, the exact time in its `datetime` (as `Ago` writes). */
function syncCell(at: number | null, now: number): HtmlEscapedString {
  return raw(
    `<td class="sync"><time datetime="${esc(formatTime(at))}">${
      esc(formatAge(at, now))
    }</time></td>`,
  );
}

/**
 * A row's cells as one piece of markup, written here rather than as a JSX element per cell: a
 * page shows thousands of cells, and strings render them in a fraction of the time. Every text
 * goes through `esc` (the escaping JSX applies); the markup is the same JSX would write.
 */
export function rowCells(cells: readonly Cell[], columns: readonly Column[]): HtmlEscapedString {
  let out = "";
  for (let i = 0; i < cells.length; i++) {
    const cell = cells[i];
    if (!cell) continue;
    out += columns[i]?.numeric ? '<td class="num">' : "<td>";
    out += cellHtml(cell);
    out += "</td>";
  }
  return raw(out);
}

/** One cell of the presentation vocabulary as markup. */
function cellHtml(cell: Cell): string {
  switch (cell.kind) {
    case "text":
      return esc(cell.text);
    case "noted":
      return cell.note === null
        ? esc(cell.text)
        // <bdi>: a right-to-left mark in a name cannot reverse the uuid after it
        : `<bdi>${esc(cell.text)}</bdi> <small class="uuid">${esc(cell.note)}</small>`;
    case "usage": {
      const share = usedShare(cell.used, cell.hard);
      const bytes = `${esc(formatBytes(cell.used))} / ${esc(formatBytes(cell.hard))}`;
      return `<span class="usage">${bytes}${
        share === null
          ? ""
          : `<meter min="0" max="1" low="0.9" high="0.999" optimum="0" value="${
            esc(String(share))
          }"></meter><span class="pct">${Math.round(share * 100)} %</span>`
      }</span>`;
    }
    case "pair": {
      const format = cell.format === "cpu" ? formatCpu : formatBytes;
      return esc(`${format(cell.requested)} / ${format(cell.limit)}`);
    }
    case "bytes":
      return esc(formatBytes(cell.bytes));
    case "mark":
      return `${esc(cell.text)} ${
        cell.ok === null
          ? ""
          : cell.ok
          ? `<span class="ok" title="${esc(cell.titles.ok)}">✓</span>`
          : `<span class="bad" title="${esc(cell.titles.bad)}">✗</span>`
      }`;
    case "flags":
      return cell.flags.map((f) => `<span class="flag ${flagClass(f)}">${esc(f)}</span>`).join("");
    case "names":
      return esc(cell.names.join(", "));
  }
}
/** One Keycloak group: members, who was added, removed or is missing, its error. */
export function GroupItem(
  { row, offering, names = false }: {
    row: GroupRow;
    offering: string;
    /** List who the members are (a resource's page), not only how many. */
    names?: boolean;
  },
): Rendered {
  const more = row.members !== null && row.names ? row.members - row.names.length : 0;
  return (
    <li id={anchors.group(offering, row.path)}>
      <span class="group">{leafName(row.path)}</span>{" "}
      <span class="members">
        {row.members === null ? "members unknown" : counted(row.members, "member")}
      </span>{" "}
      {separated([
        names && row.names !== undefined && row.names.length > 0 && (
          <span class="names">
            {row.names.join(", ")}
            {more > 0 ? ` and ${more} more` : ""}
          </span>
        ),
        row.added.length > 0 && <Names label="added" names={row.added} cls="added" />,
        row.removed.length > 0 && <Names label="removed" names={row.removed} cls="removed" />,
        row.missing.length > 0 && (
          <Names label="missing in Keycloak" names={row.missing} cls="missing" />
        ),
        row.error !== "" && <span class="error">error: {firstLine(row.error)}</span>,
      ])}
    </li>
  );
}

/** The parts that are there, with "; " between them so their words never run together. */
function separated(parts: readonly (Rendered | false)[]): (Rendered | string)[] {
  return parts.filter((p): p is Rendered => p !== false).flatMap((p, i) =>
    i === 0 ? [p] : [<span class="sep">;</span>, " ", p]
  );
}

/** The Keycloak groups an offering keeps, as a tree under their parent groups. */
export function Keycloak(
  { backend, query, tableKey }: { backend: Backend; query: PageQuery; tableKey: string },
): Rendered {
  const page = pageOf(backend.groups ?? [], GroupRow, pageFor(query, tableKey));
  return (
    <section class="keycloak" data-table={tableKey} data-offering={backend.offering}>
      <TableHead title="Keycloak groups" backend={backend} page={page} noun="group" />
      <Fold
        id={`fold-${tableKey}`}
        open={foldOpen(page.total, query, tableKey)}
        label={counted(page.matched, "group")}
      >
        <ul class="tree">
          {groupTree(page.rows).map((t) => (
            <li>
              <span class="group parent">{t.parent === "/" ? "top-level groups" : t.parent}</span>
              {" "}
              <span class="members">
                {counted(t.children.length, t.parent === "/" ? "group" : "child group")}{" "}
                on this page
              </span>
              <ul>
                {t.children.map((row) => <GroupItem row={row} offering={backend.offering} />)}
              </ul>
            </li>
          ))}
        </ul>
        <TableFoot page={page} query={query} tableKey={tableKey} />
      </Fold>
    </section>
  );
}
