/**
 * What the pull secrets plan reads, never a Secret's data: for a membership pass, the
 * namespaces of each Waldur project's Rancher projects from the pass's own cluster observation,
 * plus one cluster-wide list of Berth's Secrets and one of the ServiceAccounts of the configured
 * name; for a robot just made, only that team's projects, namespaces, Secrets and
 * ServiceAccounts; for a robot gone, only that team's copies.
 */
import type { MemberSync } from "../backend.ts";
import type { RancherClient } from "./client.ts";
import { BERTH_SECRETS, OTHER_SECRETS, type PullCopy, pullCopyOf } from "./docker_config.ts";
import { ANNOTATIONS, type RancherNaming } from "./naming.ts";
import { namespaceProject, projectPart } from "./observe.ts";
import { findProject, type RancherObserved } from "./plan.ts";
import type { AccountState, PullObserved } from "./pull_plan.ts";
import type { Project, ServiceAccount } from "./schemas.ts";

/** Where and what {@link observePass} and its kin read. */
export interface PullReader {
  client: RancherClient;
  cluster: string;
  naming: RancherNaming;
  secretName: string;
  /** "" when ServiceAccounts are left alone. */
  serviceAccount: string;
}

/** The Waldur project a Rancher project is Berth's for (its annotations), or undefined. */
function teamOf(p: Project): string | undefined {
  return p.annotations?.[ANNOTATIONS.resource] ? p.annotations[ANNOTATIONS.project] : undefined;
}

/**
 * A membership pass's observation: each item's own project's namespaces are its Waldur
 * project's targets; every Berth project's namespaces name their owner; `foreign` (namespaces
 * once found with a Secret of the name Berth did not write) is checked again, without data, and
 * what no longer holds one is forgotten.
 */
export async function observePass(
  r: PullReader,
  items: readonly MemberSync[],
  cluster: RancherObserved,
  foreign: Set<string>,
  verified?: Map<string, string>,
): Promise<PullObserved> {
  const targets = new Map<string, string[]>();
  const names = (p: Project) =>
    (cluster.namespaces.get(projectPart(p.id)) ?? []).map((n) => n.metadata.name);
  const owners = new Map<string, string>();
  // a project outside this pass: its annotation says whose it is (a hint, for removals only)
  for (const p of cluster.projects.values()) {
    const team = teamOf(p);
    if (team) { for (const ns of names(p)) owners.set(ns, team); }
  }
  // a pass item's own project is its team's, whatever its annotations say (an annotation is
  // the tenant's to edit, and a resource moved to another Waldur project keeps its old one)
  for (const { resource } of items) {
    const p = findProject(resource, cluster.projects, r.naming);
    if (!p || p.annotations?.[ANNOTATIONS.resource] !== resource.uuid) continue;
    targets.set(resource.projectUuid, [...targets.get(resource.projectUuid) ?? [], ...names(p)]);
    verified?.set(p.id, resource.projectUuid);
    for (const ns of names(p)) owners.set(ns, resource.projectUuid);
  }
  const [secrets, accounts] = await Promise.all([
    r.client.listSecrets(r.cluster, { labelSelector: BERTH_SECRETS }),
    r.serviceAccount
      ? r.client.listServiceAccounts(r.cluster, r.serviceAccount)
      : Promise.resolve([]),
  ]);
  const copies = secrets.flatMap((s) => pullCopyOf(s) ?? []);
  await recheck(r, foreign, copies, new Set([...targets.values()].flat()));
  return { targets, owners, copies, accounts: accountsOf(accounts, r), foreign };
}

/** Drops the namespaces that no longer hold a Secret of the name that is not Berth's. */
async function recheck(
  r: PullReader,
  foreign: Set<string>,
  copies: readonly PullCopy[],
  targets: ReadonlySet<string>,
): Promise<void> {
  for (const ns of [...foreign]) {
    if (!targets.has(ns) || copies.some((c) => c.namespace === ns && c.name === r.secretName)) {
      foreign.delete(ns);
      continue;
    }
    const others = await r.client.listSecrets(r.cluster, {
      namespace: ns,
      labelSelector: OTHER_SECRETS,
    });
    if (!others.some((s) => s.metadata.name === r.secretName)) foreign.delete(ns);
  }
}

/**
 * One team's observation, for a credential just delivered: this offering's projects of it (and
 * the Waldur project's slug, from their annotation).
 */
export async function observeTeam(
  r: PullReader,
  projectUuid: string,
  foreign: ReadonlySet<string>,
  verified: ReadonlyMap<string, string>,
): Promise<PullObserved & { slug: string | undefined }> {
  // only the projects the last pass found to be this team's resources' own: never one whose
  // annotation merely names the team (a tenant can write that on its own project)
  const projects = (await r.client.listProjects(r.cluster)).filter((p) =>
    verified.get(p.id) === projectUuid && teamOf(p) !== undefined
  );
  const namespaces: string[] = [];
  for (const p of projects) {
    const listed = await r.client.listNamespaces(r.cluster, projectPart(p.id));
    namespaces.push(
      ...listed.filter((n) => namespaceProject(n) === projectPart(p.id)).map((n) =>
        n.metadata.name
      ),
    );
  }
  const copies: PullCopy[] = [];
  for (const namespace of namespaces) {
    const listed = await r.client.listSecrets(r.cluster, {
      namespace,
      labelSelector: BERTH_SECRETS,
    });
    copies.push(...listed.flatMap((s) => pullCopyOf(s) ?? []));
  }
  return {
    targets: new Map([[projectUuid, namespaces]]),
    owners: new Map(namespaces.map((ns) => [ns, projectUuid])),
    copies,
    accounts: await accountsIn(r, namespaces),
    foreign,
    slug: projects.map((p) => p.annotations?.[ANNOTATIONS.projectSlug]).find(Boolean),
  };
}

/** The copies of one team, wherever they are, for a robot that is gone. */
export async function observeGone(
  r: PullReader,
  projectUuid: string,
  offeringUuid: string,
): Promise<PullObserved> {
  const copies = (await r.client.listSecrets(r.cluster, { labelSelector: BERTH_SECRETS }))
    .flatMap((s) => pullCopyOf(s) ?? [])
    .filter((c) => c.project === projectUuid && c.offering === offeringUuid);
  const namespaces = [...new Set(copies.map((c) => c.namespace))];
  return {
    targets: new Map(),
    owners: new Map(namespaces.map((ns) => [ns, projectUuid])),
    copies,
    accounts: await accountsIn(r, namespaces),
    foreign: new Set(),
  };
}

/** The ServiceAccount of the name in each of a few namespaces, one read each. */
async function accountsIn(
  r: PullReader,
  namespaces: readonly string[],
): Promise<Map<string, AccountState>> {
  if (!r.serviceAccount) return new Map();
  const found: ServiceAccount[] = [];
  for (const namespace of namespaces) {
    const sa = await r.client.serviceAccount(r.cluster, { namespace, name: r.serviceAccount });
    if (sa) found.push(sa);
  }
  return accountsOf(found, r);
}

/** ServiceAccounts of the configured name by namespace, as the plan needs them. */
function accountsOf(list: readonly ServiceAccount[], r: PullReader): Map<string, AccountState> {
  const out = new Map<string, AccountState>();
  for (const sa of list) {
    if (sa.metadata.name !== r.serviceAccount || !sa.metadata.namespace) continue;
    out.set(sa.metadata.namespace, {
      resourceVersion: sa.metadata.resourceVersion ?? "",
      names: (sa.imagePullSecrets ?? []).map((x) => x.name),
    });
  }
  return out;
}
