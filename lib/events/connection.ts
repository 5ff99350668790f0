/**
 * One event subscription's STOMP connection (STOMP 1.2 over WebSocket, @stomp/stompjs): subscribe
 * in Waldur (`prepare`), log in to RabbitMQ (login = subscription uuid, passcode = the Waldur
 * token, host = the vhost), heart-beats both ways, SUBSCRIBE to the pre-declared queue with
 * client-individual acknowledgements, and hand each message to `onMessage` with its `ack`. A lost
 * or refused connection is tried again with exponential backoff and jitter, capped; a refusal
 * (credentials, a missing queue) subscribes in Waldur again first. Nothing here is fatal.
 */
import { Client, type IMessage, type IStompSocket, Versions } from "@stomp/stompjs";
import { errorMessage } from "../errors.ts";
import type { Logger } from "../log.ts";
import type { EventConnections } from "./status.ts";

/** Where one subscription's messages are: the RabbitMQ login, vhost and queue. */
export interface Subscription {
  login: string;
  vhost: string;
  queue: string;
}

/** Opens a WebSocket (the global one in production: `lib/world.ts`). */
export type WebSocketFactory = (url: string, protocols: string[]) => IStompSocket;

/** Timing of the connections; the defaults are the Python agent's. */
export interface ConnectionTiming {
  /** Heart-beats sent and expected, ms (default 10,000 both ways). */
  heartbeatMs?: number;
  /** First retry delay (default 1 s), doubling per failed attempt... */
  backoffBaseMs?: number;
  /** ...up to this (default 120 s); plus up to 25 % jitter. */
  backoffMaxMs?: number;
}

/** What one connection needs. */
export interface ConnectionOptions {
  offering: string;
  type: string;
  url: string;
  passcode: string;
  /** Subscribes in Waldur (register the subscription, create the queue). */
  prepare: () => Promise<Subscription>;
  /** One message; call `ack` once what it asked for is done. */
  onMessage: (body: string, ack: () => void) => void;
  /** Subscribed; `again` after a lost or refused connection (time to catch up). */
  onConnected: (again: boolean) => void;
  connections: EventConnections;
  log: Logger;
  now: () => number;
  sleep: (ms: number, signal: AbortSignal) => Promise<void>;
  random: () => number;
  webSocket: WebSocketFactory;
  timing?: ConnectionTiming;
  /** stompjs's frame log (tests); off by default. */
  debug?: (line: string) => void;
}

interface Ended {
  connected: boolean;
  refused: boolean;
  error: string;
}

/** The delay before attempt `n` (0-based) after a failure: base × 2^n, capped, + ≤ 25 % jitter. */
export function backoffMs(n: number, baseMs: number, maxMs: number, random: number): number {
  const plain = Math.min(maxMs, baseMs * 2 ** Math.min(n, 30));
  return Math.round(plain * (1 + 0.25 * random));
}

/** One subscription's connection, kept open until {@link EventConnection.close}. */
export class EventConnection {
  #o: ConnectionOptions;
  #closing = new AbortController();
  #client: Client | undefined;
  #running: Promise<void> | undefined;

  constructor(options: ConnectionOptions) {
    this.#o = options;
  }

  /** Starts connecting (and reconnecting) in the background. */
  start(): void {
    this.#running ??= this.#run();
  }

  /** Closes the connection (DISCONNECT, then the WebSocket) and stops reconnecting. */
  async close(): Promise<void> {
    this.#closing.abort();
    await this.#client?.deactivate();
    await this.#running;
    this.#set((r) => {
      r.state = "stopped";
      r.connectedSince = null;
    });
  }

  #set(change: Parameters<EventConnections["update"]>[2]): void {
    this.#o.connections.update(this.#o.offering, this.#o.type, change);
  }

  async #run(): Promise<void> {
    const o = this.#o;
    const t = o.timing ?? {};
    const closing = this.#closing.signal;
    let subscription: Subscription | undefined;
    let failures = 0;
    let connectedBefore = false;
    while (!closing.aborted) {
      let ended: Ended;
      try {
        subscription ??= await o.prepare();
        if (closing.aborted) break;
        ended = await this.#session(subscription, connectedBefore);
      } catch (error) {
        ended = {
          connected: false,
          refused: true,
          error: `cannot subscribe in Waldur: ${errorMessage(error)}`,
        };
      }
      if (closing.aborted) break;
      if (ended.connected) {
        connectedBefore = true;
        failures = 0;
      }
      if (ended.refused) subscription = undefined;
      const wait = backoffMs(
        failures++,
        t.backoffBaseMs ?? 1_000,
        t.backoffMaxMs ?? 120_000,
        o.random(),
      );
      this.#set((r) => {
        r.state = ended.refused ? "refused" : "disconnected";
        r.connectedSince = null;
        r.reconnects++;
        r.lastError = ended.error;
      });
      o.log.warn(`${o.type} events: ${ended.error}; connecting again in ${wait} ms`);
      await o.sleep(wait, closing);
    }
  }

  /** One connection, from the WebSocket's opening to its close. */
  #session(sub: Subscription, again: boolean): Promise<Ended> {
    const o = this.#o;
    const heartbeat = o.timing?.heartbeatMs ?? 10_000;
    this.#set((r) => r.state = "connecting");
    return new Promise((resolve) => {
      const versions = new Versions([Versions.V1_2]);
      const client = new Client({
        webSocketFactory: () => o.webSocket(o.url, versions.protocolVersions()),
        stompVersions: versions,
        connectHeaders: { login: sub.login, passcode: o.passcode, host: sub.vhost },
        heartbeatIncoming: heartbeat,
        heartbeatOutgoing: heartbeat,
        reconnectDelay: 0,
        connectionTimeout: 15_000,
        debug: o.debug ?? (() => {}),
      });
      let connected = false;
      let refused = false;
      let error = "";
      client.onConnect = () => {
        connected = true;
        client.subscribe(`/amq/queue/${sub.queue}`, (m) => this.#deliver(client, m), {
          id: sub.queue,
          ack: "client-individual",
          "prefetch-count": "500",
        });
        this.#set((r) => {
          r.state = "connected";
          r.connectedSince = o.now();
          r.lastError = "";
        });
        o.log.info(`${o.type} events: subscribed to ${sub.queue}${again ? " again" : ""}`);
        o.onConnected(again);
      };
      client.onStompError = (frame) => {
        refused = true;
        error = refusal(frame.headers.message ?? "ERROR", frame.body.trim());
        // an ERROR ends the session (STOMP 1.2), but RabbitMQ's web-STOMP leaves the WebSocket
        // open after a refused CONNECT: close it now rather than at the connection timeout (15 s)
        client.forceDisconnect();
      };
      client.onWebSocketError = () => {
        error ||= `cannot reach ${o.url}`;
      };
      client.onWebSocketClose = (event?: { code?: number }) => {
        void client.deactivate();
        resolve({
          connected,
          refused,
          error: error ||
            (connected ? "connection lost" : `cannot reach ${o.url}`) +
              (event?.code ? ` (WebSocket close ${event.code})` : ""),
        });
      };
      this.#client = client;
      client.activate();
    });
  }

  #deliver(client: Client, message: IMessage): void {
    this.#o.onMessage(message.body, () => {
      // on a closed connection the ack cannot be sent: the broker delivers the message again
      if (!client.connected) return;
      try {
        message.ack();
      } catch (error) {
        this.#o.log.warn(`${this.#o.type} events: cannot acknowledge: ${errorMessage(error)}`);
      }
    });
  }
}

/** The broker's ERROR frame, said for the operator. */
function refusal(message: string, body: string): string {
  const detail = body ? `${message}: ${body}` : message;
  if (/access refused|login|authenticat/i.test(detail)) {
    return `the broker refused the login (${detail}); login = the subscription's uuid, passcode ` +
      "= waldur_api_token, vhost = the token user's uuid: check the token and RabbitMQ's user";
  }
  if (/not_found|no queue/i.test(detail)) {
    return `the queue is missing (${detail}); subscribing in Waldur again`;
  }
  if (/virtual host|vhost/i.test(detail)) return `the vhost is refused (${detail})`;
  return `the broker sent an error (${detail})`;
}
