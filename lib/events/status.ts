/**
 * What the status record keeps of event mode: one row per subscription (offering and object
 * type), its connection state, since when it is connected, the messages it received and the
 * reconnects it made. The zod schema is the one source of the type, the API and the page.
 */
import { z } from "zod";

/** The state of one event connection. */
export const EventConnectionState = z.enum([
  /** subscribing in Waldur, or opening the WebSocket */
  "connecting",
  /** subscribed to its queue */
  "connected",
  /** lost: waiting before the next attempt */
  "disconnected",
  /** the broker or Waldur refused (credentials, a missing queue): waiting before the next attempt */
  "refused",
  /** closed at shutdown */
  "stopped",
]);
/** The state of one event connection. */
export type EventConnectionState = z.infer<typeof EventConnectionState>;

/** One event subscription of one offering, as the page, `/api/status` and `/metrics` show it. */
export const EventConnectionStatus = z.object({
  offering: z.string(),
  /** The object type: order, user_role, resource, offering_user. */
  type: z.string(),
  /** The web-STOMP URL. */
  url: z.string(),
  state: EventConnectionState,
  /** Wall time of the current connection's start; null while not connected. */
  connectedSince: z.number().nullable(),
  messages: z.number(),
  /** Wall time of the last message received; null before the first. */
  lastMessage: z.number().nullable(),
  /** Messages that were not JSON or not of the type's shape (logged and acknowledged). */
  malformed: z.number(),
  /** Connections lost or refused after which another attempt was made. */
  reconnects: z.number(),
  lastError: z.string(),
});
/** One event subscription of one offering. */
export type EventConnectionStatus = z.infer<typeof EventConnectionStatus>;

/** The event connections' rows, kept by the status record. */
export class EventConnections {
  #rows = new Map<string, EventConnectionStatus>();
  #redact: (text: string) => string;

  constructor(redact: (text: string) => string) {
    this.#redact = redact;
  }

  /** Declares a connection (state `connecting`), so it shows before its first attempt ends. */
  add(offering: string, type: string, url: string): void {
    this.#rows.set(`${offering}/${type}`, {
      offering,
      type,
      url,
      state: "connecting",
      connectedSince: null,
      messages: 0,
      lastMessage: null,
      malformed: 0,
      reconnects: 0,
      lastError: "",
    });
  }

  /** Changes one connection's row (an unknown one is ignored); `lastError` is redacted. */
  update(
    offering: string,
    type: string,
    change: (row: EventConnectionStatus) => void,
  ): void {
    const row = this.#rows.get(`${offering}/${type}`);
    if (!row) return;
    change(row);
    row.lastError = this.#redact(row.lastError);
  }

  /** Every row, copied. */
  list(): EventConnectionStatus[] {
    return [...this.#rows.values()].map((r) => ({ ...r }));
  }
}
