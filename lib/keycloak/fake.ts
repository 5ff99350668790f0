/**
 * A fake Keycloak 26: realms with users and a group tree, the OpenID token endpoint (password,
 * client-credentials and refresh grants) issuing short-lived tokens so refresh is exercised,
 * and the admin paths Berth uses, answering as Keycloak does: 401 for a missing or expired
 * token, 409 for a duplicate group name, 201 with `Location` on create, 204 on membership
 * changes, `first`/`max` paging (children and members are never inlined).
 */
import { Faults } from "../fault.ts";
import { type Context, Hono } from "hono";
import { type RecordedRequest, recordRequests } from "../fake_recorder.ts";

/** A user of a fake realm. */
export interface FakeKcUser {
  id: string;
  username: string;
  enabled: boolean;
}

/** A group of a fake realm. */
export interface FakeKcGroup {
  id: string;
  name: string;
  parentId?: string;
  attributes: Record<string, string[]>;
  members: Set<string>;
}

interface Realm {
  users: Map<string, FakeKcUser>;
  groups: Map<string, FakeKcGroup>;
  /** Parent id ("" for the top level) → ids of its child groups, in creation order. */
  children: Map<string, Set<string>>;
  /** Username → password (admin accounts). */
  passwords: Map<string, string>;
  /** Client id → secret (confidential clients). */
  clients: Map<string, string>;
}

/** Options of {@link FakeKeycloak}. */
export interface FakeKeycloakOptions {
  now?: () => number;
  /** Access token lifetime in seconds (Keycloak's admin-cli default is 60). */
  tokenTtl?: number;
  refreshTtl?: number;
}

/** The fake Keycloak server. */
export class FakeKeycloak {
  readonly app: Hono;
  /** Faults to inject, per route (`lib/fault.ts`). */
  readonly faults: Faults = new Faults();
  readonly realms = new Map<string, Realm>();
  readonly requests: RecordedRequest[] = [];
  tokenTtl: number;
  refreshTtl: number;
  /** Tokens issued, by grant type. */
  readonly grants: string[] = [];
  #tokens = new Map<string, { realm: string; expiresAt: number }>();
  #refresh = new Map<string, { realm: string; user: string; expiresAt: number }>();
  #now: () => number;
  #seq = 0;

  constructor(options: FakeKeycloakOptions = {}) {
    this.#now = options.now ?? (() => Date.now());
    this.tokenTtl = options.tokenTtl ?? 60;
    this.refreshTtl = options.refreshTtl ?? 1800;
    this.app = this.#routes();
    this.addRealm("master");
    this.realm("master").passwords.set("admin", "admin-secret");
  }

  // ---- control API -------------------------------------------------------------------------

  addRealm(name: string): void {
    if (!this.realms.has(name)) {
      this.realms.set(name, {
        users: new Map(),
        groups: new Map(),
        children: new Map(),
        passwords: new Map(),
        clients: new Map(),
      });
    }
  }

  realm(name: string): Realm {
    const r = this.realms.get(name);
    if (!r) throw new Error(`fake keycloak: no realm ${name}`);
    return r;
  }

  /** Adds a user (as a first OIDC login would); returns its id. */
  addUser(realm: string, username: string): string {
    this.addRealm(realm);
    const id = this.#id();
    this.realm(realm).users.set(id, { id, username, enabled: true });
    return id;
  }

  /** Adds a group (top level, or under `parentId`); returns its id. */
  addGroup(
    realm: string,
    name: string,
    parentId?: string,
    attributes: Record<string, string[]> = {},
  ): string {
    this.addRealm(realm);
    const r = this.realm(realm);
    const g: FakeKcGroup = {
      id: this.#id(),
      name,
      ...(parentId ? { parentId } : {}),
      attributes,
      members: new Set(),
    };
    r.groups.set(g.id, g);
    r.children.set(parentId ?? "", (r.children.get(parentId ?? "") ?? new Set()).add(g.id));
    return g.id;
  }

  /** A group of a realm by name (top level), with its members' usernames. */
  group(realm: string, name: string): (FakeKcGroup & { usernames: string[] }) | undefined {
    const r = this.realm(realm);
    const g = childGroups(r).find((x) => x.name === name);
    if (!g) return undefined;
    const usernames = [...g.members].map((id) => r.users.get(id)?.username ?? id).sort();
    return { ...g, usernames };
  }

  /** Makes every issued access token expire now. */
  expireTokens(): void {
    for (const t of this.#tokens.values()) t.expiresAt = 0;
  }

  #id(): string {
    this.#seq++;
    return `00000000-0000-4000-8000-${String(this.#seq).padStart(12, "0")}`;
  }

  // ---- the API -----------------------------------------------------------------------------

  #routes(): Hono {
    const app = new Hono();
    app.use("*", recordRequests(this.requests));
    app.use("*", this.faults.middleware());

    app.post("/realms/:realm/protocol/openid-connect/token", async (c) => {
      const realmName = c.req.param("realm");
      const realm = this.realms.get(realmName);
      if (!realm) return c.json({ error: "Realm does not exist" }, 404);
      const form = await c.req.parseBody();
      const field = (k: string) => (typeof form[k] === "string" ? form[k] as string : "");
      const type = field("grant_type");
      let user = "";
      if (type === "password") {
        if (field("client_id") !== "admin-cli") {
          return c.json({ error: "unauthorized_client", error_description: "Invalid client" }, 401);
        }
        if (realm.passwords.get(field("username")) !== field("password")) {
          return c.json(
            { error: "invalid_grant", error_description: "Invalid user credentials" },
            401,
          );
        }
        user = field("username");
      } else if (type === "client_credentials") {
        if (realm.clients.get(field("client_id")) !== field("client_secret")) {
          return c.json({
            error: "unauthorized_client",
            error_description: "Invalid client or Invalid client credentials",
          }, 401);
        }
        user = `service-account-${field("client_id")}`;
      } else if (type === "refresh_token") {
        const r = this.#refresh.get(field("refresh_token"));
        if (!r || r.realm !== realmName || r.expiresAt <= this.#now()) {
          return c.json({ error: "invalid_grant", error_description: "Token is not active" }, 400);
        }
        user = r.user;
      } else {
        return c.json({ error: "unsupported_grant_type" }, 400);
      }
      this.grants.push(type);
      const access = `at-${crypto.randomUUID()}`;
      this.#tokens.set(access, { realm: realmName, expiresAt: this.#now() + this.tokenTtl * 1000 });
      const body: Record<string, unknown> = {
        access_token: access,
        expires_in: this.tokenTtl,
        token_type: "Bearer",
        scope: "profile email",
      };
      if (type !== "client_credentials") {
        const refresh = `rt-${crypto.randomUUID()}`;
        this.#refresh.set(refresh, {
          realm: realmName,
          user,
          expiresAt: this.#now() + this.refreshTtl * 1000,
        });
        body.refresh_token = refresh;
        body.refresh_expires_in = this.refreshTtl;
      }
      return c.json(body);
    });

    const admin = new Hono();
    admin.use("*", async (c, next) => {
      const auth = c.req.header("authorization") ?? "";
      const t = this.#tokens.get(auth.replace(/^Bearer /, ""));
      if (!t || t.expiresAt <= this.#now()) return c.json({ error: "HTTP 401 Unauthorized" }, 401);
      await next();
    });
    const realmOf = (c: Context) => this.realms.get(c.req.param("realm") ?? "");
    const noRealm = (c: Context) => c.json({ error: "Realm not found." }, 404);
    // The brief representation has no attributes, as Keycloak's (`briefRepresentation`
    // defaults to true on GET /groups and to false on the children endpoint).
    const groupJson = (realm: Realm, g: FakeKcGroup, brief = false) => ({
      id: g.id,
      name: g.name,
      path: this.#path(realm, g),
      ...(g.parentId ? { parentId: g.parentId } : {}),
      subGroupCount: realm.children.get(g.id)?.size ?? 0,
      subGroups: [],
      ...(brief ? {} : { attributes: g.attributes }),
    });

    admin.get("/:realm", (c) => {
      const realm = realmOf(c);
      return realm
        ? c.json({ id: c.req.param("realm"), realm: c.req.param("realm"), enabled: true })
        : noRealm(c);
    });

    admin.get("/:realm/groups", (c) => {
      const realm = realmOf(c);
      if (!realm) return noRealm(c);
      const search = c.req.query("search");
      const exact = c.req.query("exact") === "true";
      let list = childGroups(realm);
      if (search !== undefined) {
        // Keycloak returns the top-level groups whose subtree holds a match.
        const matches = (g: FakeKcGroup): boolean =>
          (exact ? g.name === search : g.name.toLowerCase().includes(search.toLowerCase())) ||
          childGroups(realm, g.id).some(matches);
        list = list.filter(matches);
      }
      const brief = c.req.query("briefRepresentation") !== "false";
      return page(c, list.map((g) => groupJson(realm, g, brief)));
    });

    const createGroup = async (c: Context, parentId?: string) => {
      const realm = realmOf(c);
      if (!realm) return noRealm(c);
      const body = await c.req.json().catch(() => undefined) as Record<string, unknown> | undefined;
      const name = body?.name;
      if (typeof name !== "string" || name.trim() === "") {
        return c.json({ errorMessage: "Group name is missing" }, 400);
      }
      const sibling = childGroups(realm, parentId).find((g) => g.name === name);
      if (sibling) {
        return c.json({
          errorMessage: parentId
            ? `Sibling group named '${name}' already exists.`
            : `Top level group named '${name}' already exists.`,
        }, 409);
      }
      const id = this.addGroup(
        c.req.param("realm") ?? "",
        name,
        parentId,
        (body?.attributes as Record<string, string[]>) ?? {},
      );
      c.header(
        "location",
        `${new URL(c.req.url).origin}/admin/realms/${c.req.param("realm")}/groups/${id}`,
      );
      return c.body(null, 201);
    };
    admin.post("/:realm/groups", (c) => createGroup(c));

    const groupOf = (c: Context) => realmOf(c)?.groups.get(c.req.param("id") ?? "");
    const noGroup = (c: Context) => c.json({ error: "Could not find group by id" }, 404);

    admin.get("/:realm/groups/:id", (c) => {
      const realm = realmOf(c);
      const g = groupOf(c);
      return realm && g ? c.json(groupJson(realm, g)) : noGroup(c);
    });
    // GroupRepresentation: a name renames (409 on a sibling's name), attributes replace them.
    admin.put("/:realm/groups/:id", async (c) => {
      const realm = realmOf(c);
      const g = groupOf(c);
      if (!realm || !g) return noGroup(c);
      const body = await c.req.json().catch(() => undefined) as Record<string, unknown> | undefined;
      if (!body || typeof body !== "object") return c.json({ error: "invalid body" }, 400);
      // Keycloak refuses an update without a name, as it refuses a create without one
      if (typeof body.name !== "string" || body.name.trim() === "") {
        return c.json({ errorMessage: "Group name is missing" }, 400);
      }
      if (body.name !== g.name) {
        if (childGroups(realm, g.parentId).some((x) => x.name === body.name)) {
          return c.json(
            { errorMessage: `Sibling group named '${body.name}' already exists.` },
            409,
          );
        }
        g.name = body.name;
      }
      const attributes = body.attributes;
      if (attributes !== undefined && attributes !== null) {
        if (
          typeof attributes !== "object" ||
          Object.values(attributes).some((v) => !Array.isArray(v))
        ) return c.json({ error: "attributes must map names to lists of strings" }, 400);
        g.attributes = attributes as Record<string, string[]>;
      }
      return c.body(null, 204);
    });
    admin.delete("/:realm/groups/:id", (c) => {
      const realm = realmOf(c);
      const g = groupOf(c);
      if (!realm || !g) return noGroup(c);
      const drop = (id: string) => {
        for (const child of childGroups(realm, id)) drop(child.id);
        realm.children.delete(id);
        realm.groups.delete(id);
      };
      drop(g.id);
      realm.children.get(g.parentId ?? "")?.delete(g.id);
      return c.body(null, 204);
    });
    admin.get("/:realm/groups/:id/children", (c) => {
      const realm = realmOf(c);
      const g = groupOf(c);
      if (!realm || !g) return noGroup(c);
      // `search` (with `exact`) matches the children's names, as Keycloak ≥ 23 does.
      const search = c.req.query("search");
      const exact = c.req.query("exact") === "true";
      const list = childGroups(realm, g.id).filter((x) =>
        search === undefined ||
        (exact ? x.name === search : x.name.toLowerCase().includes(search.toLowerCase()))
      );
      const brief = c.req.query("briefRepresentation") === "true";
      return page(c, list.map((x) => groupJson(realm, x, brief)));
    });
    admin.post("/:realm/groups/:id/children", (c) => {
      const g = groupOf(c);
      return g ? createGroup(c, g.id) : noGroup(c);
    });
    admin.get("/:realm/groups/:id/members", (c) => {
      const realm = realmOf(c);
      const g = groupOf(c);
      if (!realm || !g) return noGroup(c);
      const users = [...g.members].map((id) => realm.users.get(id)).filter((u) => u !== undefined);
      return page(c, users.map((u) => ({ id: u.id, username: u.username, enabled: u.enabled })));
    });

    admin.get("/:realm/users", (c) => {
      const realm = realmOf(c);
      if (!realm) return noRealm(c);
      const username = c.req.query("username");
      const exact = c.req.query("exact") === "true";
      let list = [...realm.users.values()];
      if (username !== undefined) {
        list = list.filter((u) =>
          exact
            ? u.username === username.toLowerCase()
            : u.username.includes(username.toLowerCase())
        );
      }
      return page(c, list.map((u) => ({ id: u.id, username: u.username, enabled: u.enabled })));
    });
    const userOf = (c: Context) => realmOf(c)?.users.get(c.req.param("uid") ?? "");
    admin.get("/:realm/users/:uid", (c) => {
      const u = userOf(c);
      return u
        ? c.json({ id: u.id, username: u.username, enabled: u.enabled })
        : c.json({ error: "User not found" }, 404);
    });
    admin.get("/:realm/users/:uid/groups", (c) => {
      const realm = realmOf(c);
      const u = userOf(c);
      if (!realm || !u) return c.json({ error: "User not found" }, 404);
      return page(
        c,
        [...realm.groups.values()].filter((g) => g.members.has(u.id)).map((g) =>
          groupJson(realm, g)
        ),
      );
    });
    const membership = (c: Context, add: boolean) => {
      const realm = realmOf(c);
      const u = userOf(c);
      const g = realm?.groups.get(c.req.param("groupId") ?? "");
      if (!u) return c.json({ error: "User not found" }, 404);
      if (!g) return c.json({ error: "Group not found" }, 404);
      if (add) g.members.add(u.id);
      else g.members.delete(u.id);
      return c.body(null, 204);
    };
    admin.put("/:realm/users/:uid/groups/:groupId", (c) => membership(c, true));
    admin.delete("/:realm/users/:uid/groups/:groupId", (c) => membership(c, false));

    app.route("/admin/realms", admin);
    app.notFound((c) => c.json({ error: "Unable to find matching target resource method" }, 404));
    return app;
  }

  #path(realm: Realm, g: FakeKcGroup): string {
    const parent = g.parentId ? realm.groups.get(g.parentId) : undefined;
    return `${parent ? this.#path(realm, parent) : ""}/${g.name}`;
  }
}

/** Keycloak's paging: `first` (offset, default 0) and `max` (default 100). */
function page<T>(c: Context, all: T[]): Response {
  const first = Number(c.req.query("first") ?? "0");
  const max = Number(c.req.query("max") ?? "100");
  if (!Number.isInteger(first) || first < 0 || !Number.isInteger(max) || max < 0) {
    return c.json({ error: "invalid paging" }, 400);
  }
  return c.json(all.slice(first, first + max));
}

/** The child groups of `parentId` (the top-level groups without it), in creation order. */
function childGroups(realm: Realm, parentId?: string): FakeKcGroup[] {
  const out: FakeKcGroup[] = [];
  for (const id of realm.children.get(parentId ?? "") ?? []) {
    const g = realm.groups.get(id);
    if (g) out.push(g);
  }
  return out;
}
