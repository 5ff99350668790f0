/**
 * The one place a planned Harbor action is performed, for orders and the membership pass alike.
 * It keeps the OIDC group ids it has seen (one lookup and one create per group, however many
 * orders share it) and the state file's record of the projects Berth made or adopted.
 */
import type { OwnershipLedger } from "../backend.ts";
import { formatBytes } from "../bytes.ts";
import { HttpError, terminal } from "../errors.ts";
import type { Logger } from "../log.ts";
import { SingleFlight } from "../single_flight.ts";
import type { HarborClient } from "./client.ts";
import { describeAction, type HarborAction } from "./plan.ts";
import type { UserGroup } from "./schemas.ts";

/** What {@link HarborApply} works with. */
export interface HarborApplyContext {
  client: HarborClient;
  log: Logger;
  owned: OwnershipLedger;
  /** `resource`: the Waldur resource the change was made for, when it was one. */
  audit: (action: string, target: string, detail: string, resource?: string) => void;
}

const ROLE_NAMES: Record<number, string> = {
  1: "project admin",
  2: "developer",
  3: "guest",
  4: "maintainer",
  5: "limited guest",
};

/** Performs Harbor actions. */
export class HarborApply {
  readonly #c: HarborApplyContext;
  /** OIDC group ids Berth has seen (refreshed by every membership observation). */
  readonly #groupIds = new Map<string, number>();
  readonly #groupFlights = new SingleFlight<UserGroup>();
  /** Projects Berth adopted (their rows say so). */
  readonly adopted = new Set<string>();

  constructor(context: HarborApplyContext) {
    this.#c = context;
  }

  /** Remembers the OIDC groups an observation listed. */
  knowGroups(groups: ReadonlyMap<string, number>): void {
    this.#groupIds.clear();
    for (const [name, id] of groups) this.#groupIds.set(name, id);
  }

  /**
   * Performs one action for `resource` (the first the action serves). `made` maps a project
   * name to the id a `create-project` of this plan gave it (actions planned with id 0 read it).
   */
  async apply(action: HarborAction, made: Map<string, number>): Promise<void> {
    const { client } = this.#c;
    const { target, detail } = describeAction(action);
    const resource = action.resources[0] ?? "";
    const audit = (what: string, on: string, text: string): void =>
      this.#c.audit(what, on, text, resource || undefined);
    switch (action.kind) {
      case "create-project": {
        made.set(action.project, await client.createProject(action.project, action.bytes));
        this.#c.owned.record(resource, action.project);
        audit("create project", target, detail);
        return;
      }
      case "adopt-project":
        this.#c.owned.record(resource, action.project);
        this.adopted.add(action.project);
        made.set(action.project, action.projectId);
        this.#c.log.warn(
          `Harbor project ${action.project} already exists; adopting it for resource ${resource}`,
          { project: action.project, resource },
        );
        audit("adopt project", target, detail);
        return;
      case "set-quota":
        await client.updateQuota(action.quotaId, action.toBytes);
        audit(action.repair ? "repair quota" : "set quota", target, detail);
        if (action.usedBytes !== null && action.usedBytes > action.toBytes) {
          this.#c.log.warn(
            `Harbor project ${action.project}: the new quota ${formatBytes(action.toBytes)} is ` +
              `below the ${formatBytes(action.usedBytes)} already used; pushes will fail until ` +
              "images are deleted",
          );
        }
        return;
      case "create-group":
        await this.#ensureGroup(action.group);
        return;
      case "add-member":
        await this.#bind(action, action.projectId || made.get(action.project) || 0);
        return;
      case "set-role":
        await client.updateMemberRole(action.projectId, action.memberId, action.toRole);
        audit("repair member role", target, detail);
        return;
      case "purge-repositories":
        await this.#purge(action.project);
        return;
      case "delete-project":
        try {
          await client.deleteProject(action.projectId);
        } catch (error) {
          if (error instanceof HttpError && error.status === 412) {
            throw terminal(
              "harbor",
              `Harbor refused to delete project ${action.project} (HTTP 412: ${error.bodyExcerpt}); it was not deleted`,
              error,
            );
          }
          throw error;
        }
        audit("delete project", target, detail);
        return;
    }
  }

  /** Makes the OIDC group a member of the project; "already a member" is done. */
  async #bind(action: HarborAction & { kind: "add-member" }, projectId: number): Promise<void> {
    for (let attempt = 1;; attempt++) {
      const g = await this.#ensureGroup(action.group);
      try {
        await this.#c.client.addGroupMember(projectId, g, action.roleId);
        this.#c.audit(
          action.repair ? "repair group member" : "add group member",
          action.project,
          action.repair
            ? describeAction(action).detail
            : `${action.group} as ${ROLE_NAMES[action.roleId] ?? `role ${action.roleId}`}`,
        );
        return;
      } catch (error) {
        // Already a member; its role is checked by the membership pass.
        if (error instanceof HttpError && error.status === 409) return;
        // A known group id Harbor no longer has (deleted by hand): look it up again, once.
        if (error instanceof HttpError && error.status === 400 && attempt === 1) {
          this.#groupIds.delete(action.group);
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
    const found = await this.#c.client.findGroup(name);
    if (found) return found;
    try {
      const id = await this.#c.client.createGroup(name);
      this.#c.audit("create group", name, "OIDC group");
      return { id, group_name: name, group_type: 3 };
    } catch (error) {
      if (!(error instanceof HttpError && error.status === 409)) throw error;
      const again = await this.#c.client.findGroup(name);
      if (!again) throw error;
      return again;
    }
  }

  /** Deletes every repository of a project, page by page, until none is left. */
  async #purge(name: string): Promise<void> {
    for (let round = 0; round < 10_000; round++) {
      const repositories = await this.#c.client.listRepositories(name);
      if (repositories.length === 0) return;
      for (const repo of repositories) {
        await this.#c.client.deleteRepository(name, repo.name);
        this.#c.audit("delete repository", repo.name, "termination: purge");
      }
    }
    throw terminal("harbor", `repositories of ${name} keep reappearing; not deleted`);
  }
}
