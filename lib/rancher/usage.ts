/**
 * What a Rancher project uses, from the cluster's pods and persistent volume claims: CPU and
 * memory are the requests of the pods that count against quota (not Succeeded, not Failed), as
 * Kubernetes computes a pod's effective request; storage is the sum of the claims' requests.
 * Pure: the backend reads the lists, this sums them by namespace and project.
 */
import type { ResourceSpec } from "../backend.ts";
import { GIB } from "../bytes.ts";
import { BerthError, terminal } from "../errors.ts";
import { projectName, type RancherNaming } from "./naming.ts";
import { namespaceProject, projectPart } from "./observe.ts";
import { findProject } from "./plan.ts";
import { parseQuantity } from "./quantity.ts";
import type { Namespace, Pod, Project, Pvc } from "./schemas.ts";

/** What the namespaces of one project request. */
export interface Requested {
  cpuCores: number;
  memoryBytes: number;
  storageBytes: number;
}

type ResourceMap = Record<string, string> | null | undefined;

function amount(map: ResourceMap, key: string): number {
  const v = map?.[key];
  return v === undefined ? 0 : parseQuantity(v);
}

/** A container's request: its `requests`, else its `limits` (requests default to limits). */
function containerRequest(
  c: { resources?: { requests?: ResourceMap; limits?: ResourceMap } | null | undefined },
  key: string,
): number {
  const requests = c.resources?.requests;
  if (requests && requests[key] !== undefined) return amount(requests, key);
  return amount(c.resources?.limits, key);
}

/**
 * A pod's effective request for `key` (`cpu`, `memory`): pod-level resources when set; else the
 * larger of the regular and sidecar containers' sum and the largest init container; plus the
 * RuntimeClass overhead.
 */
export function podRequest(pod: Pod, key: string): number {
  const overhead = amount(pod.spec.overhead, key);
  const podLevel = pod.spec.resources?.requests?.[key] ?? pod.spec.resources?.limits?.[key];
  if (podLevel !== undefined) return parseQuantity(podLevel) + overhead;
  const init = pod.spec.initContainers ?? [];
  const sidecars = init.filter((c) => c.restartPolicy === "Always");
  let sum = 0;
  for (const c of pod.spec.containers) sum += containerRequest(c, key);
  let sidecarSoFar = 0;
  let initMax = 0;
  for (const c of init) {
    if (c.restartPolicy === "Always") {
      sidecarSoFar += containerRequest(c, key);
      continue;
    }
    initMax = Math.max(initMax, containerRequest(c, key) + sidecarSoFar);
  }
  for (const c of sidecars) sum += containerRequest(c, key);
  return Math.max(sum, initMax) + overhead;
}

/**
 * Requests summed per namespace. A quantity that does not parse makes that namespace an error
 * (its project is not reported), never a zero.
 */
export function requestsByNamespace(
  pods: readonly Pod[],
  pvcs: readonly Pvc[],
): Map<string, Requested | Error> {
  const out = new Map<string, Requested | Error>();
  const add = (ns: string, f: () => Partial<Requested>) => {
    const current = out.get(ns) ?? { cpuCores: 0, memoryBytes: 0, storageBytes: 0 };
    if (current instanceof Error) return;
    try {
      const d = f();
      out.set(ns, {
        cpuCores: current.cpuCores + (d.cpuCores ?? 0),
        memoryBytes: current.memoryBytes + (d.memoryBytes ?? 0),
        storageBytes: current.storageBytes + (d.storageBytes ?? 0),
      });
    } catch (error) {
      out.set(ns, error instanceof Error ? error : new Error(String(error)));
    }
  };
  for (const pod of pods) {
    const phase = pod.status?.phase;
    if (phase === "Succeeded" || phase === "Failed") continue;
    add(pod.metadata.namespace ?? "", () => ({
      cpuCores: podRequest(pod, "cpu"),
      memoryBytes: podRequest(pod, "memory"),
    }));
  }
  for (const pvc of pvcs) {
    add(pvc.metadata.namespace ?? "", () => ({
      storageBytes: amount(pvc.spec.resources?.requests, "storage"),
    }));
  }
  return out;
}

/** What the usage pass found for one resource: amounts and its row's figures, or why not. */
export type ResourceUsage =
  | {
    ok: true;
    amounts: Record<string, number>;
    project: Project;
    namespaces: string[];
    requested: Requested;
  }
  | { ok: false; error: Error; missing: boolean };

/**
 * Each resource's usage in Waldur units from one read of the cluster's projects, namespaces,
 * pods and claims: CPU in cores, memory and storage in GiB.
 */
export function usageOf(
  resources: readonly ResourceSpec[],
  lists: { projects: Project[]; namespaces: Namespace[]; pods: Pod[]; pvcs: Pvc[] },
  naming: RancherNaming,
): Map<string, ResourceUsage> {
  const out = new Map<string, ResourceUsage>();
  const byNs = requestsByNamespace(lists.pods, lists.pvcs);
  const nsOf = new Map<string, string[]>();
  for (const n of lists.namespaces) {
    const p = namespaceProject(n);
    if (p) nsOf.set(p, [...nsOf.get(p) ?? [], n.metadata.name]);
  }
  const projectMap = new Map(lists.projects.map((p) => [p.id, p]));
  for (const r of resources) {
    const p = findProject(r, projectMap, naming);
    if (!p) {
      out.set(r.uuid, {
        ok: false,
        missing: true,
        error: terminal(
          "rancher",
          `Rancher project ${r.backendId || projectName(r, naming)} not found; usage not read`,
        ),
      });
      continue;
    }
    const names = (nsOf.get(projectPart(p.id)) ?? []).sort();
    const requested: Requested = { cpuCores: 0, memoryBytes: 0, storageBytes: 0 };
    let failed: Error | undefined;
    for (const ns of names) {
      const q = byNs.get(ns);
      if (q instanceof Error) {
        failed = new BerthError(`${p.name}, namespace ${ns}: ${q.message}`, {
          system: "kubernetes",
          transient: false,
        });
      } else if (q) {
        requested.cpuCores += q.cpuCores;
        requested.memoryBytes += q.memoryBytes;
        requested.storageBytes += q.storageBytes;
      }
    }
    if (failed) {
      out.set(r.uuid, { ok: false, missing: false, error: failed });
      continue;
    }
    const amounts: Record<string, number> = {};
    for (const [component, kind] of Object.entries(naming.kinds)) {
      amounts[component] = kind === "cpu"
        ? requested.cpuCores
        : kind === "memory"
        ? requested.memoryBytes / GIB
        : requested.storageBytes / GIB;
    }
    out.set(r.uuid, { ok: true, amounts, project: p, namespaces: names, requested });
  }
  return out;
}
