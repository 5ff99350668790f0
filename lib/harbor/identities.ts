/**
 * OIDC identity conflicts between Keycloak and Harbor (issue 19). Harbor knows an OIDC user by
 * `subiss`: the token's `sub` followed at once by its `iss` (Harbor 2.15, `userOnboard` in
 * `src/core/controllers/oidc.go`: `SubIss: info.Subject + info.Issuer`; a login looks the user
 * up by `sub + iss`). When Keycloak gives a user a new `sub` (a realm redeployed, the user made
 * again), her next login finds no Harbor user of that `subiss`; Harbor onboards her again under
 * the same username and refuses: "the user with same username or email has been onboarded".
 *
 * The membership pass compares each team member's Keycloak identity (the user's id is the `sub`;
 * the issuer is `<keycloak_url>/realms/<keycloak_realm>`, or `oidc_issuer`) with the `subiss` of
 * Harbor's user of that username, and `berth repair-oidc-user` removes a stale Harbor user so
 * that the next login onboards her again. Harbor usernames are taken to be Keycloak usernames
 * (Harbor's `oidc_user_claim: preferred_username`).
 *
 * Cost: Harbor lists users without `oidc_user_meta`, so one identity is two requests (the exact
 * lookup, then the user). A username's Harbor identity is remembered for {@link IDENTITY_TTL_MS}
 * and read again at once when its Keycloak id changes; a conflict is read again every pass (it
 * goes once repaired). The Keycloak side is the group observation's: no Keycloak read of its own.
 * Harbor's CLI secret, which comes with the user, is dropped by the parse (`HarborUser`).
 */
import type { BackendContext, Check, MemberSync } from "../backend.ts";
import { failureDetail } from "../checks.ts";
import { ConditionLog } from "../conditions.ts";
import { errorMessage } from "../errors.ts";
import { userNamed } from "../keycloak/group_io.ts";
import { wantsOf } from "../keycloak/group_plan.ts";
import type { KeycloakGroups } from "../keycloak/groups.ts";
import { forEachLimit } from "../pool.ts";
import type { HarborClient } from "./client.ts";
import { groupName } from "./plan.ts";
import { conflictSentence, type IdentityRow } from "./present.ts";
import { harborNaming, type HarborSettings } from "./settings.ts";

/** How long a username's Harbor identity is trusted without reading it again. */
export const IDENTITY_TTL_MS = 60 * 60 * 1000;

/** Harbor's user of a username: its id and `subiss` (null: a user with no OIDC identity). */
export interface HarborIdentity {
  userId: number;
  subiss: string | null;
}

/**
 * How Harbor's user of a username stands to the Keycloak user of that name: `match`, `stale`
 * (the same issuer, another `sub`: the conflict), `not onboarded` (no Harbor user yet),
 * `other issuer` (onboarded through another issuer: not compared, never repaired) or `not oidc`
 * (a Harbor user without an OIDC identity, as the admin: never repaired).
 */
export type Verdict = "match" | "stale" | "not onboarded" | "other issuer" | "not oidc";

/** The issuer of the tokens Harbor sees: `oidc_issuer`, else Keycloak's realm URL. */
export function oidcIssuer(settings: HarborSettings): string {
  if (settings.oidc_issuer !== undefined) return settings.oidc_issuer;
  const kc = settings.keycloak;
  if (!kc) return "";
  const base = kc.keycloak_url.replace(/\/+$/, "");
  return `${base}/realms/${encodeURIComponent(kc.keycloak_realm)}`;
}

/** Compares Harbor's identity with Keycloak's (`sub`: the Keycloak user's id), purely. */
export function compareIdentity(
  held: HarborIdentity | null,
  keycloak: { sub: string; issuer: string },
): Verdict {
  if (held === null) return "not onboarded";
  if (!held.subiss) return "not oidc";
  if (held.subiss === keycloak.sub + keycloak.issuer) return "match";
  return keycloak.issuer !== "" && held.subiss.endsWith(keycloak.issuer) ? "stale" : "other issuer";
}

/** The issuer part of a `subiss` (from its `http`), for words. */
function issuerOf(subiss: string): string {
  const at = subiss.search(/https?:\/\//);
  return at === -1 ? subiss : subiss.slice(at);
}

/** Harbor's user of exactly `username` with its identity (two requests), or null. */
export async function readIdentity(
  harbor: Pick<HarborClient, "usersNamed" | "user">,
  username: string,
): Promise<HarborIdentity | null> {
  const [found] = await harbor.usersNamed(username);
  if (!found) return null;
  const user = await harbor.user(found.user_id);
  if (!user) return null;
  return { userId: user.user_id, subiss: user.oidc_user_meta?.subiss || null };
}

/** What {@link HarborIdentities.inspect} found for one username. */
export interface Inspection {
  username: string;
  /** `not in keycloak`: the realm has no user of that name (nothing to compare). */
  verdict: Verdict | "not in keycloak";
  held: HarborIdentity | null;
  /** Keycloak's identity (`sub` + issuer), when the realm has the user. */
  keycloak: string | null;
}

/** Options of {@link HarborIdentities}. */
export interface HarborIdentitiesOptions {
  harbor: Pick<HarborClient, "usersNamed" | "user" | "deleteUser">;
  ctx: Pick<
    BackendContext<HarborSettings>,
    "settings" | "clock" | "log" | "audit" | "concurrency"
  >;
}

/** What is remembered of one username: its Keycloak id when read, what Harbor held, the verdict. */
interface Known {
  keycloakId: string;
  held: HarborIdentity | null;
  verdict: Verdict;
  readAt: number;
}

/** One team member of a pass: the Keycloak id seen (undefined: not read) and their projects. */
interface Member {
  keycloakId: string | undefined;
  projects: Set<string>;
}

/** The OIDC identities of one Harbor offering's team members, compared with Keycloak's. */
export class HarborIdentities {
  readonly #o: HarborIdentitiesOptions;
  readonly #groups: KeycloakGroups;
  readonly #issuer: string;
  /** By Keycloak username (the Harbor username). */
  readonly #known = new Map<string, Known>();
  /** The other issuers the log has named (once each). */
  readonly #named = new Set<string>();
  /** Identities a pass could not read: logged when the failure appears and when it clears. */
  readonly #unread: ConditionLog;
  #rows: IdentityRow[] = [];

  /** `groups`: the offering's Keycloak groups, whose observation gives the Keycloak ids. */
  constructor(groups: KeycloakGroups, options: HarborIdentitiesOptions) {
    this.#groups = groups;
    this.#o = options;
    this.#issuer = oidcIssuer(options.ctx.settings);
    this.#unread = new ConditionLog(options.ctx.log);
  }

  /**
   * The membership pass's part, after the Keycloak groups' sync (whose observation gave the
   * team members' Keycloak ids): reads what is not remembered, and replaces the conflict rows.
   * Never throws: a read that fails keeps what was known and is logged.
   */
  async check(items: readonly MemberSync[]): Promise<void> {
    const { members, failed } = await this.#survey(items, false);
    this.#rows = this.#conflicts(members);
    this.#unread.report(
      failed.length === 0 ? [] : [{
        key: "unread",
        appeared: `harbor: cannot read the OIDC identity of ${failed.length} team member(s); ` +
          `what was known is kept and it is read again next pass: ${failed[0]}`,
        cleared: "harbor: the OIDC identities of the team members are read again",
      }],
    );
  }

  /** The conflicts the last pass found, by username. */
  rows(): IdentityRow[] {
    return this.#rows;
  }

  /**
   * `berth diagnose`'s checks for these Waldur teams: their Keycloak users observed, every
   * identity read afresh; a failing check per conflict. None without teams.
   */
  async diagnose(teams: readonly MemberSync[] | undefined): Promise<Check[]> {
    if (!teams) return [];
    const naming = harborNaming(this.#o.ctx.settings);
    const { wants } = wantsOf(teams.map((t) => ({
      group: groupName(t.resource, naming),
      resource: t.resource.uuid,
      projectUuid: t.resource.projectUuid,
      usernames: t.usernames,
    })));
    try {
      await this.#groups.observe(wants);
    } catch (error) {
      return [{ name: "oidc identities", ok: false, detail: failureDetail(error) }];
    }
    const { members, failed } = await this.#survey(teams, true);
    const verdicts = [...members.keys()].map((name) => this.#known.get(name)?.verdict);
    const count = (v: Verdict) => verdicts.filter((x) => x === v).length;
    const checks: Check[] = this.#conflicts(members).map((r) => ({
      name: "oidc identity",
      ok: false,
      detail: conflictSentence(r.username),
    }));
    const foreign = [...members.keys()].flatMap((name) => {
      const k = this.#known.get(name);
      return k?.verdict === "other issuer" && k.held?.subiss ? [issuerOf(k.held.subiss)] : [];
    });
    if (foreign.length > 0) {
      checks.push({
        name: "oidc issuer",
        ok: false,
        detail:
          `${foreign.length} team member(s) were onboarded through ${
            [...new Set(foreign)].join(", ")
          }, not ${this.#issuer}: their identities are not compared. Set oidc_issuer to the ` +
          "issuer users log in to Harbor through",
      });
    }
    if (failed.length > 0) {
      checks.push({
        name: "oidc identities",
        ok: false,
        detail: `cannot read ${failed.length}: ${failed.join("; ")}`,
      });
    }
    if (checks.length === 0) {
      checks.push({
        name: "oidc identities",
        ok: true,
        detail: `${count("match")} team member(s) match Harbor's identity, ` +
          `${count("not onboarded")} not onboarded yet (issuer ${this.#issuer})`,
      });
    }
    return checks;
  }

  /** Reads both sides of one username now (for `berth repair-oidc-user`). */
  async inspect(username: string): Promise<Inspection> {
    const kc = await userNamed(this.#groups.client, username);
    const name = kc?.username ?? username;
    const held = await readIdentity(this.#o.harbor, name);
    if (!kc) return { username: name, verdict: "not in keycloak", held, keycloak: null };
    const verdict = compareIdentity(held, { sub: kc.id, issuer: this.#issuer });
    return { username: name, verdict, held, keycloak: kc.id + this.#issuer };
  }

  /**
   * Removes the stale Harbor user `shown` found, after reading both sides again: only while it
   * is still `stale` and still the same Harbor user with the same identity. Resolves what the
   * second reading found, and whether the user was deleted.
   */
  async repair(shown: Inspection): Promise<{ now: Inspection; deleted: boolean }> {
    const now = await this.inspect(shown.username);
    const same = now.held !== null && now.held.userId === shown.held?.userId &&
      now.held.subiss === shown.held.subiss;
    if (now.verdict !== "stale" || !same || now.held === null) return { now, deleted: false };
    await this.#o.harbor.deleteUser(now.held.userId);
    this.#o.ctx.audit({
      system: "harbor",
      action: "delete user",
      target: now.username,
      result: "ok",
      detail: `Harbor user ${now.held.userId} held an older OIDC identity (${now.held.subiss}) ` +
        `than Keycloak's (${now.keycloak}); the next login onboards ${now.username} again`,
    });
    this.#known.delete(now.username);
    this.#rows = this.#rows.filter((r) => r.username !== now.username);
    return { now, deleted: true };
  }

  /**
   * The team members of `items` with their Keycloak ids (from the groups' last observation), and
   * their Harbor identities read where not remembered (all of them when `fresh`).
   */
  async #survey(
    items: readonly MemberSync[],
    fresh: boolean,
  ): Promise<{ members: Map<string, Member>; failed: string[] }> {
    const users = this.#groups.users();
    const members = new Map<string, Member>();
    for (const { resource, usernames } of items) {
      for (const u of usernames) {
        const kc = users.get(u.toLowerCase());
        if (kc === null) continue; // not in Keycloak: no identity to compare
        const name = kc?.username ?? u.toLowerCase();
        const m = members.get(name) ?? { keycloakId: kc?.id, projects: new Set<string>() };
        m.projects.add(resource.projectName || resource.projectSlug);
        members.set(name, m);
      }
    }
    const now = this.#o.ctx.clock.monotonic();
    const due = [...members].filter(([name, m]) => {
      if (m.keycloakId === undefined) return false; // Keycloak not read: what was known stays
      const k = this.#known.get(name);
      return fresh || !k || k.keycloakId !== m.keycloakId || k.verdict === "stale" ||
        now - k.readAt >= IDENTITY_TTL_MS;
    });
    const failed: string[] = [];
    await forEachLimit(due, this.#o.ctx.concurrency, async ([name, m]) => {
      try {
        this.#remember(name, m.keycloakId ?? "", await readIdentity(this.#o.harbor, name), now);
      } catch (error) {
        failed.push(`${name}: ${errorMessage(error)}`);
      }
    });
    for (const name of this.#known.keys()) if (!members.has(name)) this.#known.delete(name);
    return { members, failed };
  }

  #remember(name: string, keycloakId: string, held: HarborIdentity | null, at: number): void {
    const verdict = compareIdentity(held, { sub: keycloakId, issuer: this.#issuer });
    const before = this.#known.get(name);
    const news = before?.verdict !== verdict || before.held?.userId !== held?.userId;
    if (news && verdict === "stale") this.#o.ctx.log.warn(`harbor: ${conflictSentence(name)}`);
    const other = verdict === "other issuer" && held?.subiss ? issuerOf(held.subiss) : "";
    if (other && !this.#named.has(other)) {
      this.#named.add(other);
      this.#o.ctx.log.warn(
        `harbor: ${name} was onboarded through ${other}, not ${this.#issuer}: such identities ` +
          "are not compared; set oidc_issuer to the issuer users log in to Harbor through",
      );
    }
    this.#known.set(name, { keycloakId, held, verdict, readAt: at });
  }

  /** The conflict rows of these members, by username. */
  #conflicts(members: ReadonlyMap<string, Member>): IdentityRow[] {
    const rows: IdentityRow[] = [];
    for (const [name, m] of members) {
      const k = this.#known.get(name);
      if (k?.verdict !== "stale" || !k.held?.subiss) continue;
      rows.push({
        username: name,
        projects: [...m.projects].sort(),
        harborUserId: k.held.userId,
        harbor: k.held.subiss,
        keycloak: k.keycloakId + this.#issuer,
      });
    }
    return rows.sort((a, b) => a.username.localeCompare(b.username));
  }
}
