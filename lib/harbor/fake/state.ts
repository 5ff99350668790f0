/**
 * The fake Harbor's in-memory state and control API: projects with their quotas, members and
 * repositories, OIDC user groups, the robot's permissions, the request log and the faults. The
 * route modules beside this one read and change it; tests and the demo change it behind
 * Berth's back through its methods.
 */
import { Faults } from "../../fault.ts";
import type { RecordedRequest } from "../../fake_recorder.ts";

/** A repository of a fake project. */
export interface FakeRepository {
  id: number;
  name: string;
  artifactCount: number;
  bytes: number;
}

/** A member entity of a fake project. */
export interface FakeMember {
  id: number;
  entityType: "u" | "g";
  entityId: number;
  entityName: string;
  roleId: number;
}

/** A project as the fake stores it. */
export interface FakeProject {
  id: number;
  name: string;
  created: string;
  quotaId: number;
  /** Hard storage limit in bytes; −1 is unlimited. */
  hard: number;
  /** Storage used in bytes. */
  used: number;
  repositories: FakeRepository[];
  members: FakeMember[];
}

/** A user group. */
export interface FakeGroup {
  id: number;
  group_name: string;
  group_type: number;
  ldap_group_dn: string;
}

/** Options of the fake Harbor. */
export interface FakeHarborOptions {
  username?: string;
  password?: string;
  /** `storage_per_project`: the quota Harbor applies when a create names none (bytes, −1). */
  defaultStorage?: number;
  now?: () => number;
}

/**
 * Every permission a system-level robot can hold that Berth uses, as `resource:action`.
 * Narrow a robot with {@link HarborState.setPermissions}.
 */
export const ALL_PERMISSIONS = [
  "project:list",
  "project:read",
  "project:create",
  "project:delete",
  "quota:list",
  "quota:read",
  "quota:update",
  "user-group:list",
  "user-group:read",
  "user-group:create",
  "member:list",
  "member:read",
  "member:create",
  "member:update",
  "member:delete",
  "repository:list",
  "repository:delete",
] as const;
/** One permission of {@link ALL_PERMISSIONS}. */
export type HarborPermission = typeof ALL_PERMISSIONS[number];

/** What the fake Harbor holds, and the control API over it. */
export class HarborState {
  /** Faults to inject, per route (`lib/fault.ts`). */
  readonly faults: Faults = new Faults();
  /** The robot's name (basic auth). */
  readonly username: string;
  /** The robot's secret (basic auth); a test may change it. */
  password: string;
  /** Projects by id. */
  readonly projects = new Map<number, FakeProject>();
  /** User groups, in creation order. */
  readonly groups: FakeGroup[] = [];
  /** Every request served: method, path with query, status and JSON body. */
  readonly requests: RecordedRequest[] = [];
  /** The quota a create that names none gets (bytes, −1 unlimited). */
  defaultStorage: number;
  #permissions = new Set<string>(ALL_PERMISSIONS);
  #ids = { project: 0, quota: 0, group: 0, member: 0, repository: 0 };
  #now: () => number;

  constructor(options: FakeHarborOptions = {}) {
    this.username = options.username ?? "robot$berth";
    this.password = options.password ?? "robot-secret";
    this.defaultStorage = options.defaultStorage ?? -1;
    this.#now = options.now ?? (() => Date.parse("2026-11-15T12:00:00Z"));
  }

  /** Gives the robot exactly these permissions. */
  setPermissions(permissions: readonly HarborPermission[]): void {
    this.#permissions = new Set(permissions);
  }

  /** Takes these permissions away from the robot. */
  revoke(...permissions: HarborPermission[]): void {
    for (const p of permissions) this.#permissions.delete(p);
  }

  /** Whether the robot holds this permission. */
  can(permission: HarborPermission): boolean {
    return this.#permissions.has(permission);
  }

  /** The robot's permissions, in the order they were granted. */
  granted(): string[] {
    return [...this.#permissions];
  }

  /** A project by name. */
  project(name: string): FakeProject | undefined {
    for (const p of this.projects.values()) if (p.name === name) return p;
    return undefined;
  }

  /** Creates a project behind Berth's back (as an admin would in the UI). */
  addProject(name: string, hardBytes = -1): FakeProject {
    const p: FakeProject = {
      id: ++this.#ids.project,
      name,
      created: new Date(this.#now()).toISOString(),
      quotaId: ++this.#ids.quota,
      hard: hardBytes,
      used: 0,
      repositories: [],
      // Harbor makes the owner (the first system admin when a robot creates) project admin.
      members: [{
        id: ++this.#ids.member,
        entityType: "u",
        entityId: 1,
        entityName: "admin",
        roleId: 1,
      }],
    };
    this.projects.set(p.id, p);
    return p;
  }

  /** Adds a user group (`group_type` 3 is an OIDC group). */
  addGroup(name: string, type = 3, ldapGroupDn = ""): FakeGroup {
    const g: FakeGroup = {
      id: ++this.#ids.group,
      group_name: name,
      group_type: type,
      ldap_group_dn: ldapGroupDn,
    };
    this.groups.push(g);
    return g;
  }

  /** Makes a group a member of a project with this role. */
  addGroupMember(project: FakeProject, group: FakeGroup, roleId: number): FakeMember {
    const m: FakeMember = {
      id: ++this.#ids.member,
      entityType: "g",
      entityId: group.id,
      entityName: group.group_name,
      roleId,
    };
    project.members.push(m);
    return m;
  }

  /** Pushes an image: adds (or grows) a repository and the storage used. */
  push(projectName: string, repository: string, bytes: number): void {
    const p = this.#must(projectName);
    const full = `${projectName}/${repository}`;
    let repo = p.repositories.find((r) => r.name === full);
    if (!repo) {
      repo = { id: ++this.#ids.repository, name: full, artifactCount: 0, bytes: 0 };
      p.repositories.push(repo);
    }
    repo.artifactCount++;
    repo.bytes += bytes;
    p.used += bytes;
  }

  /** Sets the storage used, as garbage collection or a push would. */
  setUsed(projectName: string, bytes: number): void {
    this.#must(projectName).used = bytes;
  }

  /** Changes a quota behind Berth's back. */
  setHard(projectName: string, bytes: number): void {
    this.#must(projectName).hard = bytes;
  }

  /** Removes a group's membership behind Berth's back. */
  removeGroupMember(projectName: string, groupName: string): void {
    const p = this.#must(projectName);
    p.members = p.members.filter((m) => !(m.entityType === "g" && m.entityName === groupName));
  }

  /** Requests that changed something (not GET/HEAD). */
  writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD");
  }

  #must(name: string): FakeProject {
    const p = this.project(name);
    if (!p) throw new Error(`fake harbor: no project ${name}`);
    return p;
  }
}
