/**
 * Keeps Keycloak groups in line with Waldur project teams: each wanted group exists and holds
 * exactly the wanted usernames. Backends (Harbor, Rancher) use it to put a Waldur project's
 * team into the OIDC group their access hangs on.
 */
import type { Check, Outcome, PlannedAction } from "../backend.ts";

/** One group a resource needs, with the usernames it should hold. */
export interface GroupWant {
  group: string;
  /** The Waldur resource uuid the outcome is reported under. */
  resource: string;
  usernames: readonly string[];
}

/** The group sync a backend calls during its membership pass. */
export interface KeycloakGroupSync {
  /** Creates missing groups and syncs members; one outcome per resource. */
  sync(wants: readonly GroupWant[]): Promise<Map<string, Outcome>>;
  /** What `sync` would change, changing nothing. */
  plan(wants: readonly GroupWant[]): Promise<PlannedAction[]>;
  diagnose(): Promise<Check[]>;
}
