/**
 * The team robots plan, pure: one system-level Harbor robot per Waldur project that has Harbor
 * projects in this offering, named `berth-<project slug>`, with `repository: pull` on exactly
 * those projects; replaced (deleted and made again: a new secret, a new expiry) when it is
 * disabled, expired or about to expire, or when its team's projects changed, since Harbor ≥ 2.12
 * lets no robot update another; deleted when the team has no Harbor project left. Only robots
 * whose description says they are Berth's, for this offering, are ever changed.
 */
import type { ProjectSet } from "../backend.ts";

/** The robot a Waldur project wants: its name and the Harbor projects it may pull from. */
export interface RobotWant {
  projectUuid: string;
  projectSlug: string;
  /** Harbor project names, sorted. */
  projects: string[];
}

/** A robot as Harbor lists it, reduced to what the plan reads. */
export interface ObservedRobot {
  id: number;
  /** Without Harbor's prefix: `berth-<slug>`. */
  name: string;
  description: string;
  disabled: boolean;
  /** Unix seconds; -1 never. */
  expiresAt: number;
  /** Projects it may pull from (`repository: pull`). */
  pulls: string[];
  /** True when it holds anything else (another action, another resource, a system grant). */
  more: boolean;
}

/** One change to the team robots. */
export type RobotAction =
  | {
    kind: "create-robot";
    projectUuid: string;
    name: string;
    description: string;
    projects: string[];
  }
  | {
    kind: "recreate-robot";
    projectUuid: string;
    id: number;
    name: string;
    description: string;
    projects: string[];
    why: string;
  }
  | { kind: "delete-robot"; projectUuid: string; id: number; name: string };

/** The plan, and teams whose robot cannot be kept (with why). */
export interface RobotPlan {
  actions: RobotAction[];
  /** By Waldur project uuid. */
  problems: Map<string, string>;
}

/** What the plan needs besides the observation. */
export interface RobotPlanOptions {
  /** The offering's uuid: robots of other offerings on the same Harbor are not this one's. */
  offeringUuid: string;
  /** Now, in unix seconds (wall time: Harbor's expiry is wall time). */
  now: number;
  rotateBeforeDays: number;
  /**
   * Waldur projects an order is changing now (the pass left some of their resources alone):
   * their robots are made if missing, otherwise left for the next pass. On a scoped pass, also
   * every project outside the scope (a predicate: the set of those is not listed).
   */
  busy?: ProjectSet | undefined;
  /**
   * Waldur projects whose robot was replaced outside Berth (another id than the one it knew):
   * Berth never saw its secret, so no pull secret holds it; it is made again.
   */
  unseen?: ReadonlySet<string> | undefined;
}

/** The robot name of a Waldur project (Harbor prefixes it, `robot$` by default). */
export function robotName(projectSlug: string): string {
  return `berth-${projectSlug}`;
}

/** The description that marks a robot as Berth's, for this offering and Waldur project. */
export function robotDescription(offeringUuid: string, projectUuid: string): string {
  return `Berth team robot: pulls from the Harbor projects of Waldur project ${projectUuid} ` +
    `(offering ${offeringUuid}). Managed by Berth; changes are undone.`;
}

/** The Waldur project a robot serves, when its description says it is Berth's for the offering. */
export function robotProject(description: string, offeringUuid: string): string | undefined {
  const m =
    /^Berth team robot: pulls from the Harbor projects of Waldur project ([0-9a-f-]{32,36}) \(offering ([0-9a-f-]{32,36})\)/
      .exec(description);
  return m && m[2] === offeringUuid ? m[1] : undefined;
}

const DAY = 86_400;

/** Plans the team robots. */
export function planRobots(
  wants: readonly RobotWant[],
  observed: readonly ObservedRobot[],
  options: RobotPlanOptions,
): RobotPlan {
  const actions: RobotAction[] = [];
  const problems = new Map<string, string>();
  const byName = Map.groupBy(observed, (r) => r.name);
  const slugs = Map.groupBy(wants, (w) => w.projectSlug);
  const kept = new Set<number>();
  for (const w of wants) {
    const name = robotName(w.projectSlug);
    const description = robotDescription(options.offeringUuid, w.projectUuid);
    const sharing = slugs.get(w.projectSlug) ?? [];
    if (sharing.length > 1) {
      problems.set(
        w.projectUuid,
        `robot ${name} would serve ${sharing.length} Waldur projects with the slug ` +
          `${w.projectSlug}; none was made. Give the projects distinct slugs`,
      );
      continue;
    }
    const named = byName.get(name) ?? [];
    const mine = named.find((r) =>
      robotProject(r.description, options.offeringUuid) === w.projectUuid
    );
    if (!mine) {
      if (named.length > 0) {
        problems.set(
          w.projectUuid,
          `a Harbor robot named ${name} exists and is not Berth's for this Waldur project; it was ` +
            "not touched and no team robot was made. Rename or delete it in Harbor",
        );
        continue;
      }
      actions.push({
        kind: "create-robot",
        projectUuid: w.projectUuid,
        name,
        description,
        projects: w.projects,
      });
      continue;
    }
    kept.add(mine.id);
    if (options.busy?.has(w.projectUuid)) continue;
    const why = mine.disabled
      ? "disabled in Harbor"
      : options.unseen?.has(w.projectUuid)
      ? "replaced outside Berth: its secret is in no pull secret"
      : mine.expiresAt !== -1 && mine.expiresAt <= options.now
      ? "expired"
      : mine.expiresAt !== -1 && mine.expiresAt - options.now <= options.rotateBeforeDays * DAY
      ? `expires in ${Math.max(0, Math.floor((mine.expiresAt - options.now) / DAY))} days`
      : mine.more
      ? "holds more than pull on its team's projects"
      : !sameSet(mine.pulls, w.projects)
      ? "its team's Harbor projects changed"
      : "";
    if (why) {
      actions.push({
        kind: "recreate-robot",
        projectUuid: w.projectUuid,
        id: mine.id,
        name,
        description,
        projects: w.projects,
        why,
      });
    }
  }
  for (const r of observed) {
    const projectUuid = robotProject(r.description, options.offeringUuid);
    if (projectUuid === undefined || kept.has(r.id) || options.busy?.has(projectUuid)) continue;
    if (wants.some((w) => w.projectUuid === projectUuid && problems.has(projectUuid))) continue;
    actions.push({ kind: "delete-robot", projectUuid, id: r.id, name: r.name });
  }
  return { actions, problems };
}

/** A robot action in words, for `berth plan` and the audit log. */
export function describeRobotAction(a: RobotAction): { target: string; detail: string } {
  switch (a.kind) {
    case "create-robot":
      return { target: a.name, detail: `pull from ${a.projects.join(", ")}` };
    case "recreate-robot":
      return { target: a.name, detail: `${a.why}: made again, pull from ${a.projects.join(", ")}` };
    case "delete-robot":
      return { target: a.name, detail: "its team has no Harbor project left" };
  }
}

function sameSet(a: readonly string[], b: readonly string[]): boolean {
  const x = new Set(a);
  return x.size === new Set(b).size && b.every((v) => x.has(v));
}
