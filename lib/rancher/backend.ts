/**
 * The Rancher backend: one Rancher project per Waldur resource (`project_prefix` + slug) in
 * `cluster_id`, with CPU and memory quotas from the resource's limits and a default namespace;
 * with Keycloak, one child group per Waldur project and role under a parent group per cluster,
 * bound to the project with `default_role`, holding the Waldur project team. Every operation is
 * observe (`observe.ts`) → plan (`plan.ts`, pure) → apply (`apply.ts`); the groups are
 * `KeycloakGroups`'. A Keycloak outage never blocks Rancher work, and a group is deleted only
 * when no project still uses it.
 */
import {
  type Backend,
  type BackendContext,
  type Check,
  type EnsureResult,
  type Goal,
  goalOf,
  leftAlone,
  type Limits,
  type MemberSync,
  type OrderType,
  type Outcome,
  type PassContext,
  type PlannedAction,
  type ResourceSpec,
  type UsageResult,
} from "../backend.ts";
import { HttpError, isTransient, terminal } from "../errors.ts";
import type { KeycloakClient } from "../keycloak/client.ts";
import { KeycloakGroups } from "../keycloak/groups.ts";
import type { GroupRow } from "../keycloak/group_row.ts";
import { type GroupNeed, wantsOf } from "../keycloak/group_plan.ts";
import { countAction, joinOutcomes } from "../outcomes.ts";
import { forEachKeyed } from "../pool.ts";
import { KeyedLock } from "../keyed_lock.ts";
import { applyRancher, type RancherApplyContext } from "./apply.ts";
import { createRancherClient, type RancherClient } from "./client.ts";
import { diagnoseRancher } from "./diagnose.ts";
import { childGroup, parentGroup, projectName, type RancherNaming } from "./naming.ts";
import { observeCluster, observeProject, projectPart } from "./observe.ts";
import {
  describe,
  findProject,
  groupsInUse,
  groupStillUsed,
  planRancher,
  type RancherAction,
  type RancherObserved,
  type RancherPlan,
} from "./plan.ts";
import type { RancherRow } from "./present.ts";
import { PULL_TABLE, type PullSecretRow } from "./pull_present.ts";
import { PullSecrets } from "./pull_secrets.ts";
import { RancherRows } from "./rows.ts";
import { namespaceNameProblem, type Project } from "./schemas.ts";
import { rancherNaming, type RancherSettings } from "./settings.ts";
import { usageOf } from "./usage.ts";

/** Options that tests and the factory share. */
export interface RancherBackendOptions {
  context: BackendContext<RancherSettings>;
  client?: RancherClient;
  keycloak?: KeycloakClient;
}

/** The Rancher backend. */
export class RancherBackend implements Backend {
  readonly kind = "rancher";
  readonly client: RancherClient;
  readonly naming: RancherNaming;
  readonly #ctx: BackendContext<RancherSettings>;
  readonly #s: RancherSettings;
  readonly #groups: KeycloakGroups | undefined;
  readonly #rows: RancherRows;
  readonly #apply: RancherApplyContext;
  readonly #creates = new KeyedLock();
  readonly #pulls: PullSecrets | undefined;

  constructor(options: RancherBackendOptions) {
    this.#ctx = options.context;
    this.#s = options.context.settings;
    this.naming = rancherNaming(this.#s, this.#ctx.components);
    this.#rows = new RancherRows(this.naming);
    this.client = options.client ?? createRancherClient({
      url: this.#s.backend_url,
      auth: this.#s.token
        ? { token: this.#s.token }
        : { accessKey: this.#s.username ?? "", secretKey: this.#s.password ?? "" },
      fetch: this.#ctx.fetch,
      clock: this.#ctx.clock,
      onExchange: this.#ctx.onExchange,
    });
    this.#apply = {
      client: this.client,
      cluster: this.#s.cluster_id,
      namespaceLabels: this.#s.namespace_labels,
      adopted: this.#rows.adopted,
      audit: (action, target, detail, resource) =>
        this.#audit("rancher", action, target, detail, resource),
    };
    const pull = this.#s.image_pull_secret;
    this.#pulls = pull && new PullSecrets({
      ...this.#ctx,
      client: this.client,
      naming: this.naming,
      settings: pull,
      audit: (action, target, detail) => this.#audit("kubernetes", action, target, detail),
      onChange: () => this.#publish(),
    });
    if (options.keycloak) {
      this.#groups = new KeycloakGroups({
        client: options.keycloak,
        layout: { parent: parentGroup(this.naming) },
        parentDescription: `Cluster access group for ${this.#s.cluster_id}`,
        realm: this.#s.keycloak?.keycloak_realm ?? "",
        byId: this.#s.keycloak_use_user_id,
        concurrency: this.#ctx.concurrency,
        log: this.#ctx.log,
        audit: (action, target, detail) => this.#audit("keycloak", action, target, detail),
        onChange: () => this.#publish(),
        conflictHint: "binding it would give that project's team access; nothing was bound. " +
          "Give the projects distinct slugs or use {project_uuid_hex} in keycloak_child_group",
      });
    }
  }

  get #bindGroups(): boolean {
    return this.#s.keycloak_enabled;
  }

  // ---- orders: observe → plan → apply -------------------------------------------------------

  get needsTeam(): boolean {
    return this.#groups !== undefined;
  }

  async ensure(resource: ResourceSpec, team?: readonly string[]): Promise<EnsureResult> {
    const name = projectName(resource, this.naming);
    const problem = namespaceNameProblem(name);
    if (problem) {
      throw terminal("rancher", `cannot create Rancher project for ${resource.name}: ${problem}`);
    }
    // One Create per project name at a time: two orders of one slug side by side would each find
    // no project and make one (Rancher allows two of a name); the second now finds the first's.
    const { projects, later, observed } = await this.#creates.run(name, async () => {
      const { observed, plan, projects } = await this.#planOrder(resource, "create");
      const now = plan.actions.filter((a) => !isLater(a));
      for (const a of now) await applyRancher(this.#apply, a, projects);
      return { projects, later: plan.actions.filter(isLater), observed };
    });
    const project = projects.get(resource.uuid);
    if (!project) throw new Error(`no Rancher project for ${resource.name} after its Create`);
    for (const a of later.filter((a) => a.kind === "create-namespace")) {
      await applyRancher(this.#apply, a, projects);
    }
    if (this.#groups) {
      // The group before the binding: one that is another Waldur project's is refused before
      // its team gets access. An outage is reported and the membership pass makes the groups.
      const group = childGroup(resource, this.naming);
      try {
        await this.#groups.ensure({
          group,
          projectUuid: resource.projectUuid,
          usernames: team ?? [],
        });
      } catch (error) {
        if (!isTransient(error)) throw error;
        this.#groups.failed(group, error, "create");
      }
    }
    for (const a of later.filter((a) => a.kind !== "create-namespace")) {
      await applyRancher(this.#apply, a, projects);
    }
    const namespaces = [
      ...(observed.namespaces.get(projectPart(project.id)) ?? []).map((n) => n.metadata.name),
      ...later.flatMap((a) => a.kind === "create-namespace" ? [a.namespace] : []),
    ];
    this.#rows.set(resource, project, { namespaces: [...new Set(namespaces)].sort() });
    // the project a Create made or adopted for the resource is its team's: a robot delivered
    // before the next pass may be written there
    this.#pulls?.verified(project.id, resource.projectUuid);
    this.#publish();
    return {
      backendId: project.id,
      limits: { ...resource.limits },
      adopted: this.#rows.adopted.has(project.id),
    };
  }

  async setLimits(resource: ResourceSpec, limits: Limits): Promise<void> {
    const wanted = { ...resource, limits };
    const { plan, projects } = await this.#planOrder(wanted, "limits");
    for (const a of plan.actions) await applyRancher(this.#apply, a, projects);
    const project = projects.get(resource.uuid);
    if (project && plan.actions.some((a) => a.kind === "set-quota")) {
      this.#rows.set(wanted, project, {});
    }
    this.#publish();
  }

  async remove(resource: ResourceSpec): Promise<"deleted" | "absent"> {
    const { plan, projects } = await this.#planOrder(resource, "delete");
    let result: "deleted" | "absent" = "absent";
    for (const a of plan.actions) {
      try {
        await applyRancher(this.#apply, a, projects);
        if (a.kind === "delete-project") result = "deleted";
      } catch (error) {
        if (!(a.kind === "delete-project" && error instanceof HttpError && error.status === 404)) {
          throw error;
        }
      }
    }
    // only the project the plan deletes is gone: a look-alike it left alone is still live
    const project = plan.actions.some((a) => a.kind === "delete-project")
      ? projects.get(resource.uuid)
      : undefined;
    this.#rows.gone(resource, project?.id);
    if (this.#groups) {
      const group = childGroup(resource, this.naming);
      try {
        await this.#releaseGroup(resource, group, project?.id ?? "");
      } catch (error) {
        this.#groups.failed(group, error, "clean up");
      }
    }
    this.#publish();
    return result;
  }

  async removalBlocker(resource: ResourceSpec): Promise<string | null> {
    const observed = await this.#observeOrder(resource, "delete");
    return this.#plan([{ resource, goal: "delete" }], observed).problems.get(resource.uuid) ??
      null;
  }

  async planOrder(type: OrderType, resource: ResourceSpec): Promise<PlannedAction[]> {
    const goal = goalOf(type);
    const plan = this.#plan([{ resource, goal }], await this.#observeOrder(resource, goal));
    return this.#words(plan, [resource]);
  }

  /** Observes the resource's project and plans the goal; a problem is a terminal refusal. */
  async #planOrder(resource: ResourceSpec, goal: Goal): Promise<{
    observed: RancherObserved;
    plan: RancherPlan;
    projects: Map<string, Project>;
  }> {
    const observed = await this.#observeOrder(resource, goal);
    const plan = this.#plan([{ resource, goal }], observed);
    const problem = plan.problems.get(resource.uuid);
    if (problem) throw terminal("rancher", problem);
    const projects = new Map<string, Project>();
    const found = findProject(resource, observed.projects, this.naming, true);
    if (found) projects.set(resource.uuid, found);
    return { observed, plan, projects };
  }

  #observeOrder(resource: ResourceSpec, goal: Goal): Promise<RancherObserved> {
    return observeProject(this.client, resource, goal, {
      naming: this.naming,
      bindGroups: this.#bindGroups,
      termination: this.#s.termination,
      claimedBy: this.#ctx.claimedBy,
    });
  }

  #plan(desired: Parameters<typeof planRancher>[0], observed: RancherObserved): RancherPlan {
    return planRancher(desired, observed, this.naming, {
      bindGroups: this.#bindGroups,
      termination: this.#s.termination,
    });
  }

  /**
   * After a project is gone: deletes its child group when no other project of the cluster uses
   * it (bound to it, or of the same Waldur project), then the parent when it has no children.
   */
  async #releaseGroup(resource: ResourceSpec, group: string, goneId: string): Promise<void> {
    const [projects, bindings] = await Promise.all([
      this.client.listProjects(this.#s.cluster_id),
      this.client.listPrtbs(),
    ]);
    if (groupStillUsed(resource, goneId, projects, bindings, this.naming)) {
      this.#ctx.log.info(
        `Keycloak group ${group} kept: another resource of project ${resource.projectSlug} uses it`,
      );
      return;
    }
    await this.#groups?.release(group);
  }

  // ---- membership pass ---------------------------------------------------------------------

  async reconcile(all: readonly MemberSync[], pass?: PassContext): Promise<Map<string, Outcome>> {
    // Resources of two Waldur projects whose child group would be one (the same project slug):
    // their team would get the other's projects. Nothing is done for them, and they say why.
    const shared = this.#bindGroups ? wantsOf(this.#needs(all)).shared : new Map<string, string>();
    const items = all.filter((i) => !shared.has(i.resource.uuid));
    const resources = items.map((i) => i.resource);
    const observed = await observeCluster(this.client, this.#s.cluster_id, this.#bindGroups);
    const { actions, problems } = this.#plan(
      resources.map((resource) => ({ resource, goal: "keep" as const })),
      observed,
    );
    const outcomes = new Map<string, Outcome>();
    for (const r of resources) outcomes.set(r.uuid, { ok: true, changes: 0 });
    for (const [uuid, problem] of problems) {
      outcomes.set(uuid, { ok: false, error: terminal("rancher", problem) });
    }
    const projects = new Map<string, Project>();
    await forEachKeyed(actions, (a) => actionProject(a), this.#ctx.concurrency, async (a) => {
      try {
        await applyRancher(this.#apply, a, projects);
        countAction(outcomes, a.resources);
      } catch (error) {
        countAction(outcomes, a.resources, error);
      }
    });
    if (this.#groups) {
      // a scoped pass read only its projects' resources: a group it does not want may be another
      // project's, so nothing is pruned (the next whole pass does)
      const scoped = pass?.scope !== undefined;
      const prune = scoped ? undefined : groupsInUse(observed, this.naming);
      const kc = await this.#groups.sync(this.#needs(items), prune, { scoped });
      joinOutcomes(outcomes, kc);
    }
    if (this.#pulls) {
      joinOutcomes(outcomes, await this.#pulls.pass(items, observed, leftAlone(pass), pass?.scope));
    }
    for (const [uuid, why] of shared) {
      outcomes.set(uuid, { ok: false, error: terminal("keycloak", why) });
    }
    this.#rows.observed(resources, observed, actions);
    this.#publish();
    return outcomes;
  }

  async plan(items: readonly MemberSync[]): Promise<PlannedAction[]> {
    const resources = items.map((i) => i.resource);
    const observed = await observeCluster(this.client, this.#s.cluster_id, this.#bindGroups);
    const plan = this.#plan(resources.map((resource) => ({ resource, goal: "keep" })), observed);
    const out = this.#words(plan, resources);
    if (this.#groups) {
      out.push(
        ...await this.#groups.planned(this.#needs(items), groupsInUse(observed, this.naming)),
      );
    }
    if (this.#pulls) out.push(...await this.#pulls.planned(items, observed));
    return out;
  }

  /** A plan in `berth plan`'s words. */
  #words(plan: RancherPlan, resources: readonly ResourceSpec[]): PlannedAction[] {
    const out: PlannedAction[] = plan.actions.map((a) => ({ action: a.kind, ...describe(a) }));
    for (const r of resources) {
      const problem = plan.problems.get(r.uuid);
      if (problem) {
        out.push({ target: projectName(r, this.naming), action: "problem", detail: problem });
      }
    }
    return out;
  }

  /** Each resource's Keycloak child group with its Waldur project's team. */
  #needs(items: readonly MemberSync[]): GroupNeed[] {
    return items.map((i) => ({
      group: childGroup(i.resource, this.naming),
      resource: i.resource.uuid,
      projectUuid: i.resource.projectUuid,
      usernames: i.usernames,
    }));
  }

  // ---- usage, diagnose, status ---------------------------------------------------------------

  async usage(resources: readonly ResourceSpec[]): Promise<Map<string, UsageResult>> {
    const out = new Map<string, UsageResult>();
    const cluster = this.#s.cluster_id;
    let lists;
    try {
      const [projects, namespaces, pods, pvcs] = await Promise.all([
        this.client.listProjects(cluster),
        this.client.listNamespaces(cluster),
        this.client.listActivePods(cluster),
        this.client.listPvcs(cluster),
      ]);
      lists = { projects, namespaces, pods, pvcs };
    } catch (error) {
      for (const r of resources) out.set(r.uuid, { ok: false, error });
      return out;
    }
    const usage = usageOf(resources, lists, this.naming);
    for (const r of resources) {
      const u = usage.get(r.uuid);
      if (!u) continue;
      if (!u.ok) {
        out.set(r.uuid, { ok: false, error: u.error });
        if (u.missing) this.#rows.missing(r);
        continue;
      }
      out.set(r.uuid, { ok: true, amounts: u.amounts });
      this.#rows.set(r, u.project, {
        namespaces: u.namespaces,
        cpuRequested: u.requested.cpuCores,
        memoryRequestedBytes: u.requested.memoryBytes,
        storageRequestedBytes: u.requested.storageBytes,
      });
    }
    this.#publish();
    return out;
  }

  diagnose(): Promise<Check[]> {
    return diagnoseRancher(this.client, this.#s.cluster_id, this.#bindGroups, this.#groups);
  }

  /** The status rows, for tests and the page. */
  rows(): RancherRow[] {
    return this.#rows.list();
  }

  /** The image pull secret rows, one per Waldur project. */
  pullSecretRows(): PullSecretRow[] {
    return this.#pulls?.rows() ?? [];
  }

  /** The Keycloak group rows. */
  groupRows(): GroupRow[] {
    return this.#groups?.rows() ?? [];
  }

  #publish(): void {
    const at = this.#ctx.clock.now();
    this.#ctx.publish(() => ({
      kind: "rancher",
      at,
      rows: this.rows(),
      ...(this.#groups ? { groups: this.groupRows() } : {}),
      ...(this.#pulls ? { tables: { [PULL_TABLE]: this.pullSecretRows() } } : {}),
    }));
  }

  #audit(
    system: "rancher" | "keycloak" | "kubernetes",
    action: string,
    target: string,
    detail: string,
    resource?: string,
  ): void {
    this.#ctx.audit({
      system,
      action,
      target,
      result: "ok",
      ...(detail ? { detail } : {}),
      ...(resource ? { resource } : {}),
    });
  }
}

/** Actions a Create applies after the project exists and outside the per-name lock. */
function isLater(a: RancherAction): boolean {
  return a.kind === "create-namespace" || a.kind === "create-binding";
}

/** The project an action works on (actions of one project run in order). */
function actionProject(a: RancherAction): string {
  return "projectId" in a ? a.projectId : a.project;
}
