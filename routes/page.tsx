/**
 * The status page, rendered on the server with hono/jsx. No external assets and no inline
 * script: the stylesheet and the refresh script are served by the app (`routes/assets.ts`).
 * Every name is text to JSX, so it is escaped.
 */
import type { FC } from "hono/jsx";
import type { HtmlEscapedString } from "hono/utils/html";
import { anchors } from "../lib/attention.ts";
import type { StatusModel } from "../lib/status.ts";
import {
  formatAge,
  formatDuration,
  formatTime,
  overallState,
  type Presented,
  presented,
} from "./view.ts";
import { Errors, Events, Orders, Refusals } from "./page/lists.tsx";
import { Ago, Expandable, Head, type PageQuery } from "./page/parts.tsx";
import { BackendSection, Keycloak } from "./page/sections.tsx";
import { HistorySection, type RowHistory } from "./page/history.tsx";
import { Attention, Summary } from "./page/summary.tsx";

/** The whole page. */
export function StatusPage(
  { model, query, history }: { model: StatusModel; query: PageQuery; history?: RowHistory },
): HtmlEscapedString | Promise<HtmlEscapedString> {
  // the resources with something to attend to: their rows are marked
  const attended = new Set(model.attention.map((e) => e.resource).filter((r) => r !== ""));
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
          <Summary model={model} />
          <Attention model={model} query={query} />
          <Loops model={model} />
          <EventConnections model={model} />
          <Breakers model={model} />
          <Refusals model={model} query={query} />
          {attentionFirst(presented(model)).map((p) => (
            <BackendSection
              presented={p}
              query={query}
              tableKey={`${p.presentation.section.key}${offeringIndex(model, p.backend)}`}
              history={history}
              now={model.now}
              lastSync={model.lastSync[p.backend.offering] ?? {}}
              attention={attended}
            />
          ))}
          {model.backends.filter((b) => b.groups !== undefined).map((b) => (
            <Keycloak backend={b} query={query} tableKey={`g${offeringIndex(model, b)}`} />
          ))}
          <HistorySection history={model.history} now={model.now} startedAt={model.startedAt} />
          <Orders model={model} query={query} />
          <Events model={model} query={query} />
          <Errors model={model} query={query} />
        </div>
      </body>
    </html>
  );
}

/** What needs attention (a presentation's `attention` tables) before the other tables. */
function attentionFirst(list: readonly Presented[]): Presented[] {
  return [
    ...list.filter((p) => p.presentation.attention),
    ...list.filter((p) => !p.presentation.attention),
  ];
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
            <tr id={anchors.loop(l.offering, l.loop)}>
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

/** Event mode's connections, one row per offering and object type (none without event mode). */
const EventConnections: FC<{ model: StatusModel }> = ({ model }) => {
  const rows = model.eventConnections ?? [];
  if (rows.length === 0) return null;
  return (
    <section id="event-connections">
      <h2>Event connections</h2>
      <div class="scroll">
        <table>
          <Head
            cols={[
              "Offering",
              "Events",
              "State",
              "Connected since",
              "Messages",
              "Last message",
              "Reconnects",
              "Last error",
            ]}
          />
          <tbody>
            {rows.map((c, i) => (
              <tr>
                <td>{c.offering}</td>
                <td>{c.type}</td>
                <td>
                  <span class={`badge ${CONNECTION_BADGE[c.state]}`}>{c.state}</span>
                </td>
                <td>
                  <Ago at={c.connectedSince} now={model.now} />
                </td>
                <td>{c.messages}{c.malformed > 0 ? ` (${c.malformed} malformed)` : ""}</td>
                <td>
                  <Ago at={c.lastMessage} now={model.now} />
                </td>
                <td>{c.reconnects}</td>
                <td>
                  {c.lastError ? <Expandable id={`event-error-${i}`} text={c.lastError} /> : ""}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
};

/** The loop badge that colours each connection state. */
const CONNECTION_BADGE = {
  connecting: "running",
  connected: "ok",
  disconnected: "partial",
  refused: "failed",
  stopped: "never",
} as const;

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
              <tr id={anchors.breaker(b.target)}>
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
                  {b.lastError
                    ? (
                      <>
                        {b.state === "closed" ? <small>before it closed:</small> : ""}
                        {b.state === "closed" ? " " : ""}
                        <Expandable
                          id={`breaker-error-${i}`}
                          text={b.lastError}
                          past={b.state === "closed"}
                        />
                      </>
                    )
                    : ""}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
};
