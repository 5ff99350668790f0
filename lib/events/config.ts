/**
 * Event mode's configuration: the Python agent's offering keys (`stomp_enabled`,
 * `stomp_ws_host`, `stomp_ws_port`, `stomp_ws_path`, `websocket_use_tls`,
 * `stomp_membership_sync_enabled`) with its defaults and quirks, resolved into the WebSocket URL
 * of Waldur's RabbitMQ web-STOMP and the object types an offering subscribes to.
 */
import { z } from "zod";

/** The zod shapes of the event keys of one offering (merged into the offering's schema). */
export const EVENT_KEYS = {
  stomp_enabled: z.boolean().default(false).describe("event mode: STOMP over WebSocket"),
  stomp_ws_host: z.string().min(1).optional().describe("default: the host of waldur_api_url"),
  stomp_ws_port: z.number().int().min(1).max(65535).optional()
    .describe("default: 443 when verify_ssl, else 80 (the Python agent's quirk)"),
  stomp_ws_path: z.string().startsWith("/").default("/rmqws-stomp"),
  websocket_use_tls: z.boolean().default(true).describe("wss:// (true) or ws://"),
  stomp_membership_sync_enabled: z.boolean().default(true)
    .describe("membership passes on user_role, resource and offering_user events too"),
} as const;

/** The event keys as the offering's schema gives them. */
export interface EventKeys {
  stomp_enabled: boolean;
  stomp_ws_host?: string | undefined;
  stomp_ws_port?: number | undefined;
  stomp_ws_path: string;
  websocket_use_tls: boolean;
  stomp_membership_sync_enabled: boolean;
}

/** Event mode of one offering, resolved. */
export interface EventConfig {
  /** `wss://host:port/path`: Waldur's RabbitMQ web-STOMP endpoint. */
  url: string;
  /** Whether role, resource and offering-user events trigger membership passes. */
  membership: boolean;
}

/** The object types whose events trigger an orders pass. */
export const ORDER_TYPES = ["order"] as const;
/** The object types whose events trigger a membership pass. */
export const MEMBERSHIP_TYPES = ["user_role", "resource", "offering_user"] as const;
/** One object type Berth subscribes to. */
export type EventType = typeof ORDER_TYPES[number] | typeof MEMBERSHIP_TYPES[number];

/**
 * The offering's event mode, or undefined when `stomp_enabled` is false. Host: `stomp_ws_host`
 * or the host of `waldur_api_url`; port: `stomp_ws_port`, or 443 when `verify_ssl` and 80 when
 * not (whatever `websocket_use_tls` says: the Python agent's quirk, kept); path: `stomp_ws_path`.
 */
export function eventConfig(
  keys: EventKeys,
  waldur: { apiUrl: string; verifySsl: boolean },
): EventConfig | undefined {
  if (!keys.stomp_enabled) return undefined;
  const host = keys.stomp_ws_host ?? new URL(waldur.apiUrl).hostname;
  const port = keys.stomp_ws_port ?? (waldur.verifySsl ? 443 : 80);
  const scheme = keys.websocket_use_tls ? "wss" : "ws";
  const bracketed = host.includes(":") && !host.startsWith("[") ? `[${host}]` : host;
  return {
    url: `${scheme}://${bracketed}:${port}${keys.stomp_ws_path}`,
    membership: keys.stomp_membership_sync_enabled,
  };
}

/** The object types an offering subscribes to, from its loops and its event config. */
export function eventTypes(
  loops: { orders: boolean; membership: boolean },
  events: EventConfig,
): EventType[] {
  return [
    ...(loops.orders ? ORDER_TYPES : []),
    ...(loops.membership && events.membership ? MEMBERSHIP_TYPES : []),
  ];
}
