/**
 * What one event message asks for. Events only decide *when* a pass runs; the passes stay the
 * truth. An `order` event asks for an orders pass (unless its state needs nothing of the agent);
 * `user_role` event asks for a membership pass scoped to its Waldur project (`project`: the loop
 * runs one pass per debounce window over the union of its events' projects); `resource` and
 * `offering_user` events ask for a whole membership pass (a resource event names a resource, not
 * its project, and the resource may be gone by the time it would be read; an offering user's
 * username counts in every project of the user). A message that is not JSON or
 * not of its type's shape is malformed: logged once and acknowledged, never redelivered.
 */
import { z } from "zod";
import type { EventType } from "./config.ts";

/** What to do with one message. */
export type Decision =
  | {
    kind: "pass";
    loop: "orders" | "membership";
    what: string;
    order?: string;
    /** The Waldur project a membership pass may be scoped to; none: a whole pass. */
    project?: string;
  }
  | { kind: "ignore"; why: string }
  | { kind: "malformed"; problem: string };

/** Order states in which Waldur's event needs nothing of the agent (the Python agent's list). */
export const QUIET_ORDER_STATES: ReadonlySet<string> = new Set([
  "done",
  "erred",
  "pending-consumer",
  "canceled",
  "rejected",
  "pending-project",
  "pending-start-date",
]);

const Uuid = z.string().regex(
  /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i,
);

const SHAPES = {
  order: z.looseObject({ order_uuid: Uuid, order_state: z.string() }),
  user_role: z.looseObject({ project_uuid: Uuid, user_uuid: Uuid.optional() }),
  resource: z.looseObject({ resource_uuid: Uuid }),
  offering_user: z.looseObject({ offering_user_uuid: Uuid.optional(), user_uuid: Uuid.optional() })
    .refine((m) => m.offering_user_uuid !== undefined || m.user_uuid !== undefined, {
      message: "neither offering_user_uuid nor user_uuid",
    }),
} as const;

/** Decides what the message `body` of a queue of `type` asks for. */
export function decide(type: EventType, body: string): Decision {
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    return { kind: "malformed", problem: "not JSON" };
  }
  const parsed = SHAPES[type].safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? `${issue.path.join(".")}: ` : "";
    return { kind: "malformed", problem: `not a ${type} event (${where}${issue?.message})` };
  }
  if (type === "order") {
    const order = SHAPES.order.parse(json);
    if (QUIET_ORDER_STATES.has(order.order_state)) {
      return { kind: "ignore", why: `order ${order.order_uuid} is ${order.order_state}` };
    }
    return {
      kind: "pass",
      loop: "orders",
      what: `order ${order.order_uuid} ${order.order_state}`,
      order: order.order_uuid,
    };
  }
  if (type === "user_role") {
    const role = SHAPES.user_role.parse(json);
    return {
      kind: "pass",
      loop: "membership",
      what: `user_role event of project ${role.project_uuid}`,
      project: role.project_uuid,
    };
  }
  return { kind: "pass", loop: "membership", what: `${type} event` };
}
