/**
 * The top of the status page: the summary (counts per state) and the "Needs attention" list, each
 * entry with what happened, since when, what to do and a link to its row. Neither ever folds.
 */
import { anchors, type AttentionEntry } from "../../lib/attention.ts";
import type { StatusModel } from "../../lib/status.ts";
import { Ago, filtered, type PageQuery, type Rendered } from "./parts.tsx";

/** How many entries the list shows before "and N more" (folded, so the loops stay in sight). */
export const ATTENTION_SHOWN = 20;

/** One count of the summary, coloured when it is something to look at. */
function Count({ n, label, bad }: { n: number; label: string; bad?: boolean }): Rendered {
  return (
    <span class={`n${bad && n > 0 ? " bad" : ""}`}>
      <b>{n}</b> {label}
    </span>
  );
}

/** Counts per state: orders, resources, groups, upstreams and loops. */
export function Summary({ model }: { model: StatusModel }): Rendered {
  const { orders, resources, groups, upstreams, loops } = model.summary;
  return (
    <section id="summary">
      <h2>Summary</h2>
      <dl class="summary">
        <dt>Loops</dt>
        <dd>
          <Count n={loops.ok} label="ok" /> <Count n={loops.failing} label="failing" bad />{" "}
          <Count n={loops.late} label="late" bad />{" "}
          <Count n={loops.other} label="running or not run" />
        </dd>
        <dt>Orders</dt>
        <dd>
          <Count n={orders.inFlight} label="in flight" />{" "}
          <Count n={orders.erred} label="erred" bad />{" "}
          <small>
            since the start: {orders.doneSinceStart} done, {orders.erredSinceStart} erred
          </small>
        </dd>
        <dt>Resources</dt>
        <dd>
          <Count n={resources.ok} label="ok" /> <Count n={resources.erred} label="erred" bad />{" "}
          <Count n={resources.flagged} label="with flags" /> <small>of {resources.total}</small>
        </dd>
        <dt>Groups</dt>
        <dd>
          <Count n={groups.inSync} label="in sync" />{" "}
          <Count n={groups.missingUsers} label="missing users" bad />{" "}
          <Count n={groups.failed} label="failed" bad />{" "}
          <Count n={groups.conflicts} label="identity conflicts" bad />{" "}
          <small>of {groups.total}</small>
        </dd>
        <dt>Upstreams</dt>
        <dd>
          <Count n={upstreams.closed} label="closed" />{" "}
          <Count n={upstreams.halfOpen} label="half-open" bad />{" "}
          <Count n={upstreams.open} label="open" bad />
        </dd>
      </dl>
    </section>
  );
}

/** One entry: its kind, offering, what happened, since when, what to do, a link to its row. */
export function Entry({ entry, now }: { entry: AttentionEntry; now: number }): Rendered {
  return (
    <li id={anchors.entry(entry.key)} class="entry">
      <span class="badge failed">{entry.kind.replaceAll("-", " ")}</span>{" "}
      {entry.offering ? <small class="offering">{entry.offering}</small> : ""}{" "}
      <bdi class="what">{entry.what}</bdi>{" "}
      <small>
        first seen <Ago at={entry.since} now={now} />
      </small>
      <div class="action">
        <b>Next:</b> {entry.action}{" "}
        <a href={entry.link}>
          {entry.link.startsWith("/resources/") ? "open its page" : "go to its row"}
        </a>
      </div>
    </li>
  );
}

/** What needs attention, most pressing first; past {@link ATTENTION_SHOWN}, the rest folded. */
export function Attention(
  { model, query }: { model: StatusModel; query: PageQuery },
): Rendered {
  const entries = filtered(model.attention, query.q);
  const shown = entries.slice(0, ATTENTION_SHOWN);
  const rest = entries.slice(ATTENTION_SHOWN);
  return (
    <section id="attention">
      <h2>
        Needs attention{" "}
        <span class="count">
          {entries.length === model.attention.length
            ? entries.length
            : `${entries.length} of ${model.attention.length} match`}
        </span>
      </h2>
      {entries.length === 0
        ? (
          <p class="empty">
            {model.attention.length === 0 ? "Nothing needs attention." : "None matches the filter."}
          </p>
        )
        : (
          <ol class="attention">
            {shown.map((e) => <Entry entry={e} now={model.now} />)}
          </ol>
        )}
      {rest.length === 0 ? "" : (
        <details id="attention-more" class="more">
          <summary>and {rest.length} more</summary>
          <ol class="attention">
            {rest.map((e) => <Entry entry={e} now={model.now} />)}
          </ol>
        </details>
      )}
    </section>
  );
}
