/** The status page's backend sections (each plugin's presentation) and the Keycloak groups. */
import type { Child } from "hono/jsx";
import { GroupRow } from "../../lib/keycloak/group_row.ts";
import type { Cell, Column } from "../../lib/presentation.ts";
import {
  firstLine,
  formatBytes,
  formatCpu,
  groupTree,
  leafName,
  pageOf,
  type Presented,
  usedShare,
} from "../view.ts";
import {
  type Backend,
  counted,
  Flags,
  Head,
  Names,
  pageFor,
  type PageQuery,
  type Rendered,
  TableFoot,
  TableHead,
} from "./parts.tsx";

/** Storage used against a hard quota, as a meter and numbers. */
export function Usage({ used, hard }: { used: number | null; hard: number | null }): Rendered {
  const share = usedShare(used, hard);
  return (
    <span class="usage">
      {formatBytes(used)} / {formatBytes(hard)}
      {share === null ? "" : (
        <>
          <meter min={0} max={1} low={0.9} high={0.999} optimum={0} value={share}>
          </meter>
          <span class="pct">{Math.round(share * 100)} %</span>
        </>
      )}
    </span>
  );
}

/** A backend's table, as its plugin presents it: heading with counts, the rows, the pager. */
export function BackendSection(
  { presented: { backend, presentation }, query, tableKey }: {
    presented: Presented;
    query: PageQuery;
    tableKey: string;
  },
): Rendered {
  const { schema, section } = presentation;
  const page = pageOf(backend.rows, schema, pageFor(query, tableKey));
  return (
    <section
      class={`backend ${backend.kind}`}
      data-table={tableKey}
      data-offering={backend.offering}
    >
      <TableHead title={section.title} backend={backend} page={page} noun={section.noun} />
      <div class="scroll">
        <table>
          <Head cols={section.columns.map((c) => c.heading)} />
          <tbody>
            {page.rows.map((r) => (
              <tr>
                {section.cells(r).map((cell, i) => (
                  <CellView cell={cell} column={section.columns[i]} />
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <TableFoot page={page} query={query} tableKey={tableKey} />
    </section>
  );
}

/** One cell, in a `num` column when its column holds numbers. */
export function CellView({ cell, column }: { cell: Cell; column: Column | undefined }): Rendered {
  return column?.numeric ? <td class="num">{cellContent(cell)}</td> : <td>{cellContent(cell)}</td>;
}

/** What a cell shows, by its kind. */
export function cellContent(cell: Cell): Child {
  switch (cell.kind) {
    case "text":
      return cell.text;
    case "noted":
      return cell.note === null ? cell.text : (
        <>
          {cell.text} <small class="uuid">{cell.note}</small>
        </>
      );
    case "usage":
      return <Usage used={cell.used} hard={cell.hard} />;
    case "pair": {
      const format = cell.format === "cpu" ? formatCpu : formatBytes;
      return <Pair requested={format(cell.requested)} limit={format(cell.limit)} />;
    }
    case "bytes":
      return formatBytes(cell.bytes);
    case "mark":
      return (
        <>
          {cell.text} {cell.ok === null
            ? ""
            : cell.ok
            ? <span class="ok" title={cell.titles.ok}>✓</span>
            : <span class="bad" title={cell.titles.bad}>✗</span>}
        </>
      );
    case "flags":
      return <Flags flags={cell.flags} />;
    case "names":
      return cell.names.join(", ");
  }
}

/** A requested / limit pair. */
export function Pair({ requested, limit }: { requested: string; limit: string }): Rendered {
  return (
    <>
      {requested} / {limit}
    </>
  );
}

/** One Keycloak group: members, who was added, removed or is missing, its error. */
export function GroupItem({ row }: { row: GroupRow }): Rendered {
  return (
    <li>
      <span class="group">{leafName(row.path)}</span>{" "}
      <span class="members">
        {row.members === null ? "members unknown" : counted(row.members, "member")}
      </span>{" "}
      <Names label="added" names={row.added} cls="added" />{" "}
      <Names label="removed" names={row.removed} cls="removed" />{" "}
      <Names label="missing in Keycloak" names={row.missing} cls="missing" />
      {row.error ? <span class="error">{firstLine(row.error)}</span> : ""}
    </li>
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
      <ul class="tree">
        {groupTree(page.rows).map((t) => (
          <li>
            <span class="group parent">{t.parent === "/" ? "top-level groups" : t.parent}</span>
            {" "}
            <span class="members">{t.children.length} child groups on this page</span>
            <ul>
              {t.children.map((row) => <GroupItem row={row} />)}
            </ul>
          </li>
        ))}
      </ul>
      <TableFoot page={page} query={query} tableKey={tableKey} />
    </section>
  );
}
