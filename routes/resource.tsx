/**
 * A resource's page (`/resources/<uuid>`) and its JSON (`/api/resources/<uuid>`): the rows the
 * backends show for it, its usage history against its quota, its audit trail and the members of
 * its group; and the history's CSV export (`/api/history.csv`). The uuid is checked (zod) before
 * anything reads it: malformed is 400, unknown is 404.
 */
import type { Hono } from "hono";
import { z } from "zod";
import { GroupRow } from "../lib/keycloak/group_row.ts";
import { rowsOf } from "../lib/presentation.ts";
import type { StatusModel, StatusRecord } from "../lib/status.ts";
import { DEFAULT_HISTORY_DAYS, HOUR_MS, UsageSeries } from "../lib/history.ts";
import { AuditEvent } from "../lib/store.ts";
import { AttentionEntry } from "../lib/attention.ts";
import { historyCsv } from "./history_csv.ts";
import {
  byBucket,
  chartWindow,
  dataStart,
  oldestOf,
  spanText,
  usageChart,
} from "./page/charts.tsx";
import { AuditTable } from "./page/lists.tsx";
import { Entry } from "./page/summary.tsx";
import { Head, type Rendered } from "./page/parts.tsx";
import { GroupItem, rowCells } from "./page/sections.tsx";
import { leafName, presented } from "./view.ts";

/** A Waldur uuid: 32 hex digits, with or without the dashes; read as Waldur writes it (hex). */
export const ResourceUuid = z.string().regex(
  /^(?:[0-9a-f]{32}|[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/i,
  "expected a Waldur uuid",
).transform((uuid) => uuid.toLowerCase().replaceAll("-", ""));

/** Audit events shown on a resource's page and in its JSON. */
const EVENTS_SHOWN = 100;

/** `/api/resources/<uuid>`: what Berth knows of one resource. */
export const ResourceModel = z.object({
  resource: z.string(),
  /** Each row a backend shows for it, with its offering and kind. */
  rows: z.array(
    z.object({ offering: z.string(), kind: z.string(), row: z.record(z.string(), z.unknown()) }),
  ),
  /** The usage reported, per component, within the retention (quota: its limit then). */
  usage: z.array(UsageSeries),
  /** Its audit trail, newest first (at most 100). */
  events: z.array(AuditEvent),
  /** The groups whose members have its access, as the last sync left them. */
  groups: z.array(GroupRow.extend({ offering: z.string() })),
  /** What needs attention about it (an erred order, an Erred resource, a refused termination). */
  attention: z.array(AttentionEntry),
});
/** What Berth knows of one resource. */
export type ResourceModel = z.infer<typeof ResourceModel>;

/** One row a backend shows for the resource, ready to render. */
interface ShownRow {
  offering: string;
  kind: string;
  row: Record<string, unknown>;
  title: string;
  columns: readonly string[];
  html: ReturnType<typeof rowCells>;
  name: string;
}

/** Everything about one resource in the model and the history; undefined when nothing is known. */
function gather(
  status: StatusRecord,
  model: StatusModel,
  uuid: string,
): { model: ResourceModel; shown: ShownRow[] } | undefined {
  const shown: ShownRow[] = [];
  const groups: ResourceModel["groups"] = [];
  for (const { backend, presentation } of presented(model)) {
    const resourceOf = presentation.resourceOf?.bind(presentation);
    if (!resourceOf) continue;
    for (const raw of rowsOf(backend, presentation)) {
      // only a row naming the uuid is parsed: a page of 10,000 rows stays cheap
      if (!Object.values(raw).includes(uuid)) continue;
      const parsed = presentation.schema.safeParse(raw);
      if (!parsed.success || resourceOf(parsed.data) !== uuid) continue;
      const cells = presentation.section.cells(parsed.data);
      const first = cells[0];
      shown.push({
        offering: backend.offering,
        kind: backend.kind,
        row: raw,
        title: presentation.section.title,
        columns: presentation.section.columns.map((c) => c.heading),
        html: rowCells(cells, presentation.section.columns),
        name: first && (first.kind === "text" || first.kind === "noted") ? first.text : uuid,
      });
      const group = presentation.groupOf?.(parsed.data);
      for (const g of backend.groups ?? []) {
        const row = GroupRow.safeParse(g);
        if (group && row.success && leafName(row.data.path) === group) {
          groups.push({ ...row.data, offering: backend.offering });
        }
      }
    }
  }
  const history = status.history;
  const usage = history?.usageOf([uuid], model.now).get(uuid) ?? [];
  const events: ResourceModel["events"] = history
    ? history.eventsOf(uuid, EVENTS_SHOWN)
    : model.events.filter((e) => e.resource === uuid).slice(0, EVENTS_SHOWN);
  const attention = model.attention.filter((e) => e.resource === uuid);
  // a resource with only changes (a Create that erred before anything was made) has a page too
  const known = shown.length > 0 || usage.length > 0 || events.length > 0 ||
    attention.length > 0 || history?.knows(uuid);
  if (!known) return undefined;
  return {
    model: {
      resource: uuid,
      rows: shown.map(({ offering, kind, row }) => ({ offering, kind, row })),
      usage,
      events,
      groups,
      attention,
    },
    shown,
  };
}

/** The resource page. */
export function ResourcePage(
  { data, shown, now, startedAt, retentionDays, bucketMs, units }: {
    data: ResourceModel;
    shown: readonly ShownRow[];
    now: number;
    /** When the history began (else this process started): no usage point is older. */
    startedAt: number;
    retentionDays: number;
    /** The width of a usage point's bucket: a point is drawn from its bucket's start. */
    bucketMs: number;
    /** Each component's `measured_unit` (its offering's). */
    units: Readonly<Record<string, string>>;
  },
): Rendered {
  const name = shown[0]?.name ?? data.resource;
  const usage = data.usage.map((s) => byBucket(s, bucketMs));
  const window = chartWindow(
    dataStart(oldestOf(usage.map((s) => s.points[0]?.at ?? now)), bucketMs, startedAt),
    now,
    retentionDays * 24 * HOUR_MS,
  );
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <title>{name} · Berth</title>
        <link rel="icon" href="data:," />
        <link rel="stylesheet" href="/assets/berth.css" />
      </head>
      <body>
        <p>
          <a href="/">← Berth status</a>
        </p>
        <h1 id="resource">
          {shown[0]
            ? (
              <>
                {name} <small class="uuid">{data.resource}</small>
              </>
            )
            : name}
        </h1>
        {data.attention.length === 0 ? "" : (
          <section id="attention">
            <h2>
              Needs attention <span class="count">{data.attention.length}</span>
            </h2>
            <ol class="attention">
              {data.attention.map((e) => <Entry entry={e} now={now} />)}
            </ol>
          </section>
        )}
        {shown.map((s) => (
          <section class={`backend ${s.kind}`} data-offering={s.offering}>
            <h2>
              {s.title} <small>{s.offering}</small>
            </h2>
            <div class="scroll">
              <table>
                <Head cols={s.columns} />
                <tbody>
                  <tr>{s.html}</tr>
                </tbody>
              </table>
            </div>
          </section>
        ))}
        <section id="usage">
          <h2>
            Usage{" "}
            <small>
              reported to Waldur, {spanText(window.to - window.from)} (kept: {retentionDays} days)
            </small>{" "}
            <a class="count" href={`/api/history.csv?series=usage&resource=${data.resource}`}>
              CSV
            </a>
          </h2>
          {data.usage.length === 0 ? <p class="empty">No usage reported yet.</p> : ""}
          <div class="charts">
            {usage.map((s, i) => (
              usageChart(s, { id: `usage-${i}`, name, unit: units[s.component], ...window })
            ))}
          </div>
        </section>
        <section id="members">
          <h2>Members</h2>
          {data.groups.length === 0
            ? <p class="empty">No group of this resource is kept by Berth's identity sync.</p>
            : (
              <ul class="tree">
                {data.groups.map((g) => <GroupItem row={g} offering={g.offering} names />)}
              </ul>
            )}
        </section>
        <section id="audit">
          <h2>Changes</h2>
          {data.events.length === 0
            ? <p class="empty">No change recorded.</p>
            : (
              <div class="scroll">
                <AuditTable events={data.events} now={now} />
              </div>
            )}
        </section>
      </body>
    </html>
  );
}

/** The units of the offering a resource belongs to (its rows', else its changes'). */
function unitsOf(model: StatusModel, data: ResourceModel): Record<string, string> {
  const offering = data.rows[0]?.offering ?? data.events[0]?.offering;
  return model.offerings.find((o) => o.name === offering)?.units ?? {};
}

/** Adds the resource page, its JSON and the history CSV to `app` (behind the token like the rest). */
export function historyRoutes(app: Hono, status: StatusRecord): void {
  const lookup = (raw: string): { error: string; code: 400 | 404 } | {
    data: ResourceModel;
    shown: ShownRow[];
    model: StatusModel;
  } => {
    const uuid = ResourceUuid.safeParse(raw);
    if (!uuid.success) return { error: "400 Bad Request: expected a Waldur uuid\n", code: 400 };
    const model = status.snapshot();
    const found = gather(status, model, uuid.data);
    if (!found) return { error: "404 Not Found: Berth knows no such resource\n", code: 404 };
    return { data: found.model, shown: found.shown, model };
  };
  app.get("/resources/:uuid", (c) => {
    const found = lookup(c.req.param("uuid"));
    if ("error" in found) return c.text(found.error, found.code);
    const page = (
      <ResourcePage
        data={found.data}
        shown={found.shown}
        now={found.model.now}
        startedAt={status.history?.beganAt() ?? found.model.startedAt}
        retentionDays={status.history?.retentionDays ?? DEFAULT_HISTORY_DAYS}
        bucketMs={status.history?.usageBucketMs ?? HOUR_MS}
        units={unitsOf(found.model, found.data)}
      />
    );
    return c.html(`<!doctype html>${page?.toString() ?? ""}`);
  });
  app.get("/api/resources/:uuid", (c) => {
    const found = lookup(c.req.param("uuid"));
    if ("error" in found) return c.text(found.error, found.code);
    return c.json(found.data);
  });
  app.get("/api/history.csv", (c) => {
    const series = z.enum(["usage", "orders", "loops"]).safeParse(c.req.query("series"));
    const resource = c.req.query("resource");
    if (!series.success) {
      return c.text("400 Bad Request: series must be usage, orders or loops\n", 400);
    }
    const history = status.history;
    if (!history) return c.text("404 Not Found: no history without a state file\n", 404);
    const now = status.snapshot().now;
    let csv: string;
    let file = `berth-${series.data}`;
    if (series.data === "usage") {
      const uuid = ResourceUuid.safeParse(resource);
      if (!uuid.success) {
        return c.text("400 Bad Request: series=usage needs resource=<a Waldur uuid>\n", 400);
      }
      file = `berth-usage-${uuid.data}`; // 32 hex digits: safe in the header
      csv = historyCsv.usage(uuid.data, history.usageOf([uuid.data], now).get(uuid.data) ?? []);
    } else {
      if (resource !== undefined) {
        return c.text(`400 Bad Request: series=${series.data} is not per resource\n`, 400);
      }
      const summary = history.summary(now);
      csv = series.data === "orders"
        ? historyCsv.orders(summary.orders)
        : historyCsv.loops(summary.loops);
    }
    return c.body(csv, 200, {
      "content-type": "text/csv; charset=utf-8",
      "content-disposition": `attachment; filename="${file}.csv"`,
    });
  });
}
