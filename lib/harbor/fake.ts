/**
 * A fake Harbor 2.15: a Hono app serving the v2.0 paths Berth uses, the way the real server
 * answers them. Basic auth (401), robot permissions that can be narrowed (403), projects with
 * Harbor's name rule (400) and duplicate check (409), quotas in bytes (−1 unlimited; 0 and
 * other negatives refused, a missing or 0 `storage_limit` replaced by the system default),
 * OIDC user groups (409 on a duplicate), project members, repositories, and a delete that
 * answers 412 while repositories remain. Lists page with a default page size of 10 (at most
 * 100), `X-Total-Count` and `Link`. Its methods are the control API tests and the demo use to
 * push images and change things behind Berth's back.
 */
import { Faults } from "../fault.ts";
import { type Context, Hono } from "hono";
import { type RecordedRequest, recordRequests } from "../fake_recorder.ts";
import { basicAuth } from "../http.ts";

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

/** Options of {@link FakeHarbor}. */
export interface FakeHarborOptions {
  username?: string;
  password?: string;
  /** `storage_per_project`: the quota Harbor applies when a create names none (bytes, −1). */
  defaultStorage?: number;
  now?: () => number;
}

/**
 * Every permission a system-level robot can hold that Berth uses, as `resource:action`.
 * Narrow a robot with {@link FakeHarbor.setPermissions}.
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
export type HarborPermission = typeof ALL_PERMISSIONS[number];

const PROJECT_NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;
const ROLES = new Set([1, 2, 3, 4, 5]);
const ROLE_NAMES: Record<number, string> = {
  1: "projectAdmin",
  2: "developer",
  3: "guest",
  4: "maintainer",
  5: "limitedGuest",
};

/** The fake Harbor server. `app` is a Hono app: serve it, or call `app.request` directly. */
export class FakeHarbor {
  readonly app: Hono;
  /** Faults to inject, per route (`lib/fault.ts`). */
  readonly faults: Faults = new Faults();
  readonly username: string;
  password: string;
  readonly projects = new Map<number, FakeProject>();
  readonly groups: FakeGroup[] = [];
  /** Every request served: method, path with query, status and JSON body. */
  readonly requests: RecordedRequest[] = [];
  defaultStorage: number;
  #permissions = new Set<string>(ALL_PERMISSIONS);
  #ids = { project: 0, quota: 0, group: 0, member: 0, repository: 0 };
  #now: () => number;

  constructor(options: FakeHarborOptions = {}) {
    this.username = options.username ?? "robot$berth";
    this.password = options.password ?? "robot-secret";
    this.defaultStorage = options.defaultStorage ?? -1;
    this.#now = options.now ?? (() => Date.parse("2026-11-15T12:00:00Z"));
    this.app = this.#routes();
  }

  // ---- control API -------------------------------------------------------------------------

  /** Gives the robot exactly these permissions. */
  setPermissions(permissions: readonly HarborPermission[]): void {
    this.#permissions = new Set(permissions);
  }

  /** Takes these permissions away from the robot. */
  revoke(...permissions: HarborPermission[]): void {
    for (const p of permissions) this.#permissions.delete(p);
  }

  /** A project by name. */
  project(name: string): FakeProject | undefined {
    for (const p of this.projects.values()) if (p.name === name) return p;
    return undefined;
  }

  /** Creates a project behind Berth's back (as an admin would in the UI). */
  addProject(name: string, hardBytes = -1): FakeProject {
    return this.#createProject(name, hardBytes);
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

  #createProject(name: string, hard: number): FakeProject {
    const p: FakeProject = {
      id: ++this.#ids.project,
      name,
      created: new Date(this.#now()).toISOString(),
      quotaId: ++this.#ids.quota,
      hard,
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

  // ---- the API -----------------------------------------------------------------------------

  #routes(): Hono {
    const app = new Hono().basePath("/api/v2.0");

    app.use("*", recordRequests(this.requests, { bodies: true }));
    app.use("*", this.faults.middleware());

    const open = new Set(["/api/v2.0/health", "/api/v2.0/ping", "/api/v2.0/systeminfo"]);
    app.use("*", async (c, next) => {
      if (open.has(new URL(c.req.url).pathname)) return await next();
      const header = c.req.header("authorization") ?? "";
      const expected = basicAuth(this.username, this.password);
      if (header !== expected) return error(c, 401, "UNAUTHORIZED", "unauthorized");
      await next();
    });

    const need = (c: Context, permission: HarborPermission) =>
      this.#permissions.has(permission) ? undefined : error(
        c,
        403,
        "FORBIDDEN",
        `forbidden: the robot has no permission ${permission.replace(":", " ")}`,
      );

    app.get("/health", (c) =>
      c.json({
        status: "healthy",
        components: ["core", "database", "jobservice", "portal", "redis", "registry"].map((
          name,
        ) => ({ name, status: "healthy" })),
      }));
    app.get("/ping", (c) => c.text("Pong"));
    app.get(
      "/systeminfo",
      (c) => c.json({ harbor_version: "v2.15.2-fake", auth_mode: "oidc_auth", with_notary: false }),
    );

    app.get("/users/current/permissions", (c) => {
      const scope = c.req.query("scope") ?? "";
      if (scope !== "" && scope !== "/system") return c.json([]);
      return c.json(
        [...this.#permissions].map((p) => {
          const [resource, action] = p.split(":");
          return { resource, action };
        }),
      );
    });

    // Projects -------------------------------------------------------------------------------
    app.get("/projects", (c) => {
      const denied = need(c, "project:list");
      if (denied) return denied;
      let list = [...this.projects.values()];
      const fuzzy = c.req.query("name");
      if (fuzzy) list = list.filter((p) => p.name.includes(fuzzy));
      const q = c.req.query("q");
      if (q) {
        for (const clause of q.split(",")) {
          const m = /^name=(~?)(.*)$/.exec(clause);
          if (!m) return error(c, 400, "BAD_REQUEST", `unsupported query ${clause}`);
          const value = m[2] ?? "";
          list = list.filter((p) => m[1] ? p.name.includes(value) : p.name === value);
        }
      }
      return page(c, list.map((p) => this.#projectJson(p)));
    });

    app.on("HEAD", "/projects", (c) => {
      const name = c.req.query("project_name");
      if (!name) return error(c, 422, "UNPROCESSABLE_ENTITY", "project_name in query is required");
      return this.project(name) ? c.body(null, 200) : c.body(null, 404);
    });

    app.post("/projects", async (c) => {
      const denied = need(c, "project:create");
      if (denied) return denied;
      const body = await json(c);
      if (!body || typeof body.project_name !== "string") {
        return error(c, 422, "UNPROCESSABLE_ENTITY", "project_name in body is required");
      }
      const name = body.project_name;
      if (name.length > 255 || !PROJECT_NAME.test(name)) {
        return error(
          c,
          400,
          "BAD_REQUEST",
          "project name is not in lower case or contains illegal characters",
        );
      }
      const meta = body.metadata as Record<string, unknown> | undefined;
      if (meta?.public !== undefined && meta.public !== "true" && meta.public !== "false") {
        return error(
          c,
          400,
          "BAD_REQUEST",
          `metadata.public should only be 'true' or 'false', but got: '${String(meta.public)}'`,
        );
      }
      let limit = body.storage_limit;
      if (limit !== undefined && limit !== null && !Number.isInteger(limit)) {
        return error(c, 422, "UNPROCESSABLE_ENTITY", "storage_limit in body must be of type int64");
      }
      if (limit === undefined || limit === null || limit === 0) limit = this.defaultStorage;
      if ((limit as number) <= 0 && limit !== -1) {
        return error(c, 400, "BAD_REQUEST", "invalid value for resource storage");
      }
      if (this.project(name)) {
        return error(c, 409, "CONFLICT", `The project named ${name} already exists`);
      }
      const p = this.#createProject(name, limit as number);
      c.header("location", `/api/v2.0/projects/${p.id}`);
      return c.body(null, 201);
    });

    const findProject = (c: Context, param = "project_name_or_id") => {
      const raw = c.req.param(param) ?? "";
      const asName = c.req.header("x-is-resource-name") === "true";
      if (!asName && /^\d+$/.test(raw)) return this.projects.get(Number(raw));
      return this.project(raw);
    };
    const notFound = (c: Context) =>
      error(c, 404, "NOT_FOUND", `project ${c.req.param("project_name_or_id")} not found`);

    app.get("/projects/:project_name_or_id", (c) => {
      const denied = need(c, "project:read");
      if (denied) return denied;
      const p = findProject(c);
      return p ? c.json(this.#projectJson(p)) : notFound(c);
    });

    app.delete("/projects/:project_name_or_id", (c) => {
      const denied = need(c, "project:delete");
      if (denied) return denied;
      const p = findProject(c);
      if (!p) return notFound(c);
      if (p.repositories.length > 0) {
        return error(
          c,
          412,
          "PRECONDITION",
          "the project contains repositories, can not be deleted",
        );
      }
      this.projects.delete(p.id);
      return c.body(null, 200);
    });

    app.get("/projects/:project_name_or_id/summary", (c) => {
      const denied = need(c, "project:read");
      if (denied) return denied;
      const p = findProject(c);
      if (!p) return notFound(c);
      const count = (role: number) => p.members.filter((m) => m.roleId === role).length;
      return c.json({
        repo_count: p.repositories.length,
        project_admin_count: count(1),
        developer_count: count(2),
        guest_count: count(3),
        maintainer_count: count(4),
        limited_guest_count: count(5),
        quota: { hard: { storage: p.hard }, used: { storage: p.used } },
      });
    });

    // Members --------------------------------------------------------------------------------
    app.get("/projects/:project_name_or_id/members", (c) => {
      const denied = need(c, "member:list");
      if (denied) return denied;
      const p = findProject(c);
      if (!p) return notFound(c);
      const name = c.req.query("entityname");
      const list = p.members.filter((m) => !name || m.entityName.includes(name));
      return page(c, list.map((m) => memberJson(p, m)));
    });

    app.post("/projects/:project_name_or_id/members", async (c) => {
      const denied = need(c, "member:create");
      if (denied) return denied;
      const p = findProject(c);
      if (!p) return notFound(c);
      const body = await json(c);
      const group = body?.member_group as Record<string, unknown> | undefined;
      const roleId = body?.role_id;
      let g: FakeGroup | undefined;
      if (group && typeof group.id === "number" && group.id > 0) {
        g = this.groups.find((x) => x.id === group.id);
        if (!g) return error(c, 400, "BAD_REQUEST", `Group ${group.id} not found`);
      } else if (group && typeof group.group_name === "string" && group.group_name !== "") {
        g = this.groups.find((x) =>
          x.group_name === group.group_name && x.group_type === (group.group_type ?? 3)
        );
        if (!g) {
          // In OIDC mode Harbor onboards a group it does not know yet when it is named.
          g = {
            id: ++this.#ids.group,
            group_name: group.group_name,
            group_type: 3,
            ldap_group_dn: "",
          };
          this.groups.push(g);
        }
      } else {
        return error(
          c,
          400,
          "BAD_REQUEST",
          "at least one of member_user or member_group must be provided",
        );
      }
      if (p.members.some((m) => m.entityType === "g" && m.entityId === g.id)) {
        return error(c, 409, "CONFLICT", "The project member specified already exist");
      }
      if (typeof roleId !== "number" || !ROLES.has(roleId)) {
        return error(
          c,
          400,
          "BAD_REQUEST",
          "invalid role: must be a built-in project role (1-5) or an existing custom role",
        );
      }
      const m: FakeMember = {
        id: ++this.#ids.member,
        entityType: "g",
        entityId: g.id,
        entityName: g.group_name,
        roleId,
      };
      p.members.push(m);
      c.header("location", `/api/v2.0/projects/${p.id}/members/${m.id}`);
      return c.body(null, 201);
    });

    const findMember = (c: Context) => {
      const p = findProject(c);
      const m = p?.members.find((x) => x.id === Number(c.req.param("mid")));
      return { p, m };
    };
    app.get("/projects/:project_name_or_id/members/:mid", (c) => {
      const denied = need(c, "member:read");
      if (denied) return denied;
      const { p, m } = findMember(c);
      return p && m ? c.json(memberJson(p, m)) : error(c, 404, "NOT_FOUND", "member not found");
    });
    app.put("/projects/:project_name_or_id/members/:mid", async (c) => {
      const denied = need(c, "member:update");
      if (denied) return denied;
      const { p, m } = findMember(c);
      if (!p || !m) return error(c, 404, "NOT_FOUND", "member not found");
      const roleId = (await json(c))?.role_id;
      if (typeof roleId !== "number" || !ROLES.has(roleId)) {
        return error(c, 400, "BAD_REQUEST", "invalid role");
      }
      m.roleId = roleId;
      return c.body(null, 200);
    });
    app.delete("/projects/:project_name_or_id/members/:mid", (c) => {
      const denied = need(c, "member:delete");
      if (denied) return denied;
      const { p, m } = findMember(c);
      if (!p || !m) return error(c, 404, "NOT_FOUND", "member not found");
      p.members = p.members.filter((x) => x !== m);
      return c.body(null, 200);
    });

    // Repositories ---------------------------------------------------------------------------
    app.get("/projects/:project_name/repositories", (c) => {
      const denied = need(c, "repository:list");
      if (denied) return denied;
      const p = this.project(c.req.param("project_name"));
      if (!p) return error(c, 404, "NOT_FOUND", "project not found");
      return page(
        c,
        p.repositories.map((r) => ({
          id: r.id,
          project_id: p.id,
          name: r.name,
          artifact_count: r.artifactCount,
          pull_count: 0,
        })),
      );
    });
    app.delete("/projects/:project_name/repositories/:repository_name", (c) => {
      const denied = need(c, "repository:delete");
      if (denied) return denied;
      const p = this.project(c.req.param("project_name"));
      if (!p) return error(c, 404, "NOT_FOUND", "project not found");
      // Hono decodes the path parameter once; Harbor decodes the double-encoded name again.
      const name = `${p.name}/${decodeURIComponent(c.req.param("repository_name"))}`;
      const repo = p.repositories.find((r) => r.name === name);
      if (!repo) return error(c, 404, "NOT_FOUND", `repository ${name} not found`);
      p.repositories = p.repositories.filter((r) => r !== repo);
      p.used = Math.max(0, p.used - repo.bytes);
      return c.body(null, 200);
    });

    // User groups ----------------------------------------------------------------------------
    app.get("/usergroups", (c) => {
      const denied = need(c, "user-group:list");
      if (denied) return denied;
      const name = c.req.query("group_name");
      return page(c, this.groups.filter((g) => !name || g.group_name.includes(name)));
    });
    app.get("/usergroups/search", (c) => {
      const denied = need(c, "user-group:read");
      if (denied) return denied;
      const name = c.req.query("groupname");
      if (!name) return error(c, 422, "UNPROCESSABLE_ENTITY", "groupname in query is required");
      return page(
        c,
        this.groups.filter((g) => g.group_name.includes(name)).map((g) => ({
          id: g.id,
          group_name: g.group_name,
          group_type: g.group_type,
        })),
      );
    });
    app.post("/usergroups", async (c) => {
      const denied = need(c, "user-group:create");
      if (denied) return denied;
      const body = await json(c);
      const name = body?.group_name;
      const type = body?.group_type;
      if (typeof name !== "string" || name === "" || typeof type !== "number") {
        return error(c, 400, "BAD_REQUEST", "group_name and group_type are required");
      }
      if (![1, 2, 3].includes(type)) return error(c, 400, "BAD_REQUEST", "invalid group_type");
      if (this.groups.some((g) => g.group_name === name && g.group_type === type)) {
        return error(c, 409, "CONFLICT", `group ${name} already exists`);
      }
      const g: FakeGroup = {
        id: ++this.#ids.group,
        group_name: name,
        group_type: type,
        ldap_group_dn: typeof body?.ldap_group_dn === "string" ? body.ldap_group_dn : "",
      };
      this.groups.push(g);
      c.header("location", `/api/v2.0/usergroups/${g.id}`);
      return c.body(null, 201);
    });
    app.get("/usergroups/:group_id", (c) => {
      const denied = need(c, "user-group:read");
      if (denied) return denied;
      const g = this.groups.find((x) => x.id === Number(c.req.param("group_id")));
      return g ? c.json(g) : error(c, 404, "NOT_FOUND", "group not found");
    });

    // Quotas ---------------------------------------------------------------------------------
    app.get("/quotas", (c) => {
      const denied = need(c, "quota:list");
      if (denied) return denied;
      const reference = c.req.query("reference");
      const refId = c.req.query("reference_id");
      let list = [...this.projects.values()];
      if (reference && reference !== "project") list = [];
      if (refId !== undefined) list = list.filter((p) => String(p.id) === refId);
      return page(c, list.map((p) => this.#quotaJson(p)));
    });
    app.get("/quotas/:id", (c) => {
      const denied = need(c, "quota:read");
      if (denied) return denied;
      const p = [...this.projects.values()].find((x) => x.quotaId === Number(c.req.param("id")));
      return p ? c.json(this.#quotaJson(p)) : error(c, 404, "NOT_FOUND", "quota not found");
    });
    app.put("/quotas/:id", async (c) => {
      const denied = need(c, "quota:update");
      if (denied) return denied;
      const p = [...this.projects.values()].find((x) => x.quotaId === Number(c.req.param("id")));
      if (!p) return error(c, 404, "NOT_FOUND", "quota not found");
      const hard = (await json(c))?.hard as Record<string, unknown> | undefined;
      if (!hard || typeof hard !== "object") {
        return error(c, 422, "UNPROCESSABLE_ENTITY", "hard in body is required");
      }
      for (const key of Object.keys(hard)) {
        if (key !== "storage") return error(c, 400, "BAD_REQUEST", `resource ${key} not support`);
      }
      const storage = hard.storage;
      if (typeof storage !== "number" || !Number.isInteger(storage)) {
        return error(c, 400, "BAD_REQUEST", "resource storage not found");
      }
      if (storage <= 0 && storage !== -1) {
        return error(c, 400, "BAD_REQUEST", "invalid value for resource storage");
      }
      // Harbor accepts a hard limit below what is used; pushes then fail until it is raised.
      p.hard = storage;
      return c.body(null, 200);
    });

    app.notFound((c) => error(c, 404, "NOT_FOUND", "not found"));
    return app;
  }

  #projectJson(p: FakeProject) {
    return {
      project_id: p.id,
      owner_id: 1,
      owner_name: "admin",
      name: p.name,
      creation_time: p.created,
      update_time: p.created,
      deleted: false,
      repo_count: p.repositories.length,
      metadata: { public: "false" },
    };
  }

  #quotaJson(p: FakeProject) {
    return {
      id: p.quotaId,
      ref: { id: p.id, name: p.name, owner_name: "admin" },
      hard: { storage: p.hard },
      used: { storage: p.used },
      creation_time: p.created,
      update_time: p.created,
    };
  }
}

function memberJson(p: FakeProject, m: FakeMember) {
  return {
    id: m.id,
    project_id: p.id,
    entity_name: m.entityName,
    role_name: ROLE_NAMES[m.roleId] ?? "custom",
    role_id: m.roleId,
    entity_id: m.entityId,
    entity_type: m.entityType,
  };
}

function error(c: Context, status: number, code: string, message: string): Response {
  return c.json({ errors: [{ code, message }] }, status as 400);
}

async function json(c: Context): Promise<Record<string, unknown> | undefined> {
  try {
    const body = await c.req.json();
    return body && typeof body === "object" && !Array.isArray(body) ? body : undefined;
  } catch {
    return undefined;
  }
}

/** Harbor's paging: `page` (1-based), `page_size` (default 10, at most 100), headers. */
function page<T>(c: Context, all: T[]): Response {
  const pageNo = Number(c.req.query("page") ?? "1");
  const size = Number(c.req.query("page_size") ?? "10");
  if (!Number.isInteger(pageNo) || pageNo < 1) {
    return error(c, 422, "UNPROCESSABLE_ENTITY", "page in query should be greater than 0");
  }
  if (!Number.isInteger(size) || size < 1 || size > 100) {
    return error(
      c,
      422,
      "UNPROCESSABLE_ENTITY",
      "page_size in query should be less than or equal to 100",
    );
  }
  const items = all.slice((pageNo - 1) * size, pageNo * size);
  const url = new URL(c.req.url);
  const link = (n: number, rel: string) => {
    url.searchParams.set("page", String(n));
    url.searchParams.set("page_size", String(size));
    return `<${url.pathname}${url.search}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (pageNo > 1) links.push(link(pageNo - 1, "prev"));
  if (pageNo * size < all.length) links.push(link(pageNo + 1, "next"));
  c.header("x-total-count", String(all.length));
  if (links.length) c.header("link", links.join(" , "));
  return c.json(items);
}
