/** The status page's lists: refused terminations, orders, last changes, last errors. */
import { anchors } from "../../lib/attention.ts";
import type { AuditEvent } from "../../lib/store.ts";
import type { StatusModel } from "../../lib/status.ts";
import { formatAge } from "../view.ts";
import { Fold, foldOpen } from "./fold.tsx";
import {
  Ago,
  counted,
  Expandable,
  filtered,
  Head,
  type PageQuery,
  type Rendered,
  Section,
} from "./parts.tsx";

/** How many of the last changes and errors the page lists. */
export const EVENTS_SHOWN = 20;

/** Refused terminations, near the top: they wait for someone to act. Absent when there is none. */
export function Refusals({ model, query }: { model: StatusModel; query: PageQuery }): Rendered {
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
            <tr id={anchors.refusal(r.offering, r.resource)} class="attention">
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
}

/** Orders in flight and just finished. */
export function Orders({ model, query }: { model: StatusModel; query: PageQuery }): Rendered {
  const orders = filtered(model.orders, query.q);
  return (
    <Section id="orders" title="Orders in flight" empty="No order in flight." count={orders.length}>
      <Fold
        id="fold-orders"
        open={foldOpen(orders.length, query)}
        label={counted(orders.length, "order")}
      >
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
                <td>
                  {o.nextAttemptAt <= model.now
                    ? "next orders pass"
                    : formatAge(o.nextAttemptAt, model.now)}
                </td>
                <td>
                  {o.lastError ? <Expandable id={`order-error-${i}`} text={o.lastError} /> : ""}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      </Fold>
    </Section>
  );
}

/** The last changes made to the outside systems. */
export function Events({ model, query }: { model: StatusModel; query: PageQuery }): Rendered {
  const events = filtered(model.events, query.q).slice(0, EVENTS_SHOWN);
  return (
    <Section id="events" title="Last changes" empty="No change made yet." count={events.length}>
      <Fold
        id="fold-events"
        open={foldOpen(events.length, query)}
        label={counted(events.length, "change")}
      >
        <AuditTable events={events} now={model.now} />
      </Fold>
    </Section>
  );
}

/** Audit events as a table (the page's last changes, a resource's changes), in the given order. */
export function AuditTable(
  { events, now }: { events: readonly AuditEvent[]; now: number },
): Rendered {
  return (
    <table>
      <Head cols={["When", "Offering", "System", "Change", "Result"]} />
      <tbody>
        {events.map((e) => (
          <tr>
            <td>
              <Ago at={e.at} now={now} />
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
  );
}

/** The last errors the loops hit. */
export function Errors({ model, query }: { model: StatusModel; query: PageQuery }): Rendered {
  const errors = filtered(model.errors, query.q).slice(0, EVENTS_SHOWN);
  return (
    <Section id="errors" title="Last errors" empty="No error." count={errors.length}>
      <Fold
        id="fold-errors"
        open={foldOpen(errors.length, query)}
        label={counted(errors.length, "error")}
      >
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
      </Fold>
    </Section>
  );
}
