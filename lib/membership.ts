/**
 * The membership processor. For every resource with a backend_id, the Waldur project team's
 * offering usernames go to the backend, which repairs drift (limits, access) and syncs members
 * in the same pass. A team that could not be read skips its resources: it is never taken as
 * an empty team.
 */
import type { MemberSync } from "./backend.ts";
import { customerMessage, errorMessage, HttpError, isTransient } from "./errors.ts";
import { forEachLimit } from "./pool.ts";
import {
  type PassResult,
  passResult,
  type ProcessorContext,
  publishRefusals,
  recordAudit,
} from "./processor.ts";
import { parseLimits, toSpec } from "./resource_spec.ts";
import type { Checked, WaldurClient } from "./waldur/client.ts";
import type { ProjectUser, Resource } from "./waldur/schemas.ts";

/**
 * The resources a pass lists: the settled ones it works on, and those an order is changing
 * (their Waldur projects are busy: per-project things wait for them).
 */
const LISTED_STATES = ["OK", "Erred", "Creating", "Updating", "Terminating"] as const;

/** Offering-user states whose username is given access. */
const ACTIVE_STATES = new Set(["OK"]);

/** The usernames a team grants on the backend. */
export function teamUsernames(team: readonly ProjectUser[]): string[] {
  const names = team
    .filter((m) =>
      m.offering_user_username &&
      (m.offering_user_state === null || m.offering_user_state === undefined ||
        ACTIVE_STATES.has(m.offering_user_state))
    )
    .map((m) => m.offering_user_username ?? "");
  return [...new Set(names)].sort();
}

/**
 * What a membership pass asks of the backend for `resources`: each with its Waldur project's
 * team, read once per project (the team is the project's, not the resource's). A team or limits
 * that cannot be read leave their resources out, and say why in `failures`.
 */
export async function memberWork(
  waldur: Pick<WaldurClient, "getTeam">,
  resources: readonly Resource[],
  concurrency: number,
  options: { signal?: AbortSignal | undefined; onTeam?: () => void } = {},
): Promise<{ work: MemberSync[]; byUuid: Map<string, Resource>; failures: string[] }> {
  const failures: string[] = [];
  const byProject = new Map<string, Resource[]>();
  for (const r of resources) {
    byProject.set(r.project_uuid, [...byProject.get(r.project_uuid) ?? [], r]);
  }
  const teams = new Map<string, string[]>();
  await forEachLimit(
    [...byProject.entries()],
    concurrency,
    async ([project, members]) => {
      const first = members[0];
      if (!first) return;
      try {
        teams.set(project, teamUsernames(await waldur.getTeam(first.uuid)));
      } catch (error) {
        failures.push(
          `team of project ${first.project_slug || project} not read: ${errorMessage(error)}`,
        );
      }
      options.onTeam?.();
    },
    options.signal,
  );
  const work: MemberSync[] = [];
  const byUuid = new Map<string, Resource>();
  for (const r of resources) {
    const usernames = teams.get(r.project_uuid);
    if (usernames === undefined) continue;
    try {
      work.push({ resource: toSpec(r, parseLimits(r.limits, "resource limits")), usernames });
      byUuid.set(r.uuid, r);
    } catch (error) {
      failures.push(`resource ${r.name}: ${errorMessage(error)}`);
    }
  }
  return { work, byUuid, failures };
}

/**
 * One membership pass over the offering; with `scope` (event mode: the Waldur projects whose
 * roles changed), over those projects only. A scoped pass lists each project's resources (the
 * list's `project_uuid` filter), reads their teams, and tells the backend its scope: what is
 * kept for other projects (robots, groups, pull secrets, rows, refusals, resource states) is
 * left as it is, for the next whole pass.
 */
export async function syncMembership(
  ctx: ProcessorContext,
  signal?: AbortSignal,
  scope?: ReadonlySet<string>,
): Promise<PassResult> {
  // taken before the list: an order that starts or ends while it is read makes its resource's
  // entry stale, and the pass leaves that resource alone
  const mark = ctx.activity.mark();
  const stale = (uuid: string) => ctx.activity.touchedSince(uuid, mark);
  // Waldur writes a uuid as hex, an event may dash it: the scope holds both spellings
  const covered = scope && new Set([...scope].flatMap(spellings));
  const { items, rejected } = await listed(ctx, scope, signal);
  const failures = rejected.map((r) =>
    `resource ${r.uuid ?? "(no uuid)"} is malformed: ${r.problem}`
  );
  // A resource an order acts on, or acted on since the list was asked for, is the order's: this
  // pass leaves it alone, and writes the others' state only if that is still so after.
  const settled = (r: Resource) =>
    (r.state === "OK" || r.state === "Erred") && r.backend_id !== "" && !stale(r.uuid);
  const resources = items.filter(settled);
  // their Waldur projects are changing: what the backend keeps per project waits for them
  const busyProjects = new Set(items.filter((r) => !settled(r)).map((r) => r.project_uuid));

  const { work, byUuid, failures: unread } = await memberWork(
    ctx.waldur,
    resources,
    ctx.offering.concurrency,
    { signal, onTeam: () => ctx.status.heartbeat(ctx.offering.name, "membership") },
  );
  failures.push(...unread);
  // a team not read is not a team gone: what is kept per project waits for it like a busy one
  for (const r of resources) if (!byUuid.has(r.uuid)) busyProjects.add(r.project_uuid);

  const outcomes = signal?.aborted
    ? new Map()
    : await ctx.backend.reconcile(work, { busyProjects, ...(covered ? { scope: covered } : {}) });
  let changes = 0;
  let skipped = 0;
  // what the pass saw of each resource, for the attention list: its state once this pass wrote
  // it, why it failed, whether it synced ("" state: an order's now, neither erred nor not)
  const states = new Map(items.map((r) => [r.uuid, stale(r.uuid) ? "" : r.state]));
  const why = new Map<string, string>();
  const synced: string[] = [];
  // A refused termination stays shown (and the resource is not set OK over it) while what
  // blocked it is there; whether it is, is the backend's to say, whatever else failed this pass.
  const refused = new Set<string>();
  for (const refusal of ctx.store.refusals(ctx.offering.name)) {
    const spec = work.find((w) => w.resource.uuid === refusal.resourceUuid)?.resource;
    if (!spec || stale(spec.uuid)) {
      refused.add(refusal.resourceUuid);
      continue;
    }
    const blocker = ctx.backend.removalBlocker
      ? await ctx.backend.removalBlocker(spec).catch(() => "unknown")
      : "unknown";
    if (blocker !== null) refused.add(refusal.resourceUuid);
    else {
      ctx.store.clearRefusal(ctx.offering.name, refusal.resourceUuid);
      publishRefusals(ctx, ctx.offering.name);
    }
  }
  for (const [uuid, outcome] of outcomes) {
    const r = byUuid.get(uuid);
    if (!r) continue;
    if (stale(uuid)) {
      // an order acted on it while this pass read it: what was read is no longer true
      skipped++;
      continue;
    }
    if (outcome.ok) {
      changes += outcome.changes;
      synced.push(uuid);
      if (refused.has(uuid)) continue;
      if (r.state === "Erred" && await markResource(ctx, r, "ok", "", failures)) {
        states.set(uuid, "OK");
      }
      continue;
    }
    if (!isTransient(outcome.error) && r.state !== "Erred" && !(await stillLive(ctx, r))) {
      // terminated (or terminating) since it was listed: its project is gone for a reason
      skipped++;
      continue;
    }
    const message = ctx.redact(errorMessage(outcome.error));
    failures.push(`resource ${r.name}: ${message}`);
    why.set(uuid, message);
    if (!isTransient(outcome.error) && r.state !== "Erred") {
      const told = ctx.redact(customerMessage(outcome.error, ctx.exposeErrorDetails));
      if (await markResource(ctx, r, "erred", told, failures)) states.set(uuid, "Erred");
    }
  }
  ctx.status.attention.synced(ctx.offering.name, synced);
  ctx.status.attention.resourcesListed(
    ctx.offering.name,
    items.map((r) => ({ uuid: r.uuid, name: r.name, state: states.get(r.uuid) ?? "" })),
    scope === undefined && rejected.length === 0,
    why,
  );
  // a scoped pass lists some projects only, a stopped one did not finish: neither counts
  if (scope === undefined && !signal?.aborted) {
    // Erred in Waldur once this pass is over: as marked, or as listed when an order holds it
    const erred = items.filter((r) => (states.get(r.uuid) || r.state) === "Erred").length;
    ctx.status.erredResources(ctx.offering.name, erred);
  }
  return passResult(failures, {
    resources: resources.length,
    projects: new Set(resources.map((r) => r.project_uuid)).size,
    synced: outcomes.size,
    changes,
    skipped,
    ...(scope ? { scope: scope.size } : {}),
  }, changes > 0);
}

/** A uuid as hex and dashed (lower case), and as given. */
function spellings(uuid: string): string[] {
  const h = uuid.replaceAll("-", "").toLowerCase();
  const dashed = h.length === 32
    ? `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
    : h;
  return [...new Set([uuid, h, dashed])];
}

/** The resources a pass lists: the offering's, or those of each project of `scope`. */
async function listed(
  ctx: ProcessorContext,
  scope: ReadonlySet<string> | undefined,
  signal: AbortSignal | undefined,
): Promise<Checked<Resource>> {
  const offering = ctx.offering.offeringUuid;
  if (scope === undefined) return await ctx.waldur.listResources(offering, LISTED_STATES);
  const all: Checked<Resource> = { items: [], rejected: [] };
  await forEachLimit([...scope].sort(), ctx.offering.concurrency, async (projectUuid) => {
    const { items, rejected } = await ctx.waldur.listResources(offering, LISTED_STATES, {
      projectUuid,
    });
    // the filter is Waldur's: a resource of another project is not this pass's
    all.items.push(...items.filter((r) => spellings(r.project_uuid).includes(projectUuid)));
    all.rejected.push(...rejected);
  }, signal);
  return all;
}

/**
 * True when Waldur still has the resource as it was listed (OK or Erred): one read, made only
 * before an error is written, so a resource terminated by then is not marked erred.
 */
async function stillLive(ctx: ProcessorContext, r: Resource): Promise<boolean> {
  try {
    const now = await ctx.waldur.getResource(r.uuid);
    return now.state === "OK" || now.state === "Erred";
  } catch (error) {
    if (error instanceof HttpError && error.status === 404) return false;
    return true; // not known to be gone: the error stands
  }
}

async function markResource(
  ctx: ProcessorContext,
  r: Resource,
  to: "ok" | "erred",
  message: string,
  failures: string[],
): Promise<boolean> {
  try {
    if (to === "ok") await ctx.waldur.setResourceOk(r.uuid);
    else await ctx.waldur.setResourceErred(r.uuid, message);
    recordAudit(ctx, {
      system: "waldur",
      action: to === "ok" ? "mark resource OK" : "mark resource erred",
      target: r.uuid,
      resource: r.uuid,
      result: "ok",
      ...(message ? { detail: message } : {}),
    });
    return true;
  } catch (error) {
    failures.push(`resource ${r.name}: cannot mark ${to}: ${errorMessage(error)}`);
    return false;
  }
}
