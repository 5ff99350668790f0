/**
 * The fake Keycloak's in-memory state and control API: realms with their users, group tree,
 * admin passwords and confidential clients; the access and refresh tokens issued; the request
 * log and the faults. The route modules beside this one read and change it; tests and the demo
 * add users and groups and expire tokens through its methods.
 */
import { Faults } from "../../fault.ts";
import type { RecordedRequest } from "../../fake_recorder.ts";

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

/** A realm of the fake. */
export interface Realm {
  users: Map<string, FakeKcUser>;
  groups: Map<string, FakeKcGroup>;
  /** Parent id ("" for the top level) → ids of its child groups, in creation order. */
  children: Map<string, Set<string>>;
  /** Username → password (admin accounts). */
  passwords: Map<string, string>;
  /** Client id → secret (confidential clients). */
  clients: Map<string, string>;
}

/** Options of the fake Keycloak. */
export interface FakeKeycloakOptions {
  now?: () => number;
  /** Access token lifetime in seconds (Keycloak's admin-cli default is 60). */
  tokenTtl?: number;
  refreshTtl?: number;
}

/** What the fake Keycloak holds, and the control API over it. */
export class KeycloakState {
  /** Faults to inject, per route (`lib/fault.ts`). */
  readonly faults: Faults = new Faults();
  /** Realms by name. */
  readonly realms = new Map<string, Realm>();
  /** Every request served: method, path with query and status. */
  readonly requests: RecordedRequest[] = [];
  /** Access token lifetime in seconds. */
  tokenTtl: number;
  /** Refresh token lifetime in seconds. */
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
    this.addRealm("master");
    this.realm("master").passwords.set("admin", "admin-secret");
  }

  /** Adds an empty realm, unless it exists. */
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

  /** A realm by name; throws when there is none. */
  realm(name: string): Realm {
    const r = this.realms.get(name);
    if (!r) throw new Error(`fake keycloak: no realm ${name}`);
    return r;
  }

  /**
   * Adds a user (as a first OIDC login would); returns its id (`options.id`, else a new one: a
   * user removed and added again, as after a redeployed Keycloak, gets another).
   */
  addUser(realm: string, username: string, options: { id?: string } = {}): string {
    this.addRealm(realm);
    const id = options.id ?? this.#id();
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

  /**
   * Issues an access token of `realm` to `user` for this grant (and a refresh token, but for
   * client credentials); returns the token endpoint's answer.
   */
  issueToken(realm: string, user: string, grant: string): Record<string, unknown> {
    this.grants.push(grant);
    const access = `at-${crypto.randomUUID()}`;
    this.#tokens.set(access, { realm, expiresAt: this.#now() + this.tokenTtl * 1000 });
    const body: Record<string, unknown> = {
      access_token: access,
      expires_in: this.tokenTtl,
      token_type: "Bearer",
      scope: "profile email",
    };
    if (grant !== "client_credentials") {
      const refresh = `rt-${crypto.randomUUID()}`;
      this.#refresh.set(refresh, {
        realm,
        user,
        expiresAt: this.#now() + this.refreshTtl * 1000,
      });
      body.refresh_token = refresh;
      body.refresh_expires_in = this.refreshTtl;
    }
    return body;
  }

  /** Whether an access token was issued and has not expired. */
  accessTokenActive(token: string): boolean {
    const t = this.#tokens.get(token);
    return t !== undefined && t.expiresAt > this.#now();
  }

  /** The user a refresh token of `realm` was issued to, while it is active; else undefined. */
  refreshTokenUser(realm: string, token: string): string | undefined {
    const r = this.#refresh.get(token);
    if (!r || r.realm !== realm || r.expiresAt <= this.#now()) return undefined;
    return r.user;
  }

  #id(): string {
    this.#seq++;
    return `00000000-0000-4000-8000-${String(this.#seq).padStart(12, "0")}`;
  }
}

/** The child groups of `parentId` (the top-level groups without it), in creation order. */
export function childGroups(realm: Realm, parentId?: string): FakeKcGroup[] {
  const out: FakeKcGroup[] = [];
  for (const id of realm.children.get(parentId ?? "") ?? []) {
    const g = realm.groups.get(id);
    if (g) out.push(g);
  }
  return out;
}
