/**
 * The Harbor backend's status rows: one per project, from what orders, the membership pass and
 * the usage pass saw, with flags (over or near quota, adopted, not found, not owned). A resource
 * a Terminate removed stays off the page even when a pass that read it earlier finishes later.
 */
import type { ResourceSpec } from "../backend.ts";
import type { HarborRow } from "./present.ts";
import {
  derivedName,
  groupName,
  type HarborAction,
  type Naming,
  type Observed,
  quotaBytes,
  storageGb,
} from "./plan.ts";

const NEAR_QUOTA = 0.9;

/** The rows of one Harbor offering. */
export class HarborRows {
  readonly #rows = new Map<string, HarborRow>();
  /** Resources whose project a Terminate removed: their rows stay off the page. */
  readonly #gone = new Set<string>();
  readonly #naming: Naming;
  readonly #adopted: ReadonlySet<string>;

  constructor(naming: Naming, adopted: ReadonlySet<string>) {
    this.#naming = naming;
    this.#adopted = adopted;
  }

  /** A resource's project is gone: its row leaves the page, and no late pass brings it back. */
  gone(r: ResourceSpec, project?: string): void {
    this.#gone.add(r.uuid);
    if (project) this.#rows.delete(project);
  }

  /** Rows from one membership observation and the actions planned on it. */
  observed(
    resources: readonly ResourceSpec[],
    observed: Observed,
    actions: readonly HarborAction[],
    problems: ReadonlyMap<string, string>,
  ): void {
    const repaired = new Set(actions.flatMap((a) => a.kind === "add-member" ? a.resources : []));
    for (const r of resources) {
      const name = r.backendId;
      const p = observed.projects.get(name);
      if (!p) {
        this.set(r, name, {
          quotaBytes: null,
          usedBytes: null,
          repositories: null,
          groupBound: null,
          flags: ["not found"],
        });
        continue;
      }
      const q = observed.quotas.get(p.id);
      const members = observed.members.get(p.id);
      const bound = members instanceof Error
        ? null
        : (members ?? []).some((m) => m.groupName === groupName(r, this.#naming)) ||
          (repaired.has(r.uuid) && !problems.has(r.uuid));
      this.set(r, name, {
        quotaBytes: quotaBytes(storageGb(r, this.#naming)),
        usedBytes: q?.used ?? null,
        repositories: p.repoCount,
        groupBound: bound,
      });
    }
  }

  /** Resources that may not act on their project: a row flagged "not owned" each. */
  refused(resources: readonly ResourceSpec[], refused: ReadonlyMap<string, string>): void {
    for (const r of resources) {
      if (!refused.has(r.uuid)) continue;
      this.set(r, r.backendId || derivedName(r, this.#naming), {
        quotaBytes: null,
        usedBytes: null,
        repositories: null,
        groupBound: null,
        flags: ["not owned"],
      });
    }
  }

  /** Updates the row of a project and recomputes its flags. */
  set(resource: ResourceSpec, name: string, patch: Partial<HarborRow>): void {
    // a pass that read the project before a Terminate deleted it does not bring its row back
    if (this.#gone.has(resource.uuid)) return;
    const previous = this.#rows.get(name);
    const row: HarborRow = {
      project: name,
      resource: resource.uuid,
      resourceName: resource.name,
      quotaBytes: null,
      usedBytes: null,
      repositories: null,
      group: groupName(resource, this.#naming),
      groupBound: null,
      flags: [],
      ...previous,
      ...patch,
    };
    const flags = new Set(patch.flags ?? []);
    if (!patch.flags?.includes("not found")) {
      const hard = row.quotaBytes;
      const used = row.usedBytes;
      if (hard !== null && used !== null && hard >= 0) {
        if (used > hard) flags.add("over quota");
        else if (hard > 0 && used >= NEAR_QUOTA * hard) flags.add("near quota");
      }
    }
    if (this.#adopted.has(name)) flags.add("adopted");
    row.flags = [...flags];
    this.#rows.set(name, row);
  }

  /** The rows in project-name order. */
  list(): HarborRow[] {
    return [...this.#rows.values()].sort((a, b) => a.project.localeCompare(b.project));
  }
}
