/**
 * The Rancher backend's status rows: one per project, built from what orders, the membership
 * pass and the usage pass saw, with flags (adopted, over quota, missing). A resource a Terminate
 * removed stays off the page even when a pass that read it earlier finishes later.
 */
import type { ResourceSpec } from "../backend.ts";
import type { RancherRow } from "./present.ts";
import { childGroup, projectName, quotaLimit, type RancherNaming } from "./naming.ts";
import { findProject, type RancherAction, type RancherObserved } from "./plan.ts";
import { projectPart } from "./observe.ts";
import { parseQuantity } from "./quantity.ts";
import type { Project, QuotaLimit } from "./schemas.ts";

/** The rows of one Rancher offering. */
export class RancherRows {
  readonly #rows = new Map<string, RancherRow>();
  /** Resources whose project a Terminate removed: their rows stay off the page. */
  readonly #gone = new Set<string>();
  /** Projects Berth adopted. */
  readonly adopted = new Set<string>();

  readonly #naming: RancherNaming;

  constructor(naming: RancherNaming) {
    this.#naming = naming;
  }

  /** A resource's project is gone: its row leaves the page, and no late pass brings it back. */
  gone(r: ResourceSpec, projectId?: string): void {
    this.#gone.add(r.uuid);
    if (projectId) this.#rows.delete(projectId);
  }

  /** Rows from one membership observation (and the namespaces its actions create). */
  observed(
    resources: readonly ResourceSpec[],
    observed: RancherObserved,
    actions: readonly RancherAction[],
  ): void {
    for (const r of resources) {
      const p = findProject(r, observed.projects, this.#naming);
      if (!p) {
        this.missing(r);
        continue;
      }
      const names = (observed.namespaces.get(projectPart(p.id)) ?? []).map((n) => n.metadata.name);
      for (const a of actions) {
        if (a.kind === "create-namespace" && a.projectId === p.id) names.push(a.namespace);
      }
      this.set(r, p, { namespaces: [...new Set(names)].sort() });
    }
  }

  /** A resource whose project was not found. */
  missing(r: ResourceSpec): void {
    if (this.#gone.has(r.uuid)) return;
    const name = projectName(r, this.#naming);
    const quota = quotaLimit(r.limits, this.#naming);
    this.#rows.set(r.backendId || name, {
      project: name,
      projectId: r.backendId || null,
      resource: r.uuid,
      resourceName: r.name,
      cluster: this.#naming.clusterId,
      cpuRequested: null,
      cpuLimit: limitOf(quota, "cpu"),
      memoryRequestedBytes: null,
      memoryLimitBytes: limitOf(quota, "memory"),
      storageRequestedBytes: null,
      namespaces: [],
      flags: ["missing"],
      group: childGroup(r, this.#naming),
    });
  }

  /** Updates a project's row and recomputes its flags. */
  set(r: ResourceSpec, p: Project, patch: Partial<RancherRow>): void {
    // a pass that read the project before a Terminate deleted it does not bring its row back
    if (this.#gone.has(r.uuid)) return;
    const previous = this.#rows.get(p.id);
    // The resource's limits when the caller knows them (orders, membership), else Rancher's.
    const quota = Object.keys(r.limits).length > 0
      ? quotaLimit(r.limits, this.#naming)
      : p.resourceQuota?.limit ?? null;
    const row: RancherRow = {
      project: p.name,
      projectId: p.id,
      resource: r.uuid,
      resourceName: r.name,
      cluster: this.#naming.clusterId,
      cpuRequested: null,
      memoryRequestedBytes: null,
      storageRequestedBytes: null,
      namespaces: [],
      ...previous,
      cpuLimit: limitOf(quota, "cpu"),
      memoryLimitBytes: limitOf(quota, "memory"),
      ...patch,
      flags: [],
      group: childGroup(r, this.#naming),
    };
    if (this.adopted.has(p.id)) row.flags.push("adopted");
    if (row.cpuLimit !== null && row.cpuRequested !== null && row.cpuRequested > row.cpuLimit) {
      row.flags.push("cpu over quota");
    }
    if (
      row.memoryLimitBytes !== null && row.memoryRequestedBytes !== null &&
      row.memoryRequestedBytes > row.memoryLimitBytes
    ) {
      row.flags.push("memory over quota");
    }
    if (r.backendId !== p.id) this.#rows.delete(r.backendId || projectName(r, this.#naming));
    this.#rows.set(p.id, row);
  }

  /** The rows in project-name order. */
  list(): RancherRow[] {
    return [...this.#rows.values()].sort((a, b) => a.project.localeCompare(b.project));
  }
}

/** A quota's CPU (cores) or memory (bytes) limit, or null. */
function limitOf(q: QuotaLimit | null, kind: "cpu" | "memory"): number | null {
  const v = kind === "cpu" ? q?.limitsCpu : q?.limitsMemory;
  return v === undefined ? null : parseQuantity(v);
}
