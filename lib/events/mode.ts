/**
 * Event mode for the offerings with `stomp_enabled: true`: per offering and object type an
 * {@link EventConnection} whose messages ask the offering's loops for a pass (`LoopTrigger`; a
 * role event, a membership pass scoped to its Waldur project), and whose reconnects ask for one
 * orders and one whole membership pass to catch up. A message is
 * acknowledged once the pass it asked for has finished (and not been cut short by a stop); a
 * malformed one at once (logged once); an order event whose order this agent's journal has
 * finished at once, without a pass (the late events of a burst whose first pass did them all).
 */
import type { OfferingRuntime } from "../agent.ts";
import type { Clock } from "../clock.ts";
import type { Logger } from "../log.ts";
import type { LoopTrigger } from "../loop.ts";
import type { StatusRecord } from "../status.ts";
import { createQueue, registerEventSubscription } from "../waldur/subscriptions.ts";
import { type EventType, eventTypes } from "./config.ts";
import {
  type ConnectionTiming,
  EventConnection,
  type Subscription,
  type WebSocketFactory,
} from "./connection.ts";
import { decide } from "./dispatch.ts";

/** One offering in event mode: its runtime, its agent identity, its loops' triggers. */
export interface EventOffering {
  runtime: OfferingRuntime;
  /** The agent identity's uuid (registered at start; registered again when that failed). */
  identity: () => Promise<string>;
  triggers: { orders?: LoopTrigger | undefined; membership?: LoopTrigger | undefined };
}

/** What event mode needs from the world. */
export interface EventModeDeps {
  status: StatusRecord;
  log: Logger;
  clock: Clock;
  webSocket: WebSocketFactory;
  /** The backoff's sleep; defaults to the clock's (tests with a manual clock give real time). */
  sleep?: (ms: number, signal: AbortSignal) => Promise<void>;
  /** The jitter's random numbers in [0, 1). */
  random: () => number;
  timing?: ConnectionTiming;
  debug?: (line: string) => void;
}

/** Running event connections; `stop()` closes them all. */
export interface EventMode {
  stop(): Promise<void>;
}

/** Waldur's uuids as RabbitMQ names them: hex without dashes. */
function hex(uuid: string): string {
  return uuid.replaceAll("-", "").toLowerCase();
}

/** Whether this agent's order journal has the order (hex or dashed uuid) finished. */
function finishedHere(runtime: OfferingRuntime, order: string): boolean {
  const h = hex(order);
  const dashed = h.length === 32
    ? `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
    : h;
  return [order, h, dashed].some((u) => (runtime.context.store.order(u)?.finalState ?? "") !== "");
}

/** Starts the connections of every offering given that has event mode configured. */
export function startEventMode(
  offerings: readonly EventOffering[],
  deps: EventModeDeps,
): EventMode {
  const connections: EventConnection[] = [];
  for (const { runtime, identity, triggers } of offerings) {
    const events = runtime.config.events;
    if (!events) continue;
    const offering = runtime.config.name;
    const log = deps.log.child({ offering });
    for (const type of eventTypes(runtime.config.loops, events)) {
      deps.status.eventConnections.add(offering, type, events.url);
      const prepare = async (): Promise<Subscription> => {
        const http = runtime.waldur.http;
        const sub = await registerEventSubscription(http, await identity(), type);
        await createQueue(http, sub.uuid, runtime.config.offeringUuid, type);
        const login = hex(sub.uuid);
        const queue = `subscription_${login}_offering_${hex(runtime.config.offeringUuid)}_${type}`;
        return { login, vhost: hex(sub.user_uuid), queue };
      };
      connections.push(
        new EventConnection({
          offering,
          type,
          url: events.url,
          passcode: runtime.config.waldur.token ?? "",
          prepare,
          onMessage: (body, ack) => onMessage(type, body, ack),
          onConnected: (again) => {
            if (!again) return;
            log.info(
              `${type} events: connected again, catching up with an orders and a membership pass`,
            );
            void triggers.orders?.soon();
            void triggers.membership?.soon();
          },
          connections: deps.status.eventConnections,
          log,
          now: () => deps.clock.now(),
          sleep: deps.sleep ?? ((ms, signal) => deps.clock.sleep(ms, signal)),
          random: deps.random,
          webSocket: deps.webSocket,
          ...(deps.timing ? { timing: deps.timing } : {}),
          ...(deps.debug ? { debug: deps.debug } : {}),
        }),
      );
      const onMessage = (type: EventType, body: string, ack: () => void): void => {
        const decision = decide(type, body);
        deps.status.eventConnections.update(offering, type, (r) => {
          r.messages++;
          r.lastMessage = deps.clock.now();
          if (decision.kind === "malformed") r.malformed++;
        });
        switch (decision.kind) {
          case "malformed":
            log.warn(`${type} event dropped: ${decision.problem}`, { body: body.slice(0, 200) });
            ack();
            return;
          case "ignore":
            log.debug(`${type} event: ${decision.why}, nothing to do`);
            ack();
            return;
          case "pass": {
            const trigger = triggers[decision.loop];
            if (!trigger) {
              ack();
              return;
            }
            if (decision.order && finishedHere(runtime, decision.order)) {
              // a burst's late events: the pass that finished their order ran already
              log.debug(`${type} event: ${decision.what}, finished already`);
              ack();
              return;
            }
            log.debug(`${type} event: ${decision.what}, ${decision.loop} pass soon`);
            void trigger.soon(decision.project).then((ran) => {
              // a loop that stopped first leaves it unacknowledged: the broker delivers it again
              if (ran) ack();
            });
          }
        }
      };
    }
  }
  for (const c of connections) c.start();
  return {
    stop: async () => {
      await Promise.all(connections.map((c) => c.close()));
    },
  };
}
