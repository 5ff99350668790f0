/**
 * Wires one configuration into running parts: per offering a Waldur client, its backend and the
 * three processors as loop specs. Nothing here reaches the outside world by itself: fetch, the
 * clock, the store and the logger come in.
 */
import { ResourceActivity } from "./activity.ts";
import type { Backend, BackendPlugin } from "./backend.ts";
import { RegistryAccess } from "./registry_access.ts";
import { Breakers, changeLine } from "./breaker.ts";
import type { Clock } from "./clock.ts";
import { type Config, LOOP_NAMES, type LoopName, type OfferingConfig } from "./config.ts";
import { BerthError } from "./errors.ts";
import { Budget } from "./budget.ts";
import { ConditionLog } from "./conditions.ts";
import type { Exchange, Fetch } from "./http.ts";
import { capResponses } from "./http_cap.ts";
import { MAX_LIST_ITEMS } from "./list_limit.ts";
import type { Logger, Redactor } from "./log.ts";
import type { LoopSpec } from "./loop.ts";
import { syncMembership } from "./membership.ts";
import { processOrders } from "./orders.ts";
import { attentionKeep } from "./attention_store.ts";
import { type ProcessorContext, publishRefusals, writeAudit } from "./processor.ts";
import type { StatusRecord } from "./status.ts";
import type { Store } from "./store.ts";
import { reportUsage } from "./usage.ts";
import { createWaldurClient, type WaldurClient } from "./waldur/client.ts";

/** What building the agent needs. */
export interface AgentDeps {
  config: Config;
  plugins: readonly BackendPlugin<never>[];
  fetch: Fetch;
  /** Builds a fetch trusting extra CA certificates; defaults to `fetch` (tests). */
  tlsFetch?: (caPem: string) => Fetch;
  /** Reads files the settings name; defaults to failing. */
  readFile?: (path: string) => string;
  clock: Clock;
  log: Logger;
  store: Store;
  status: StatusRecord;
  redactor: Redactor;
  version: string;
  /** Registry access between the offerings; a new one when not given (tests give a stub's). */
  registry?: RegistryAccess;
  /**
   * False: no circuit breakers (`berth diagnose`: every request reaches its server, so each
   * check reports the server's own answer, not an open circuit). Defaults to true.
   */
  breakers?: boolean;
}

/** One offering, wired. */
export interface OfferingRuntime {
  config: OfferingConfig;
  waldur: WaldurClient;
  backend: Backend;
  context: ProcessorContext;
}

/**
 * Offerings of one config that would manage the same objects (the same Harbor and
 * allocation_prefix, the same Rancher cluster and project_prefix): each would take the other's
 * projects for its own. One problem line per pair.
 */
export function scopeConflicts(
  config: Config,
  plugins: readonly BackendPlugin<never>[],
): string[] {
  const seen: { name: string; where: string; prefix: string }[] = [];
  const problems: string[] = [];
  for (const offering of config.offerings) {
    const plugin = plugins.find((p) => p.type === offering.backendType) as
      | BackendPlugin<unknown>
      | undefined;
    if (!plugin?.scope) continue;
    const parsed = plugin.settings.safeParse(offering.backendSettings);
    if (!parsed.success) continue;
    const { where, prefix } = plugin.scope(parsed.data);
    const here = { name: offering.name, where: `${plugin.type} ${where}`, prefix };
    for (const other of seen) {
      if (other.where !== here.where) continue;
      if (!other.prefix.startsWith(prefix) && !prefix.startsWith(other.prefix)) continue;
      problems.push(
        `offerings ${other.name} and ${here.name} both manage ${here.where}, named ` +
          `${other.prefix}* and ${prefix}*: each would take the other's objects for its own; ` +
          "give each a prefix that does not start the other's (or its own server)",
      );
    }
    seen.push(here);
  }
  return problems;
}

/** Builds every offering's client, backend and processor context. */
export function buildOfferings(deps: AgentDeps): OfferingRuntime[] {
  const conflicts = scopeConflicts(deps.config, deps.plugins);
  if (conflicts.length > 0) {
    throw new BerthError(conflicts.join("; "), { system: "config", transient: false });
  }
  const onExchange = (e: Exchange) => deps.status.httpExchange(e.system, e.method, e.status);
  // one breaker per upstream server, shared by every offering that talks to it
  // A probe at least every half of the shortest loop interval: the first pass after a server is
  // back finds its circuit ready for a probe, so the work is done within one interval.
  const shortest = Math.min(...Object.values(deps.config.intervals));
  const maxOpenMs = Math.max(1_000, Math.min(60_000, Math.floor(shortest / 2)));
  const breakers = new Breakers({
    clock: deps.clock,
    maxOpenMs,
    openMs: Math.min(5_000, maxOpenMs),
    maxRetryAfterMs: shortest,
    onChange: (b) => {
      deps.status.breaker(b);
      const line = changeLine(b);
      if (line) deps.log[line.level](line.text);
    },
  });
  for (const offering of deps.config.offerings) labelTargets(breakers, offering);
  // Bodies are capped outside the breaker: an oversized answer is the server's fault, not an
  // outage to back off from.
  // one budget for every body read at once: six large answers cannot add up past two caps
  const budget = new Budget(2 * deps.config.maxResponseBytes);
  // and for the items of the whole lists read at once (membership and usage of every offering):
  // together no more than one list at the bound
  const listBudget = new Budget(MAX_LIST_ITEMS);
  const cap = (f: Fetch) => capResponses(f, deps.config.maxResponseBytes, budget);
  const guard = deps.breakers === false ? (f: Fetch) => f : (f: Fetch) => breakers.wrap(f);
  const fetch = cap(guard(deps.fetch));
  const tlsFetch = deps.tlsFetch
    ? (pem: string) => cap(guard(deps.tlsFetch?.(pem) ?? deps.fetch))
    : () => fetch;
  const registry = deps.registry ?? new RegistryAccess();
  // what needs attention and the last syncs survive a restart in the state file
  deps.status.attention.persistIn(attentionKeep(deps.store));
  const built = deps.config.offerings.map((offering) => {
    const plugin = deps.plugins.find((p) => p.type === offering.backendType) as
      | BackendPlugin<unknown>
      | undefined;
    if (!plugin) {
      throw new BerthError(
        `offering ${offering.name}: no backend for backend_type ${offering.backendType}`,
        {
          system: "config",
          transient: false,
        },
      );
    }
    const log = deps.log.child({ offering: offering.name });
    const waldur = createWaldurClient({
      config: offering.waldur,
      fetch,
      clock: deps.clock,
      userAgent: `berth/${deps.version}`,
      onExchange,
      onSecret: (value) => deps.redactor.addRuntime(value),
      listBudget,
    });
    const backend = plugin.create({
      offering: offering.name,
      offeringUuid: offering.offeringUuid,
      registry,
      settings: plugin.settings.parse(offering.backendSettings),
      components: offering.components,
      fetch,
      tlsFetch,
      readFile: deps.readFile ?? ((path) => {
        throw new Error(`cannot read ${path} here`);
      }),
      clock: deps.clock,
      log,
      onExchange,
      audit: (event) =>
        writeAudit(
          { store: deps.store, status: deps.status, clock: deps.clock, log },
          offering.name,
          event,
        ),
      publish: (snapshot) => deps.status.publish(offering.name, snapshot),
      concurrency: offering.concurrency,
      onSecret: (value) => deps.redactor.addRuntime(value),
      claimedBy: async (backendId) =>
        (await waldur.listResources(offering.offeringUuid, CLAIMING_STATES, { backendId })).items
          .filter((r) => r.backend_id === backendId).map((r) => r.uuid),
      owned: {
        get: (resource) => deps.store.owned(offering.name, resource),
        holder: (backendId) => deps.store.ownerOf(offering.name, backendId),
        record: (resource, backendId) =>
          deps.store.recordOwned(offering.name, resource, backendId, deps.clock.now()),
        forget: (resource) => deps.store.forgetOwned(offering.name, resource),
      },
    });
    const context: ProcessorContext = {
      offering,
      waldur,
      backend,
      store: deps.store,
      status: deps.status,
      clock: deps.clock,
      log,
      redact: (text) => deps.redactor.redact(text),
      exposeErrorDetails: deps.config.exposeErrorDetails,
      timezone: deps.config.timezone,
      ordersIntervalMs: deps.config.intervals.orders,
      activity: new ResourceActivity(),
      malformed: new ConditionLog(log),
    };
    publishRefusals(deps, offering.name);
    return { config: offering, waldur, backend, context };
  });
  const unprovided = registry.unprovided();
  if (unprovided.length > 0) {
    // which settings name a provider is the plugins' business; this only says none answers
    throw new BerthError(
      `registry access: ${
        unprovided.map((n) => JSON.stringify(n)).join(", ")
      } is named as the provider of team robots (image_pull_secret.harbor_offering), but no ` +
        "offering of this config by that name provides them (it needs team_robots.enabled: true)",
      { system: "config", transient: false },
    );
  }
  return built;
}

/** Every state in which a Waldur resource still holds its backend object. */
const CLAIMING_STATES = ["Creating", "OK", "Erred", "Updating", "Terminating"] as const;

/** Names the servers of an offering for the breakers: Waldur, and every `*_url` setting. */
function labelTargets(breakers: Breakers, offering: OfferingConfig): void {
  breakers.label(offering.waldur.apiUrl, "waldur");
  if (offering.waldur.oidc) breakers.label(offering.waldur.oidc.tokenUrl, "waldur");
  const walk = (value: unknown, key: string): void => {
    if (typeof value === "string" && key.endsWith("_url")) {
      const system = key === "keycloak_url" ? "keycloak" : offering.backendType;
      breakers.label(value, system);
    } else if (value !== null && typeof value === "object" && !Array.isArray(value)) {
      for (const [k, v] of Object.entries(value)) walk(v, k);
    }
  };
  walk(offering.backendSettings, "");
}

const PASSES = { orders: processOrders, membership: syncMembership, usage: reportUsage } as const;

/** The loop specs of the selected loops of every offering. */
export function loopSpecs(
  offerings: readonly OfferingRuntime[],
  intervals: Record<LoopName, number>,
  selected: readonly LoopName[] = LOOP_NAMES,
): LoopSpec[] {
  const specs: LoopSpec[] = [];
  for (const o of offerings) {
    for (const loop of selected) {
      if (!o.config.loops[loop]) continue;
      specs.push({
        offering: o.config.name,
        loop,
        intervalMs: intervals[loop],
        pass: (signal, scope) =>
          loop === "membership"
            ? syncMembership(o.context, signal, scope)
            : PASSES[loop](o.context, signal),
      });
    }
  }
  return specs;
}

/**
 * Registers each offering's agent identity once, best effort: a failure is logged, not fatal.
 * Resolves with the uuid of each identity registered, by offering name.
 */
export async function registerIdentities(
  offerings: readonly OfferingRuntime[],
  selected: readonly LoopName[],
  deps: Pick<AgentDeps, "clock" | "log" | "version">,
): Promise<Map<string, string>> {
  const identities = new Map<string, string>();
  const modes: Record<LoopName, string> = {
    orders: "order_process",
    membership: "membership_sync",
    usage: "report",
  };
  await Promise.all(offerings.map(async (o) => {
    const services = selected.filter((l) => o.config.loops[l]).map((l) => modes[l]);
    if (o.config.events) services.push("event_process");
    try {
      identities.set(
        o.config.name,
        await o.waldur.registerIdentity(
          o.config.offeringUuid,
          deps.version,
          services,
          new Date(deps.clock.now()).toISOString(),
        ),
      );
    } catch (error) {
      deps.log.warn(
        `offering ${o.config.name}: agent identity not registered (${
          error instanceof Error ? error.message : String(error)
        })`,
      );
    }
  }));
  return identities;
}
