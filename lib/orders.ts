/**
 * The order processor. Each pass lists the offering's pending-provider and executing orders,
 * approves, runs Create / Update / Terminate through the backend, and reports done or erred.
 * Transient failures leave the order as it is and retry it at the next pass (or after the
 * server's Retry-After), while the circuit breaker backs off the failing server;
 * terminal failures send it to erred with a clear message. A delete that did not happen is
 * never reported as done.
 */
import {
  BerthError,
  customerMessage,
  errorMessage,
  HttpError,
  isTransient,
  terminal,
} from "./errors.ts";
import type { ResourceSpec } from "./backend.ts";
import type { Condition } from "./conditions.ts";
import { teamUsernames } from "./membership.ts";
import { forEachKeyed } from "./pool.ts";
import {
  type PassResult,
  passResult,
  type ProcessorContext,
  publishRefusals,
  recordAudit,
  recordHistory,
} from "./processor.ts";
import { hasLimits, parseLimits, sameLimits, toSpec } from "./resource_spec.ts";
import type { Order, Resource } from "./waldur/schemas.ts";

/**
 * One pass over the offering's open orders, page by page: the due orders of each page are handled
 * (`concurrency` at a time) before the next page is read, so the pass holds one page of orders,
 * however many there are. The listing is told how many of each page's orders finished (they
 * leave it), so the orders that move up are still reached in this pass.
 */
export async function processOrders(
  ctx: ProcessorContext,
  signal?: AbortSignal,
): Promise<PassResult> {
  const failures: string[] = [];
  const listed = new Set<string>();
  const now = ctx.clock.now();
  // pages: listing reads; held: the most orders held at once (the largest page)
  const stats = { listed: 0, due: 0, done: 0, erred: 0, deferred: 0, pages: 0, held: 0 };
  const pages = ctx.waldur.orderPages(ctx.offering.offeringUuid, ["pending-provider", "executing"]);
  let finished = 0;
  const teams: Teams = new Map();
  let complete = true;
  const malformed: Condition[] = [];
  for (let next = await pages.next(); !next.done; next = await pages.next(finished)) {
    const { items, rejected } = next.value;
    stats.pages++;
    stats.held = Math.max(stats.held, items.length);
    for (const r of rejected) {
      const problem = `order ${r.uuid ?? "(no uuid)"} is malformed: ${r.problem}`;
      malformed.push({
        key: r.uuid ?? problem,
        appeared: problem,
        cleared: `order ${r.uuid ?? "(no uuid)"} is no longer listed malformed`,
      });
      failures.push(problem);
    }
    for (const o of items) listed.add(o.uuid);
    stats.listed += items.length;
    const due = items.filter((o) => (ctx.store.order(o.uuid)?.nextAttemptAt ?? 0) <= now);
    stats.due += due.length;
    finished = 0;
    // orders of one resource in turn (an Update and a Terminate never side by side), others
    // side by side
    await forEachKeyed(
      due,
      (o) => resourceOf(o) || o.uuid,
      ctx.offering.concurrency,
      async (order) => {
        const outcome = await handle(ctx, order, teams);
        stats[outcome]++;
        if (outcome === "deferred") {
          failures.push(ctx.store.order(order.uuid)?.lastError ?? "deferred");
        } else finished++;
        ctx.status.heartbeat(ctx.offering.name, "orders");
      },
      signal,
    );
    if (signal?.aborted) {
      // the orders of the pages not read are not known: the status keeps them
      complete = false;
      await pages.return();
      break;
    }
  }
  if (complete) ctx.status.keepOrders(ctx.offering.name, listed);
  // an incomplete listing clears nothing: the orders it did not read may still be malformed
  ctx.malformed.report(malformed, () => complete);
  return passResult(failures, stats, stats.done + stats.erred + stats.deferred > 0);
}

/** The teams read in one pass, by Waldur project: orders of one project share one read. */
type Teams = Map<string, Promise<string[]>>;

/** The usernames of a resource's Waldur project team, read once per project and pass. */
function teamOf(ctx: ProcessorContext, resource: Resource, teams: Teams): Promise<string[]> {
  let team = teams.get(resource.project_uuid);
  if (!team) {
    team = ctx.waldur.getTeam(resource.uuid).then(teamUsernames);
    // a failed read is not kept: the next order of the project asks again
    team.catch(() => teams.delete(resource.project_uuid));
    teams.set(resource.project_uuid, team);
  }
  return team;
}

/** The audit event's `resource` for a uuid ("" names none). */
function aboutResource(uuid: string): { resource?: string } {
  return uuid === "" ? {} : { resource: uuid };
}

/**
 * Time from the order's creation in Waldur, or from the customer's approval when it needed one
 * (`consumer_reviewed_at`, the later of the two), to now; null when `created` is not a time.
 */
function latencyOf(order: Order, now: number): number | null {
  const created = Date.parse(order.created);
  if (!Number.isFinite(created)) return null;
  const reviewed = Date.parse(order.consumer_reviewed_at);
  return now - (Number.isFinite(reviewed) ? Math.max(created, reviewed) : created);
}

/** The uuid of the resource an order is about ("" when it names none). */
function resourceOf(order: Order): string {
  return order.marketplace_resource_uuid || order.resource_uuid || "";
}

/** Handles one order with its resource marked busy, so the other loops leave it alone. */
async function handle(
  ctx: ProcessorContext,
  order: Order,
  teams: Teams,
): Promise<"done" | "erred" | "deferred"> {
  const resource = resourceOf(order);
  ctx.activity.begin(resource);
  try {
    return await handleOrder(ctx, order, teams);
  } finally {
    ctx.activity.end(resource);
  }
}

async function handleOrder(
  ctx: ProcessorContext,
  order: Order,
  teams: Teams,
): Promise<"done" | "erred" | "deferred"> {
  let executing = order.state === "executing";
  try {
    if (order.state === "pending-provider") {
      await ctx.waldur.approveOrder(order.uuid);
      executing = true;
      recordAudit(ctx, {
        system: "waldur",
        action: "approve order",
        target: order.uuid,
        ...aboutResource(resourceOf(order)),
        result: "ok",
      });
    }
    switch (order.type) {
      case "Create":
      case "Restore":
        await create(ctx, order, teams);
        break;
      case "Update":
        await update(ctx, order);
        break;
      case "Terminate":
        await terminate(ctx, order);
        break;
    }
    await ctx.waldur.setOrderDone(order.uuid);
    recordAudit(ctx, {
      system: "waldur",
      action: `${order.type} order done`,
      target: order.uuid,
      ...aboutResource(resourceOf(order)),
      result: "ok",
      detail: order.resource_name,
    });
    journal(ctx, order, "done", "");
    ctx.status.attention.orderDone(
      order.uuid,
      ctx.offering.name,
      resourceOf(order),
      order.type === "Terminate",
    );
    // a new order of the resource went through: an earlier refusal is history
    if (ctx.store.refusals(ctx.offering.name).some((r) => r.resourceUuid === resourceOf(order))) {
      ctx.store.clearRefusal(ctx.offering.name, resourceOf(order));
      publishRefusals(ctx, ctx.offering.name);
    }
    recordHistory(ctx, (h) => {
      const now = ctx.clock.now();
      h.recordOrder(ctx.offering.name, "done", latencyOf(order, now), now);
    });
    ctx.status.orderFinished(order.uuid, order.type, "done");
    return "done";
  } catch (error) {
    const message = ctx.redact(errorMessage(error));
    if (isTransient(error) || !executing) {
      // Not executing yet (approval refused) or a passing fault: keep the order, try again later.
      deferOrder(ctx, order, message, error);
      return "deferred";
    }
    try {
      const traceback = ctx.exposeErrorDetails && error instanceof Error
        ? ctx.redact(error.stack ?? "")
        : "";
      await ctx.waldur.setOrderErred(
        order.uuid,
        ctx.redact(customerMessage(error, ctx.exposeErrorDetails)),
        traceback,
      );
    } catch (reportError) {
      deferOrder(
        ctx,
        order,
        `${message} (and reporting it failed: ${errorMessage(reportError)})`,
        reportError,
      );
      return "deferred";
    }
    recordAudit(ctx, {
      system: "waldur",
      action: `${order.type} order erred`,
      target: order.uuid,
      ...aboutResource(resourceOf(order)),
      result: "ok",
      detail: message,
    });
    ctx.log.error(`order ${order.uuid} (${order.type} ${order.resource_name}) erred: ${message}`);
    journal(ctx, order, "erred", message);
    if (order.type === "Terminate") {
      // kept visible (page, API) until a new order of the resource is done or the cause is gone
      ctx.store.saveRefusal({
        offering: ctx.offering.name,
        resourceUuid: resourceOf(order),
        resourceName: order.resource_name,
        orderUuid: order.uuid,
        message,
        at: ctx.clock.now(),
      });
      publishRefusals(ctx, ctx.offering.name);
    } else {
      ctx.status.attention.orderErred({
        offering: ctx.offering.name,
        uuid: order.uuid,
        type: order.type,
        resource: resourceOf(order),
        resourceName: order.resource_name,
        message,
      });
    }
    recordHistory(ctx, (h) => {
      const now = ctx.clock.now();
      h.recordOrder(ctx.offering.name, "erred", latencyOf(order, now), now);
    });
    ctx.status.orderFinished(order.uuid, order.type, "erred");
    return "erred";
  }
}

function journal(
  ctx: ProcessorContext,
  order: Order,
  finalState: "done" | "erred",
  lastError: string,
): void {
  const previous = ctx.store.order(order.uuid);
  ctx.store.saveOrder({
    orderUuid: order.uuid,
    offering: ctx.offering.name,
    type: order.type,
    attempts: (previous?.attempts ?? 0) + 1,
    lastError,
    nextAttemptAt: 0,
    finalState,
    updatedAt: ctx.clock.now(),
  });
}

function deferOrder(ctx: ProcessorContext, order: Order, message: string, error: unknown): void {
  const previous = ctx.store.order(order.uuid);
  const attempts = (previous?.attempts ?? 0) + 1;
  // The next pass tries again, unless the server asked for longer (Retry-After). Backing off a
  // failing server is the circuit breaker's job (lib/breaker.ts): an order waiting longer than
  // one interval would delay the recovery after the server is back.
  const retryAfter = error instanceof HttpError ? error.retryAfterMs ?? 0 : 0;
  const nextAttemptAt = ctx.clock.now() + Math.max(0, retryAfter - ctx.ordersIntervalMs);
  ctx.store.saveOrder({
    orderUuid: order.uuid,
    offering: ctx.offering.name,
    type: order.type,
    attempts,
    lastError: message,
    nextAttemptAt,
    finalState: "",
    updatedAt: ctx.clock.now(),
  });
  ctx.status.orderPending({
    uuid: order.uuid,
    offering: ctx.offering.name,
    type: order.type,
    resourceName: order.resource_name,
    attempts,
    lastError: message,
    nextAttemptAt,
  });
  ctx.log.warn(
    `order ${order.uuid} (${order.type} ${order.resource_name}) will be retried: ${message}`,
    {
      attempts,
      transient: error instanceof BerthError ? error.transient : false,
    },
  );
}

/**
 * The resource an order acts on, as its backend sees it: a Create's limits are the order's (or
 * the resource's), an Update's the resource's with the order's over them, a Terminate's the
 * resource's if they can be read (bad limits never keep a resource from being deleted).
 */
export function orderSpec(order: Order, resource: Resource): ResourceSpec {
  switch (order.type) {
    case "Create":
    case "Restore":
      return toSpec(
        resource,
        hasLimits(order.limits)
          ? parseLimits(order.limits, "order limits")
          : parseLimits(resource.limits, "resource limits"),
      );
    case "Update": {
      if (!hasLimits(order.limits)) {
        throw terminal("waldur", `Update order ${order.uuid} carries no limits`);
      }
      const wanted = parseLimits(order.limits, "order limits");
      return toSpec(resource, { ...parseLimits(resource.limits, "resource limits"), ...wanted });
    }
    case "Terminate": {
      let limits = {};
      try {
        limits = parseLimits(resource.limits, "resource limits");
      } catch {
        // Bad limits must not keep a resource from being deleted.
      }
      if (resource.backend_id === "" && resource.slug === "") {
        throw terminal(
          "backend",
          `resource ${resource.uuid} has neither backend_id nor slug: cannot tell what to delete`,
        );
      }
      return toSpec({ ...resource, slug: resource.slug || resource.backend_id }, limits);
    }
  }
}

/** The uuid of the resource an order names; an order naming none is a terminal error. */
export function resourceUuid(order: Order): string {
  const uuid = resourceOf(order);
  if (!uuid) throw terminal("waldur", `order ${order.uuid} names no resource`);
  return uuid;
}

async function create(ctx: ProcessorContext, order: Order, teams: Teams): Promise<void> {
  const resource = await ctx.waldur.getResource(resourceUuid(order));
  const spec = orderSpec(order, resource);
  const limits = spec.limits;
  // Access at Create: the team goes into its group now, not at the next membership pass.
  // A team that cannot be read is handled like a Keycloak outage: the project is made, and the
  // membership pass puts the team in later.
  const team = ctx.backend.needsTeam
    ? await teamOf(ctx, resource, teams).catch((error: unknown) => {
      ctx.log.warn(
        `the team of ${resource.project_slug || resource.project_uuid} was not read at Create ` +
          `(${errorMessage(error)}); the membership pass will add it`,
      );
      return undefined;
    })
    : undefined;
  const result = await ctx.backend.ensure(spec, team);
  if (resource.backend_id !== result.backendId) {
    await ctx.waldur.setResourceBackendId(resource.uuid, result.backendId);
    recordAudit(ctx, {
      system: "waldur",
      action: "set backend_id",
      target: resource.uuid,
      resource: resource.uuid,
      result: "ok",
      detail: result.backendId,
    });
  }
  if (!sameLimits(limits, result.limits)) {
    // Only a default that filled a missing limit is pushed back; Waldur's limits are the truth.
    await ctx.waldur.setResourceLimits(resource.uuid, result.limits);
    recordAudit(ctx, {
      system: "waldur",
      action: "set limits",
      target: resource.uuid,
      resource: resource.uuid,
      result: "ok",
      detail: JSON.stringify(result.limits),
    });
  }
}

async function update(ctx: ProcessorContext, order: Order): Promise<void> {
  const resource = await ctx.waldur.getResource(resourceUuid(order));
  let spec = orderSpec(order, resource);
  if (spec.backendId === "") {
    const result = await ctx.backend.ensure(spec);
    await ctx.waldur.setResourceBackendId(resource.uuid, result.backendId);
    spec = { ...spec, backendId: result.backendId };
  }
  await ctx.backend.setLimits(spec, spec.limits);
}

async function terminate(ctx: ProcessorContext, order: Order): Promise<void> {
  const resource = await ctx.waldur.getResource(resourceUuid(order));
  const result = await ctx.backend.remove(orderSpec(order, resource));
  if (result === "absent") {
    ctx.log.info(`resource ${resource.name} was already gone from ${ctx.backend.kind}`);
  }
}
