/**
 * The Harbor backend: one Harbor project per Waldur resource (`allocation_prefix` + slug) with
 * a storage quota from the resource's limit, and one OIDC group per Waldur project
 * (`oidc_group_prefix` + project slug) that is a member of each of that project's Harbor
 * projects with `project_role_id`. Deletes never pretend: a project that still holds
 * repositories is refused (or purged, by setting). Observation uses list calls, so a pass over
 * thousands of projects costs a few dozen requests plus one members read per project.
 */
import { z } from "zod";
import type {
  Backend,
  BackendContext,
  BackendPlugin,
  Check,
  EnsureResult,
  Limits,
  MemberSync,
  Outcome,
  PlannedAction,
  ResourceSpec,
  UsageResult,
} from "../backend.ts";
import { errorMessage, HttpError, isTransient, terminal } from "../errors.ts";
import { forEachLimit } from "../pool.ts";
import { KeyedLock } from "../keyed_lock.ts";
import { SingleFlight } from "../single_flight.ts";
import { backendFetch, warnKeycloakVerify } from "../tls.ts";
import { createChecks } from "../checks.ts";
import { createHarborClient, type HarborClient } from "./client.ts";
import {
  derivedName,
  describeAction,
  formatBytes,
  type GroupMember,
  groupName,
  type HarborAction,
  harborTarget,
  type Naming,
  type Observed,
  planHarbor,
  projectName,
  quotaBytes,
  storageGb,
} from "./plan.ts";
import { GIB, projectNameProblem, type UserGroup } from "./schemas.ts";
import { createKeycloakClient, KeycloakSettings } from "../keycloak/client.ts";
import { createKeycloakGroupSync, type KeycloakGroupSync } from "../keycloak/sync.ts";

/** `backend_settings` of a Harbor offering (the Python plugin's keys, plus Berth's own). */
export const HarborSettings = z.object({
  harbor_url: z.string().url(),
  robot_username: z.string().min(1),
  robot_password: z.string().min(1),
  default_storage_quota_gb: z.number().min(0).default(10),
  oidc_group_prefix: z.string().default("waldur-"),
  allocation_prefix: z.string().default("waldur-"),
  project_role_id: z.number().int().min(1).default(2),
  /** What Terminate does with a project that still holds repositories. */
  termination: z.enum(["refuse", "purge"]).default("refuse"),
  verify_cert: z.boolean().default(true),
  /** PEM file of the CA that signed Harbor's certificate (self-signed registries). */
  ca_file: z.string().min(1).optional(),
  /** Keep each OIDC group in Keycloak too, with the Waldur project team as members. */
  keycloak: KeycloakSettings.optional(),
}).strict();
export type HarborSettings = z.infer<typeof HarborSettings>;

/** One Harbor project as the status page shows it. */
export interface HarborRow extends Record<string, unknown> {
  project: string;
  resource: string;
  resourceName: string;
  quotaBytes: number | null;
  usedBytes: number | null;
  repositories: number | null;
  group: string;
  groupBound: boolean | null;
  flags: string[];
}

const NEAR_QUOTA = 0.9;
const ROLE_NAMES: Record<number, string> = {
  1: "project admin",
  2: "developer",
  3: "guest",
  4: "maintainer",
  5: "limited guest",
};

/** Options that tests and the factory share. */
export interface HarborBackendOptions {
  context: BackendContext<HarborSettings>;
  client?: HarborClient;
  keycloak?: KeycloakGroupSync;
}

/** The Harbor backend. */
export class HarborBackend implements Backend {
  readonly kind = "harbor";
  readonly client: HarborClient;
  readonly naming: Naming;
  readonly #ctx: BackendContext<HarborSettings>;
  readonly #settings: HarborSettings;
  readonly #keycloak: KeycloakGroupSync | undefined;
  readonly #rows = new Map<string, HarborRow>();
  readonly #adopted = new Set<string>();
  /** OIDC group ids Berth has seen (refreshed by every membership pass's list). */
  readonly #groupIds = new Map<string, number>();
  readonly #groupFlights = new SingleFlight<UserGroup>();
  readonly #creates = new KeyedLock();
  /** Resources whose project a Terminate removed: their rows stay off the page. */
  readonly #gone = new Set<string>();
  readonly #kcFlights = new SingleFlight<Map<string, Outcome>>();

  constructor(options: HarborBackendOptions) {
    this.#ctx = options.context;
    this.#settings = options.context.settings;
    this.#keycloak = options.keycloak;
    this.naming = {
      allocationPrefix: this.#settings.allocation_prefix,
      oidcGroupPrefix: this.#settings.oidc_group_prefix,
      defaultStorageGb: this.#settings.default_storage_quota_gb,
      roleId: this.#settings.project_role_id,
    };
    this.client = options.client ?? createHarborClient({
      url: this.#settings.harbor_url,
      username: this.#settings.robot_username,
      password: this.#settings.robot_password,
      fetch: this.#ctx.fetch,
      clock: this.#ctx.clock,
      onExchange: this.#ctx.onExchange,
    });
  }

  // ---- orders ------------------------------------------------------------------------------

  get needsTeam(): boolean {
    return this.#keycloak !== undefined;
  }

  async ensure(resource: ResourceSpec, team?: readonly string[]): Promise<EnsureResult> {
    const name = this.#target(resource);
    const problem = projectNameProblem(name);
    if (problem) {
      throw terminal("harbor", `cannot create Harbor project "${name}": ${problem}`);
    }
    const gb = storageGb(resource, this.naming);
    const bytes = quotaBytes(gb);
    // One Create per project name at a time: two tenants ordering one slug in one pass are told
    // apart by the record the first leaves, not by how their answers interleave.
    const { projectId, adopted } = await this.#creates.run(
      name,
      () => this.#createOrAdopt(resource, name, bytes),
    );
    if (this.#keycloak && team) {
      // Access at Create: the team is in the Keycloak group before the order is done, and a group
      // that is another Waldur project's is refused before the project is bound to its name.
      // An outage is logged and the membership pass makes up for it.
      const group = groupName(resource, this.naming);
      const keycloak = this.#keycloak;
      // orders of one Waldur project side by side: one sync of its group, not one each
      const synced = await this.#kcFlights.run(
        [group, resource.projectUuid, ...team].join("\u0000"),
        () =>
          keycloak.sync([{
            group,
            resource: resource.uuid,
            projectUuid: resource.projectUuid,
            usernames: team,
          }], { partial: true }),
      );
      const [outcome] = synced.values();
      if (outcome && !outcome.ok) {
        if (!isTransient(outcome.error)) throw outcome.error;
        this.#ctx.log.warn(
          `Keycloak group ${group} not synced at Create (${
            errorMessage(outcome.error)
          }); the membership pass will`,
        );
      }
    }
    await this.#bindGroup(name, projectId, groupName(resource, this.naming));
    this.#row(resource, name, { quotaBytes: bytes, usedBytes: adopted ? null : 0 });
    this.#publish();
    return { backendId: name, limits: { ...resource.limits, storage: gb }, adopted };
  }

  /** Creates the project, or adopts the one of that name when it may (see the comments). */
  async #createOrAdopt(
    resource: ResourceSpec,
    name: string,
    bytes: number,
  ): Promise<{ projectId: number; adopted: boolean }> {
    try {
      const projectId = await this.client.createProject(name, bytes);
      this.#ctx.owned.record(resource.uuid, name);
      this.#audit("create project", name, `storage quota ${formatBytes(bytes)}`);
      return { projectId, adopted: false };
    } catch (error) {
      if (!(error instanceof HttpError && error.status === 409)) throw error;
      // The exact name exists. It is this resource's if Berth recorded creating it (a crash
      // before set_backend_id); otherwise only an unclaimed, empty project is adopted: one that
      // holds images or that another resource holds would hand a tenant someone else's data.
      const existing = await this.client.projectByName(name);
      if (!existing) throw error;
      const holder = this.#ctx.owned.holder(name);
      const others = [
        ...new Set([
          ...await this.#claimants(name, resource),
          ...(holder !== undefined && holder !== resource.uuid ? [holder] : []),
        ]),
      ];
      const repos = existing.repo_count ?? 0;
      if (others.length > 0) {
        throw terminal(
          "harbor",
          `Harbor project ${name} already exists and belongs to resource ${
            others.join(", ")
          } of this offering; it was not adopted and nothing was changed`,
        );
      }
      if (this.#ctx.owned.get(resource.uuid) !== name && repos > 0) {
        throw terminal(
          "harbor",
          `Harbor project ${name} already exists, holds ${repos} ${
            repos === 1 ? "repository" : "repositories"
          } and was not created by Berth for this resource; it was not adopted and nothing ` +
            "was changed. If it is left over from an earlier resource, delete or rename it in " +
            "Harbor, then retry the order",
        );
      }
      const projectId = existing.project_id;
      this.#ctx.owned.record(resource.uuid, name);
      this.#adopted.add(name);
      this.#ctx.log.warn(
        `Harbor project ${name} already exists; adopting it for resource ${resource.name}`,
        { project: name, resource: resource.uuid },
      );
      this.#audit("adopt project", name, `existing project ${projectId}`);
      await this.#applyQuota(name, projectId, bytes);
      return { projectId, adopted: true };
    }
  }

  async setLimits(resource: ResourceSpec, limits: Limits): Promise<void> {
    const name = this.#target(resource);
    await this.#unclaimed(name, resource);
    const project = await this.client.projectByName(name);
    if (!project) {
      throw terminal(
        "harbor",
        `cannot change the quota of ${name}: the Harbor project does not exist`,
      );
    }
    const gb = limits.storage ?? storageGb(resource, this.naming);
    const used = await this.#applyQuota(name, project.project_id, quotaBytes(gb));
    this.#row(resource, name, { quotaBytes: quotaBytes(gb), usedBytes: used });
    this.#publish();
  }

  async remove(resource: ResourceSpec): Promise<"deleted" | "absent"> {
    const name = this.#target(resource);
    if (resource.backendId === "" && this.#ctx.owned.get(resource.uuid) !== name) {
      // Waldur names no project for this resource and Berth made none for it: a project of that
      // name is someone else's (one whose adoption was refused, or made by hand), not this one's
      this.#gone.add(resource.uuid);
      this.#publish();
      return "absent";
    }
    await this.#unclaimed(name, resource);
    const project = await this.client.projectByName(name);
    if (!project) {
      this.#ctx.owned.forget(resource.uuid);
      this.#gone.add(resource.uuid);
      this.#rows.delete(name);
      this.#publish();
      return "absent";
    }
    const id = project.project_id;
    const repoCount = project.repo_count ?? 0;
    if (repoCount > 0) {
      if (this.#settings.termination === "refuse") {
        const quota = await this.client.projectQuota(id).catch(() => null);
        const used = quota?.used?.storage;
        throw terminal(
          "harbor",
          `Harbor project ${name} still holds ${repoCount} ${
            repoCount === 1 ? "repository" : "repositories"
          }${
            used === undefined ? "" : ` (${formatBytes(used)})`
          }; it was not deleted (termination: refuse). Delete its images, or set termination: purge`,
        );
      }
      await this.#purge(name);
    }
    try {
      await this.client.deleteProject(id);
    } catch (error) {
      if (error instanceof HttpError && error.status === 404) {
        this.#ctx.owned.forget(resource.uuid);
        this.#gone.add(resource.uuid);
        this.#rows.delete(name);
        this.#publish();
        return "absent";
      }
      if (error instanceof HttpError && error.status === 412) {
        throw terminal(
          "harbor",
          `Harbor refused to delete project ${name} (HTTP 412: ${error.bodyExcerpt}); it was not deleted`,
          error,
        );
      }
      throw error;
    }
    this.#ctx.owned.forget(resource.uuid);
    this.#gone.add(resource.uuid);
    this.#audit(
      "delete project",
      name,
      repoCount > 0 ? `after purging ${repoCount} repositories` : "",
    );
    this.#rows.delete(name);
    this.#publish();
    return "deleted";
  }

  async removalBlocker(resource: ResourceSpec): Promise<string | null> {
    const target = harborTarget(resource, this.naming, this.#ctx.owned.get(resource.uuid));
    if ("refusal" in target) return target.refusal;
    const project = await this.client.projectByName(target.name);
    const repos = project?.repo_count ?? 0;
    return repos > 0 && this.#settings.termination === "refuse"
      ? `Harbor project ${target.name} still holds ${repos} ${
        repos === 1 ? "repository" : "repositories"
      }`
      : null;
  }

  // ---- ownership ---------------------------------------------------------------------------

  /** The project this resource may act on ({@link harborTarget}); a refusal is terminal. */
  #target(resource: ResourceSpec): string {
    const target = harborTarget(resource, this.naming, this.#ctx.owned.get(resource.uuid));
    if ("refusal" in target) throw terminal("harbor", target.refusal);
    return target.name;
  }

  /** Other resources of the offering whose Waldur backend_id is `name`. */
  async #claimants(name: string, resource: ResourceSpec): Promise<string[]> {
    return (await this.#ctx.claimedBy(name)).filter((uuid) => uuid !== resource.uuid);
  }

  /** Refuses when another resource of the offering holds `name` in Waldur. */
  async #unclaimed(name: string, resource: ResourceSpec): Promise<void> {
    const others = await this.#claimants(name, resource);
    if (others.length > 0) {
      throw terminal(
        "harbor",
        `Harbor project ${name} is held by another resource of this offering (${
          others.join(", ")
        }); nothing was changed`,
      );
    }
  }

  /**
   * Splits a pass's resources into those that may act on their project (with `backendId` set
   * to it) and those that may not, with why: a foreign backend_id, or a project two resources
   * of the pass claim.
   */
  #partition(resources: readonly ResourceSpec[]): {
    allowed: ResourceSpec[];
    refused: Map<string, string>;
  } {
    const refused = new Map<string, string>();
    const byName = new Map<string, ResourceSpec[]>();
    for (const r of resources) {
      const target = harborTarget(r, this.naming, this.#ctx.owned.get(r.uuid));
      if ("refusal" in target) refused.set(r.uuid, target.refusal);
      else {byName.set(target.name, [...byName.get(target.name) ?? [], {
          ...r,
          backendId: target.name,
        }]);}
    }
    const allowed: ResourceSpec[] = [];
    for (const [name, holders] of byName) {
      if (holders.length === 1) allowed.push(...holders);
      else {
        for (const r of holders) {
          refused.set(
            r.uuid,
            `Harbor project ${name} is claimed by ${holders.length} resources of this offering (${
              holders.map((h) => h.uuid).join(", ")
            }); nothing was changed for any of them`,
          );
        }
      }
    }
    return { allowed, refused };
  }

  /** Deletes every repository of a project, page by page, until none is left. */
  async #purge(name: string): Promise<void> {
    for (let round = 0; round < 10_000; round++) {
      const repositories = await this.client.listRepositories(name);
      if (repositories.length === 0) return;
      for (const repo of repositories) {
        await this.client.deleteRepository(name, repo.name);
        this.#audit("delete repository", repo.name, "termination: purge");
      }
    }
    throw terminal("harbor", `repositories of ${name} keep reappearing; not deleted`);
  }

  /** Sets the quota when it differs; resolves the storage used. Flags a quota below usage. */
  async #applyQuota(name: string, projectId: number, bytes: number): Promise<number | null> {
    const quota = await this.client.projectQuota(projectId);
    if (!quota) {
      throw terminal(
        "harbor",
        `Harbor project ${name} has no quota; enable per-project quotas in Harbor's system settings`,
      );
    }
    const used = quota.used?.storage ?? null;
    if (quota.hard?.storage !== bytes) {
      await this.client.updateQuota(quota.id, bytes);
      this.#audit(
        "set quota",
        name,
        `${formatBytes(quota.hard?.storage ?? -1)} → ${formatBytes(bytes)}`,
      );
    }
    if (used !== null && bytes >= 0 && used > bytes) {
      this.#ctx.log.warn(
        `Harbor project ${name}: the new quota ${formatBytes(bytes)} is below the ${
          formatBytes(used)
        } already used; pushes will fail until images are deleted`,
      );
    }
    return used;
  }

  /** Finds or creates the OIDC group and makes it a member of the project. */
  async #bindGroup(project: string, projectId: number, group: string): Promise<void> {
    for (let attempt = 1;; attempt++) {
      const g = await this.#ensureGroup(group);
      try {
        await this.client.addGroupMember(projectId, g, this.naming.roleId);
        this.#audit("add group member", project, `${group} as ${this.#role(this.naming.roleId)}`);
        return;
      } catch (error) {
        // Already a member; its role is checked by the membership pass.
        if (error instanceof HttpError && error.status === 409) return;
        // A known group id Harbor no longer has (deleted by hand): look it up again, once.
        if (error instanceof HttpError && error.status === 400 && attempt === 1) {
          this.#groupIds.delete(group);
          continue;
        }
        throw error;
      }
    }
  }

  /**
   * The OIDC group of this name, found or created once: orders of one Waldur project running
   * side by side share one lookup and one create, and a known id needs no lookup at all.
   */
  #ensureGroup(name: string): Promise<UserGroup> {
    const id = this.#groupIds.get(name);
    if (id !== undefined) return Promise.resolve({ id, group_name: name, group_type: 3 });
    return this.#groupFlights.run(name, async () => {
      const group = await this.#findOrCreateGroup(name);
      this.#groupIds.set(name, group.id);
      return group;
    });
  }

  async #findOrCreateGroup(name: string): Promise<UserGroup> {
    const found = await this.client.findGroup(name);
    if (found) return found;
    try {
      const id = await this.client.createGroup(name);
      this.#audit("create group", name, "OIDC group");
      return { id, group_name: name, group_type: 3 };
    } catch (error) {
      if (!(error instanceof HttpError && error.status === 409)) throw error;
      const again = await this.client.findGroup(name);
      if (!again) throw error;
      return again;
    }
  }

  // ---- membership --------------------------------------------------------------------------

  /** Reads everything a plan needs: three paged lists and one members read per project. */
  async observe(resources: readonly ResourceSpec[]): Promise<Observed> {
    const [projects, quotas, groups] = await Promise.all([
      this.client.listProjects(),
      this.client.listQuotas(),
      this.client.listGroups(),
    ]);
    const byName = new Map(
      projects.map((p) => [p.name, { id: p.project_id, repoCount: p.repo_count ?? 0 }]),
    );
    const quotaMap = new Map<number, { id: number; hard: number; used: number }>();
    for (const q of quotas) {
      const ref = q.ref?.id;
      if (ref === undefined) continue;
      quotaMap.set(ref, { id: q.id, hard: q.hard?.storage ?? -1, used: q.used?.storage ?? 0 });
    }
    const groupMap = new Map<string, number>();
    for (const g of groups) {
      if (g.group_type === undefined || g.group_type === 3) groupMap.set(g.group_name, g.id);
    }
    this.#groupIds.clear();
    for (const [name, id] of groupMap) this.#groupIds.set(name, id);
    const ids = new Set<number>();
    for (const r of resources) {
      const p = byName.get(projectName(r, this.naming));
      if (p) ids.add(p.id);
    }
    const members = new Map<number, GroupMember[] | Error>();
    await forEachLimit([...ids], this.#ctx.concurrency, async (id) => {
      try {
        const list = await this.client.listMembers(id);
        members.set(
          id,
          list.filter((m) => m.entity_type === "g").map((m) => ({
            memberId: m.id,
            groupId: m.entity_id ?? 0,
            groupName: m.entity_name ?? "",
            roleId: m.role_id ?? 0,
          })),
        );
      } catch (error) {
        members.set(id, error instanceof Error ? error : new Error(String(error)));
      }
    });
    return { projects: byName, quotas: quotaMap, groups: groupMap, members };
  }

  async reconcile(all: readonly MemberSync[]): Promise<Map<string, Outcome>> {
    const { allowed, refused } = this.#partition(all.map((i) => i.resource));
    const mine = new Map(allowed.map((r) => [r.uuid, r]));
    const items = all.flatMap((i) => {
      const resource = mine.get(i.resource.uuid);
      return resource ? [{ ...i, resource }] : [];
    });
    const resources = items.map((i) => i.resource);
    // The Keycloak groups' members do not depend on Harbor: both systems are worked side by side,
    // and a Harbor that cannot be read fails the pass only once Keycloak's part has finished.
    const [settled, kc] = await Promise.all([
      this.#reconcileHarbor(resources).then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
      this.#keycloak?.sync(
        items.map((i) => ({
          group: groupName(i.resource, this.naming),
          resource: i.resource.uuid,
          projectUuid: i.resource.projectUuid,
          usernames: i.usernames,
        })),
      ),
    ]);
    if (!settled.ok) throw settled.error;
    const harbor = settled.value;
    const outcomes = harbor.outcomes;
    for (const [uuid, outcome] of kc ?? []) {
      const o = outcomes.get(uuid);
      if (!o?.ok) continue;
      outcomes.set(uuid, outcome.ok ? { ok: true, changes: o.changes + outcome.changes } : outcome);
    }
    this.#observeRows(resources, harbor.observed, harbor.actions, harbor.problems);
    this.#refusedRows(all.map((i) => i.resource), refused, outcomes);
    this.#publish();
    return outcomes;
  }

  /** Refused resources: a terminal outcome each, and a row flagged "not owned". */
  #refusedRows(
    resources: readonly ResourceSpec[],
    refused: ReadonlyMap<string, string>,
    outcomes?: Map<string, Outcome>,
  ): void {
    for (const r of resources) {
      const why = refused.get(r.uuid);
      if (why === undefined) continue;
      outcomes?.set(r.uuid, { ok: false, error: terminal("harbor", why) });
      this.#row(r, r.backendId || derivedName(r, this.naming), {
        quotaBytes: null,
        usedBytes: null,
        repositories: null,
        groupBound: null,
        flags: ["not owned"],
      });
    }
  }

  /** Harbor's part of a membership pass: observe, plan, repair. */
  async #reconcileHarbor(resources: readonly ResourceSpec[]) {
    const observed = await this.observe(resources);
    const { actions, problems } = planHarbor(resources, observed, this.naming);
    const outcomes = new Map<string, Outcome>();
    for (const r of resources) outcomes.set(r.uuid, { ok: true, changes: 0 });
    for (const [uuid, problem] of problems) {
      outcomes.set(uuid, { ok: false, error: terminal("harbor", problem) });
    }
    const groupIds = new Map(observed.groups);
    for (const action of actions) {
      try {
        await this.#apply(action, groupIds);
        for (const uuid of action.resources) {
          const o = outcomes.get(uuid);
          if (o?.ok) outcomes.set(uuid, { ok: true, changes: o.changes + 1 });
        }
      } catch (error) {
        for (const uuid of action.resources) outcomes.set(uuid, { ok: false, error });
      }
    }
    return { observed, actions, problems, outcomes };
  }

  /** Performs one planned action. */
  async #apply(action: HarborAction, groupIds: Map<string, number>): Promise<void> {
    const { target, detail } = describeAction(action);
    switch (action.kind) {
      case "create-group": {
        const g = await this.#ensureGroup(action.group);
        groupIds.set(action.group, g.id);
        return;
      }
      case "set-quota":
        await this.client.updateQuota(action.quotaId, action.toBytes);
        this.#audit("repair quota", target, detail);
        return;
      case "add-member": {
        let id = groupIds.get(action.group);
        if (id === undefined) {
          id = (await this.#ensureGroup(action.group)).id;
          groupIds.set(action.group, id);
        }
        try {
          await this.client.addGroupMember(
            action.projectId,
            { id, group_name: action.group, group_type: 3 },
            action.roleId,
          );
        } catch (error) {
          if (!(error instanceof HttpError && error.status === 409)) throw error;
        }
        this.#audit("repair group member", target, detail);
        return;
      }
      case "set-role":
        await this.client.updateMemberRole(action.projectId, action.memberId, action.toRole);
        this.#audit("repair member role", target, detail);
        return;
    }
  }

  async plan(all: readonly MemberSync[]): Promise<PlannedAction[]> {
    const { allowed, refused } = this.#partition(all.map((i) => i.resource));
    const mine = new Map(allowed.map((r) => [r.uuid, r]));
    const items = all.flatMap((i) => {
      const resource = mine.get(i.resource.uuid);
      return resource ? [{ ...i, resource }] : [];
    });
    const resources = items.map((i) => i.resource);
    const observed = await this.observe(resources);
    const { actions, problems } = planHarbor(resources, observed, this.naming);
    const out: PlannedAction[] = actions.map((a) => ({ action: a.kind, ...describeAction(a) }));
    for (const i of all) {
      const why = refused.get(i.resource.uuid);
      if (why !== undefined) {
        out.push({
          target: i.resource.backendId || i.resource.name,
          action: "refused",
          detail: why,
        });
      }
    }
    for (const r of resources) {
      const problem = problems.get(r.uuid);
      if (problem) {
        out.push({ target: projectName(r, this.naming), action: "problem", detail: problem });
      }
    }
    if (this.#keycloak) {
      out.push(
        ...await this.#keycloak.plan(
          items.map((i) => ({
            group: groupName(i.resource, this.naming),
            resource: i.resource.uuid,
            projectUuid: i.resource.projectUuid,
            usernames: i.usernames,
          })),
        ),
      );
    }
    return out;
  }

  // ---- usage -------------------------------------------------------------------------------

  async usage(all: readonly ResourceSpec[]): Promise<Map<string, UsageResult>> {
    const out = new Map<string, UsageResult>();
    const { allowed: resources, refused } = this.#partition(all);
    for (const [uuid, why] of refused) out.set(uuid, { ok: false, error: terminal("harbor", why) });
    this.#refusedRows(all, refused);
    let quotas;
    try {
      quotas = await this.client.listQuotas();
    } catch (error) {
      for (const r of resources) out.set(r.uuid, { ok: false, error });
      return out;
    }
    const byName = new Map<string, { hard: number; used: number }>();
    for (const q of quotas) {
      if (q.ref?.name) {
        byName.set(q.ref.name, { hard: q.hard?.storage ?? -1, used: q.used?.storage ?? 0 });
      }
    }
    for (const r of resources) {
      const name = projectName(r, this.naming);
      const q = byName.get(name);
      if (!q) {
        out.set(r.uuid, {
          ok: false,
          error: terminal("harbor", `no quota found for Harbor project ${name}; usage not read`),
        });
        this.#row(r, name, { flags: ["not found"] });
        continue;
      }
      out.set(r.uuid, { ok: true, amounts: { storage: q.used / GIB } });
      this.#row(r, name, { quotaBytes: q.hard, usedBytes: q.used });
    }
    this.#publish();
    return out;
  }

  // ---- diagnose ----------------------------------------------------------------------------

  async diagnose(): Promise<Check[]> {
    const { checks, probe } = createChecks();
    const reachable = await probe("harbor reachable", async () => {
      const h = await this.client.health();
      const info = await this.client.systemInfo().catch(() => ({ harbor_version: undefined }));
      const sick = (h.components ?? []).filter((c) => c.status !== "healthy").map((c) => c.name);
      if (h.status !== "healthy") {
        throw new Error(`Harbor reports ${h.status}${sick.length ? ` (${sick.join(", ")})` : ""}`);
      }
      return `${this.client.apiBase} is healthy${
        info.harbor_version ? `, version ${info.harbor_version}` : ""
      }`;
    });
    if (!reachable) return checks;
    const authed = await probe(
      "harbor credentials",
      async () =>
        `${
          (await this.client.listProjects()).length
        } projects visible to ${this.#settings.robot_username}`,
    );
    if (!authed) return checks;
    const needed: [string, string, string][] = [
      ["project", "create", "create projects (Create orders)"],
      ["project", "delete", "delete projects (Terminate orders)"],
      ["quota", "update", "set storage quotas"],
      ["quota", "list", "read quotas and usage"],
      ["user-group", "create", "create OIDC groups"],
      ["user-group", "list", "list OIDC groups"],
      ["member", "create", "add OIDC groups to projects"],
      ["member", "list", "check project members"],
      ["member", "update", "repair a group's role"],
    ];
    if (this.#settings.termination === "purge") {
      needed.push(["repository", "list", "list repositories (termination: purge)"]);
      needed.push(["repository", "delete", "delete repositories (termination: purge)"]);
    }
    let held: Set<string> | undefined;
    try {
      const perms = await this.client.permissions();
      held = new Set(perms.map((p) => `${p.resource}:${p.action}`));
    } catch (error) {
      checks.push({
        name: "harbor permissions",
        ok: false,
        detail: `cannot read the robot's permissions (${errorMessage(error)}); probing instead`,
      });
    }
    if (held) {
      const missing = needed.filter(([r, a]) => !held.has(`${r}:${a}`) && !held.has(`${r}:*`));
      checks.push({
        name: "harbor permissions",
        ok: missing.length === 0,
        detail: missing.length === 0
          ? `the robot holds the ${needed.length} permissions Berth uses`
          : `the robot cannot ${missing.map(([, , what]) => what).join("; ")}. ` +
            "Grant these system-level permissions to the robot in Harbor (Administration → Robot Accounts): " +
            missing.map(([r, a]) => `${r} ${a}`).join(", "),
      });
    }
    // Read-only probes prove the list permissions in practice.
    await probe(
      "harbor quotas readable",
      async () => `${(await this.client.listQuotas()).length} project quotas`,
    );
    await probe(
      "harbor user groups readable",
      async () => `${(await this.client.listGroups()).length} user groups`,
    );
    if (this.#keycloak) checks.push(...await this.#keycloak.diagnose());
    return checks;
  }

  // ---- status ------------------------------------------------------------------------------

  #observeRows(
    resources: readonly ResourceSpec[],
    observed: Observed,
    actions: readonly HarborAction[],
    problems: ReadonlyMap<string, string>,
  ): void {
    const repaired = new Set(actions.flatMap((a) => a.kind === "add-member" ? a.resources : []));
    for (const r of resources) {
      const name = projectName(r, this.naming);
      const p = observed.projects.get(name);
      if (!p) {
        this.#row(r, name, {
          quotaBytes: null,
          usedBytes: null,
          repositories: null,
          groupBound: null,
          flags: ["not found"],
        });
        continue;
      }
      const q = observed.quotas.get(p.id);
      const members = observed.members.get(p.id);
      const bound = members instanceof Error
        ? null
        : (members ?? []).some((m) => m.groupName === groupName(r, this.naming)) ||
          (repaired.has(r.uuid) && !problems.has(r.uuid));
      this.#row(r, name, {
        quotaBytes: quotaBytes(storageGb(r, this.naming)),
        usedBytes: q?.used ?? null,
        repositories: p.repoCount,
        groupBound: bound,
      });
    }
  }

  /** Updates the status row of a project and recomputes its flags. */
  #row(resource: ResourceSpec, name: string, patch: Partial<HarborRow>): void {
    // a pass that read the project before a Terminate deleted it does not bring its row back
    if (this.#gone.has(resource.uuid)) return;
    const previous = this.#rows.get(name);
    const row: HarborRow = {
      project: name,
      resource: resource.uuid,
      resourceName: resource.name,
      quotaBytes: null,
      usedBytes: null,
      repositories: null,
      group: groupName(resource, this.naming),
      groupBound: null,
      flags: [],
      ...previous,
      ...patch,
    };
    const flags = new Set(patch.flags ?? []);
    if (!patch.flags?.includes("not found")) {
      const hard = row.quotaBytes;
      const used = row.usedBytes;
      if (hard !== null && used !== null && hard >= 0) {
        if (used > hard) flags.add("over quota");
        else if (hard > 0 && used >= NEAR_QUOTA * hard) flags.add("near quota");
      }
    }
    if (this.#adopted.has(name)) flags.add("adopted");
    row.flags = [...flags];
    this.#rows.set(name, row);
  }

  /** The status rows, for tests and the page. */
  rows(): HarborRow[] {
    return [...this.#rows.values()].sort((a, b) => a.project.localeCompare(b.project));
  }

  #publish(): void {
    const at = this.#ctx.clock.now();
    this.#ctx.publish(() => ({
      kind: "harbor",
      at,
      rows: this.rows(),
      ...(this.#keycloak ? { groups: this.#keycloak.groups() } : {}),
    }));
  }

  #audit(action: string, target: string, detail: string): void {
    this.#ctx.audit({
      system: "harbor",
      action,
      target,
      result: "ok",
      ...(detail ? { detail } : {}),
    });
  }

  #role(id: number): string {
    return ROLE_NAMES[id] ?? `role ${id}`;
  }
}

/** The `harbor` backend_type. */
export const harborPlugin: BackendPlugin<HarborSettings> = {
  type: "harbor",
  settings: HarborSettings,
  scope: (s) => ({
    where: `projects on ${
      s.harbor_url.replace(/\/+$/, "").replace(/\/api\/v2\.0$/, "").toLowerCase()
    }`,
    prefix: s.allocation_prefix,
  }),
  create: (context) => {
    const fetch = backendFetch(context, {
      server: "Harbor",
      verifyCert: context.settings.verify_cert,
      caFile: context.settings.ca_file,
    });
    const kc = context.settings.keycloak;
    if (!kc) return new HarborBackend({ context: { ...context, fetch } });
    warnKeycloakVerify(context, kc.keycloak_ssl_verify);
    const keycloak = createKeycloakGroupSync({
      client: createKeycloakClient({
        settings: kc,
        fetch: context.fetch,
        clock: context.clock,
        onExchange: context.onExchange,
        onSecret: context.onSecret,
      }),
      realm: kc.keycloak_realm,
      log: context.log,
      concurrency: context.concurrency,
      audit: (action, target, detail) =>
        context.audit({ system: "keycloak", action, target, result: "ok", detail }),
    });
    return new HarborBackend({ context: { ...context, fetch }, keycloak });
  },
};
