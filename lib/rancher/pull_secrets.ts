/**
 * A Rancher offering's image pull secrets (`image_pull_secret`): the consumer of a Harbor
 * offering's team robots. Every namespace of every Rancher project of a Waldur project holds the
 * team robot's credential as a `kubernetes.io/dockerconfigjson` Secret, listed by the configured
 * ServiceAccount. The membership pass observes (`pull_observe.ts`), plans (`pull_plan.ts`, pure)
 * and applies (`pull_apply.ts`); a robot made is written at once (`delivered`), a robot gone is
 * removed at once (`revoked`). One team's writes run one at a time, whoever asks.
 *
 * The credential is never kept: not in a field, a row, a log line, an audit event or an error.
 * What stays is who each team's robot is, when it expires and how many namespaces hold it.
 */
import type { MemberSync, Outcome, PlannedAction, ProjectSet } from "../backend.ts";
import { BerthError, errorMessage } from "../errors.ts";
import { KeyedLock } from "../keyed_lock.ts";
import type { Logger } from "../log.ts";
import { forEachLimit } from "../pool.ts";
import type {
  RegistryAccess,
  RobotConsumer,
  RobotCredential,
  TeamRobot,
} from "../registry_access.ts";
import type { RancherClient } from "./client.ts";
import type { RancherNaming } from "./naming.ts";
import type { RancherObserved } from "./plan.ts";
import { applyTeam, type PullApplyContext, type TeamResult } from "./pull_apply.ts";
import { observeGone, observePass, observeTeam, type PullReader } from "./pull_observe.ts";
import {
  describePull,
  planPullSecrets,
  type PullObserved,
  type PullPlan,
  type TeamPull,
} from "./pull_plan.ts";
import type { PullSecretRow } from "./pull_present.ts";
import type { RancherSettings } from "./settings.ts";

/** What {@link PullSecrets} is built with. */
export interface PullSecretsOptions {
  client: RancherClient;
  naming: RancherNaming;
  settings: NonNullable<RancherSettings["image_pull_secret"]>;
  offeringUuid: string;
  registry: RegistryAccess;
  concurrency: number;
  log: Logger;
  audit(action: string, target: string, detail: string): void;
  /** The rows changed: publish. */
  onChange(): void;
}

/** The pull secrets of one Rancher offering, and its consumer of the Harbor offering's robots. */
export class PullSecrets implements RobotConsumer {
  readonly #o: PullSecretsOptions;
  readonly #reader: PullReader;
  readonly #apply: PullApplyContext;
  readonly #lock = new KeyedLock();
  /**
   * Rancher project id → the Waldur project the last pass found it to be a resource's own
   * project of: where a credential delivered between passes may be written.
   */
  readonly #verified = new Map<string, string>();
  /** Namespaces found holding a Secret of the name that Berth did not write. */
  readonly #foreign = new Set<string>();
  /** Teams whose robot this consumer is refreshing: a delivery of it is the refresh's answer. */
  readonly #refreshing = new Set<string>();
  readonly #rows = new Map<string, PullSecretRow>();
  readonly #slugs = new Map<string, string>();

  /** Builds the pull secrets and registers them as a consumer of the Harbor offering's robots. */
  constructor(options: PullSecretsOptions) {
    this.#o = options;
    const { harbor_offering: harbor, secret_name, service_account } = options.settings;
    this.#reader = {
      client: options.client,
      cluster: options.naming.clusterId,
      naming: options.naming,
      secretName: secret_name,
      serviceAccount: service_account,
    };
    this.#apply = {
      client: options.client,
      cluster: options.naming.clusterId,
      offeringUuid: options.offeringUuid,
      secretName: secret_name,
      robot: (p) => options.registry.robot(harbor, p),
      refresh: async (p) => {
        this.#refreshing.add(p);
        try {
          return await options.registry.refresh(harbor, p);
        } finally {
          this.#refreshing.delete(p);
        }
      },
      foreign: this.#foreign,
      audit: options.audit,
    };
    options.registry.consume(harbor, this);
  }

  /**
   * The membership pass's part: every team of `items` (but the busy ones) brought in line, on
   * the pass's own observation of the cluster. A team's failure is a transient outcome of its
   * resources (a pull secret never errs a resource); its changes count once. With `scope` (a
   * scoped pass; `busy` then holds every project outside it), only the scope's rows are rewritten.
   */
  async pass(
    items: readonly MemberSync[],
    cluster: RancherObserved,
    busy: ProjectSet,
    scope?: ReadonlySet<string>,
  ): Promise<Map<string, Outcome>> {
    for (const { resource } of items) this.#slugs.set(resource.projectUuid, resource.projectSlug);
    const outcomes = new Map<string, Outcome>();
    if (!this.#o.registry.known(this.#o.settings.harbor_offering)) {
      // the Harbor offering has not read its robots yet: "no robot" would remove every copy
      this.#o.log.info(
        `pull secrets wait for the first pass of ${this.#o.settings.harbor_offering}, which knows the robots`,
      );
      return outcomes;
    }
    let plan: PullPlan;
    try {
      const verified = new Map<string, string>();
      plan = this.#plan(
        await observePass(this.#reader, items, cluster, this.#foreign, verified),
        busy,
      );
      // the projects a delivery may write to: this pass's, for the teams it saw
      for (const { resource } of items) {
        for (const [id, team] of this.#verified) {
          if (team === resource.projectUuid) this.#verified.delete(id);
        }
      }
      for (const [id, team] of verified) this.#verified.set(id, team);
    } catch (error) {
      for (const { resource } of items) outcomes.set(resource.uuid, failed(error));
      return outcomes;
    }
    const teams = new Map(plan.teams.map((t) => [t.projectUuid, t]));
    const keys = [...new Set([...teams.keys(), ...plan.actions.map((a) => a.projectUuid)])];
    const results = new Map<string, TeamResult>();
    await forEachLimit(keys.sort(), this.#o.concurrency, async (key) => {
      const actions = plan.actions.filter((a) => a.projectUuid === key);
      const team = teams.get(key);
      results.set(
        key,
        actions.length === 0
          ? settled(team)
          : await this.#lock.run(key, () => applyTeam(this.#apply, team, actions)),
      );
    });
    const before = new Map(this.#rows);
    // a scoped pass rewrites its projects' rows only
    for (const key of before.keys()) {
      if (scope === undefined || scope.has(key)) this.#rows.delete(key);
    }
    for (const team of plan.teams) this.#row(team, results.get(team.projectUuid), before);
    const counted = new Set<string>();
    for (const { resource } of items) {
      const r = results.get(resource.projectUuid);
      if (!r) continue;
      const [error] = r.errors;
      if (error !== undefined) outcomes.set(resource.uuid, failed(error));
      else {
        const first = !counted.has(resource.projectUuid);
        counted.add(resource.projectUuid);
        outcomes.set(resource.uuid, { ok: true, changes: first ? r.changes : 0 });
      }
    }
    this.#o.onChange();
    return outcomes;
  }

  /**
   * What the pass would change, in `berth plan`'s words; reads no Secret's data. `berth plan`
   * runs no pass, so the Harbor offering's robots are read first (read-only): without them every
   * team would look robot-less and every copy planned for removal, which no pass does. A team
   * with no robot is left out: the Harbor offering's pass makes or deletes its robot first.
   */
  async planned(items: readonly MemberSync[], cluster: RancherObserved): Promise<PlannedAction[]> {
    const harbor = this.#o.settings.harbor_offering;
    try {
      await this.#o.registry.read(harbor);
    } catch (error) {
      return [notPlanned(harbor, `its team robots could not be read: ${errorMessage(error)}`)];
    }
    if (!this.#o.registry.known(harbor)) {
      return [notPlanned(harbor, "its team robots are not known")];
    }
    for (const { resource } of items) this.#slugs.set(resource.projectUuid, resource.projectSlug);
    const observed = await observePass(this.#reader, items, cluster, new Set(this.#foreign));
    const robots = this.#robots(observed);
    const robotless = [...robots].flatMap(([p, robot]) => robot ? [] : [p]);
    const plan = planPullSecrets(observed, robots, this.#options(new Set(robotless)));
    const out: PlannedAction[] = plan.actions.map((a) => ({ action: a.kind, ...describePull(a) }));
    for (const t of plan.teams) {
      if (t.robot && t.digest === undefined && t.namespaces.length > t.conflicts.length) {
        out.push({
          target: t.robot.username,
          action: "refresh-robot",
          detail: "no copy is known current: the robot's secret would be refreshed",
        });
      }
    }
    if (robotless.length > 0) {
      const teams = robotless.map((p) => this.#slugs.get(p) || p).sort().join(", ");
      const why = `no team robot yet for ${teams}: its membership pass makes or deletes them first`;
      out.push(notPlanned(harbor, why));
    }
    return out;
  }

  /** A robot made or remade: its credential written to every namespace of its team now. */
  /** Records a Rancher project as a team's own (a Create made or adopted it for its resource). */
  verified(projectId: string, projectUuid: string): void {
    this.#verified.set(projectId, projectUuid);
  }

  async delivered(credential: RobotCredential): Promise<void> {
    const project = credential.projectUuid;
    if (this.#refreshing.has(project)) return; // the refresh's caller writes it
    const { password: _, ...robot } = credential;
    const result = await this.#lock.run(project, async () => {
      const observed = await observeTeam(this.#reader, project, this.#foreign, this.#verified);
      if (observed.slug && !this.#slugs.has(project)) this.#slugs.set(project, observed.slug);
      const plan = planPullSecrets(observed, new Map([[project, robot]]), this.#options(new Set()));
      const team = plan.teams[0];
      const r = await applyTeam(this.#apply, team, plan.actions, credential);
      // a team with no namespace of this offering gets no row of its own
      if (team && (team.namespaces.length > 0 || this.#rows.has(project))) this.#row(team, r);
      return r;
    });
    this.#o.onChange();
    this.#raise(result, project);
  }

  /** A robot gone: Berth's copies of it and the ServiceAccount entries removed now. */
  async revoked(projectUuid: string): Promise<void> {
    const result = await this.#lock.run(projectUuid, async () => {
      const observed = await observeGone(this.#reader, projectUuid, this.#o.offeringUuid);
      const plan = planPullSecrets(
        observed,
        new Map([[projectUuid, undefined]]),
        this.#options(new Set()),
      );
      return await applyTeam(this.#apply, undefined, plan.actions);
    });
    const row = this.#rows.get(projectUuid);
    if (row) {
      const flags = ["no robot", ...row.flags.filter((f) => f.startsWith("foreign"))];
      this.#rows.set(projectUuid, { ...row, robot: null, expiresAt: null, current: 0, flags });
    }
    this.#o.onChange();
    this.#raise(result, projectUuid);
  }

  /** The rows, in project order. */
  rows(): PullSecretRow[] {
    return [...this.#rows.values()].sort((a, b) =>
      a.project.localeCompare(b.project) || a.projectUuid.localeCompare(b.projectUuid)
    );
  }

  #plan(observed: PullObserved, busy: ProjectSet): PullPlan {
    return planPullSecrets(observed, this.#robots(observed), this.#options(busy));
  }

  /** The robot of every team the observation names (undefined: it has none). */
  #robots(observed: PullObserved): Map<string, TeamRobot | undefined> {
    const robots = new Map<string, TeamRobot | undefined>();
    const teams = [
      ...observed.targets.keys(),
      ...observed.owners.values(),
      ...observed.copies.flatMap((c) => c.project ?? []),
    ];
    for (const p of teams) {
      if (!robots.has(p)) robots.set(p, this.#apply.robot(p));
    }
    return robots;
  }

  #options(busy: ProjectSet) {
    return {
      offeringUuid: this.#o.offeringUuid,
      secretName: this.#reader.secretName,
      serviceAccount: this.#reader.serviceAccount,
      busy,
    };
  }

  /** A team's row from its plan and what applying it did. */
  #row(team: TeamPull, result: TeamResult | undefined, before = this.#rows): void {
    const previous = before.get(team.projectUuid);
    if (team.busy && previous) {
      const flags = [...previous.flags.filter((f) => f !== "busy"), "busy"];
      this.#rows.set(team.projectUuid, { ...previous, flags });
      return;
    }
    const current = result?.current ?? new Set(team.current);
    const conflicts = [...result?.conflicts ?? team.conflicts].sort();
    const flags: string[] = [];
    if (team.busy) flags.push("busy");
    else if (!team.robot) flags.push("no robot");
    flags.push(...capped(conflicts, (ns) => `foreign secret in ${ns}`));
    flags.push(...capped(team.noAccount, (ns) => `service account missing in ${ns}`));
    if (result && result.errors.length > 0) flags.push("write error");
    this.#rows.set(team.projectUuid, {
      project: this.#slugs.get(team.projectUuid) || team.projectUuid,
      projectUuid: team.projectUuid,
      robot: team.robot?.username ?? null,
      expiresAt: team.robot?.expiresAt ?? null,
      current: team.robot ? team.namespaces.filter((ns) => current.has(ns)).length : 0,
      namespaces: team.namespaces.length,
      flags,
    });
  }

  /** A delivery's or revocation's failure, for the Harbor side to report (never a secret). */
  #raise(result: TeamResult, project: string): void {
    const [error] = result.errors;
    if (error === undefined) return;
    this.#o.log.warn(`pull secrets of project ${project}: ${errorMessage(error)}`);
    throw failedError(error, project);
  }
}

/** `berth plan`'s line for pull secrets it does not plan, and why. */
function notPlanned(harbor: string, why: string): PlannedAction {
  return {
    action: "not-planned",
    target: "pull secrets",
    detail: `registry offering ${harbor}: ${why}`,
  };
}

/** A team with nothing to do: what its plan found. */
function settled(team: TeamPull | undefined): TeamResult {
  return {
    changes: 0,
    current: new Set(team?.current),
    digest: team?.digest,
    conflicts: new Set(team?.conflicts),
    errors: [],
  };
}

/** At most three flags of a list, then how many more. */
function capped(list: readonly string[], flag: (x: string) => string): string[] {
  const out = list.slice(0, 3).map(flag);
  if (list.length > 3) out.push(`${list.length - 3} more`);
  return out;
}

/** A pull secret failure as a resource's outcome: transient, so it never errs the resource. */
function failed(error: unknown): Outcome {
  return { ok: false, error: failedError(error) };
}

function failedError(error: unknown, project?: string): BerthError {
  return new BerthError(
    `image pull secret${project ? ` of project ${project}` : ""}: ${errorMessage(error)}`,
    { system: "kubernetes", transient: true },
  );
}
