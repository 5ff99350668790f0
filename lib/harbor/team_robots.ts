/**
 * A Harbor offering's team robots: observe Berth's robots (one list), plan (`robots.ts`, pure),
 * apply (create, replace, delete), and be the `RobotProvider` of the config's registry access.
 * A robot's secret is in memory only between Harbor's answer and the consumers' writes; what
 * stays is who the robot is, when it expires and a digest of its secret.
 */
import type { BackendContext, ProjectSet, ResourceSpec } from "../backend.ts";
import { errorMessage, isTransient } from "../errors.ts";
import type { Logger } from "../log.ts";
import { KeyedLock } from "../keyed_lock.ts";
import {
  type RegistryAccess,
  type RobotCredential,
  type RobotProvider,
  secretDigest,
  type TeamRobot,
} from "../registry_access.ts";
import type { HarborClient } from "./client.ts";
import {
  describeRobotAction,
  type ObservedRobot,
  planRobots,
  type RobotAction,
  robotDescription,
  robotName,
  robotProject,
  type RobotWant,
} from "./robots.ts";
import type { TeamRobotRow } from "./present.ts";
import type { Robot } from "./schemas.ts";
import type { HarborSettings } from "./settings.ts";

/** What {@link TeamRobots} works with. */
export interface TeamRobotsOptions {
  client: HarborClient;
  offering: string;
  offeringUuid: string;
  registry: RegistryAccess;
  /** `host[:port]` of Harbor: the key of a pull secret's `auths`. */
  registryHost: string;
  durationDays: number;
  rotateBeforeDays: number;
  /** Wall time now, in milliseconds (Harbor's expiry is wall time). */
  now: () => number;
  log: Logger;
  audit: (action: string, target: string, detail: string) => void;
  onChange: () => void;
}

/** What Berth knows of a team's robot between passes. */
interface Known {
  id: number;
  username: string;
  expiresAt: number;
  projects: string[];
  /** The digest of the secret this process made; undefined after a restart. */
  digest: string | undefined;
}

/** The team robots of one Harbor offering. */
export class TeamRobots implements RobotProvider {
  readonly #o: TeamRobotsOptions;
  readonly #known = new Map<string, Known>();
  readonly #slugs = new Map<string, string>();
  readonly #errors = new Map<string, string>();
  /** One change at a time per Waldur project: a pass and a consumer's refresh do not race. */
  readonly #locks = new KeyedLock();
  #observed = false;

  constructor(options: TeamRobotsOptions) {
    this.#o = options;
    options.registry.provide(options.offering, this);
  }

  /**
   * The membership pass: one robot per Waldur project of `resources` (their `backendId` is their
   * Harbor project), with pull on exactly those projects. The robots of `busy` projects (an
   * order's, or outside a scoped pass) are neither replaced nor deleted. Resolves the problems by
   * Waldur project.
   */
  async sync(
    resources: readonly ResourceSpec[],
    busy: ProjectSet,
  ): Promise<Map<string, string>> {
    const wants = wantsOf(resources);
    for (const w of wants) this.#slugs.set(w.projectUuid, w.projectSlug);
    const [prefix, listed] = await Promise.all([
      this.#o.client.robotPrefix(),
      this.#o.client.robots(),
    ]);
    const observed = listed.map((r) => observe(r, prefix));
    this.#remember(observed, prefix);
    this.#observed = true;
    const plan = planRobots(wants, observed, {
      offeringUuid: this.#o.offeringUuid,
      now: Math.floor(this.#o.now() / 1000),
      rotateBeforeDays: this.#o.rotateBeforeDays,
      busy,
      unseen: new Set([...this.#known].flatMap(([p, k]) => k.digest === REPLACED ? [p] : [])),
    });
    const problems = new Map(plan.problems);
    for (const a of plan.actions) {
      try {
        const tell = await this.#locks.run(a.projectUuid, () => this.#apply(a));
        this.#errors.delete(a.projectUuid);
        await tell();
      } catch (error) {
        problems.set(a.projectUuid, errorMessage(error));
        (isTransient(error) ? this.#o.log.warn : this.#o.log.error)(
          `team robot ${a.name}: cannot ${a.kind.replace("-robot", "")} it: ${errorMessage(error)}`,
        );
      }
    }
    for (const w of wants) {
      const problem = problems.get(w.projectUuid);
      if (problem) this.#errors.set(w.projectUuid, problem);
      else if (!busy.has(w.projectUuid)) this.#errors.delete(w.projectUuid);
    }
    this.#o.onChange();
    return problems;
  }

  /** What `sync` would change, in `berth plan`'s words (no secret is made). */
  async planned(resources: readonly ResourceSpec[]): Promise<RobotAction[]> {
    const prefix = await this.#o.client.robotPrefix();
    const observed = (await this.#o.client.robots()).map((r) => observe(r, prefix));
    return planRobots(wantsOf(resources), observed, {
      offeringUuid: this.#o.offeringUuid,
      now: Math.floor(this.#o.now() / 1000),
      rotateBeforeDays: this.#o.rotateBeforeDays,
    }).actions;
  }

  /** True once a pass has read Harbor's robots. */
  known(): boolean {
    return this.#observed;
  }

  /**
   * Reads Harbor's robots unless a pass has: `berth plan` runs no pass, and its consumers' plan
   * needs them (without, every team looks robot-less). Read-only; no secret is made.
   */
  async read(): Promise<void> {
    if (this.#observed) return;
    const [prefix, listed] = await Promise.all([
      this.#o.client.robotPrefix(),
      this.#o.client.robots(),
    ]);
    this.#remember(listed.map((r) => observe(r, prefix)), prefix);
    this.#observed = true;
  }

  /** The team's robot, without its secret (a consumer's view). */
  robot(projectUuid: string): TeamRobot | undefined {
    const k = this.#known.get(projectUuid);
    if (!k) return undefined;
    return {
      projectUuid,
      username: k.username,
      registry: this.#o.registryHost,
      expiresAt: k.expiresAt,
      digest: k.digest,
    };
  }

  /**
   * A new secret for the team's robot: Harbor ≥ 2.12 lets no robot refresh another's secret, so
   * the robot is made again (a new secret and a new expiry), and every consumer is told.
   */
  async refresh(projectUuid: string): Promise<RobotCredential | null> {
    return await this.#locks.run(projectUuid, async () => {
      const k = this.#known.get(projectUuid);
      if (!k) return null;
      const name = robotName(this.#slugs.get(projectUuid) ?? "");
      const credential = await this.#make(
        { projectUuid, name, projects: k.projects },
        { replace: k.id, why: "a consumer found no readable copy of its secret" },
      );
      // The asking consumer writes it itself; the others are told once it has (a consumer may
      // ask while it holds its own lock on the project: waiting here would never end).
      void this.#deliver(credential);
      return credential;
    });
  }

  /** The robots' rows, in project order. */
  rows(): TeamRobotRow[] {
    const out: TeamRobotRow[] = [];
    for (const projectUuid of new Set([...this.#known.keys(), ...this.#errors.keys()])) {
      const k = this.#known.get(projectUuid);
      const slug = this.#slugs.get(projectUuid) ?? "";
      const now = Math.floor(this.#o.now() / 1000);
      out.push({
        projectUuid,
        projectSlug: slug,
        robot: k?.username ?? (slug ? robotName(slug) : ""),
        expiresAt: k?.expiresAt ?? null,
        expiresInSeconds: k && k.expiresAt >= 0 ? k.expiresAt - now : null,
        projects: k?.projects ?? [],
        error: this.#errors.get(projectUuid) ?? "",
      });
    }
    return out.sort((a, b) => a.projectSlug.localeCompare(b.projectSlug));
  }

  /** Performs one planned action. */
  /**
   * Performs one planned action under the team's lock; resolves what the consumers must be
   * told, which is done after the lock is released (a consumer may be waiting on its own lock
   * for a fresh secret from this one: telling it under the lock would wait forever).
   */
  async #apply(a: RobotAction): Promise<() => Promise<void>> {
    switch (a.kind) {
      case "create-robot": {
        const credential = await this.#make(a, {});
        return () => this.#deliver(credential);
      }
      case "recreate-robot": {
        const credential = await this.#make(a, { replace: a.id, why: a.why });
        return () => this.#deliver(credential);
      }
      case "delete-robot": {
        await this.#o.client.deleteRobot(a.id);
        const k = this.#known.get(a.projectUuid);
        this.#o.audit(
          "delete robot",
          k?.id === a.id ? k.username : a.name,
          describeRobotAction(a).detail,
        );
        // another robot of the team is its robot now (made this pass, its slug changed): not revoked
        if (k !== undefined && k.id !== a.id) return () => Promise.resolve();
        this.#known.delete(a.projectUuid);
        return async () => {
          for (const error of await this.#o.registry.revoke(this.#o.offering, a.projectUuid)) {
            this.#o.log.warn(
              `team robot ${a.name} deleted; a pull secret was not removed yet: ${
                errorMessage(error)
              } (the next pass of that offering removes it)`,
            );
          }
        };
      }
    }
  }

  /** Hands a new credential to the consumers, once; one that fails writes it at its next pass. */
  async #deliver(credential: RobotCredential): Promise<void> {
    for (const error of await this.#o.registry.deliver(this.#o.offering, credential)) {
      this.#o.log.warn(
        `team robot ${credential.username}: a pull secret was not written yet: ${
          errorMessage(error)
        } (the next pass of that offering writes it)`,
      );
    }
  }

  /** Makes the team's robot (deleting the one it replaces first) and remembers it. */
  async #make(
    want: { projectUuid: string; name: string; projects: string[] },
    how: { replace?: number; why?: string },
  ): Promise<RobotCredential> {
    const { client } = this.#o;
    if (how.replace !== undefined) await client.deleteRobot(how.replace);
    const made = await client.createRobot({
      name: want.name,
      description: robotDescription(this.#o.offeringUuid, want.projectUuid),
      duration: this.#o.durationDays,
      permissions: want.projects.map((namespace) => ({
        kind: "project",
        namespace,
        access: [{ resource: "repository", action: "pull" }],
      })),
    });
    const credential: RobotCredential = {
      projectUuid: want.projectUuid,
      username: made.name,
      password: made.secret,
      registry: this.#o.registryHost,
      expiresAt: made.expires_at,
      digest: secretDigest(made.secret),
    };
    this.#known.set(want.projectUuid, {
      id: made.id,
      username: made.name,
      expiresAt: made.expires_at,
      projects: want.projects,
      digest: credential.digest,
    });
    this.#o.audit(
      how.replace === undefined ? "create robot" : "replace robot",
      made.name,
      `${how.why ? `${how.why}; ` : ""}pull from ${want.projects.join(", ")}; expires ${
        expiry(made.expires_at)
      }`,
    );
    return credential;
  }

  /** Keeps what the observation says of this offering's robots (a digest survives if the same). */
  #remember(observed: readonly ObservedRobot[], prefix: string): void {
    const seen = new Set<string>();
    for (const r of observed) {
      const projectUuid = robotProject(r.description, this.#o.offeringUuid);
      if (projectUuid === undefined) continue;
      // two robots say they serve the team: the one of its name is its robot (the other goes)
      if (seen.has(projectUuid) && r.name !== robotName(this.#slugs.get(projectUuid) ?? "")) {
        continue;
      }
      seen.add(projectUuid);
      const before = this.#known.get(projectUuid);
      this.#known.set(projectUuid, {
        id: r.id,
        username: `${prefix}${r.name}`,
        expiresAt: r.expiresAt,
        projects: r.pulls,
        // another robot than the one this process knew (made again by hand): whatever copies
        // exist hold the old one's secret, and match no digest until Berth has made its own
        digest: before === undefined ? undefined : before.id === r.id ? before.digest : REPLACED,
      });
    }
    for (const projectUuid of [...this.#known.keys()]) {
      if (!seen.has(projectUuid)) this.#known.delete(projectUuid);
    }
  }
}

/** The digest of a robot replaced outside Berth: no copy's digest, so every copy is stale. */
const REPLACED = "replaced-outside-berth";

/** The team robots of a Harbor offering whose `team_robots.enabled` is true, else undefined. */
export function teamRobotsFor(
  ctx: BackendContext<HarborSettings>,
  client: HarborClient,
  onChange: () => void,
): TeamRobots | undefined {
  const robots = ctx.settings.team_robots;
  if (!robots?.enabled) return undefined;
  return new TeamRobots({
    client,
    offering: ctx.offering,
    offeringUuid: ctx.offeringUuid,
    registry: ctx.registry,
    registryHost: new URL(ctx.settings.harbor_url).host,
    durationDays: robots.duration_days,
    rotateBeforeDays: robots.rotate_before_days,
    now: () => ctx.clock.now(),
    log: ctx.log,
    audit: (action, target, detail) =>
      ctx.audit({ system: "harbor", action, target, result: "ok", detail }),
    onChange,
  });
}

/** The robot each Waldur project of the resources wants. */
function wantsOf(resources: readonly ResourceSpec[]): RobotWant[] {
  const byProject = Map.groupBy(resources, (r) => r.projectUuid);
  return [...byProject].map(([projectUuid, rs]) => ({
    projectUuid,
    projectSlug: rs[0]?.projectSlug ?? "",
    projects: [...new Set(rs.map((r) => r.backendId))].sort(),
  }));
}

/** A robot as the plan reads it: its name without Harbor's prefix, what it may pull. */
function observe(r: Robot, prefix: string): ObservedRobot {
  const pulls: string[] = [];
  let more = false;
  for (const p of r.permissions) {
    const pull = p.kind === "project" && p.namespace !== "*" &&
      p.access.length > 0 &&
      p.access.every((a) => a.resource === "repository" && a.action === "pull");
    if (pull) pulls.push(p.namespace);
    else more = true;
  }
  return {
    id: r.id,
    name: r.name.startsWith(prefix) ? r.name.slice(prefix.length) : r.name,
    description: r.description ?? "",
    disabled: r.disable,
    expiresAt: r.expires_at,
    pulls: pulls.sort(),
    more,
  };
}

/** Unix seconds as a date, or "never". */
function expiry(seconds: number): string {
  return seconds < 0 ? "never" : new Date(seconds * 1000).toISOString().slice(0, 10);
}
