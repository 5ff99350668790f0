/**
 * The fake Rancher's in-memory state and control API: API keys, clusters, projects (with each
 * cluster's own Default and System projects), project role template bindings, and per cluster
 * the namespaces, pods, persistent volume claims, Secrets and ServiceAccounts the Kubernetes
 * proxy serves (every namespace gets its `default` ServiceAccount, as Kubernetes' controller
 * makes it; every write gives the next cluster-wide `resourceVersion`); the request log and the
 * faults. The route modules beside this one read and change it; tests and the demo
 * change it behind Berth's back through its methods.
 */
import { Faults } from "../../fault.ts";
import type { RecordedRequest } from "../../fake_recorder.ts";
import { PROJECT_ID_KEY } from "../schemas.ts";

/** A JSON object as the fake stores and answers it. */
export type Json = Record<string, unknown>;

/** A project as the fake stores it (API field names). */
export interface FakeProject extends Json {
  id: string;
  name: string;
  clusterId: string;
  description: string;
  annotations: Record<string, string>;
  labels: Record<string, string>;
  resourceQuota: { limit: Record<string, string> } | null;
  namespaceDefaultResourceQuota: { limit: Record<string, string> } | null;
}

/** A project role template binding. */
export interface FakePrtb extends Json {
  id: string;
  projectId: string;
  roleTemplateId: string;
  groupPrincipalId: string | null;
  userId: string | null;
  userPrincipalId: string | null;
  groupId: string | null;
}

/** A container's requests and limits, as quantity strings. */
export interface FakeContainer {
  requests?: Record<string, string>;
  limits?: Record<string, string>;
  /** `Always` makes an init container a sidecar. */
  restartPolicy?: string;
}

/** What a fake pod is made of. */
export interface FakePodSpec {
  phase?: "Pending" | "Running" | "Succeeded" | "Failed" | "Unknown";
  containers: FakeContainer[];
  initContainers?: FakeContainer[];
  overhead?: Record<string, string>;
}

/** A Kubernetes object (namespace, pod, claim) as the fake stores it. */
export interface K8sObject {
  metadata: {
    name: string;
    namespace?: string;
    uid: string;
    labels: Record<string, string>;
    annotations: Record<string, string>;
    creationTimestamp: string;
  };
  spec: Json;
  status: Json;
}

/** A Secret or ServiceAccount as the fake stores it: metadata, and the rest of the body as sent. */
export interface K8sStored extends Json {
  metadata: K8sObject["metadata"] & { namespace: string; resourceVersion: string };
}

/** The namespaced kinds the fake stores whole and Berth writes (their path segment). */
export type StoredKind = "secrets" | "serviceaccounts";

/** Options of the fake Rancher. */
export interface FakeRancherOptions {
  /** Norman's default page size when a request gives no `limit`. */
  defaultLimit?: number;
}

/** What the fake Rancher holds, and the control API over it. */
export class RancherState {
  /** Faults to inject, per route (`lib/fault.ts`). */
  readonly faults: Faults = new Faults();
  /** Access key → secret key of valid API keys. */
  readonly keys = new Map<string, string>([["token-berth1", "s3cr3t-rancher-key"]]);
  /** Clusters by id, as the v3 API answers them. */
  readonly clusters = new Map<string, Json>();
  /** Projects by id (`c-xxxxx:p-xxxxx`). */
  readonly projects = new Map<string, FakeProject>();
  /** Project role template bindings by id. */
  readonly prtbs = new Map<string, FakePrtb>();
  /** Cluster id → namespace name → namespace. */
  readonly namespaces = new Map<string, Map<string, K8sObject>>();
  /** Cluster id → pods. */
  readonly pods = new Map<string, K8sObject[]>();
  /** Cluster id → persistent volume claims. */
  readonly pvcs = new Map<string, K8sObject[]>();
  /** Kind → `cluster/namespace/name` → object: the Secrets and ServiceAccounts. */
  readonly stored: Record<StoredKind, Map<string, K8sStored>> = {
    secrets: new Map(),
    serviceaccounts: new Map(),
  };
  /** The role templates a binding may name. */
  readonly roleTemplates = new Set([
    "project-owner",
    "project-member",
    "read-only",
    "workloads-manage",
    "workloads-view",
  ]);
  /** Every request served: method, path with query and status. */
  readonly requests: RecordedRequest[] = [];
  /** Norman's page size when a request gives no `limit`. */
  readonly defaultLimit: number;
  #seq = 0;
  #resourceVersion = 1000;

  constructor(options: FakeRancherOptions = {}) {
    this.defaultLimit = options.defaultLimit ?? 1000;
    this.addCluster("c-m-7x2k9q4d", "production");
  }

  /** The access key of the first API key. */
  get accessKey(): string {
    return [...this.keys.keys()][0] ?? "";
  }

  /** The secret key of the first API key. */
  get secretKey(): string {
    return [...this.keys.values()][0] ?? "";
  }

  /** Adds a cluster with its own Default and System projects (kube-system in System). */
  addCluster(id: string, name: string): void {
    this.clusters.set(id, {
      id,
      type: "cluster",
      name,
      state: "active",
      version: { gitVersion: "v1.36.1+rke2r1", major: "1", minor: "36" },
      capacity: { cpu: "64", memory: "263856528Ki", pods: "660" },
    });
    this.namespaces.set(id, new Map());
    // Every cluster has Rancher's own Default and System projects (kube-system lives in System)
    for (
      const [name, label] of [
        ["Default", "authz.management.cattle.io/default-project"],
        ["System", "authz.management.cattle.io/system-project"],
      ] as const
    ) {
      const projectId = `${id}:p-${this.suffix()}`;
      this.projects.set(projectId, {
        id: projectId,
        name,
        clusterId: id,
        description: `${name} project created for the cluster`,
        annotations: {},
        labels: { [label]: "true" },
        resourceQuota: null,
        namespaceDefaultResourceQuota: null,
      });
      if (name === "System") {
        const ns = objectMeta("kube-system");
        ns.annotations[PROJECT_ID_KEY] = projectId;
        ns.labels[PROJECT_ID_KEY] = projectId.split(":")[1] ?? "";
        this.addNamespace(id, { metadata: ns, spec: {}, status: { phase: "Active" } });
      }
    }
  }

  /** Projects other than the clusters' own System and Default projects. */
  userProjects(): FakeProject[] {
    return [...this.projects.values()].filter((p) =>
      p.labels["authz.management.cattle.io/system-project"] !== "true" &&
      p.labels["authz.management.cattle.io/default-project"] !== "true"
    );
  }

  /** The cluster's own System project (kube-system's). */
  systemProject(cluster: string): FakeProject {
    const p = [...this.projects.values()].find((x) =>
      x.clusterId === cluster && x.labels["authz.management.cattle.io/system-project"] === "true"
    );
    if (!p) throw new Error(`no System project in ${cluster}`);
    return p;
  }

  /** Projects of this display name. */
  projectsNamed(name: string): FakeProject[] {
    return [...this.projects.values()].filter((p) => p.name === name);
  }

  /** Namespace names of a project. */
  namespacesOf(projectId: string): string[] {
    const cluster = projectId.split(":")[0] ?? "";
    return [...this.namespaces.get(cluster)?.values() ?? []]
      .filter((n) => n.metadata.annotations[PROJECT_ID_KEY] === projectId)
      .map((n) => n.metadata.name).sort();
  }

  /** Bindings of a project. */
  prtbsOf(projectId: string): FakePrtb[] {
    return [...this.prtbs.values()].filter((b) => b.projectId === projectId);
  }

  /** Adds a namespace with its `default` ServiceAccount, as Kubernetes' controller makes it. */
  addNamespace(cluster: string, ns: K8sObject): void {
    this.namespaces.get(cluster)?.set(ns.metadata.name, ns);
    this.store("serviceaccounts", cluster, {
      metadata: { ...objectMeta("default", ns.metadata.name), namespace: ns.metadata.name },
    });
  }

  /** Removes a namespace and everything in it (pods, claims, Secrets, ServiceAccounts). */
  removeNamespace(cluster: string, name: string): void {
    this.namespaces.get(cluster)?.delete(name);
    for (const store of [this.pods, this.pvcs]) {
      store.set(cluster, (store.get(cluster) ?? []).filter((x) => x.metadata.namespace !== name));
    }
    for (const map of Object.values(this.stored)) {
      for (const key of map.keys()) if (key.startsWith(`${cluster}/${name}/`)) map.delete(key);
    }
  }

  /** The stored object, or undefined. */
  object(
    kind: StoredKind,
    cluster: string,
    namespace: string,
    name: string,
  ): K8sStored | undefined {
    return this.stored[kind].get(`${cluster}/${namespace}/${name}`);
  }

  /** Objects of a kind in a cluster, or in one of its namespaces, by namespace and name. */
  objectsIn(kind: StoredKind, cluster: string, namespace?: string): K8sStored[] {
    const prefix = namespace === undefined ? `${cluster}/` : `${cluster}/${namespace}/`;
    return [...this.stored[kind]].filter(([key]) => key.startsWith(prefix))
      .sort(([a], [b]) => a.localeCompare(b)).map(([, x]) => x);
  }

  /** Stores an object (created or replaced) with the next resourceVersion; returns it. */
  store(
    kind: StoredKind,
    cluster: string,
    object: Json & { metadata: K8sObject["metadata"] & { namespace: string } },
  ): K8sStored {
    const stored = {
      ...object,
      metadata: { ...object.metadata, resourceVersion: this.nextResourceVersion() },
    };
    this.stored[kind].set(
      `${cluster}/${stored.metadata.namespace}/${stored.metadata.name}`,
      stored,
    );
    return stored;
  }

  /** The next cluster-wide resourceVersion: every write takes one. */
  nextResourceVersion(): string {
    return String(++this.#resourceVersion);
  }

  /** Adds a Secret as another writer would: `data` given decoded, stored base64. */
  addSecret(
    cluster: string,
    namespace: string,
    name: string,
    secret: { type?: string; data: Record<string, string>; labels?: Record<string, string> },
  ): K8sStored {
    const data: Record<string, string> = {};
    for (const [k, v] of Object.entries(secret.data)) data[k] = encodeBase64(v);
    return this.store("secrets", cluster, {
      metadata: {
        ...objectMeta(name, namespace),
        namespace,
        labels: secret.labels ?? {},
      },
      type: secret.type ?? "Opaque",
      data,
    });
  }

  /** A Secret's data, decoded; undefined when there is no such Secret. */
  secretData(
    cluster: string,
    namespace: string,
    name: string,
  ): Record<string, string> | undefined {
    const secret = this.object("secrets", cluster, namespace, name);
    if (!secret) return undefined;
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(secret.data ?? {})) {
      if (typeof v === "string") out[k] = decodeBase64(v);
    }
    return out;
  }

  /**
   * Another writer's change to a stored object: `change` edits it, and it takes the next
   * resourceVersion (what Berth read of it is stale from now on).
   */
  alter(
    kind: StoredKind,
    where: { cluster: string; namespace: string; name: string },
    change: (object: K8sStored) => void = () => {},
  ): K8sStored {
    const object = this.object(kind, where.cluster, where.namespace, where.name);
    if (!object) throw new Error(`no ${kind} ${where.namespace}/${where.name} in ${where.cluster}`);
    change(object);
    return this.store(kind, where.cluster, object);
  }

  /** Runs a pod in a namespace. */
  addPod(cluster: string, namespace: string, name: string, spec: FakePodSpec): void {
    const list = this.pods.get(cluster) ?? [];
    const resources = (c: FakeContainer, i: number) => ({
      name: `c${i}`,
      image: "registry.example/app:1",
      resources: {
        ...(c.requests ? { requests: c.requests } : {}),
        ...(c.limits ? { limits: c.limits } : {}),
      },
      ...(c.restartPolicy ? { restartPolicy: c.restartPolicy } : {}),
    });
    list.push({
      metadata: objectMeta(name, namespace),
      spec: {
        containers: spec.containers.map(resources),
        ...(spec.initContainers ? { initContainers: spec.initContainers.map(resources) } : {}),
        ...(spec.overhead ? { overhead: spec.overhead } : {}),
      },
      status: { phase: spec.phase ?? "Running" },
    });
    this.pods.set(cluster, list);
  }

  /** Adds a persistent volume claim requesting `storage` (a quantity string). */
  addPvc(cluster: string, namespace: string, name: string, storage: string): void {
    const list = this.pvcs.get(cluster) ?? [];
    list.push({
      metadata: objectMeta(name, namespace),
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage } } },
      status: { phase: "Bound", capacity: { storage } },
    });
    this.pvcs.set(cluster, list);
  }

  /** Requests that changed something. */
  writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD");
  }

  /** The next five-character id suffix (`p-00001`, `prtb-0000a`). */
  suffix(): string {
    this.#seq++;
    return this.#seq.toString(36).padStart(5, "0").slice(-5);
  }
}

/** UTF-8 text as base64 (a Secret's data value). */
export function encodeBase64(text: string): string {
  return btoa(String.fromCharCode(...new TextEncoder().encode(text)));
}

/** A base64 Secret value as UTF-8 text. */
export function decodeBase64(value: string): string {
  return new TextDecoder().decode(Uint8Array.from(atob(value), (ch) => ch.charCodeAt(0)));
}

/** A new Kubernetes object's metadata: a fresh uid, no labels or annotations. */
export function objectMeta(name: string, namespace?: string): K8sObject["metadata"] {
  return {
    name,
    ...(namespace ? { namespace } : {}),
    uid: crypto.randomUUID(),
    labels: {},
    annotations: {},
    creationTimestamp: "2026-11-01T00:00:00Z",
  };
}
