/**
 * Keycloak groups for one offering, for every backend: observe the realm, plan with
 * `group_plan.ts`, apply. A membership pass syncs every wanted group (`sync`); a Create puts the
 * resource's group in place with its team before the order is done (`ensure`: one lookup and
 * one create per group however many orders share it, a conflict refused before access is
 * granted); a Terminate may delete a group no object uses any more (`release`). The rows it
 * keeps are the status page's Keycloak section.
 */
import type { Check, Outcome, PlannedAction } from "../backend.ts";
import { BerthError, errorMessage, HttpError, isTransient, terminal } from "../errors.ts";
import type { Logger } from "../log.ts";
import { countAction } from "../outcomes.ts";
import { forEachKeyed } from "../pool.ts";
import { SingleFlight } from "../single_flight.ts";
import type { KeycloakClient } from "./client.ts";
import { type GroupRow, memberJoined, memberLeft, namesOf } from "./group_row.ts";
import { MissingUsers } from "./missing_users.ts";
import { addMissing, diagnoseGroups, failedRow, type Filled, observeGroups } from "./group_io.ts";
import { passRow, teamUsers } from "./group_io.ts";
import {
  adoptedAttributes,
  conflictMessage,
  describeGroupAction,
  type GroupAction,
  type GroupLayout,
  type GroupNeed,
  groupOwnership,
  groupPath,
  type GroupPlan,
  type GroupPlanOptions,
  type GroupsObserved,
  type GroupWant,
  type KcUser,
  MANAGED_BY,
  planGroups,
  planWords,
  PROJECT_ATTRIBUTE,
  wantsOf,
} from "./group_plan.ts";

/** Options of {@link KeycloakGroups}. */
export interface KeycloakGroupsOptions {
  client: KeycloakClient;
  layout: GroupLayout;
  /** The `description` attribute of the parent group, when Berth makes it. */
  parentDescription?: string;
  realm: string;
  /** `keycloak_use_user_id`: Waldur usernames are Keycloak user ids. */
  byId: boolean;
  /** Groups worked on at a time. */
  concurrency: number;
  log: Logger;
  /** Records a change (target: the group's path). */
  audit: (action: string, target: string, detail: string) => void;
  /** Called when the rows changed. */
  onChange: () => void;
  /** What a Create refused for a conflicting group did not do, and what the operator can do. */
  conflictHint: string;
}

/** The key of the parent group among remembered ids. */
const PARENT_KEY = "\u0000parent";

/** The groups of one offering in one realm. */
export class KeycloakGroups {
  readonly #o: KeycloakGroupsOptions;
  readonly #kc: KeycloakClient;
  /** The Keycloak client the groups are read and changed with. */
  readonly client: KeycloakClient;
  /** Group ids Berth has seen: the parent (under {@link PARENT_KEY}) and the groups. */
  readonly #ids = new Map<string, string>();
  /** The Waldur project each remembered group was checked (or made) for. */
  readonly #holders = new Map<string, string>();
  readonly #flights = new SingleFlight<string>();
  readonly #teamFlights = new SingleFlight<Filled>();
  /** Groups this process made and nobody has filled yet. */
  readonly #fresh = new Set<string>();
  #rows = new Map<string, GroupRow>();
  #users = new Map<string, KcUser | null>();
  readonly #missing: MissingUsers;

  constructor(options: KeycloakGroupsOptions) {
    this.#o = options;
    this.#missing = new MissingUsers(options.log, options.realm, (g) => this.path(g));
    this.#kc = options.client;
    this.client = options.client;
  }

  /** The group's path in the realm. */
  path(group: string): string {
    return groupPath(this.#o.layout, group);
  }

  // ---- membership pass ---------------------------------------------------------------------

  /** Reads the groups (the parent's children, or each wanted one), their members, unknown users. */
  async observe(wants: readonly GroupWant[]): Promise<GroupsObserved> {
    this.#users = new Map();
    const observed = await observeGroups(this.#kc, this.#o.layout, wants, this.#o);
    this.#users = teamUsers(wants, observed, this.#o.byId);
    // what the observation found needs no lookup to be changed
    if (observed.parent) this.#ids.set(PARENT_KEY, observed.parent.id);
    else this.#ids.delete(PARENT_KEY); // deleted by hand: made again, not used by its old id
    for (const [name, g] of observed.groups) if (!(g instanceof Error)) this.#ids.set(name, g.id);
    return observed;
  }

  /**
   * The membership pass for these needs: observe, plan, apply. One outcome per resource; the
   * rows are replaced by the wanted groups' state (with `scoped`, a pass scoped to some Waldur
   * projects, only the wanted groups' rows are: the others' stay as they were). An observation
   * that fails (Keycloak down) fails every resource and keeps what the rows knew.
   */
  async sync(
    needs: readonly GroupNeed[],
    prune?: GroupPlanOptions["prune"],
    options: { scoped?: boolean } = {},
  ): Promise<Map<string, Outcome>> {
    const { wants, shared } = wantsOf(needs);
    const outcomes = new Map<string, Outcome>();
    for (const [uuid, why] of shared) {
      outcomes.set(uuid, { ok: false, error: terminal("keycloak", why) });
    }
    let observed: GroupsObserved;
    let plan: GroupPlan;
    try {
      observed = await this.observe(wants);
      plan = planGroups(this.#o.layout, wants, observed, { byId: this.#o.byId, prune });
    } catch (error) {
      for (const w of wants) {
        for (const uuid of w.resources) outcomes.set(uuid, { ok: false, error });
        this.failed(w.group, error, "sync");
      }
      return outcomes;
    }
    const previous = this.#rows;
    this.#rows = options.scoped ? new Map(previous) : new Map();
    for (const w of wants) {
      for (const uuid of w.resources) outcomes.set(uuid, { ok: true, changes: 0 });
      const problem = plan.problems.get(w.group);
      const m = observed.members.get(w.group);
      const path = this.path(w.group);
      this.#rows.set(
        path,
        passRow(path, previous.get(path), {
          read: m,
          exists: observed.groups.get(w.group) !== undefined,
          missing: plan.missing.get(w.group) ?? [],
          error: problem?.message ?? "",
        }),
      );
      if (problem) {
        const error = new BerthError(`keycloak: group ${w.group}: ${problem.message}`, {
          system: "keycloak",
          transient: !problem.terminal,
        });
        for (const uuid of w.resources) outcomes.set(uuid, { ok: false, error });
      }
    }
    this.#missing.pass(
      plan.missing,
      new Set(wants.flatMap((w) => plan.problems.has(w.group) ? [] : [w.group])),
    );
    await this.apply(plan.actions, (action, error) => {
      countAction(outcomes, "resources" in action ? action.resources : [], error);
      if (error !== undefined) this.failed(action.group, error, action.kind);
    });
    this.#o.onChange();
    return outcomes;
  }

  /** What `sync` would change, changing nothing, in `berth plan`'s words. */
  async planned(
    needs: readonly GroupNeed[],
    prune?: GroupPlanOptions["prune"],
  ): Promise<PlannedAction[]> {
    const { wants, shared } = wantsOf(needs);
    try {
      const observed = await this.observe(wants);
      const plan = planGroups(this.#o.layout, wants, observed, { byId: this.#o.byId, prune });
      return planWords(needs, shared, plan, this.#o.realm);
    } catch (error) {
      return [...planWords(needs, shared, undefined, this.#o.realm), {
        target: this.#o.layout.parent ?? "keycloak",
        action: "problem",
        detail: errorMessage(error),
      }];
    }
  }

  /**
   * Performs the actions: the parent first and last, the groups side by side, each group's
   * actions in order. `done` hears of each action, with the error that stopped it if any.
   */
  async apply(
    actions: readonly GroupAction[],
    done: (action: GroupAction, error?: unknown) => void,
  ): Promise<void> {
    const run = async (action: GroupAction) => {
      try {
        await this.#apply(action);
        done(action);
      } catch (error) {
        done(action, error);
      }
    };
    const isParent = (a: GroupAction) => a.kind === "create-parent" || a.kind === "delete-parent";
    for (const a of actions.filter((a) => a.kind === "create-parent")) await run(a);
    await forEachKeyed(
      actions.filter((a) => !isParent(a)),
      (a) => a.group,
      this.#o.concurrency,
      run,
    );
    for (const a of actions.filter((a) => a.kind === "delete-parent")) await run(a);
  }

  /** The one place a planned group action is performed. */
  async #apply(action: GroupAction): Promise<void> {
    const kc = this.#kc;
    const path = this.path(action.group);
    const row = this.#rows.get(path);
    switch (action.kind) {
      case "create-parent":
        await this.#parentId();
        return;
      case "create-group": {
        const id = await this.#create(action.group, action.projectUuid);
        this.#fresh.delete(id); // this pass's add-member actions fill it
        this.#ids.set(action.group, id);
        return;
      }
      case "adopt-group":
        await kc.setAttributes(action.id, action.group, action.attributes);
        this.#ids.set(action.group, action.id);
        this.#o.audit("adopt group", path, describeGroupAction(action).detail);
        return;
      case "add-member":
        await kc.addToGroup(action.user.id, await this.#knownId(action.group));
        this.#o.audit("add group member", path, action.user.username);
        if (row) memberJoined(row, action.user.username);
        return;
      case "remove-member":
        await kc.removeFromGroup(action.user.id, await this.#knownId(action.group));
        this.#o.audit("remove group member", path, action.user.username);
        if (row) memberLeft(row, action.user.username);
        return;
      case "delete-group":
        await kc.deleteGroup(action.id);
        this.#forget(action.group);
        this.#rows.delete(path);
        this.#o.audit("delete group", path, "no resource uses it");
        return;
      case "delete-parent":
        await kc.deleteGroup(action.id);
        this.#ids.delete(PARENT_KEY);
        this.#o.audit("delete group", `/${action.group}`, "no child groups left");
        return;
    }
  }

  /** The team members' Keycloak users the last observation read ({@link teamUsers}). */
  users(): ReadonlyMap<string, KcUser | null> {
    return this.#users;
  }

  // ---- orders ------------------------------------------------------------------------------

  /**
   * At Create: the resource's group, found or made (and adopted, or refused as another Waldur
   * project's), with `team` added to it, so the team has access when the order is done.
   * Removals are the membership pass's, which sees every resource of the project. Orders of one
   * Waldur project side by side share one lookup, one create and one add per member.
   */
  async ensure(need: Omit<GroupNeed, "resource">): Promise<void> {
    let filled;
    try {
      filled = await this.#fill(need);
    } catch (error) {
      // a remembered group deleted by hand: forget it, find or make it again, once
      if (!(error instanceof HttpError && error.status === 404)) throw error;
      this.#forget(need.group);
      filled = await this.#fill(need);
    }
    const path = this.path(need.group);
    const before = this.#rows.get(path);
    this.#rows.set(path, {
      path,
      members: filled.members ?? before?.members ?? null,
      added: [...new Set([...before?.added ?? [], ...filled.added])],
      removed: before?.removed ?? [],
      missing: filled.unknown,
      error: "",
      ...namesOf(filled.names ?? before?.names),
    });
    this.#o.onChange();
    if (filled.unknown.length > 0) {
      this.#missing.seen(need.group, filled.unknown);
    }
  }

  /** The group found or made, and who of the team is missing added (one flight per team). */
  async #fill(need: Omit<GroupNeed, "resource">): Promise<Filled> {
    const id = await this.#ensureGroup(need.group, need.projectUuid);
    if (need.usernames.length === 0) {
      // no team to add: nothing to read (a group made a moment ago has no members)
      return { added: [], unknown: [], members: this.#fresh.has(id) ? 0 : null };
    }
    return await this.#teamFlights.run(
      [id, ...need.usernames].join("\u0000"),
      () =>
        addMissing(this.#kc, id, need.usernames, {
          known: this.#fresh.delete(id) ? [] : undefined,
          byId: this.#o.byId,
          added: (u) => this.#o.audit("add group member", this.path(need.group), u),
        }),
    );
  }

  /**
   * After the objects that used it are gone: deletes the group, then the parent when it is
   * Berth's and has no other child.
   */
  async release(group: string): Promise<void> {
    const kc = this.#kc;
    const path = this.path(group);
    if (this.#o.layout.parent === null) {
      const found = await kc.findGroup(group);
      if (found) await this.#delete(group, found.id, path);
      return;
    }
    const parent = await kc.findGroup(this.#o.layout.parent);
    if (!parent) return;
    const children = await kc.children(parent.id);
    const found = children.find((g) => g.name === group);
    if (found) await this.#delete(group, found.id, path);
    if (
      children.filter((g) => g.name !== group).length === 0 &&
      parent.attributes?.managed_by?.[0] === "berth"
    ) {
      await kc.deleteGroup(parent.id);
      this.#ids.delete(PARENT_KEY);
      this.#o.audit("delete group", `/${this.#o.layout.parent}`, "no child groups left");
    }
  }

  async #delete(group: string, id: string, path: string): Promise<void> {
    await this.#kc.deleteGroup(id);
    this.#forget(group);
    this.#rows.delete(path);
    this.#o.audit("delete group", path, "no resource uses it");
    this.#o.onChange();
  }

  /** The group's id, found or made once, checked against the Waldur project. */
  #ensureGroup(group: string, projectUuid: string): Promise<string> {
    const known = this.#ids.get(group);
    const holder = this.#holders.get(group);
    if (known !== undefined && holder !== undefined) {
      // a remembered group is checked like a found one: another Waldur project's is refused
      if (groupOwnership(holder, projectUuid) !== "own") {
        return Promise.reject(this.#conflict(group, holder, projectUuid));
      }
      return Promise.resolve(known);
    }
    return this.#flights.run(`${group}\u0000${projectUuid}`, async () => {
      const id = await this.#retryOnGone(() => this.#findOrMake(group, projectUuid));
      this.#ids.set(group, id);
      this.#holders.set(group, projectUuid);
      return id;
    });
  }

  async #findOrMake(group: string, projectUuid: string): Promise<string> {
    const kc = this.#kc;
    const parentId = this.#o.layout.parent === null ? null : await this.#parentId();
    const found = parentId === null
      ? await kc.findGroup(group)
      : await kc.findChild(parentId, group);
    if (!found) return await this.#create(group, projectUuid);
    const owned = groupOwnership(found.attributes?.[PROJECT_ATTRIBUTE]?.[0], projectUuid);
    if (typeof owned === "object") throw this.#conflict(group, owned.conflict, projectUuid);
    if (owned === "adopt") {
      const attributes = adoptedAttributes(found.attributes, projectUuid);
      await kc.setAttributes(found.id, group, attributes);
      this.#o.audit("adopt group", this.path(group), `for Waldur project ${projectUuid}`);
    }
    return found.id;
  }

  /** Makes the group (under the parent, if any) for the Waldur project; resolves its id. */
  async #create(group: string, projectUuid: string): Promise<string> {
    const attributes = { ...MANAGED_BY, [PROJECT_ATTRIBUTE]: [projectUuid] };
    const id = this.#o.layout.parent === null
      ? await this.#kc.createGroup(group, attributes)
      : await this.#kc.createChild(await this.#parentId(), group, attributes);
    this.#fresh.add(id);
    this.#holders.set(group, projectUuid);
    this.#o.audit("create group", this.path(group), `realm ${this.#o.realm}`);
    return id;
  }

  /** The parent group's id, looked up (or made) once and remembered. */
  #parentId(): Promise<string> {
    const name = this.#o.layout.parent;
    if (name === null) return Promise.reject(new Error("this layout has no parent group"));
    const known = this.#ids.get(PARENT_KEY);
    if (known !== undefined) return Promise.resolve(known);
    return this.#flights.run(PARENT_KEY, async () => {
      let id = (await this.#kc.findGroup(name))?.id;
      if (id === undefined) {
        id = await this.#kc.createGroup(name, {
          ...MANAGED_BY,
          ...(this.#o.parentDescription ? { description: [this.#o.parentDescription] } : {}),
        });
        this.#o.audit("create group", `/${name}`, `realm ${this.#o.realm}`);
      }
      this.#ids.set(PARENT_KEY, id);
      return id;
    });
  }

  /** A planned group's id: observed, made by an earlier action, or looked up. */
  async #knownId(group: string): Promise<string> {
    const known = this.#ids.get(group);
    if (known !== undefined) return known;
    const parent = this.#o.layout.parent === null ? null : await this.#parentId();
    const found = parent === null
      ? await this.#kc.findGroup(group)
      : await this.#kc.findChild(parent, group);
    if (!found) {
      throw new BerthError(`keycloak: group ${group} vanished`, {
        system: "keycloak",
        transient: true,
      });
    }
    this.#ids.set(group, found.id);
    return found.id;
  }

  /** Runs `work`; when Keycloak answers 404 (a remembered group deleted by hand), forgets and retries once. */
  async #retryOnGone<T>(work: () => Promise<T>): Promise<T> {
    try {
      return await work();
    } catch (error) {
      if (!(error instanceof HttpError && error.status === 404)) throw error;
      this.#ids.clear();
      this.#holders.clear();
      return await work();
    }
  }

  #conflict(group: string, holder: string, projectUuid: string): BerthError {
    return terminal(
      "keycloak",
      `${conflictMessage(this.path(group), holder, projectUuid)}: ${this.#o.conflictHint}`,
    );
  }

  #forget(group: string): void {
    this.#ids.delete(group);
    this.#holders.delete(group);
  }

  // ---- status ------------------------------------------------------------------------------

  /**
   * A group Berth could not work on: logged (a warning for an outage it rides out) and shown on
   * its row with what the row knew before.
   */
  failed(group: string, error: unknown, what: string): void {
    const message = errorMessage(error);
    (isTransient(error) ? this.#o.log.warn : this.#o.log.error)(
      `keycloak: cannot ${what} group ${this.path(group)}; the other work went on, and it is ` +
        `retried next pass: ${message}`,
    );
    const path = this.path(group);
    this.#rows.set(path, failedRow(path, this.#rows.get(path), message));
    this.#o.onChange();
  }

  /** The groups' rows, in path order. */
  rows(): GroupRow[] {
    return [...this.#rows.values()].sort((a, b) => a.path.localeCompare(b.path));
  }

  /** `berth diagnose`'s Keycloak check: the realm readable, the groups searchable. */
  diagnose(): Promise<Check> {
    return diagnoseGroups(this.#kc, this.#o.layout);
  }
}
