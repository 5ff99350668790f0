/**
 * The interface every backend (Harbor, Rancher, the in-memory test backend) implements, and the
 * plugin shape that registers a `backend_type`. Processors are backend-agnostic: they speak
 * only this interface.
 */
import { z } from "zod";
import type { Clock } from "./clock.ts";
import type { ComponentConfig, LoopName } from "./config.ts";
import type { ComponentMapping } from "./config_hints.ts";
import type { Fetch } from "./http.ts";
import type { Exchange } from "./http.ts";
import type { Logger } from "./log.ts";
import type { RegistryAccess } from "./registry_access.ts";
import type { Presentation } from "./presentation.ts";
import type { AuditEvent } from "./store.ts";

/** Limits in Waldur units, component type → amount. */
export type Limits = Record<string, number>;

/** A Waldur resource as a backend needs it. */
export interface ResourceSpec {
  uuid: string;
  name: string;
  slug: string;
  projectUuid: string;
  projectSlug: string;
  projectName: string;
  customerUuid: string;
  customerSlug: string;
  customerName: string;
  /** "" until Waldur knows it. */
  backendId: string;
  limits: Limits;
}

/** What `ensure` found or made. */
export interface EnsureResult {
  backendId: string;
  /** The limits in force; differs from the spec's only where a default filled a gap. */
  limits: Limits;
  /** True when the backend object already existed and was adopted. */
  adopted: boolean;
}

/** A resource with the usernames of its Waldur project team. */
export interface MemberSync {
  resource: ResourceSpec;
  usernames: readonly string[];
}

/** What a membership pass tells the backend besides its items. */
export interface PassContext {
  /** Waldur projects with a resource an order is changing (or not yet made). */
  busyProjects: ReadonlySet<string>;
  /**
   * The Waldur projects this pass covers (a scoped pass, asked for by events); undefined for the
   * whole offering. Everything a backend keeps for a project outside the scope (a team robot, a
   * Keycloak group, a pull secret, a status row) is left exactly as it is: the pass did not read
   * that project, so its absence from the items says nothing.
   */
  scope?: ReadonlySet<string> | undefined;
}

/** A set of Waldur projects as a planner asks it: is this one in? */
export interface ProjectSet {
  has(projectUuid: string): boolean;
}

/**
 * The Waldur projects a pass must leave as they are: the busy ones, and on a scoped pass every
 * project outside its scope (including "", the project of something that names none).
 */
export function leftAlone(pass?: PassContext): ProjectSet {
  const busy = pass?.busyProjects ?? new Set<string>();
  const scope = pass?.scope;
  return { has: (p) => busy.has(p) || (scope !== undefined && !scope.has(p)) };
}

/** Per-resource outcome of a pass: changes made, or the error that stopped it. */
export type Outcome = { ok: true; changes: number } | { ok: false; error: unknown };

/** Per-resource usage: amounts in Waldur units, or why it could not be read. */
export type UsageResult = { ok: true; amounts: Record<string, number> } | {
  ok: false;
  error: unknown;
};

/** One check of `berth diagnose`. */
export interface Check {
  name: string;
  ok: boolean;
  detail: string;
  /**
   * The loops that need it to pass; a failure that none of the offering's configured loops needs
   * is a warning, not a failure. Absent: every loop needs it.
   */
  needs?: readonly LoopName[];
  /** Neither a pass nor a failure: what was not checked (`skip`), or how it was (`info`). */
  note?: "skip" | "info";
}

/** One planned change, as `berth plan` prints it. */
export interface PlannedAction {
  target: string;
  action: string;
  detail: string;
}

/** The Waldur order types a backend acts on. */
export type OrderType = "Create" | "Update" | "Terminate";

/**
 * What a backend's plan brings a resource to: `create` (a Create order: made when missing, or
 * adopted when it may be), `keep` (the membership pass: drift repaired, nothing made),
 * `limits` (an Update: the quota only) or `delete` (a Terminate).
 */
export type Goal = "create" | "keep" | "limits" | "delete";

/** The goal of an order type. */
export function goalOf(type: OrderType): Goal {
  return type === "Create" ? "create" : type === "Update" ? "limits" : "delete";
}

/** A backend: one external system behind one offering. */
export interface Backend {
  readonly kind: string;
  /**
   * True when access hangs on groups Berth fills (Keycloak): a Create then passes the Waldur
   * project's team to `ensure`, so the team has access when the order is done.
   */
  readonly needsTeam?: boolean;
  /**
   * Creates what is missing, adopts what exists; never duplicates. With `team` (usernames of the
   * Waldur project), the team is put where access hangs before it resolves.
   */
  ensure(resource: ResourceSpec, team?: readonly string[]): Promise<EnsureResult>;
  /** Applies new limits to an existing resource. */
  setLimits(resource: ResourceSpec, limits: Limits): Promise<void>;
  /**
   * Deletes the resource. Resolves "deleted" or "absent" only when it is really gone; a refusal
   * (policy, non-empty) is thrown as a terminal error.
   */
  remove(resource: ResourceSpec): Promise<"deleted" | "absent">;
  /**
   * What still keeps a refused termination from happening (images, volume claims), or null when
   * nothing does any more (or the object is gone). Only read for resources whose Terminate was
   * refused; without it a refusal stands until a new order of the resource is done.
   */
  removalBlocker?(resource: ResourceSpec): Promise<string | null>;
  /**
   * The membership pass: repairs drift and syncs members of every resource at once. What a
   * backend keeps per Waldur project (a team robot) is left as it is for `busyProjects`, whose
   * resources an order is changing, and, on a scoped pass, for every project outside `scope`.
   */
  reconcile(items: readonly MemberSync[], pass?: PassContext): Promise<Map<string, Outcome>>;
  /** Usage of every resource, read with list calls where the system allows. */
  usage(resources: readonly ResourceSpec[]): Promise<Map<string, UsageResult>>;
  /** What a membership pass would change, changing nothing. */
  plan(items: readonly MemberSync[]): Promise<PlannedAction[]>;
  /**
   * What an order would change, changing nothing, in the same words as {@link plan}: the
   * observation and plan `ensure`, `setLimits` and `remove` apply.
   */
  planOrder(type: OrderType, resource: ResourceSpec): Promise<PlannedAction[]>;
  /**
   * Reachability, credentials and permissions; with `teams` (the Waldur teams of its resources,
   * read for a backend that {@link needsTeam}), the checks that need them (Harbor: the team
   * members' OIDC identities).
   */
  diagnose(teams?: readonly MemberSync[]): Promise<Check[]>;
}

/** What a backend receives when it is built. */
export interface BackendContext<S> {
  offering: string;
  /** The offering's Waldur uuid. */
  offeringUuid: string;
  /** Registry access between the config's offerings: team robots → pull secrets. */
  registry: RegistryAccess;
  settings: S;
  components: Record<string, ComponentConfig>;
  fetch: Fetch;
  /** A fetch that also trusts the given CA certificates (PEM), for self-signed servers. */
  tlsFetch: (caPem: string) => Fetch;
  /** Reads a file named in the settings (a CA certificate). */
  readFile: (path: string) => string;
  clock: Clock;
  log: Logger;
  /** Records a change made to an external system. */
  audit: (event: Omit<AuditEvent, "at" | "offering">) => void;
  onExchange: (exchange: Exchange) => void;
  /**
   * Publishes the backend's view for the status page: a function, called when the page or
   * /metrics is read (at most once per publish), so publishing after every change is cheap.
   */
  publish: (snapshot: () => BackendSnapshot) => void;
  /** Requests a pass keeps in flight for per-project reads and changes (`concurrency`). */
  concurrency: number;
  /** Registers a secret obtained at run time (a token) with the redactor. */
  onSecret: (value: string) => void;
  /**
   * The resources of this offering (any state but Terminated) whose Waldur `backend_id` is
   * `backendId`: who else claims an object before Berth changes it.
   */
  claimedBy: (backendId: string) => Promise<string[]>;
  /** What the state file remembers Berth created or adopted, per resource. */
  owned: OwnershipLedger;
}

/** Berth's record of the backend objects it created or adopted, by resource uuid. */
export interface OwnershipLedger {
  get(resourceUuid: string): string | undefined;
  /** The resource recorded as holding `backendId`, if any. */
  holder(backendId: string): string | undefined;
  record(resourceUuid: string, backendId: string): void;
  forget(resourceUuid: string): void;
}

/**
 * What a backend shows on the status page. Each kind defines its own rows: its plugin's
 * presentation parses them (`kind` is the plugin's `type`); groups are Keycloak group rows.
 */
export const BackendSnapshot = z.object({
  kind: z.string(),
  at: z.number(),
  rows: z.array(z.record(z.string(), z.unknown())),
  /** Identity groups the backend keeps (Keycloak), when it keeps any. */
  groups: z.array(z.record(z.string(), z.unknown())).optional(),
  /** Further tables of rows, by the name a presentation reads them under (`table`). */
  tables: z.record(z.string(), z.array(z.record(z.string(), z.unknown()))).optional(),
});
/** What a backend shows on the status page. */
export type BackendSnapshot = z.infer<typeof BackendSnapshot>;

/** A `backend_type`: its settings schema and its factory. */
export interface BackendPlugin<S = unknown> {
  type: string;
  settings: z.ZodType<S>;
  create(context: BackendContext<S>): Backend;
  /**
   * Where this offering's objects live (server, cluster) and the prefix of their names. Two
   * offerings of one config in one place whose prefixes overlap (one starts with the other:
   * `waldur-` and `waldur-lab-`) would take each other's objects for their own: that is a
   * configuration error.
   */
  scope?(settings: S): { where: string; prefix: string };
  /** Which of `backend_components` it limits or reports; check-config warns about the others. */
  components?: ComponentMapping;
  /**
   * How its rows are shown, one presentation per table (its sections of the status page and its
   * metrics): the first shows `rows`, any other the snapshot's `tables[table]`. Without it the
   * backend's snapshots are in `/api/status` only.
   */
  presentations?: readonly Presentation[];
}
