/**
 * The status page, rendered on the server with hono/jsx. No external assets and no inline
 * script: the stylesheet and the refresh script are served by the app (`routes/assets.ts`).
 * Every name is text to JSX, so it is escaped.
 */
import type { Child, FC } from "hono/jsx";
import type { HtmlEscapedString } from "hono/utils/html";
import { GroupRow } from "../lib/keycloak/group_row.ts";
import type { Cell, Column } from "../lib/presentation.ts";
import type { StatusModel } from "../lib/status.ts";
import {
  firstLine,
  formatAge,
  formatBytes,
  formatCpu,
  formatDuration,
  formatTime,
  groupTree,
  leafName,
  overallState,
  type Page,
  pageOf,
  type Presented,
  presented,
  usedShare,
} from "./view.ts";

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

const EVENTS_SHOWN = 20;

/** The whole page. */
export function StatusPage(
  { model, query }: { model: StatusModel; query: PageQuery },
): HtmlEscapedString | Promise<HtmlEscapedString> {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>Berth status</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/assets/berth.css" />
        <script src="/assets/berth.js" defer></script>
      </head>
      <body data-refresh={String(query.refreshSeconds)}>
        <form id="filter" method="get" action="/" role="search">
          <input
            type="search"
            name="q"
            value={query.q}
            placeholder="Filter projects, groups, orders, events"
            aria-label="Filter"
          />
          {query.params.has("n") ? <input type="hidden" name="n" value={String(query.size)} /> : ""}
          <button type="submit">Filter</button>
          <span id="refresh-state" aria-live="polite"></span>
        </form>
        <div id="live" data-now={String(model.now)}>
          <Exposure model={model} />
          <Header model={model} />
          <Loops model={model} />
          <Breakers model={model} />
          <Refusals model={model} query={query} />
          {presented(model).map((p) => (
            <BackendSection
              presented={p}
              query={query}
              tableKey={`${p.presentation.section.key}${offeringIndex(model, p.backend)}`}
            />
          ))}
          {model.backends.filter((b) => b.groups !== undefined).map((b) => (
            <Keycloak backend={b} query={query} tableKey={`g${offeringIndex(model, b)}`} />
          ))}
          <Orders model={model} query={query} />
          <Events model={model} query={query} />
          <Errors model={model} query={query} />
        </div>
      </body>
    </html>
  );
}

/** A table's key follows its offering's place in the config, so page links stay put. */
function offeringIndex(model: StatusModel, backend: { offering: string }): number {
  return Math.max(0, model.offerings.findIndex((o) => o.name === backend.offering));
}

const STATE_TEXT = {
  starting: "starting: no pass finished yet",
  fresh: "all fresh",
  stale: "something stale",
  failing: "failing",
};

/** A status server that reaches beyond this host with no token says so on every page. */
const Exposure: FC<{ model: StatusModel }> = ({ model }) => {
  if (!model.server?.openToNetwork) return null;
  return (
    <p id="exposure" class="banner" role="alert">
      <strong>This page is open to the network without a token.</strong>{" "}
      The status server listens on <code>{model.server.listen}</code> and <code>status.token</code>
      {" "}
      is not set: anyone who reaches the port reads this page, <code>/api/status</code> and{" "}
      <code>/metrics</code>. Set <code>status.token</code> (16+ characters) or listen on{" "}
      <code>127.0.0.1</code>.
    </p>
  );
};

const Header: FC<{ model: StatusModel }> = ({ model }) => {
  const overall = overallState(model.loops, model.now);
  return (
    <header>
      <h1>
        Berth <small>{model.version}</small>
        <span class={`state ${overall}`} id="overall">{STATE_TEXT[overall]}</span>
      </h1>
      <dl class="facts">
        <dt>Uptime</dt>
        <dd>{formatDuration(model.now - model.startedAt)}</dd>
        <dt>Config</dt>
        <dd>
          <code>{model.configPath}</code>
        </dd>
        <dt>Offerings</dt>
        <dd>
          {model.offerings.map((o) => (
            <span class="offering">
              {o.name} <small>({o.backendType})</small>
            </span>
          ))}
        </dd>
        <dt>Updated</dt>
        <dd>
          <time datetime={formatTime(model.now)}>{formatTime(model.now)}</time>
        </dd>
      </dl>
    </header>
  );
};

const Loops: FC<{ model: StatusModel }> = ({ model }) => (
  <section id="loops">
    <h2>Loops</h2>
    <div class="scroll">
      <table>
        <Head
          cols={["Offering", "Loop", "Outcome", "Last run", "Duration", "Next run", "Last error"]}
        />
        <tbody>
          {model.loops.map((l, i) => (
            <tr>
              <td>{l.offering}</td>
              <td>{l.loop}</td>
              <td>
                <span class={`badge ${l.state}`}>{l.state}</span>
              </td>
              <td>
                <Ago at={l.lastEnd} now={model.now} />
              </td>
              <td>{l.durationMs === null ? "–" : formatDuration(l.durationMs)}</td>
              <td>{l.state === "running" ? "running now" : formatAge(l.nextRun, model.now)}</td>
              <td>{l.lastError ? <Expandable id={`loop-error-${i}`} text={l.lastError} /> : ""}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  </section>
);

const Head: FC<{ cols: readonly string[] }> = ({ cols }) => (
  <thead>
    <tr>
      {cols.map((c) => <th>{c}</th>)}
    </tr>
  </thead>
);

const Ago: FC<{ at: number | null; now: number }> = ({ at, now }) => (
  <time datetime={formatTime(at)}>{formatAge(at, now)}</time>
);

/** The upstream servers and their circuit breakers. */
const Breakers: FC<{ model: StatusModel }> = ({ model }) => {
  if (model.breakers.length === 0) return null;
  return (
    <section id="breakers">
      <h2>Upstream servers</h2>
      <div class="scroll">
        <table>
          <Head
            cols={[
              "System",
              "Server",
              "Circuit",
              "Since",
              "Failures in a row",
              "Next probe",
              "Last error",
            ]}
          />
          <tbody>
            {model.breakers.map((b, i) => (
              <tr>
                <td>{b.system}</td>
                <td>
                  <code>{b.target}</code>
                </td>
                <td>
                  <span
                    class={`badge ${
                      b.state === "closed" ? "ok" : b.state === "open" ? "failed" : "partial"
                    }`}
                  >
                    {b.state}
                  </span>{" "}
                  {b.opens > 0 ? <small>opened {b.opens}×</small> : ""}
                </td>
                <td>
                  <Ago at={b.since} now={model.now} />
                </td>
                <td class="num">{b.failures}</td>
                <td>{b.state === "open" ? formatAge(b.retryAt, model.now) : "–"}</td>
                <td>
                  {b.lastError ? <Expandable id={`breaker-error-${i}`} text={b.lastError} /> : ""}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
};

const Expandable: FC<{ id: string; text: string }> = ({ id, text }) => {
  const first = firstLine(text);
  if (first === text && text.length <= 160) return <span class="error">{text}</span>;
  return (
    <details id={id} class="error">
      <summary>{first.length > 160 ? `${first.slice(0, 160)}…` : first}</summary>
      <pre>{text}</pre>
    </details>
  );
};

type Backend = StatusModel["backends"][number];

const TableHead: FC<{ title: string; backend: Backend; page: Page<unknown>; noun: string }> = (
  { title, backend, page, noun },
) => (
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

/** `1 project`, `2 projects`. */
function counted(n: number, noun: string): string {
  return `${n} ${n === 1 ? noun : `${noun}s`}`;
}

const Pager: FC<{ page: Page<unknown>; query: PageQuery; tableKey: string }> = (
  { page, query, tableKey },
) => {
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
};

function pageFor(
  query: PageQuery,
  tableKey: string,
): { query: string; page: number; size: number } {
  return { query: query.q, page: query.pages[tableKey] ?? 1, size: query.size };
}

const Flags: FC<{ flags: readonly string[] }> = ({ flags }) => (
  <>
    {flags.map((f) => <span class={`flag ${flagClass(f)}`}>{f}</span>)}
  </>
);

function flagClass(flag: string): string {
  if (/over|not found|missing|error/.test(flag)) return "bad";
  if (/near/.test(flag)) return "warn";
  return "info";
}

const Usage: FC<{ used: number | null; hard: number | null }> = ({ used, hard }) => {
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
};

/** Under a table: how many of its rows could not be shown, and the pager. */
const TableFoot: FC<
  { page: Page<unknown> & { invalid: number }; query: PageQuery; tableKey: string }
> = (
  { page, query, tableKey },
) => (
  <>
    <Unshown page={page} />
    <Pager page={page} query={query} tableKey={tableKey} />
  </>
);

/** Rows of a page that do not match their schema: said, not silently dropped. */
const Unshown: FC<{ page: { invalid: number } }> = ({ page }) => {
  if (page.invalid === 0) return null;
  return (
    <p class="unshown" role="alert">
      {counted(page.invalid, "row")}{" "}
      on this page could not be shown: not what the page expects (<code>/api/status</code>{" "}
      has them as they are).
    </p>
  );
};

/** A backend's table, as its plugin presents it: heading with counts, the rows, the pager. */
const BackendSection: FC<{ presented: Presented; query: PageQuery; tableKey: string }> = (
  { presented: { backend, presentation }, query, tableKey },
) => {
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
};

/** One cell, in a `num` column when its column holds numbers. */
const CellView: FC<{ cell: Cell; column: Column | undefined }> = ({ cell, column }) =>
  column?.numeric ? <td class="num">{cellContent(cell)}</td> : <td>{cellContent(cell)}</td>;

/** What a cell shows, by its kind. */
function cellContent(cell: Cell): Child {
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

const Pair: FC<{ requested: string; limit: string }> = ({ requested, limit }) => (
  <>
    {requested} / {limit}
  </>
);

const Names: FC<{ label: string; names: readonly string[]; cls: string }> = (
  { label, names, cls },
) => (names.length === 0 ? null : (
  <span class={cls}>
    {label}: {names.join(", ")}
  </span>
));

const GroupItem: FC<{ row: GroupRow }> = ({ row }) => (
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

const Keycloak: FC<{ backend: Backend; query: PageQuery; tableKey: string }> = (
  { backend, query, tableKey },
) => {
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
};

function filtered<T extends Record<string, unknown>>(items: readonly T[], q: string): T[] {
  const needle = q.trim().toLowerCase();
  if (needle === "") return [...items];
  return items.filter((i) =>
    Object.values(i).some((v) => typeof v === "string" && v.toLowerCase().includes(needle))
  );
}

const Section: FC<{ id: string; title: string; empty: string; count: number; children?: Child }> = (
  { id, title, empty, count, children },
) => (
  <section id={id}>
    <h2>
      {title} <span class="count">{count}</span>
    </h2>
    {count === 0 ? <p class="empty">{empty}</p> : <div class="scroll">{children}</div>}
  </section>
);

/** Refused terminations, near the top: they wait for someone to act. Absent when there is none. */
const Refusals: FC<{ model: StatusModel; query: PageQuery }> = ({ model, query }) => {
  if (model.refusals.length === 0) return null;
  const refusals = filtered(model.refusals, query.q);
  return (
    <Section
      id="refusals"
      title="Refused terminations"
      empty="None matches the filter."
      count={refusals.length}
    >
      <table>
        <Head cols={["Offering", "Resource", "Refused", "Why, and what to do"]} />
        <tbody>
          {refusals.map((r, i) => (
            <tr class="attention">
              <td>{r.offering}</td>
              <td>
                {r.resourceName} <small class="uuid">{r.resource}</small>
              </td>
              <td>
                <Ago at={r.at} now={model.now} />
              </td>
              <td>
                <Expandable id={`refusal-${i}`} text={r.message} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
};

const Orders: FC<{ model: StatusModel; query: PageQuery }> = ({ model, query }) => {
  const orders = filtered(model.orders, query.q);
  return (
    <Section id="orders" title="Orders in flight" empty="No order in flight." count={orders.length}>
      <table>
        <Head cols={["Offering", "Type", "Resource", "Attempts", "Next attempt", "Last error"]} />
        <tbody>
          {orders.map((o, i) => (
            <tr>
              <td>{o.offering}</td>
              <td>{o.type}</td>
              <td>
                {o.resourceName} <small class="uuid">{o.uuid}</small>
              </td>
              <td class="num">{o.attempts}</td>
              <td>{formatAge(o.nextAttemptAt, model.now)}</td>
              <td>
                {o.lastError ? <Expandable id={`order-error-${i}`} text={o.lastError} /> : ""}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
};

const Events: FC<{ model: StatusModel; query: PageQuery }> = ({ model, query }) => {
  const events = filtered(model.events, query.q).slice(0, EVENTS_SHOWN);
  return (
    <Section id="events" title="Last changes" empty="No change made yet." count={events.length}>
      <table>
        <Head cols={["When", "Offering", "System", "Change", "Result"]} />
        <tbody>
          {events.map((e) => (
            <tr>
              <td>
                <Ago at={e.at} now={model.now} />
              </td>
              <td>{e.offering}</td>
              <td>{e.system}</td>
              <td>
                {e.action} <b>{e.target}</b> {e.detail ? <small>{e.detail}</small> : ""}
              </td>
              <td>
                <span class={`badge ${e.result}`}>{e.result}</span>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
};

const Errors: FC<{ model: StatusModel; query: PageQuery }> = ({ model, query }) => {
  const errors = filtered(model.errors, query.q).slice(0, EVENTS_SHOWN);
  return (
    <Section id="errors" title="Last errors" empty="No error." count={errors.length}>
      <table>
        <Head cols={["When", "Offering", "Loop", "Error"]} />
        <tbody>
          {errors.map((e, i) => (
            <tr>
              <td>
                <Ago at={e.at} now={model.now} />
              </td>
              <td>{e.offering}</td>
              <td>{e.loop}</td>
              <td>
                <Expandable id={`error-${i}`} text={e.message} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </Section>
  );
};
