/**
 * Performs one team's planned pull secret actions. The credential is obtained only when a copy
 * must be written: given (a robot just made), read from one current copy (its digest checked),
 * or, when none is readable, a refresh of the robot (then every copy of the team is rewritten).
 * It lives in this function's frame only: never in a field, a message, an audit event or a log
 * line; an error of a write is reworded so that nothing the server echoed of it survives.
 *
 * A write on a stale version (409) reads the namespace's Berth Secrets again (metadata only)
 * and tries once more; a Secret of the name Berth did not write is a conflict, left alone and
 * remembered. A ServiceAccount lists the secret only once the secret is there, and lets go of it
 * before Berth's copy is deleted; a delete on a moved-on version is left to the next pass (it
 * may be a copy just rewritten).
 */
import { BerthError, errorMessage, HttpError, isTransient } from "../errors.ts";
import type { RobotCredential, TeamRobot } from "../registry_access.ts";
import { isConflict, type RancherClient } from "./client.ts";
import {
  BERTH_SECRETS,
  credentialForms,
  credentialOf,
  isCurrentCopy,
  pullCopyOf,
  pullSecretBody,
} from "./docker_config.ts";
import { describePull, type PullAction, type TeamPull } from "./pull_plan.ts";

/** What {@link applyTeam} works with. */
export interface PullApplyContext {
  client: RancherClient;
  cluster: string;
  offeringUuid: string;
  secretName: string;
  /** The team's robot now (the plan's may be stale by the time the lock is held). */
  robot(projectUuid: string): TeamRobot | undefined;
  /** A new secret for the team's robot (Harbor refreshes it), or null when it has none. */
  refresh(projectUuid: string): Promise<RobotCredential | null>;
  /** Namespaces found holding a Secret of the name Berth did not write. */
  foreign: Set<string>;
  audit(action: string, target: string, detail: string): void;
}

/** What applying a team's actions did. */
export interface TeamResult {
  changes: number;
  /** Namespaces holding a current copy afterwards. */
  current: Set<string>;
  /** The digest the current copies hold. */
  digest: string | undefined;
  conflicts: Set<string>;
  errors: unknown[];
}

/**
 * Applies one Waldur project's actions in order: writes (with the credential, when there are
 * any), the ServiceAccount entries, then removals. `given` is a credential just delivered.
 */
export async function applyTeam(
  ctx: PullApplyContext,
  team: TeamPull | undefined,
  actions: readonly PullAction[],
  given?: RobotCredential,
): Promise<TeamResult> {
  const result: TeamResult = {
    changes: 0,
    current: new Set(team?.current),
    digest: team?.digest,
    conflicts: new Set(team?.conflicts),
    errors: [],
  };
  const writes = actions.filter((a) => a.kind === "write-secret");
  if (team?.robot && writes.length > 0) {
    try {
      await writeTeam(ctx, team, team.robot, writes, result, given);
    } catch (error) {
      result.errors.push(error);
    }
  }
  for (const a of actions) {
    if (a.kind !== "add-pull-secret" || !result.current.has(a.namespace)) continue;
    await attempt(result, () => patchAccount(ctx, a));
  }
  const released = new Set<string>();
  for (const a of actions) {
    if (a.kind !== "remove-pull-secret") continue;
    if (await attempt(result, () => patchAccount(ctx, a))) released.add(a.namespace);
  }
  const held = new Set(
    actions.flatMap((a) => a.kind === "remove-pull-secret" ? [a.namespace] : []),
  );
  for (const a of actions) {
    if (a.kind !== "delete-secret") continue;
    // still listed by its ServiceAccount: kept, so the next pass finds both again
    if (held.has(a.namespace) && !released.has(a.namespace)) continue;
    await attempt(result, async () => {
      try {
        await ctx.client.deleteSecret(ctx.cluster, a);
      } catch (error) {
        if (isConflict(error)) return false; // rewritten since it was read: the next pass sees
        throw error;
      }
      ctx.audit("remove pull secret", `${a.namespace}/${a.name}`, `robot ${a.robot}: ${a.why}`);
      return true;
    });
  }
  return result;
}

/** Runs one change; counts it, or keeps its error. True when it was made. */
async function attempt(result: TeamResult, change: () => Promise<boolean>): Promise<boolean> {
  try {
    const made = await change();
    if (made) result.changes++;
    return made;
  } catch (error) {
    result.errors.push(error);
    return false;
  }
}

/** The team's writes, with the credential obtained once. */
async function writeTeam(
  ctx: PullApplyContext,
  team: TeamPull,
  robot: TeamRobot,
  writes: readonly Extract<PullAction, { kind: "write-secret" }>[],
  result: TeamResult,
  given: RobotCredential | undefined,
): Promise<void> {
  let credential = given;
  if (!credential) {
    const now = ctx.robot(team.projectUuid);
    // the robot changed since the observation (a delivery, a recreation): the next pass plans it
    if (!now || now.username !== robot.username || now.digest !== robot.digest) return;
    credential = await readCopy(ctx, team, robot) ?? undefined;
  }
  let targets = writes.map((w) => ({ namespace: w.namespace, version: w.resourceVersion }));
  if (!credential) {
    credential = await ctx.refresh(team.projectUuid) ?? undefined;
    if (!credential) return;
    ctx.audit("refresh robot secret", robot.username, `no current copy of it was readable`);
  }
  if (credential.digest !== team.digest) {
    // a new secret: every copy of the team is stale now
    result.current.clear();
    targets = team.namespaces.filter((ns) => !result.conflicts.has(ns)).map((ns) => ({
      namespace: ns,
      version: team.versions[ns],
    }));
  }
  result.digest = credential.digest;
  for (const t of targets) {
    try {
      const done = await writeCopy(ctx, credential, t.namespace, t.version);
      if (done === "conflict") result.conflicts.add(t.namespace);
      if (done === "written" || done === "current") result.current.add(t.namespace);
      if (done === "written") result.changes++;
    } catch (error) {
      result.errors.push(reworded(error, credential));
    }
  }
}

/**
 * The credential from one current copy (at most three tried), or null when none holds it. A
 * copy that cannot be read for a transient reason stops here: refreshing the robot then would
 * break every copy that works.
 */
async function readCopy(
  ctx: PullApplyContext,
  team: TeamPull,
  robot: TeamRobot,
): Promise<RobotCredential | null> {
  if (team.digest === undefined) return null;
  for (const namespace of team.sources.slice(0, 3)) {
    let secret;
    try {
      secret = await ctx.client.secret(ctx.cluster, { namespace, name: ctx.secretName });
    } catch (error) {
      // said without the server's answer: a body that failed a read of a Secret is not quoted
      if (isTransient(error)) {
        throw new BerthError(`kubernetes: cannot read secret ${namespace}/${ctx.secretName}`, {
          system: "kubernetes",
          transient: true,
        });
      }
      continue;
    }
    const credential = secret && credentialOf(secret, robot, team.digest);
    if (credential) return credential;
  }
  return null;
}

/** Writes one copy: created or replaced; a 409 reads again once. */
async function writeCopy(
  ctx: PullApplyContext,
  credential: RobotCredential,
  namespace: string,
  version: string | undefined,
): Promise<"written" | "current" | "conflict" | "left"> {
  const body = pullSecretBody(credential, { namespace, name: ctx.secretName }, ctx.offeringUuid);
  const put = async (at: string | undefined) => {
    if (at === undefined) await ctx.client.createSecret(ctx.cluster, body);
    else await ctx.client.replaceSecret(ctx.cluster, { ...body, resourceVersion: at });
    ctx.audit(
      "write pull secret",
      `${namespace}/${ctx.secretName}`,
      `robot ${credential.username}`,
    );
  };
  try {
    await put(version);
    return "written";
  } catch (error) {
    if (!isConflict(error)) throw error;
  }
  const listed = await ctx.client.listSecrets(ctx.cluster, {
    namespace,
    labelSelector: BERTH_SECRETS,
  });
  const copy = listed.map(pullCopyOf).find((c) => c?.name === ctx.secretName);
  if (!copy && version === undefined) {
    ctx.foreign.add(namespace); // a Secret of the name that is not Berth's
    return "conflict";
  }
  if (copy && copy.offering !== ctx.offeringUuid) return "conflict";
  const want = {
    offering: ctx.offeringUuid,
    project: credential.projectUuid,
    robot: credential,
    digest: credential.digest,
  };
  if (copy && isCurrentCopy(copy, want)) return "current";
  try {
    await put(copy?.resourceVersion);
    return "written";
  } catch (error) {
    if (isConflict(error)) return "left"; // moved on twice: the next pass
    throw error;
  }
}

/** Sets a ServiceAccount's list; a 409 reads it again once and applies the same change. */
async function patchAccount(
  ctx: PullApplyContext,
  a: Extract<PullAction, { kind: "add-pull-secret" | "remove-pull-secret" }>,
): Promise<boolean> {
  const { target, detail } = describePull(a);
  const ref = { namespace: a.namespace, name: a.account };
  try {
    await ctx.client.setImagePullSecrets(ctx.cluster, {
      ...ref,
      resourceVersion: a.resourceVersion,
      imagePullSecrets: a.imagePullSecrets,
    });
  } catch (error) {
    if (!isConflict(error)) throw error;
    const now = await ctx.client.serviceAccount(ctx.cluster, ref);
    if (!now) return false;
    const names = (now.imagePullSecrets ?? []).map((x) => x.name);
    const add = a.kind === "add-pull-secret";
    const wanted = add
      ? [...names, ...a.names.filter((n) => !names.includes(n))]
      : names.filter((n) => !a.names.includes(n));
    if (wanted.length === names.length) return false; // already so
    try {
      await ctx.client.setImagePullSecrets(ctx.cluster, {
        ...ref,
        resourceVersion: now.metadata.resourceVersion ?? "",
        imagePullSecrets: wanted,
      });
    } catch (again) {
      if (isConflict(again)) return false; // the next pass
      throw again;
    }
  }
  ctx.audit(
    a.kind === "add-pull-secret" ? "add image pull secret" : "remove image pull secret",
    target,
    detail,
  );
  return true;
}

/**
 * A write's error with nothing of the credential in it: its message with the password and its
 * encodings cut out, and no cause (an upstream body may have echoed the Secret).
 */
function reworded(error: unknown, credential: RobotCredential): BerthError {
  let message = errorMessage(error);
  // a cut-off echo of the body is no whole form of it: the server's answer is dropped entirely
  if (error instanceof HttpError && error.bodyExcerpt) {
    message = message.replace(error.bodyExcerpt, "(answer withheld)");
  }
  for (const s of credentialForms(credential)) message = message.split(s).join("[withheld]");
  return new BerthError(message, {
    system: "kubernetes",
    transient: isTransient(error),
  });
}
