/**
 * The fake Harbor's in-memory state and control API: projects with their quotas, members and
 * repositories, OIDC user groups, robot accounts (and what they may pull), users, the robot's
 * permissions, the request log and the faults. The route modules beside this one read and
 * change it; tests and the demo change it behind Berth's back through its methods.
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

/** One access of a robot's permission: `repository` `pull`. */
export interface FakeAccess {
  resource: string;
  action: string;
  effect?: string;
}

/** A robot's permission: `system` on `/`, or `project` on every project (`*`) or one (its id). */
export interface FakeRobotPermission {
  kind: "system" | "project";
  namespace: "/" | "*" | number;
  access: FakeAccess[];
}

/** A system-level robot account as the fake stores it. */
export interface FakeRobot {
  id: number;
  /** Without Harbor's prefix (Harbor shows it with: `robot$<name>`). */
  name: string;
  description: string;
  /** Days; −1 never. */
  duration: number;
  disable: boolean;
  /** Unix seconds; −1 never. */
  expiresAt: number;
  /** Creation and last update, in ms of the fake's clock. */
  created: number;
  updated: number;
  secret: string;
  permissions: FakeRobotPermission[];
}

/** A Harbor user; an OIDC user carries `subiss` and the CLI secret Harbor shows with it. */
export interface FakeUser {
  id: number;
  username: string;
  email: string;
  subiss?: string;
  cliSecret?: string;
  deleted: boolean;
  created: string;
}

/** Why a robot's basic auth is refused. */
export type RobotRefusal = "unknown" | "secret" | "disabled" | "expired";

/** Options of the fake Harbor. */
export interface FakeHarborOptions {
  username?: string;
  password?: string;
  /** `storage_per_project`: the quota Harbor applies when a create names none (bytes, −1). */
  defaultStorage?: number;
  /** `robot_name_prefix` (default `robot$`). */
  robotPrefix?: string;
  /** The fake's clock (ms): creation times and robot expiry. */
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
  "robot:create",
  "robot:read",
  "robot:list",
  "robot:delete",
  "user:list",
  "user:read",
  "user:delete",
  // on every project: what the robots Berth creates may be given (Harbor's creator-scope rule)
  "repository:pull",
] as const;
/**
 * Permissions Harbor 2.15 lets no robot account hold (`robot update` was taken out of the
 * grantable set in 2.12; `configuration` never was in it): an admin's credential holds them,
 * and a robot created before 2.12 keeps `robot update`. {@link HarborState.grant} adds them.
 */
export const ADMIN_PERMISSIONS = ["robot:update", "configuration:read"] as const;
/** One permission of {@link ALL_PERMISSIONS} or {@link ADMIN_PERMISSIONS}. */
export type HarborPermission =
  | typeof ALL_PERMISSIONS[number]
  | typeof ADMIN_PERMISSIONS[number];

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
  /** Robot accounts by id (Berth's own is `username`/`password`, outside this map). */
  readonly robots = new Map<number, FakeRobot>();
  /** Users by id; 1 is `admin`. */
  readonly users = new Map<number, FakeUser>();
  /** The quota a create that names none gets (bytes, −1 unlimited). */
  defaultStorage: number;
  /** `robot_name_prefix`: robots are shown and authenticate as `<prefix><name>`. */
  robotPrefix: string;
  #permissions = new Set<string>(ALL_PERMISSIONS);
  #ids = { project: 0, quota: 0, group: 0, member: 0, repository: 0, robot: 0, user: 0 };
  #now: () => number;

  constructor(options: FakeHarborOptions = {}) {
    this.username = options.username ?? "robot$berth";
    this.password = options.password ?? "robot-secret";
    this.defaultStorage = options.defaultStorage ?? -1;
    this.robotPrefix = options.robotPrefix ?? "robot$";
    this.#now = options.now ?? (() => Date.parse("2026-11-15T12:00:00Z"));
    this.addUser({ username: "admin", email: "admin@example.com" });
  }

  /** The fake's clock, in ms. */
  now(): number {
    return this.#now();
  }

  /** Gives the robot exactly these permissions. */
  setPermissions(permissions: readonly HarborPermission[]): void {
    this.#permissions = new Set(permissions);
  }

  /** Gives the robot these permissions too. */
  grant(...permissions: HarborPermission[]): void {
    for (const p of permissions) this.#permissions.add(p);
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

  /**
   * Adds a system-level robot (as an admin would, or `POST /robots` once it has checked the
   * body): expiring `duration` days from now (−1 never), with a generated secret unless given.
   */
  addRobot(init: {
    name: string;
    duration: number;
    permissions: FakeRobotPermission[];
    description?: string;
    disable?: boolean;
    secret?: string;
  }): FakeRobot {
    const now = this.#now();
    const r: FakeRobot = {
      id: ++this.#ids.robot,
      name: init.name,
      description: init.description ?? "",
      duration: init.duration,
      disable: init.disable ?? false,
      expiresAt: robotExpiry(now, init.duration),
      created: now,
      updated: now,
      secret: init.secret ?? robotSecret(),
      permissions: init.permissions,
    };
    this.robots.set(r.id, r);
    return r;
  }

  /** The robot of this name (without the prefix). */
  robotNamed(name: string): FakeRobot | undefined {
    for (const r of this.robots.values()) if (r.name === name) return r;
    return undefined;
  }

  /** Harbor's check of a robot's basic auth: the robot, or why it is refused. */
  login(username: string, secret: string): FakeRobot | RobotRefusal {
    const r = username.startsWith(this.robotPrefix)
      ? this.robotNamed(username.slice(this.robotPrefix.length))
      : undefined;
    if (!r) return "unknown";
    if (r.secret !== secret) return "secret";
    if (r.disable) return "disabled";
    if (r.expiresAt !== -1 && r.expiresAt <= Math.floor(this.#now() / 1000)) return "expired";
    return r;
  }

  /**
   * What the registry answers a robot's pull of an image of `projectName`: true when its basic
   * auth passes and it holds `repository` `pull` (or `push`, which Harbor widens to pull) on
   * that project, by name or through `*`.
   */
  canPull(username: string, secret: string, projectName: string): boolean {
    const r = this.login(username, secret);
    const p = this.project(projectName);
    if (typeof r === "string" || !p) return false;
    return r.permissions.some((perm) =>
      perm.kind === "project" && (perm.namespace === "*" || perm.namespace === p.id) &&
      perm.access.some((a) =>
        a.resource === "repository" && (a.action === "pull" || a.action === "push") &&
        a.effect !== "deny"
      )
    );
  }

  /** Adds a user (as a login onboards one); an OIDC user with its `subiss` and CLI secret. */
  addUser(
    init: { username: string; email?: string; subiss?: string; cliSecret?: string },
  ): FakeUser {
    const u: FakeUser = {
      id: ++this.#ids.user,
      username: init.username,
      email: init.email ?? "",
      ...(init.subiss === undefined ? {} : { subiss: init.subiss }),
      ...(init.cliSecret === undefined ? {} : { cliSecret: init.cliSecret }),
      deleted: false,
      created: new Date(this.#now()).toISOString(),
    };
    this.users.set(u.id, u);
    return u;
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

/** When a robot created (or last given a duration) at `fromMs` expires: Unix seconds, −1 never. */
export function robotExpiry(fromMs: number, durationDays: number): number {
  return durationDays === -1 ? -1 : Math.floor(fromMs / 1000) + durationDays * 86_400;
}

/** A secret as Harbor generates one: 32 letters and digits, with upper, lower and a digit. */
export function robotSecret(): string {
  const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
  const bytes = crypto.getRandomValues(new Uint8Array(29));
  return "Aa0" + [...bytes].map((b) => letters[b % letters.length]).join("");
}
