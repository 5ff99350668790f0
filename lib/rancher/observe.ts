/**
 * What the Rancher plan reads: the whole cluster for a membership pass (three paged lists), or
 * one resource's project for an order (found by backend_id or by name, then only what its goal
 * needs: namespaces and bindings for a Create, volume claims for a Terminate that may refuse).
 */
import type { Goal, ResourceSpec } from "../backend.ts";
import type { RancherClient } from "./client.ts";
import { projectName, type RancherNaming } from "./naming.ts";
import { findProject, type RancherObserved } from "./plan.ts";
import { type Namespace, type Project, PROJECT_ID_KEY, type Prtb, type Pvc } from "./schemas.ts";

/** The project name (`p-xxxxx`) a namespace belongs to, from its label or annotation. */
export function namespaceProject(n: Namespace): string | undefined {
  // Rancher's annotation first (its webhook guards it); a label that disagrees with it is a
  // namespace nobody can vouch for, and belongs to no project here
  const annotated = n.metadata.annotations?.[PROJECT_ID_KEY]?.split(":")[1];
  const labelled = n.metadata.labels?.[PROJECT_ID_KEY];
  if (annotated !== undefined && labelled !== undefined && annotated !== labelled) return undefined;
  return annotated ?? labelled;
}

/** The project-name part (`p-xxxxx`) of a project id `c-xxxxx:p-xxxxx`. */
export function projectPart(projectId: string): string {
  return projectId.split(":")[1] ?? "";
}

/** The cluster as a membership pass plans it: projects, namespaces and bindings (`all`). */
export async function observeCluster(
  client: RancherClient,
  cluster: string,
  bindGroups: boolean,
): Promise<RancherObserved & { all: Prtb[] }> {
  const [projects, namespaces, prtbs] = await Promise.all([
    client.listProjects(cluster),
    client.listNamespaces(cluster),
    bindGroups ? client.listPrtbs() : Promise.resolve([] as Prtb[]),
  ]);
  const byProject = new Map<string, Namespace[]>();
  for (const n of namespaces) {
    const p = namespaceProject(n);
    if (p) byProject.set(p, [...byProject.get(p) ?? [], n]);
  }
  const bindings = new Map<string, Prtb[]>();
  for (const b of prtbs) bindings.set(b.projectId, [...bindings.get(b.projectId) ?? [], b]);
  return {
    projects: new Map(projects.map((p) => [p.id, p])),
    namespaces: byProject,
    prtbs: bindings,
    all: prtbs,
  };
}

/** What {@link observeProject} needs beyond the client. */
export interface ProjectObservation {
  naming: RancherNaming;
  bindGroups: boolean;
  termination: "refuse" | "purge";
  /** The other resources of the offering whose Waldur backend_id is a project id. */
  claimedBy: (backendId: string) => Promise<string[]>;
}

/**
 * One resource's project as an order plans it. A backend_id outside the configured cluster is
 * never read (the plan refuses it); a project that does not exist is an observation too.
 */
export async function observeProject(
  client: RancherClient,
  resource: ResourceSpec,
  goal: Goal,
  o: ProjectObservation,
): Promise<RancherObserved> {
  const cluster = o.naming.clusterId;
  const candidates = new Map<string, Project>();
  const id = resource.backendId;
  const inCluster = id.startsWith(`${cluster}:`);
  if (id && inCluster) {
    const p = await client.project(id);
    if (p) candidates.set(p.id, p);
  }
  if (candidates.size === 0 && (!id || inCluster)) {
    const name = projectName(resource, o.naming);
    for (const p of await client.listProjects(cluster, name)) {
      if (p.name === name) candidates.set(p.id, p);
    }
  }
  const observed = {
    projects: candidates,
    namespaces: new Map<string, Namespace[]>(),
    prtbs: new Map<string, Prtb[]>(),
    claims: new Map<string, string[]>(),
    pvcs: new Map<string, Pvc[]>(),
  };
  const project = findProject(resource, candidates, o.naming, true);
  if (!project) return observed;
  const part = projectPart(project.id);
  const needsNamespaces = goal === "create" || (goal === "delete" && o.termination === "refuse");
  const [claims, namespaces, prtbs] = await Promise.all([
    o.claimedBy(project.id),
    needsNamespaces ? client.listNamespaces(cluster, part) : Promise.resolve([]),
    goal === "create" && o.bindGroups ? client.listPrtbs(project.id) : Promise.resolve([]),
  ]);
  observed.claims.set(project.id, claims);
  observed.namespaces.set(part, namespaces);
  observed.prtbs.set(project.id, prtbs);
  if (goal === "delete" && o.termination === "refuse") {
    // only the project's own namespaces are read: a cluster-wide list per Terminate is waste
    const pvcs: Pvc[] = [];
    for (const ns of namespaces) pvcs.push(...await client.listPvcs(cluster, ns.metadata.name));
    observed.pvcs.set(project.id, pvcs);
  }
  return observed;
}
