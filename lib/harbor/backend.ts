/**
 * The Harbor backend: one Harbor project per Waldur resource (`allocation_prefix` + slug) with
 * a storage quota from the resource's limit, and one OIDC group per Waldur project
 * (`oidc_group_prefix` + project slug) that is a member of each of that project's Harbor
 * projects with `project_role_id`; with Keycloak, the group holds the Waldur project's team.
 * Every operation is observe (`observe.ts`) → plan (`plan.ts`, pure) → apply (`apply.ts`).
 * Deletes never pretend: a project that still holds repositories is refused (or purged, by
 * setting). A pass over thousands of projects costs a few dozen requests plus one members read
 * per project.
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
import { BerthError, errorMessage, HttpError, isTransient, terminal } from "../errors.ts";
import type { KeycloakClient } from "../keycloak/client.ts";
import { KeycloakGroups } from "../keycloak/groups.ts";
import { KeyedLock } from "../keyed_lock.ts";
import { countAction, joinOutcomes } from "../outcomes.ts";
import { HarborApply } from "./apply.ts";
import { createHarborClient, type HarborClient } from "./client.ts";
import { diagnoseHarbor } from "./diagnose.ts";
import { HarborIdentities } from "./identities.ts";
import { emptyObservation, observeHarbor, observeProject } from "./observe.ts";
import {
  derivedName,
  describeAction,
  groupName,
  type HarborPlan,
  harborTarget,
  type Naming,
  nothingToDelete,
  type Observed,
  partition,
  planHarbor,
  quotaBytes,
  storageGb,
} from "./plan.ts";
import type { HarborRow } from "./present.ts";
import { HarborRows } from "./rows.ts";
import { describeRobotAction } from "./robots.ts";
import { type TeamRobots, teamRobotsFor } from "./team_robots.ts";
import { projectNameProblem } from "./schemas.ts";
import { usageOf } from "./usage.ts";
import { harborNaming, type HarborSettings } from "./settings.ts";

/** Options that tests and the factory share. */
export interface HarborBackendOptions {
  context: BackendContext<HarborSettings>;
  client?: HarborClient;
  keycloak?: KeycloakClient;
}

/** The Harbor backend. */
export class HarborBackend implements Backend {
  readonly kind = "harbor";
  readonly client: HarborClient;
  readonly naming: Naming;
  /** With Keycloak: the team members' OIDC identities in Harbor (`berth repair-oidc-user`). */
  readonly identities: HarborIdentities | undefined;
  readonly #ctx: BackendContext<HarborSettings>;
  readonly #settings: HarborSettings;
  readonly #groups: KeycloakGroups | undefined;
  readonly #apply: HarborApply;
  readonly #rows: HarborRows;
  readonly #creates = new KeyedLock();
  readonly #robots: TeamRobots | undefined;

  constructor(options: HarborBackendOptions) {
    this.#ctx = options.context;
    this.#settings = options.context.settings;
    this.naming = harborNaming(this.#settings);
    this.client = options.client ?? createHarborClient({
      url: this.#settings.harbor_url,
      username: this.#settings.robot_username,
      password: this.#settings.robot_password,
      fetch: this.#ctx.fetch,
      clock: this.#ctx.clock,
      onExchange: this.#ctx.onExchange,
    });
    this.#apply = new HarborApply({
      client: this.client,
      log: this.#ctx.log,
      owned: this.#ctx.owned,
      audit: (action, target, detail, resource) =>
        this.#ctx.audit({
          system: "harbor",
          action,
          target,
          result: "ok",
          ...(detail ? { detail } : {}),
          ...(resource ? { resource } : {}),
        }),
    });
    this.#rows = new HarborRows(this.naming, this.#apply.adopted);
    this.#robots = teamRobotsFor(this.#ctx, this.client, () => this.#publish());
    if (options.keycloak) {
      this.#groups = new KeycloakGroups({
        client: options.keycloak,
        layout: { parent: null },
        realm: this.#settings.keycloak?.keycloak_realm ?? "",
        byId: false,
        concurrency: this.#ctx.concurrency,
        log: this.#ctx.log,
        audit: (action, target, detail) =>
          this.#ctx.audit({ system: "keycloak", action, target, result: "ok", detail }),
        onChange: () => this.#publish(),
        conflictHint: "adding its team would give that project access; nothing was changed. " +
          "Give the projects distinct slugs or change oidc_group_prefix",
      });
      this.identities = new HarborIdentities(this.#groups, { harbor: this.client, ctx: this.#ctx });
    }
  }

  // ---- orders: observe → plan → apply -------------------------------------------------------

  get needsTeam(): boolean {
    return this.#groups !== undefined;
  }

  async ensure(resource: ResourceSpec, team?: readonly string[]): Promise<EnsureResult> {
    const name = this.#target(resource);
    const problem = projectNameProblem(name);
    if (problem) {
      throw terminal("harbor", `cannot create Harbor project "${name}": ${problem}`);
    }
    const gb = storageGb(resource, this.naming);
    // One Create per project name at a time: two tenants ordering one slug in one pass are told
    // apart by the record the first leaves, not by how their answers interleave.
    const { made, later, adopted } = await this.#creates.run(name, async () => {
      // A new name is the common case: planned as absent, so a Create costs no read; Harbor's
      // 409 says the name exists, and the plan is made again on what is there.
      let plan = this.#plan(resource, "create", emptyObservation());
      const made = new Map<string, number>();
      try {
        await this.#applyFirst(plan, made);
      } catch (error) {
        if (!(error instanceof HttpError && error.status === 409)) throw error;
        plan = this.#plan(resource, "create", await this.#observe(resource, name, "create"));
        this.#refuse(plan, resource);
        await this.#applyFirst(plan, made);
      }
      return {
        made,
        later: plan.actions.filter((a) => !isFirst(a)),
        adopted: plan.actions.some((a) => a.kind === "adopt-project"),
      };
    });
    if (this.#groups && team) {
      // Access at Create: the team is in the Keycloak group before the order is done, and a group
      // that is another Waldur project's is refused before the project is bound to its name.
      // An outage is logged and the membership pass makes up for it.
      const group = groupName(resource, this.naming);
      try {
        await this.#groups.ensure({ group, projectUuid: resource.projectUuid, usernames: team });
      } catch (error) {
        if (!isTransient(error)) throw error;
        this.#ctx.log.warn(
          `Keycloak group ${group} not synced at Create (${
            errorMessage(error)
          }); the membership pass will`,
        );
      }
    }
    for (const a of later) await this.#apply.apply(a, made);
    this.#rows.set(resource, name, { quotaBytes: quotaBytes(gb), usedBytes: adopted ? null : 0 });
    this.#publish();
    return { backendId: name, limits: { ...resource.limits, storage: gb }, adopted };
  }

  async setLimits(resource: ResourceSpec, limits: Limits): Promise<void> {
    const name = this.#target(resource);
    const wanted = { ...resource, limits: { ...resource.limits, ...limits } };
    const observed = await this.#observe(wanted, name, "limits");
    const plan = this.#plan(wanted, "limits", observed);
    this.#refuse(plan, resource);
    for (const a of plan.actions) await this.#apply.apply(a, new Map());
    const project = observed.projects.get(name);
    const used = project ? observed.quotas.get(project.id)?.used ?? null : null;
    this.#rows.set(resource, name, {
      quotaBytes: quotaBytes(storageGb(wanted, this.naming)),
      usedBytes: used,
    });
    this.#publish();
  }

  async remove(resource: ResourceSpec): Promise<"deleted" | "absent"> {
    const name = this.#target(resource);
    let result: "deleted" | "absent" = "absent";
    if (nothingToDelete(resource, name, this.#ctx.owned.get(resource.uuid))) {
      this.#rows.gone(resource);
      this.#publish();
      return result;
    }
    const plan = this.#plan(resource, "delete", await this.#observe(resource, name, "delete"));
    this.#refuse(plan, resource);
    for (const a of plan.actions) {
      try {
        await this.#apply.apply(a, new Map());
        if (a.kind === "delete-project") result = "deleted";
      } catch (error) {
        // gone meanwhile is gone; anything else (a purge that failed) is not done
        if (!(a.kind === "delete-project" && error instanceof HttpError && error.status === 404)) {
          throw error;
        }
      }
    }
    this.#ctx.owned.forget(resource.uuid);
    this.#rows.gone(resource, name);
    this.#publish();
    return result;
  }

  async removalBlocker(resource: ResourceSpec): Promise<string | null> {
    const target = harborTarget(resource, this.naming, this.#ctx.owned.get(resource.uuid));
    if ("refusal" in target) return target.refusal;
    const plan = this.#plan(
      resource,
      "delete",
      await this.#observe(resource, target.name, "delete"),
    );
    return plan.problems.get(resource.uuid) ?? null;
  }

  async planOrder(type: OrderType, resource: ResourceSpec): Promise<PlannedAction[]> {
    const goal = goalOf(type);
    const target = harborTarget(resource, this.naming, this.#ctx.owned.get(resource.uuid));
    if ("refusal" in target) {
      return [{ target: resource.backendId, action: "refused", detail: target.refusal }];
    }
    const plan = this.#plan(resource, goal, await this.#observe(resource, target.name, goal));
    return this.#words(plan, [resource]);
  }

  /** The project this resource may act on ({@link harborTarget}); a refusal is terminal. */
  #target(resource: ResourceSpec): string {
    const target = harborTarget(resource, this.naming, this.#ctx.owned.get(resource.uuid));
    if ("refusal" in target) throw terminal("harbor", target.refusal);
    return target.name;
  }

  #observe(resource: ResourceSpec, name: string, goal: Goal): Promise<Observed> {
    return observeProject(this.client, resource, name, goal, {
      claimedBy: this.#ctx.claimedBy,
      holder: (n) => this.#ctx.owned.holder(n),
      termination: this.#settings.termination,
    });
  }

  #plan(resource: ResourceSpec, goal: Goal, observed: Observed): HarborPlan {
    return planHarbor(
      [{ resource, goal, recorded: this.#ctx.owned.get(resource.uuid) }],
      observed,
      this.naming,
      { termination: this.#settings.termination },
    );
  }

  /** A plan's problem for an order is its terminal refusal. */
  #refuse(plan: HarborPlan, resource: ResourceSpec): void {
    const problem = plan.problems.get(resource.uuid);
    if (problem) throw terminal("harbor", problem);
  }

  /** Applies the project's own actions (made, adopted, quota), which the name's lock covers. */
  async #applyFirst(plan: HarborPlan, made: Map<string, number>): Promise<void> {
    for (const a of plan.actions.filter(isFirst)) await this.#apply.apply(a, made);
  }

  // ---- membership pass ---------------------------------------------------------------------

  async reconcile(all: readonly MemberSync[], pass?: PassContext): Promise<Map<string, Outcome>> {
    const { items, refused } = this.#partition(all);
    const resources = items.map((i) => i.resource);
    // The Keycloak groups' members do not depend on Harbor: both systems are worked side by side,
    // and a Harbor that cannot be read fails the pass only once Keycloak's part has finished.
    const [settled, kc] = await Promise.all([
      this.#reconcileHarbor(resources).then(
        (value) => ({ ok: true as const, value }),
        (error: unknown) => ({ ok: false as const, error }),
      ),
      this.#groups?.sync(
        items.map((i) => ({
          group: groupName(i.resource, this.naming),
          resource: i.resource.uuid,
          projectUuid: i.resource.projectUuid,
          usernames: i.usernames,
        })),
        undefined,
        { scoped: pass?.scope !== undefined },
      ),
    ]);
    if (!settled.ok) throw settled.error;
    await this.identities?.check(items);
    const { outcomes, observed, plan } = settled.value;
    joinOutcomes(outcomes, kc);
    this.#rows.observed(resources, observed, plan.actions, plan.problems);
    for (const [uuid, why] of refused) {
      outcomes.set(uuid, { ok: false, error: terminal("harbor", why) });
    }
    this.#rows.refused(all.map((i) => i.resource), refused);
    if (this.#robots) {
      // a team robot that could not be kept fails the pass (transient), not the resources
      const problems = await this.#robots.sync(resources, leftAlone(pass));
      for (const r of resources) {
        const problem = problems.get(r.projectUuid);
        if (problem === undefined || !outcomes.get(r.uuid)?.ok) continue;
        const error = new BerthError(`harbor: team robot: ${problem}`, {
          system: "harbor",
          transient: true,
        });
        outcomes.set(r.uuid, { ok: false, error });
      }
    }
    this.#publish();
    return outcomes;
  }

  /** Harbor's part of a membership pass: observe, plan, repair. */
  async #reconcileHarbor(resources: readonly ResourceSpec[]) {
    const observed = await observeHarbor(this.client, resources, this.#ctx.concurrency);
    this.#apply.knowGroups(observed.groups);
    const plan = this.#planKeep(resources, observed);
    const outcomes = new Map<string, Outcome>();
    for (const r of resources) outcomes.set(r.uuid, { ok: true, changes: 0 });
    for (const [uuid, problem] of plan.problems) {
      outcomes.set(uuid, { ok: false, error: terminal("harbor", problem) });
    }
    for (const action of plan.actions) {
      try {
        await this.#apply.apply(action, new Map());
        countAction(outcomes, action.resources);
      } catch (error) {
        countAction(outcomes, action.resources, error);
      }
    }
    return { observed, plan, outcomes };
  }

  async plan(all: readonly MemberSync[]): Promise<PlannedAction[]> {
    const { items, refused } = this.#partition(all);
    const resources = items.map((i) => i.resource);
    const plan = this.#planKeep(
      resources,
      await observeHarbor(this.client, resources, this.#ctx.concurrency),
    );
    const out = this.#words(plan, resources);
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
    if (this.#groups) {
      out.push(
        ...await this.#groups.planned(items.map((i) => ({
          group: groupName(i.resource, this.naming),
          resource: i.resource.uuid,
          projectUuid: i.resource.projectUuid,
          usernames: i.usernames,
        }))),
      );
    }
    for (const a of await this.#robots?.planned(resources) ?? []) {
      out.push({ action: a.kind, ...describeRobotAction(a) });
    }
    return out;
  }

  #planKeep(resources: readonly ResourceSpec[], observed: Observed): HarborPlan {
    return planHarbor(
      resources.map((resource) => ({
        resource,
        goal: "keep" as const,
        recorded: this.#ctx.owned.get(resource.uuid),
      })),
      observed,
      this.naming,
      { termination: this.#settings.termination },
    );
  }

  /** The items whose resources may act on their project, and the refused ones with why. */
  #partition(all: readonly MemberSync[]) {
    const { allowed, refused } = partition(
      all.map((i) => i.resource),
      this.naming,
      (uuid) => this.#ctx.owned.get(uuid),
    );
    const mine = new Map(allowed.map((r) => [r.uuid, r]));
    const items = all.flatMap((i) => {
      const resource = mine.get(i.resource.uuid);
      return resource ? [{ ...i, resource }] : [];
    });
    return { items, refused };
  }

  /** A plan in `berth plan`'s words. */
  #words(plan: HarborPlan, resources: readonly ResourceSpec[]): PlannedAction[] {
    const out: PlannedAction[] = plan.actions.map((a) => ({
      action: a.kind,
      ...describeAction(a),
    }));
    for (const r of resources) {
      const problem = plan.problems.get(r.uuid);
      if (problem) {
        out.push({
          target: r.backendId || derivedName(r, this.naming),
          action: "problem",
          detail: problem,
        });
      }
    }
    return out;
  }

  // ---- usage, diagnose, status ---------------------------------------------------------------

  async usage(all: readonly ResourceSpec[]): Promise<Map<string, UsageResult>> {
    const out = new Map<string, UsageResult>();
    const { allowed: resources, refused } = partition(
      all,
      this.naming,
      (uuid) => this.#ctx.owned.get(uuid),
    );
    for (const [uuid, why] of refused) out.set(uuid, { ok: false, error: terminal("harbor", why) });
    this.#rows.refused(all, refused);
    let quotas;
    try {
      quotas = await this.client.listQuotas();
    } catch (error) {
      for (const r of resources) out.set(r.uuid, { ok: false, error });
      return out;
    }
    const usage = usageOf(resources, quotas);
    for (const r of resources) {
      const u = usage.get(r.uuid);
      if (!u) continue;
      if (!u.ok) {
        out.set(r.uuid, { ok: false, error: u.error });
        this.#rows.set(r, r.backendId, { flags: ["not found"] });
        continue;
      }
      out.set(r.uuid, { ok: true, amounts: { storage: u.storageGb } });
      this.#rows.set(r, r.backendId, { quotaBytes: u.hardBytes, usedBytes: u.usedBytes });
    }
    this.#publish();
    return out;
  }

  async diagnose(teams?: readonly MemberSync[]): Promise<Check[]> {
    const checks = await diagnoseHarbor(this.client, this.#settings, this.#groups, {
      robotAccounts: this.#robots !== undefined,
    });
    // the team members' identities matter to membership passes only
    const identities = await this.identities?.diagnose(teams) ?? [];
    return [...checks, ...identities.map((c): Check => ({ ...c, needs: ["membership"] }))];
  }

  /** The status rows, for tests and the page. */
  rows(): HarborRow[] {
    return this.#rows.list();
  }

  #publish(): void {
    const at = this.#ctx.clock.now();
    this.#ctx.publish(() => ({
      kind: "harbor",
      at,
      rows: this.rows(),
      ...(this.#groups ? { groups: this.#groups.rows() } : {}),
      tables: {
        ...(this.#robots ? { robots: this.#robots.rows() } : {}),
        ...(this.identities ? { identities: this.identities.rows() } : {}),
      },
    }));
  }
}

/** The actions of a Create that its name's lock covers: the project made or adopted, its quota. */
function isFirst(a: HarborPlan["actions"][number]): boolean {
  return a.kind === "create-project" || a.kind === "adopt-project" || a.kind === "set-quota";
}
