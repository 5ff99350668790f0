/**
 * What the Harbor plan reads: for a membership pass, three paged lists (projects, quotas, user
 * groups) and one members read per project; for an order, one project by its exact name, its
 * quota when the goal needs it, and who else holds the name (Waldur, the state file).
 */
import type { Goal, ResourceSpec } from "../backend.ts";
import { forEachLimit } from "../pool.ts";
import type { HarborClient } from "./client.ts";
import type { GroupMember, Observed } from "./plan.ts";

/** Everything a membership plan needs for these resources (their `backendId` is their project). */
export async function observeHarbor(
  client: HarborClient,
  resources: readonly ResourceSpec[],
  concurrency: number,
): Promise<Observed> {
  const [projects, quotas, groups] = await Promise.all([
    client.listProjects(),
    client.listQuotas(),
    client.listGroups(),
  ]);
  const byName = new Map(
    projects.map((p) => [p.name, { id: p.project_id, repoCount: p.repo_count ?? 0 }]),
  );
  const quotaMap = new Map<number, { id: number; hard: number; used: number }>();
  for (const q of quotas) {
    const ref = q.ref?.id;
    if (ref === undefined) continue;
    quotaMap.set(ref, { id: q.id, hard: q.hard?.storage ?? -1, used: q.used?.storage ?? 0 });
  }
  const groupMap = new Map<string, number>();
  for (const g of groups) {
    if (g.group_type === undefined || g.group_type === 3) groupMap.set(g.group_name, g.id);
  }
  const ids = new Set<number>();
  for (const r of resources) {
    const p = byName.get(r.backendId);
    if (p) ids.add(p.id);
  }
  const members = new Map<number, GroupMember[] | Error>();
  await forEachLimit([...ids], concurrency, async (id) => {
    try {
      const list = await client.listMembers(id);
      members.set(
        id,
        list.filter((m) => m.entity_type === "g").map((m) => ({
          memberId: m.id,
          groupId: m.entity_id ?? 0,
          groupName: m.entity_name ?? "",
          roleId: m.role_id ?? 0,
        })),
      );
    } catch (error) {
      members.set(id, error instanceof Error ? error : new Error(String(error)));
    }
  });
  return { projects: byName, quotas: quotaMap, groups: groupMap, members };
}

/** What {@link observeProject} needs beyond the client. */
export interface ProjectObservation {
  /** The other resources of the offering whose Waldur backend_id is a project name. */
  claimedBy: (backendId: string) => Promise<string[]>;
  /** The resource the state file records as holding a project name. */
  holder: (name: string) => string | undefined;
  termination: "refuse" | "purge";
}

/** One order's project `name`, as its goal needs it. */
export async function observeProject(
  client: HarborClient,
  resource: ResourceSpec,
  name: string,
  goal: Goal,
  o: ProjectObservation,
): Promise<Observed> {
  const [project, claimed] = await Promise.all([
    client.projectByName(name),
    o.claimedBy(name),
  ]);
  const holder = o.holder(name);
  const claims = [
    ...new Set([
      ...claimed,
      // at Create, the state file's record counts too: a crash before set_backend_id
      ...(goal === "create" && holder !== undefined ? [holder] : []),
    ]),
  ].filter((u) => u !== resource.uuid);
  const observed = {
    projects: new Map<string, { id: number; repoCount: number }>(),
    quotas: new Map<number, { id: number; hard: number; used: number }>(),
    groups: new Map<string, number>(),
    members: new Map<number, GroupMember[] | Error>(),
    claims: new Map([[name, claims]]),
  };
  if (!project) return observed;
  const repoCount = project.repo_count ?? 0;
  observed.projects.set(name, { id: project.project_id, repoCount });
  const needsQuota = goal === "delete"
    ? repoCount > 0 && o.termination === "refuse"
    : claims.length === 0;
  if (needsQuota) {
    const quota = await client.projectQuota(project.project_id).catch((error) => {
      if (goal === "delete") return null;
      throw error;
    });
    if (quota) {
      observed.quotas.set(project.project_id, {
        id: quota.id,
        hard: quota.hard?.storage ?? -1,
        used: quota.used?.storage ?? 0,
      });
    }
  }
  return observed;
}

/** An observation with nothing in it: a Create's first plan, before Harbor says otherwise. */
export function emptyObservation(): Observed {
  return { projects: new Map(), quotas: new Map(), groups: new Map(), members: new Map() };
}
