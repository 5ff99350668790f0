/**
 * `berth diagnose` for a Harbor offering: health and version, the robot's credentials, the
 * permissions Berth uses (read from Harbor, or probed when Harbor will not say), then Keycloak.
 * A Harbor that cannot be reached (or refuses the robot) stops the Harbor checks after it, each
 * left out with a line saying so; Keycloak is checked whatever Harbor answered.
 */
import type { Check } from "../backend.ts";
import { createChecks, failureDetail } from "../checks.ts";
import type { KeycloakGroups } from "../keycloak/groups.ts";
import type { HarborClient } from "./client.ts";
import type { HarborSettings } from "./settings.ts";

/**
 * The system permissions the team robot accounts need (issue 19): create, list, read and delete
 * robots, and find and remove users. Not `robot update`: Harbor 2.12 and later grant it to no
 * robot. Creating a robot that may pull also needs `repository pull` on all projects for Berth's
 * own robot (a project permission, which the system scope this check reads does not show).
 */
export const ROBOT_ACCOUNT_PERMISSIONS: readonly [string, string, string][] = [
  ["robot", "create", "create team robot accounts"],
  ["robot", "list", "list team robot accounts"],
  ["robot", "read", "read a team robot account"],
  ["robot", "delete", "delete team robot accounts"],
  ["user", "list", "find users by name"],
  ["user", "read", "read a user's OIDC identity"],
  ["user", "delete", "remove a user whose identity changed"],
];

/**
 * The system permissions comparing and repairing the team members' OIDC identities needs (with
 * `keycloak`): find users by name, read their OIDC identity, remove a stale one.
 */
export const OIDC_IDENTITY_PERMISSIONS: readonly [string, string, string][] = [
  ["user", "list", "find users by name"],
  ["user", "read", "read a user's OIDC identity"],
  ["user", "delete", "remove a user whose identity changed"],
];

/** The checks of one Harbor offering; `robotAccounts` checks the team robots' permissions too. */
export async function diagnoseHarbor(
  client: HarborClient,
  settings: HarborSettings,
  groups: KeycloakGroups | undefined,
  options: { robotAccounts?: boolean } = {},
): Promise<Check[]> {
  const { checks, probe, skip, info } = createChecks();
  const reachable = await probe("harbor reachable", async () => {
    const h = await client.health();
    const info = await client.systemInfo().catch(() => ({ harbor_version: undefined }));
    const sick = (h.components ?? []).filter((c) => c.status !== "healthy").map((c) => c.name);
    if (h.status !== "healthy") {
      throw new Error(`Harbor reports ${h.status}${sick.length ? ` (${sick.join(", ")})` : ""}`);
    }
    return `${client.apiBase} is healthy${
      info.harbor_version ? `, version ${info.harbor_version}` : ""
    }`;
  });
  const authed = reachable &&
    await probe(
      "harbor credentials",
      async () =>
        `${(await client.listProjects()).length} projects visible to ${settings.robot_username}`,
    );
  if (!reachable) {
    skip("harbor credentials", "not checked (nor the permissions): Harbor did not answer");
  } else if (!authed) skip("harbor permissions", "not checked: the credentials check failed");
  else await permissions(client, settings, options, { checks, probe, skip, info });
  if (groups) checks.push({ ...await groups.diagnose(), needs: ["orders", "membership"] });
  return checks;
}

/**
 * The permissions Berth uses, read from Harbor; when Harbor will not say (an older Harbor has
 * no `/users/current/permissions`), a line tells so and the read-only probes that follow are
 * the test: they pass or fail on their own.
 */
async function permissions(
  client: HarborClient,
  settings: HarborSettings,
  options: { robotAccounts?: boolean },
  { checks, probe, info }: ReturnType<typeof createChecks>,
): Promise<void> {
  const needed: [string, string, string][] = [
    ["project", "create", "create projects (Create orders)"],
    ["project", "delete", "delete projects (Terminate orders)"],
    ["quota", "update", "set storage quotas"],
    ["quota", "list", "read quotas and usage"],
    ["user-group", "create", "create OIDC groups"],
    ["user-group", "list", "list OIDC groups"],
    ["member", "create", "add OIDC groups to projects"],
    ["member", "list", "check project members"],
    ["member", "update", "repair a group's role"],
  ];
  if (settings.termination === "purge") {
    needed.push(["repository", "list", "list repositories (termination: purge)"]);
    needed.push(["repository", "delete", "delete repositories (termination: purge)"]);
  }
  if (options.robotAccounts) needed.push(...ROBOT_ACCOUNT_PERMISSIONS);
  if (settings.keycloak) {
    needed.push(
      ...OIDC_IDENTITY_PERMISSIONS.filter(([r, a]) =>
        !needed.some(([nr, na]) => nr === r && na === a)
      ),
    );
  }
  let held: Set<string> | undefined;
  try {
    const perms = await client.permissions();
    held = new Set(perms.map((p) => `${p.resource}:${p.action}`));
  } catch (error) {
    info(
      "harbor permissions",
      `Harbor does not say which permissions the robot holds (${failureDetail(error)}); ` +
        "the read probes below test them instead (writes are not probed)",
    );
  }
  if (held) {
    const missing = needed.filter(([r, a]) => !held.has(`${r}:${a}`) && !held.has(`${r}:*`));
    checks.push({
      name: "harbor permissions",
      ok: missing.length === 0,
      detail: missing.length === 0
        ? `the robot holds the ${needed.length} permissions Berth uses`
        : `the robot cannot ${missing.map(([, , what]) => what).join("; ")}. ` +
          "Grant these system-level permissions to the robot in Harbor (Administration → Robot Accounts): " +
          missing.map(([r, a]) => `${r} ${a}`).join(", "),
    });
  }
  // Read-only probes prove the list permissions in practice.
  await probe(
    "harbor quotas readable",
    async () => `${(await client.listQuotas()).length} project quotas`,
    ["orders", "usage"],
  );
  await probe(
    "harbor user groups readable",
    async () => `${(await client.listGroups()).length} user groups`,
    ["orders", "membership"],
  );
}
