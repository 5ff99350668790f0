/**
 * The pull secrets plan, pure: from one observation (which namespaces each Waldur project's
 * Rancher projects hold, Berth's Secrets listed without data, the ServiceAccounts) and each
 * team's robot as the Harbor offering knows it (without its secret), the writes and removals
 * that put the robot's credential, and only it, in every namespace of its team. No clock, no
 * I/O, no credential: `berth plan` prints it, `pull_apply.ts` performs it.
 *
 * A copy is current when it is this offering's, for the namespace's Waldur project, of the
 * robot's name, registry and expiry, with the digest of the robot's secret. After a restart the
 * Harbor side knows no digest: the copies of the robot's name, registry and expiry that all
 * share one are current (a copy of an older robot of the name vouches for nothing); copies that
 * disagree (or none at all) leave no digest, and the apply must refresh the robot. A Secret of the name
 * that Berth did not write (no label, or another offering's) is never touched: it is a conflict.
 */
import type { ProjectSet } from "../backend.ts";
import type { TeamRobot } from "../registry_access.ts";
import { isCurrentCopy, type PullCopy } from "./docker_config.ts";

/** A ServiceAccount as the plan needs it. */
export interface AccountState {
  resourceVersion: string;
  /** Its `imagePullSecrets` names, in order. */
  names: readonly string[];
}

/** What the pull secrets plan reads. */
export interface PullObserved {
  /** Waldur project → the namespaces of its Rancher projects that this pass writes. */
  targets: ReadonlyMap<string, readonly string[]>;
  /** Namespace → the Waldur project its Rancher project is Berth's for (annotation). */
  owners: ReadonlyMap<string, string>;
  /** Berth's Secrets (its label) in the namespaces observed. */
  copies: readonly PullCopy[];
  /** Namespace → its ServiceAccount of the configured name (none when it has none). */
  accounts: ReadonlyMap<string, AccountState>;
  /** Namespaces holding a Secret of the name that Berth did not write. */
  foreign: ReadonlySet<string>;
}

/** What the plan needs beyond the observation. */
export interface PullPlanOptions {
  offeringUuid: string;
  secretName: string;
  /** The ServiceAccount that lists the secret; "" leaves ServiceAccounts alone. */
  serviceAccount: string;
  /**
   * Waldur projects left as they are: those an order is changing, and on a scoped pass every
   * project outside the scope (then "" too: a namespace of no Waldur project is left alone).
   */
  busy: ProjectSet;
}

/** One change of the pull secrets. */
export type PullAction =
  | {
    kind: "write-secret";
    projectUuid: string;
    namespace: string;
    name: string;
    robot: string;
    /** The copy's version to replace; undefined to create. */
    resourceVersion: string | undefined;
  }
  | {
    kind: "add-pull-secret" | "remove-pull-secret";
    projectUuid: string;
    namespace: string;
    account: string;
    /** The names added or removed. */
    names: string[];
    resourceVersion: string;
    /** The whole list after the change. */
    imagePullSecrets: string[];
  }
  | {
    kind: "delete-secret";
    projectUuid: string;
    namespace: string;
    name: string;
    robot: string;
    resourceVersion: string;
    why: string;
  };

/** A team's pull secrets as planned. */
export interface TeamPull {
  projectUuid: string;
  robot: TeamRobot | undefined;
  busy: boolean;
  /** The digest current copies carry; undefined when only a refresh can tell. */
  digest: string | undefined;
  /** Its namespaces, sorted. */
  namespaces: string[];
  /** Namespaces holding a current copy. */
  current: string[];
  /** Namespaces whose copy holds the current secret, to read it from. */
  sources: string[];
  /** Namespaces with a Secret of the name Berth did not write. */
  conflicts: string[];
  /** Namespaces without the ServiceAccount. */
  noAccount: string[];
  /** Namespace → the version of this offering's copy there (to replace it). */
  versions: Record<string, string>;
}

/** The plan: per team what stands, and the actions. */
export interface PullPlan {
  teams: TeamPull[];
  actions: PullAction[];
}

/** Plans every team's pull secrets against one observation. */
export function planPullSecrets(
  observed: PullObserved,
  robots: ReadonlyMap<string, TeamRobot | undefined>,
  options: PullPlanOptions,
): PullPlan {
  const { secretName, serviceAccount, offeringUuid, busy } = options;
  const ours = observed.copies.filter((c) => c.offering === offeringUuid);
  const mine = new Map(ours.filter((c) => c.name === secretName).map((c) => [c.namespace, c]));
  const clash = new Set(observed.foreign);
  for (const c of observed.copies) {
    if (c.offering !== offeringUuid && c.name === secretName) clash.add(c.namespace);
  }
  const teams: TeamPull[] = [];
  const actions: PullAction[] = [];
  const written = new Set<string>();
  for (const [projectUuid, list] of [...observed.targets].sort(([a], [b]) => a.localeCompare(b))) {
    const namespaces = [...new Set(list)].sort();
    const robot = robots.get(projectUuid);
    const team: TeamPull = {
      projectUuid,
      robot,
      busy: busy.has(projectUuid),
      digest: undefined,
      namespaces,
      current: [],
      sources: [],
      conflicts: namespaces.filter((ns) => clash.has(ns)),
      noAccount: [],
      versions: {},
    };
    teams.push(team);
    if (team.busy || !robot) continue;
    for (const ns of namespaces) written.add(ns);
    const holds = (c: PullCopy | undefined): c is PullCopy =>
      c !== undefined && c.project === projectUuid && c.robot === robot.username;
    const copies = namespaces.map((ns) => mine.get(ns)).filter(holds);
    // Unknown to the Harbor side (a restart), the digest is the one the copies of the robot as
    // it is now agree on: a copy written for an older robot of the name (another registry or
    // expiry: one replaced while its copies could not be written) vouches for a dead secret.
    const now = copies.filter((c) =>
      c.registry === robot.registry && c.expiresAt === String(robot.expiresAt)
    );
    team.digest = robot.digest ?? shared(now.map((c) => c.digest));
    const want = { offering: offeringUuid, project: projectUuid, robot, digest: team.digest };
    for (const ns of namespaces) {
      if (clash.has(ns)) continue;
      const copy = mine.get(ns);
      if (copy) team.versions[ns] = copy.resourceVersion;
      if (holds(copy) && team.digest !== undefined && copy.digest === team.digest) {
        team.sources.push(ns);
      }
      if (copy && isCurrentCopy(copy, want)) team.current.push(ns);
      else {
        actions.push({
          kind: "write-secret",
          projectUuid,
          namespace: ns,
          name: secretName,
          robot: robot.username,
          resourceVersion: copy?.resourceVersion,
        });
      }
      if (!serviceAccount) continue;
      const account = observed.accounts.get(ns);
      if (!account) team.noAccount.push(ns);
      else if (!account.names.includes(secretName)) {
        actions.push({
          kind: "add-pull-secret",
          projectUuid,
          namespace: ns,
          account: serviceAccount,
          names: [secretName],
          resourceVersion: account.resourceVersion,
          imagePullSecrets: [...account.names, secretName],
        });
      }
    }
  }
  actions.push(...removals(observed, robots, options, { ours, written }));
  return { teams, actions };
}

/**
 * This offering's copies no team should hold: in a namespace no Waldur project with a robot
 * owns, of a project whose robot is gone, or of an old name. The ServiceAccount lets go of them
 * first, so a failed removal is found again.
 */
function removals(
  observed: PullObserved,
  robots: ReadonlyMap<string, TeamRobot | undefined>,
  options: PullPlanOptions,
  seen: { ours: readonly PullCopy[]; written: ReadonlySet<string> },
): PullAction[] {
  const { secretName, serviceAccount, busy } = options;
  const gone = new Map<string, { copy: PullCopy; why: string }[]>();
  for (const copy of seen.ours) {
    const project = copy.project ?? "";
    const owner = observed.owners.get(copy.namespace);
    if (busy.has(project) || busy.has(owner ?? "")) continue;
    let why: string | null;
    if (copy.name !== secretName) why = `not named ${secretName} any more`;
    else if (seen.written.has(copy.namespace)) continue; // its team's: rewritten, or current
    else if (owner === undefined) why = "its namespace belongs to no Waldur project";
    else if (!robots.get(owner)) why = `project ${owner} has no robot`;
    else if (owner !== project) why = `its namespace belongs to project ${owner}`;
    else continue; // its team's, outside this pass
    gone.set(copy.namespace, [...gone.get(copy.namespace) ?? [], { copy, why }]);
  }
  const actions: PullAction[] = [];
  for (const [ns, list] of [...gone].sort(([a], [b]) => a.localeCompare(b))) {
    const account = serviceAccount ? observed.accounts.get(ns) : undefined;
    const names = list.map((x) => x.copy.name).filter((n) => account?.names.includes(n));
    if (account && names.length > 0) {
      actions.push({
        kind: "remove-pull-secret",
        projectUuid: list[0]?.copy.project ?? "",
        namespace: ns,
        account: serviceAccount,
        names,
        resourceVersion: account.resourceVersion,
        imagePullSecrets: account.names.filter((n) => !names.includes(n)),
      });
    }
    for (const { copy, why } of list) {
      actions.push({
        kind: "delete-secret",
        projectUuid: copy.project ?? "",
        namespace: ns,
        name: copy.name,
        robot: copy.robot ?? "",
        resourceVersion: copy.resourceVersion,
        why,
      });
    }
  }
  return actions;
}

/** The one value every copy shares; undefined when there is none or they disagree. */
function shared(digests: readonly (string | undefined)[]): string | undefined {
  const set = new Set(digests);
  const [only] = set;
  return set.size === 1 ? only : undefined;
}

/** A pull secret action in words, for `berth plan` and the audit log (never a secret). */
export function describePull(a: PullAction): { target: string; detail: string } {
  switch (a.kind) {
    case "write-secret":
      return {
        target: `${a.namespace}/${a.name}`,
        detail: `write pull secret of robot ${a.robot}${a.resourceVersion ? " (replace)" : ""}`,
      };
    case "add-pull-secret":
    case "remove-pull-secret":
      return {
        target: `${a.namespace}/${a.account}`,
        detail: `${a.kind === "add-pull-secret" ? "add" : "remove"} image pull secret ${
          a.names.join(", ")
        }`,
      };
    case "delete-secret":
      return { target: `${a.namespace}/${a.name}`, detail: `remove pull secret: ${a.why}` };
  }
}
