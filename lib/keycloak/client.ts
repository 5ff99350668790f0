/**
 * Keycloak's admin REST API (26.x) as Berth uses it. A token comes from the password grant
 * (`admin-cli` in `keycloak_user_realm`) or from client credentials; it is refreshed before it
 * expires and once more on a 401. Groups are looked up exactly, children are read from
 * `/groups/{id}/children` (Keycloak ≥ 23 no longer inlines `subGroups`), and every list is
 * paged with `first`/`max`, up to `MAX_LIST_ITEMS`. A read that fails, or a list still full
 * there, is an error, never an empty or a partial list.
 */
import { z } from "zod";
import type { Clock } from "../clock.ts";
import { BerthError, explainRefusal, HttpError, SAID } from "../errors.ts";
import { createHttp, type Exchange, type Fetch, type QueryValue, urlPath } from "../http.ts";
import { listTooLong, MAX_LIST_ITEMS } from "../list_limit.ts";
import { SingleFlight } from "../single_flight.ts";
import type { BackendContext } from "../backend.ts";
import { warnKeycloakVerify } from "../tls.ts";

/** `backend_settings.keycloak`, as the Python agent's Keycloak client reads it. */
export const KeycloakSettings = z.object({
  keycloak_url: z.string().url(),
  keycloak_realm: z.string().min(1).default("waldur"),
  keycloak_user_realm: z.string().min(1).default("master"),
  client_id: z.string().min(1).default("admin-cli"),
  keycloak_username: z.string().min(1).optional(),
  keycloak_password: z.string().min(1).optional(),
  /** With a client secret, the client-credentials grant is used instead of a password. */
  client_secret: z.string().min(1).optional(),
  keycloak_ssl_verify: z.boolean().default(true),
  /** The Python plugin's README shows it; Berth syncs on the membership interval instead. */
  keycloak_sync_frequency: z.number().optional(),
}).strict().refine(
  (s) => s.client_secret !== undefined || (s.keycloak_username && s.keycloak_password),
  { message: "give keycloak_username and keycloak_password, or client_secret" },
);
export type KeycloakSettings = z.infer<typeof KeycloakSettings>;

/** Keycloak's token endpoint answer (password or client-credentials grant, or a refresh). */
export const Token = z.looseObject({
  access_token: z.string().min(1),
  expires_in: z.number().positive(),
  refresh_token: z.string().optional(),
  refresh_expires_in: z.number().optional(),
});

/** A Keycloak group as the admin API lists it (attributes only when asked for). */
export const Group = z.looseObject({
  id: z.string().min(1),
  name: z.string(),
  path: z.string().optional(),
  parentId: z.string().optional(),
  subGroupCount: z.number().int().optional(),
  attributes: z.record(z.string(), z.array(z.string())).optional(),
});
export type Group = z.infer<typeof Group>;

/** A Keycloak user as the admin API lists it (a group's members, a lookup by username). */
export const User = z.looseObject({
  id: z.string().min(1),
  username: z.string(),
  enabled: z.boolean().optional(),
});
export type User = z.infer<typeof User>;

/** Options of {@link createKeycloakClient}. */
export interface KeycloakClientOptions {
  settings: KeycloakSettings;
  fetch: Fetch;
  clock: Clock;
  onExchange?: (exchange: Exchange) => void;
  /** Called with every token obtained at run time, so the redactor knows it. */
  onSecret?: (value: string) => void;
}

/** The Keycloak calls Berth makes. */
export interface KeycloakClient {
  /** The target realm (proves the token and the admin role). */
  realm(): Promise<{ realm: string }>;
  /** The top-level group of exactly this name, or null. */
  findGroup(name: string): Promise<Group | null>;
  /** Children of a group, all pages. */
  children(groupId: string): Promise<Group[]>;
  /** The child of exactly this name, or null (one search, not the whole list). */
  findChild(parentId: string, name: string): Promise<Group | null>;
  /** Creates a top-level group; resolves its id. A name taken by another is looked up. */
  createGroup(name: string, attributes: Record<string, string[]>): Promise<string>;
  /** Replaces a group's attributes (its name unchanged). */
  setAttributes(id: string, name: string, attributes: Record<string, string[]>): Promise<void>;
  /** Creates a child group; resolves its id. A sibling of that name is looked up. */
  createChild(
    parentId: string,
    name: string,
    attributes: Record<string, string[]>,
  ): Promise<string>;
  deleteGroup(id: string): Promise<void>;
  /** Members of a group, all pages. */
  members(groupId: string): Promise<User[]>;
  /** The user of exactly this username, or null. */
  userByUsername(username: string): Promise<User | null>;
  /** The user of this id, or null. */
  userById(id: string): Promise<User | null>;
  addToGroup(userId: string, groupId: string): Promise<void>;
  removeFromGroup(userId: string, groupId: string): Promise<void>;
}

const PAGE = 100;
/** Refresh when less than this share of a token's life remains. */
const REFRESH_AT = 0.1;

/** Builds a Keycloak client. */
export function createKeycloakClient(options: KeycloakClientOptions): KeycloakClient {
  const s = options.settings;
  const base = s.keycloak_url.replace(/\/+$/, "");
  const tokenPath = `/realms/${
    encodeURIComponent(s.keycloak_user_realm)
  }/protocol/openid-connect/token`;
  const admin = `/admin/realms/${encodeURIComponent(s.keycloak_realm)}`;
  let token: {
    access: string;
    expiresAt: number;
    lifeMs: number;
    refresh?: string;
    refreshExpiresAt: number;
  } | undefined;

  const tokenHttp = createHttp({
    system: "keycloak",
    baseUrl: base,
    fetch: options.fetch,
    clock: options.clock,
    ...(options.onExchange ? { onExchange: options.onExchange } : {}),
  });

  async function grant(form: Record<string, string>): Promise<void> {
    const started = options.clock.monotonic();
    const res = await tokenHttp.request("POST", tokenPath, {
      body: new URLSearchParams(form),
      schema: Token,
      idempotent: true,
      action: `get a token for ${
        s.keycloak_username ?? s.client_id
      } in realm ${s.keycloak_user_realm}`,
    }).catch((error) => {
      if (error instanceof HttpError && (error.status === 401 || error.status === 400)) {
        throw error.rephrase(
          `keycloak: login as ${
            s.keycloak_username ?? s.client_id
          } in realm ${s.keycloak_user_realm} ` +
            `was refused (HTTP ${error.status}); check keycloak_username/keycloak_password (or client_secret)${
              error.bodyExcerpt ? `${SAID}${error.bodyExcerpt}` : ""
            }`,
          true,
        );
      }
      throw error;
    });
    options.onSecret?.(res.data.access_token);
    if (res.data.refresh_token) options.onSecret?.(res.data.refresh_token);
    const lifeMs = res.data.expires_in * 1000;
    token = {
      access: res.data.access_token,
      expiresAt: started + lifeMs,
      lifeMs,
      ...(res.data.refresh_token ? { refresh: res.data.refresh_token } : {}),
      refreshExpiresAt: started + (res.data.refresh_expires_in ?? 0) * 1000,
    };
  }

  async function login(): Promise<void> {
    if (s.client_secret) {
      await grant({
        grant_type: "client_credentials",
        client_id: s.client_id,
        client_secret: s.client_secret,
      });
    } else {
      await grant({
        grant_type: "password",
        client_id: s.client_id,
        username: s.keycloak_username ?? "",
        password: s.keycloak_password ?? "",
      });
    }
  }

  // Orders of one pass ask for a token side by side: one grant serves them all.
  const tokens = new SingleFlight<string>();

  function accessToken(): Promise<string> {
    const now = options.clock.monotonic();
    if (token && token.expiresAt - now > token.lifeMs * REFRESH_AT) {
      return Promise.resolve(token.access);
    }
    return tokens.run("token", obtainToken);
  }

  async function obtainToken(): Promise<string> {
    const now = options.clock.monotonic();
    if (token?.refresh && token.refreshExpiresAt - now > 5_000) {
      try {
        await grant({
          grant_type: "refresh_token",
          client_id: s.client_id,
          refresh_token: token.refresh,
        });
        return token.access;
      } catch {
        // The session ended: log in again below.
      }
    }
    await login();
    if (!token) throw new BerthError("keycloak: no token", { system: "keycloak", transient: true });
    return token.access;
  }

  const http = createHttp({
    system: "keycloak",
    baseUrl: base,
    fetch: options.fetch,
    clock: options.clock,
    headers: async () => ({ authorization: `Bearer ${await accessToken()}` }),
    ...(options.onExchange ? { onExchange: options.onExchange } : {}),
  });

  async function call<T>(
    method: string,
    path: string,
    action: string,
    opts: { query?: Record<string, QueryValue>; body?: unknown; schema?: z.ZodType<T> } = {},
  ) {
    try {
      return await http.request<T>(method, admin + path, { ...opts, action });
    } catch (error) {
      if (!(error instanceof HttpError && error.status === 401)) throw forbidden(error, action);
      // The token was revoked or expired early: log in again, once.
      token = undefined;
      try {
        return await http.request<T>(method, admin + path, { ...opts, action });
      } catch (again) {
        throw forbidden(again, action);
      }
    }
  }

  function forbidden(error: unknown, action: string): unknown {
    return explainRefusal(error, action, "keycloak", {
      403: `${s.keycloak_username ?? s.client_id} lacks the admin role for realm ` +
        `${s.keycloak_realm} (HTTP 403); give it realm-management roles manage-users and view-users`,
    });
  }

  /** A list read with `first`/`max` to a short page; still full at `MAX_LIST_ITEMS`, an error. */
  async function pages<T>(
    path: string,
    schema: z.ZodType<T>,
    action: string,
    query: Record<string, QueryValue> = {},
  ): Promise<T[]> {
    const out: T[] = [];
    for (let first = 0;; first += PAGE) {
      const res = await call("GET", path, action, {
        query: { ...query, first, max: PAGE },
        schema: z.array(schema),
      });
      out.push(...res.data);
      if (res.data.length < PAGE) return out;
      if (out.length >= MAX_LIST_ITEMS) throw listTooLong("keycloak", action);
    }
  }

  const findGroup = async (name: string): Promise<Group | null> => {
    // the full representation: ownership is read from the attributes
    const found = await pages("/groups", Group, `search group ${name}`, {
      search: name,
      exact: true,
      briefRepresentation: false,
    });
    return found.find((g) => g.name === name && (g.path === undefined || g.path === `/${name}`)) ??
      null;
  };

  /** `exact` search is still a search (case, other matches): the name is compared here. */
  async function findChild(parentId: string, name: string): Promise<Group | null> {
    const found = await pages(
      urlPath`/groups/${kcId(parentId)}/children`,
      Group,
      `find child group ${name} of ${parentId}`,
      { search: name, exact: true, briefRepresentation: false },
    );
    return found.find((g) => g.name === name) ?? null;
  }

  const idFrom = (location: string | null, what: string) => {
    const id = location?.split("/").filter(Boolean).at(-1);
    if (!id || !KC_ID.test(id)) {
      // the group may exist now: the next pass finds it by name
      throw new BerthError(`keycloak: ${what}: no id in the Location header`, {
        system: "keycloak",
        transient: true,
      });
    }
    return id;
  };

  return {
    realm: async () =>
      (await call("GET", "", `read realm ${s.keycloak_realm}`, {
        schema: z.looseObject({ realm: z.string() }),
      })).data,
    findGroup,
    children: (id) =>
      pages(urlPath`/groups/${kcId(id)}/children`, Group, `list children of group ${id}`, {
        briefRepresentation: false,
      }),
    findChild,
    createGroup: async (name, attributes) => {
      try {
        const res = await call("POST", "/groups", `create group ${name}`, {
          body: { name, attributes },
        });
        return idFrom(res.headers.get("location"), `create group ${name}`);
      } catch (error) {
        if (!(error instanceof HttpError && error.status === 409)) throw error;
        const existing = await findGroup(name);
        if (!existing) throw error;
        return existing.id;
      }
    },
    createChild: async (parentId, name, attributes) => {
      try {
        const res = await call(
          "POST",
          urlPath`/groups/${kcId(parentId)}/children`,
          `create group ${name}`,
          {
            body: { name, attributes },
          },
        );
        return idFrom(res.headers.get("location"), `create group ${name}`);
      } catch (error) {
        if (!(error instanceof HttpError && error.status === 409)) throw error;
        const existing = await findChild(parentId, name);
        if (!existing) throw error;
        return existing.id;
      }
    },
    setAttributes: async (id, name, attributes) => {
      await call("PUT", urlPath`/groups/${kcId(id)}`, `set the attributes of group ${name}`, {
        body: { name, attributes },
      });
    },
    deleteGroup: async (id) => {
      await call("DELETE", urlPath`/groups/${kcId(id)}`, `delete group ${id}`);
    },
    members: (id) =>
      pages(urlPath`/groups/${kcId(id)}/members`, User, `list members of group ${id}`, {
        briefRepresentation: true,
      }),
    userByUsername: async (username) => {
      const res = await call("GET", "/users", `find user ${username}`, {
        query: { username, exact: true, briefRepresentation: true },
        schema: z.array(User),
      });
      return res.data.find((u) => u.username.toLowerCase() === username.toLowerCase()) ?? null;
    },
    userById: async (id) => {
      // a Waldur username that is not shaped like an id names no user by id: nothing is asked
      if (!KC_ID.test(id)) return null;
      try {
        return (await call("GET", urlPath`/users/${id}`, `read user ${id}`, { schema: User }))
          .data;
      } catch (error) {
        if (error instanceof HttpError && error.status === 404) return null;
        throw error;
      }
    },
    addToGroup: async (userId, groupId) => {
      await call(
        "PUT",
        urlPath`/users/${kcId(userId)}/groups/${kcId(groupId)}`,
        `add user ${userId} to group ${groupId}`,
      );
    },
    removeFromGroup: async (userId, groupId) => {
      await call(
        "DELETE",
        urlPath`/users/${kcId(userId)}/groups/${kcId(groupId)}`,
        `remove user ${userId} from group ${groupId}`,
      );
    },
  };
}

/** Keycloak ids: UUIDs, or the ids of federated users (letters, digits, `-`, `_`). */
const KC_ID = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

/** A Keycloak id as a path segment, or a refusal. */
function kcId(id: string): string {
  if (!KC_ID.test(id)) {
    throw new BerthError(`refusing ${JSON.stringify(id.slice(0, 80))} as a Keycloak id`, {
      system: "keycloak",
      transient: false,
    });
  }
  return id;
}

/**
 * A backend's Keycloak client: on the context's fetch (not the backend's own TLS), its runtime
 * secrets told to the redactor, and the operator warned when `keycloak_ssl_verify` is false.
 */
export function keycloakClientFor(
  context: Pick<BackendContext<unknown>, "fetch" | "clock" | "onExchange" | "onSecret" | "log">,
  settings: KeycloakSettings,
): KeycloakClient {
  warnKeycloakVerify(context, settings.keycloak_ssl_verify);
  return createKeycloakClient({
    settings,
    fetch: context.fetch,
    clock: context.clock,
    onExchange: context.onExchange,
    onSecret: context.onSecret,
  });
}
