/**
 * Harbor's REST API v2.0 as Berth uses it. Every request is stateless HTTP basic auth with the
 * robot account (no cookies, so Harbor's CSRF check never applies) and carries its own
 * `X-Request-Id`. Lookups are exact (`GET /projects/{name}` with `X-Is-Resource-Name: true`);
 * lists are paged to the end with `page_size=100` (the pages after the first a few at a time),
 * bounded by `MAX_LIST_ITEMS`; created ids come from `Location`.
 *
 * Errors stay {@link HttpError}s with the status, so callers branch on 404/409/412, and their
 * messages say what to fix. A refused credential (401) or a missing permission (403) is the
 * operator's to fix, not the customer's: it is classified transient, so orders wait for the fix
 * instead of failing.
 */
import { z } from "zod";
import type { Clock } from "../clock.ts";
import { BerthError, explainRefusal } from "../errors.ts";
import {
  basicAuth,
  createHttp,
  type Exchange,
  type Fetch,
  type Http,
  type QueryValue,
  urlPath,
} from "../http.ts";
import { announcedCount, listTooLong, MAX_LIST_ITEMS } from "../list_limit.ts";
import { forEachLimit } from "../pool.ts";
import { type HarborAccounts, harborAccounts, nullOn404 } from "./accounts.ts";
import {
  Health,
  Permission,
  Project,
  ProjectMemberEntity,
  Quota,
  Repository,
  SystemInfo,
  UserGroup,
} from "./schemas.ts";

/** Options of {@link createHarborClient}. */
export interface HarborClientOptions {
  /** `harbor_url`, with or without `/api/v2.0`. */
  url: string;
  username: string;
  password: string;
  fetch: Fetch;
  clock: Clock;
  onExchange?: (exchange: Exchange) => void;
  /** Request ids (tests pass a counter). */
  requestId?: () => string;
  timeoutMs?: number;
}

/** OIDC, in Harbor's `group_type`. */
export const OIDC_GROUP = 3;
/** Items asked for per page of a Harbor list (`page_size`; Harbor allows no more). */
export const PAGE_SIZE = 100;
/** Pages of one list read at a time once the first has said how many there are. */
const PAGE_CONCURRENCY = 4;

/** The Harbor calls Berth makes. */
export interface HarborClient extends HarborAccounts {
  readonly http: Http;
  readonly apiBase: string;
  health(): Promise<z.infer<typeof Health>>;
  systemInfo(): Promise<z.infer<typeof SystemInfo>>;
  /** Permissions of the robot (system scope). */
  permissions(): Promise<Permission[]>;
  /** The project of exactly this name, or null. */
  projectByName(name: string): Promise<Project | null>;
  /** Every project, all pages. */
  listProjects(): Promise<Project[]>;
  /** Creates a project with its storage quota; resolves its id. 409 when the name is taken. */
  createProject(name: string, storageBytes: number): Promise<number>;
  /** 412 when it still holds repositories. */
  deleteProject(id: number): Promise<void>;
  /** Every project quota, all pages. */
  listQuotas(): Promise<Quota[]>;
  /** The quota of one project, or null when Harbor has none. */
  projectQuota(projectId: number): Promise<Quota | null>;
  updateQuota(quotaId: number, storageBytes: number): Promise<void>;
  /** The group of exactly this name and type, or null. */
  findGroup(name: string): Promise<UserGroup | null>;
  /** Every user group, all pages. */
  listGroups(): Promise<UserGroup[]>;
  /** Creates an OIDC group; resolves its id. 409 when it exists. */
  createGroup(name: string): Promise<number>;
  listMembers(projectId: number): Promise<ProjectMemberEntity[]>;
  addGroupMember(projectId: number, group: UserGroup, roleId: number): Promise<void>;
  updateMemberRole(projectId: number, memberId: number, roleId: number): Promise<void>;
  listRepositories(projectName: string): Promise<Repository[]>;
  deleteRepository(projectName: string, repositoryName: string): Promise<void>;
}

/** The API base of a `harbor_url`: `https://h` and `https://h/api/v2.0/` both give `https://h/api/v2.0`. */
export function harborApiBase(url: string): string {
  const trimmed = url.replace(/\/+$/, "");
  return /\/api\/v2\.0$/.test(trimmed) ? trimmed : `${trimmed}/api/v2.0`;
}

/** The numeric id at the end of a `Location` header. */
export function idFromLocation(location: string | null, what: string): number {
  const id = Number(location?.split("/").filter(Boolean).at(-1));
  if (!Number.isInteger(id) || id <= 0) {
    // The create may or may not have happened: the next pass looks it up by name, so this is
    // retried rather than turned into an erred order.
    throw new BerthError(`harbor: ${what}: no id in the Location header (${location ?? "none"})`, {
      system: "harbor",
      transient: true,
    });
  }
  return id;
}

/** Builds a Harbor client. */
export function createHarborClient(options: HarborClientOptions): HarborClient {
  const apiBase = harborApiBase(options.url);
  const auth = basicAuth(options.username, options.password);
  const requestId = options.requestId ?? (() => crypto.randomUUID());
  const http = createHttp({
    system: "harbor",
    baseUrl: apiBase,
    fetch: options.fetch,
    clock: options.clock,
    headers: () => ({ authorization: auth, "x-request-id": requestId() }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.onExchange ? { onExchange: options.onExchange } : {}),
  });
  const byName = { "x-is-resource-name": "true" };

  async function call<T>(
    method: string,
    path: string,
    action: string,
    opts: {
      query?: Record<string, QueryValue>;
      body?: unknown;
      headers?: Record<string, string>;
      schema?: z.ZodType<T>;
      /** What a 403 means for this call, when more than a missing permission. */
      refused?: string;
    } = {},
  ) {
    const { refused, ...request } = opts;
    try {
      return await http.request<T>(method, path, { ...request, action });
    } catch (error) {
      throw explain(error, action, options.username, refused);
    }
  }

  /**
   * Every page of a list. Page 1 gives `X-Total-Count` (more than `MAX_LIST_ITEMS` is refused
   * there); the pages it announces are then read a few at a time, and paging goes on one by one
   * past them while pages come back full (the list grew meanwhile, or the server sent no count),
   * up to `MAX_LIST_ITEMS`: a list still full there is an error, never a truncation.
   */
  async function listAll<T>(
    path: string,
    schema: z.ZodType<T>,
    action: string,
    query: Record<string, QueryValue> = {},
  ): Promise<T[]> {
    const page = (n: number) =>
      call("GET", path, action, {
        query: { ...query, page: n, page_size: PAGE_SIZE },
        schema: z.array(schema),
      });
    const first = await page(1);
    const total = announcedCount("harbor", action, first.headers.get("x-total-count"));
    const pages: T[][] = [first.data];
    const announced = total === undefined ? 1 : Math.ceil(total / PAGE_SIZE);
    if (first.data.length === PAGE_SIZE && announced > 1) {
      let failure: { error: unknown } | undefined;
      const rest = Array.from({ length: announced - 1 }, (_, i) => i + 2);
      await forEachLimit(rest, PAGE_CONCURRENCY, async (n) => {
        if (failure) return;
        try {
          pages[n - 1] = (await page(n)).data;
        } catch (error) {
          failure ??= { error };
        }
      });
      if (failure) throw failure.error;
    }
    let seen = pages.reduce((n, p) => n + p.length, 0);
    while (pages.at(-1)?.length === PAGE_SIZE && !(total !== undefined && seen >= total)) {
      if (seen >= MAX_LIST_ITEMS) throw listTooLong("harbor", action);
      const next = (await page(pages.length + 1)).data;
      pages.push(next);
      seen += next.length;
    }
    return pages.flat();
  }

  return {
    http,
    apiBase,
    health: async () => (await call("GET", "/health", "read health", { schema: Health })).data,
    systemInfo: async () =>
      (await call("GET", "/systeminfo", "read system info", { schema: SystemInfo })).data,
    permissions: async () =>
      (await call("GET", "/users/current/permissions", "read the robot's permissions", {
        query: { scope: "/system", relative: false },
        schema: z.array(Permission),
      })).data,
    projectByName: (name) =>
      nullOn404(
        call("GET", urlPath`/projects/${name}`, `read project ${name}`, {
          headers: byName,
          schema: Project,
        }).then((res) => res.data),
      ),
    listProjects: () => listAll("/projects", Project, "list projects"),
    createProject: async (name, storageBytes) => {
      const res = await call("POST", "/projects", `create project ${name}`, {
        body: { project_name: name, metadata: { public: "false" }, storage_limit: storageBytes },
      });
      return idFromLocation(res.headers.get("location"), `create project ${name}`);
    },
    deleteProject: async (id) => {
      await call("DELETE", urlPath`/projects/${harborId(id)}`, `delete project ${id}`);
    },
    listQuotas: () => listAll("/quotas", Quota, "list quotas", { reference: "project" }),
    projectQuota: async (projectId) => {
      const res = await call("GET", "/quotas", `read the quota of project ${projectId}`, {
        query: { reference: "project", reference_id: String(projectId) },
        schema: z.array(Quota),
      });
      return res.data[0] ?? null;
    },
    updateQuota: async (quotaId, storageBytes) => {
      await call("PUT", urlPath`/quotas/${harborId(quotaId)}`, `update quota ${quotaId}`, {
        body: { hard: { storage: storageBytes } },
      });
    },
    findGroup: async (name) => {
      const found = await listAll(
        "/usergroups/search",
        UserGroup,
        `search user group ${name}`,
        { groupname: name },
      );
      return found.find((g) =>
        g.group_name === name && (g.group_type === undefined || g.group_type === OIDC_GROUP)
      ) ?? null;
    },
    listGroups: () => listAll("/usergroups", UserGroup, "list user groups"),
    createGroup: async (name) => {
      const res = await call("POST", "/usergroups", `create user group ${name}`, {
        body: { group_name: name, group_type: OIDC_GROUP, ldap_group_dn: "" },
      });
      return idFromLocation(res.headers.get("location"), `create user group ${name}`);
    },
    listMembers: (projectId) =>
      listAll(
        urlPath`/projects/${harborId(projectId)}/members`,
        ProjectMemberEntity,
        `list members of project ${projectId}`,
      ),
    addGroupMember: async (projectId, group, roleId) => {
      await call(
        "POST",
        urlPath`/projects/${harborId(projectId)}/members`,
        `add group ${group.group_name} to project ${projectId}`,
        {
          body: {
            role_id: roleId,
            member_group: { id: group.id, group_name: group.group_name, group_type: OIDC_GROUP },
          },
        },
      );
    },
    updateMemberRole: async (projectId, memberId, roleId) => {
      await call(
        "PUT",
        urlPath`/projects/${harborId(projectId)}/members/${harborId(memberId)}`,
        `set the role of member ${memberId} of project ${projectId}`,
        { body: { role_id: roleId } },
      );
    },
    listRepositories: (projectName) =>
      listAll(
        urlPath`/projects/${projectName}/repositories`,
        Repository,
        `list repositories of ${projectName}`,
      ),
    deleteRepository: async (projectName, repositoryName) => {
      // Harbor wants a repository name with slashes encoded twice (a/b → a%252Fb).
      const inProject = repositoryName.startsWith(`${projectName}/`)
        ? repositoryName.slice(projectName.length + 1)
        : repositoryName;
      await call(
        "DELETE",
        urlPath`/projects/${projectName}/repositories/${encodeURIComponent(inProject)}`,
        `delete repository ${repositoryName}`,
      );
    },
    ...harborAccounts({ call, listAll, username: options.username, harborId }),
  };
}

/** Rewrites 401 and 403 into what the operator must do; everything else passes unchanged. */
function explain(error: unknown, action: string, username: string, refused?: string): unknown {
  return explainRefusal(error, action, "harbor", {
    401: `Harbor refused the credentials of ${username} (HTTP 401); check robot_username and ` +
      "robot_password, and that the robot account is enabled and not expired",
    403: refused ??
      `the robot account ${username} lacks the permission (HTTP 403); grant it in Harbor ` +
        "under Administration → Robot Accounts (system level)",
  });
}

/** A Harbor id (project, quota, member, robot, user) as a path segment: a positive integer, nothing else. */
function harborId(id: number): number {
  if (!Number.isSafeInteger(id) || id <= 0) {
    throw new BerthError(`refusing "${id}" as a Harbor id: not a positive integer`, {
      system: "harbor",
      transient: false,
    });
  }
  return id;
}
