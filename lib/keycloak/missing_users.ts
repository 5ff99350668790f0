/**
 * Team members missing in Keycloak, per group: a condition each (lib/conditions.ts), so a user
 * who is not in the realm is logged once when a pass first finds them missing and once when
 * they no longer are, whichever backend's groups they belong in.
 */
import { type Condition, ConditionLog } from "../conditions.ts";
import type { Logger } from "../log.ts";

/** The missing team members of one offering's groups in one realm. */
export class MissingUsers {
  readonly #log: ConditionLog;
  readonly #realm: string;
  readonly #path: (group: string) => string;

  /** `path`: a group's path in the realm, for the words. */
  constructor(log: Logger, realm: string, path: (group: string) => string) {
    this.#log = new ConditionLog(log);
    this.#realm = realm;
    this.#path = path;
  }

  /**
   * A pass's missing users by group; `judged`: the groups whose members it could tell (in its
   * scope, no problem), whose earlier missing users are cleared when not missing any more.
   */
  pass(missing: ReadonlyMap<string, readonly string[]>, judged: ReadonlySet<string>): void {
    this.#log.report(
      [...missing].flatMap(([group, users]) => this.#conditions(group, users)),
      (key) => judged.has(key.slice(0, key.indexOf("\u0000"))),
    );
  }

  /** Users a Create found missing from its group (cleared by a later pass). */
  seen(group: string, users: readonly string[]): void {
    for (const c of this.#conditions(group, users)) this.#log.seen(c);
  }

  #conditions(group: string, users: readonly string[]): Condition[] {
    const path = this.#path(group);
    return users.map((user) => ({
      key: `${group}\u0000${user}`,
      appeared: `missing in Keycloak: ${user} is not in realm ${this.#realm}; group ${path} ` +
        "gets them at the first membership pass after they exist",
      cleared: `no longer missing in Keycloak: ${user} (group ${path})`,
    }));
  }
}
