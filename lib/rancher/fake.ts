/**
 * A fake Rancher 2.x: the v3 (Norman) management API for clusters, projects and project role
 * template bindings, and the Kubernetes core/v1 API behind `/k8s/clusters/{id}` for namespaces,
 * pods and persistent volume claims. It answers as Rancher does (`rancher-v3-notes.md`):
 * ids `c-xxxxx:p-xxxxx`, Norman collection bodies with `pagination.next`, 422 for a project
 * quota without its namespace default (or a namespace default above the project's limit) and for
 * any change to a binding's immutable fields, API-key auth (basic or bearer), Kubernetes lists
 * with quantity strings, `limit`/`continue` paging and `labelSelector`/`fieldSelector`.
 */
import { Faults } from "../fault.ts";
import { type Context, Hono } from "hono";
import { type RecordedRequest, recordRequests } from "../fake_recorder.ts";
import { parseQuantity } from "./quantity.ts";
import { namespaceNameProblem, PROJECT_ID_KEY } from "./schemas.ts";

type Json = Record<string, unknown>;

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

interface K8sObject {
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

const SUBJECTS = ["userId", "userPrincipalId", "groupId", "groupPrincipalId"] as const;
const QUOTA_KEYS = [
  "pods",
  "services",
  "replicationControllers",
  "secrets",
  "configMaps",
  "persistentVolumeClaims",
  "servicesNodePorts",
  "servicesLoadBalancers",
  "requestsCpu",
  "requestsMemory",
  "requestsStorage",
  "limitsCpu",
  "limitsMemory",
];

/** Options of {@link FakeRancher}. */
export interface FakeRancherOptions {
  /** Norman's default page size when a request gives no `limit`. */
  defaultLimit?: number;
}

/** The fake Rancher server. */
export class FakeRancher {
  readonly app: Hono;
  /** Faults to inject, per route (`lib/fault.ts`). */
  readonly faults: Faults = new Faults();
  /** Access key → secret key of valid API keys. */
  readonly keys = new Map<string, string>([["token-berth1", "s3cr3t-rancher-key"]]);
  readonly clusters = new Map<string, Json>();
  readonly projects = new Map<string, FakeProject>();
  readonly prtbs = new Map<string, FakePrtb>();
  /** Cluster id → namespace name → namespace. */
  readonly namespaces = new Map<string, Map<string, K8sObject>>();
  readonly pods = new Map<string, K8sObject[]>();
  readonly pvcs = new Map<string, K8sObject[]>();
  readonly roleTemplates = new Set([
    "project-owner",
    "project-member",
    "read-only",
    "workloads-manage",
    "workloads-view",
  ]);
  readonly requests: RecordedRequest[] = [];
  readonly #defaultLimit: number;
  #seq = 0;

  constructor(options: FakeRancherOptions = {}) {
    this.#defaultLimit = options.defaultLimit ?? 1000;
    this.app = this.#routes();
    this.addCluster("c-m-7x2k9q4d", "production");
  }

  get accessKey(): string {
    return [...this.keys.keys()][0] ?? "";
  }

  get secretKey(): string {
    return [...this.keys.values()][0] ?? "";
  }

  // ---- control API -------------------------------------------------------------------------

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
      const projectId = `${id}:p-${this.#suffix()}`;
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
        const ns = this.#meta("kube-system");
        ns.annotations[PROJECT_ID_KEY] = projectId;
        ns.labels[PROJECT_ID_KEY] = projectId.split(":")[1] ?? "";
        this.namespaces.get(id)?.set("kube-system", {
          metadata: ns,
          spec: {},
          status: { phase: "Active" },
        });
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
      metadata: this.#meta(name, namespace),
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
      metadata: this.#meta(name, namespace),
      spec: { accessModes: ["ReadWriteOnce"], resources: { requests: { storage } } },
      status: { phase: "Bound", capacity: { storage } },
    });
    this.pvcs.set(cluster, list);
  }

  /** Requests that changed something. */
  writes(): RecordedRequest[] {
    return this.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD");
  }

  #meta(name: string, namespace?: string): K8sObject["metadata"] {
    return {
      name,
      ...(namespace ? { namespace } : {}),
      uid: crypto.randomUUID(),
      labels: {},
      annotations: {},
      creationTimestamp: "2026-11-01T00:00:00Z",
    };
  }

  #suffix(): string {
    this.#seq++;
    return this.#seq.toString(36).padStart(5, "0").slice(-5);
  }

  // ---- the API -----------------------------------------------------------------------------

  #routes(): Hono {
    const app = new Hono();
    app.use("*", recordRequests(this.requests));
    app.use("*", this.faults.middleware());
    app.use("*", async (c, next) => {
      if (!this.#authorized(c.req.header("authorization") ?? "")) {
        return c.json(normanError(401, "Unauthorized", "must authenticate"), 401);
      }
      await next();
    });

    app.get("/v3/clusters/:id", (c) => {
      const cl = this.clusters.get(c.req.param("id"));
      return cl ? c.json(cl) : notFound(c, "clusters", c.req.param("id"));
    });

    // ---- projects
    app.get(
      "/v3/projects",
      (c) => {
        const origin = originOf(c);
        return this.#list(
          c,
          [...this.projects.values()],
          PROJECT_KEYS,
          (p) => this.#projectJson(origin, p),
        );
      },
    );
    app.post("/v3/projects", async (c) => {
      const body = await json(c);
      if (!body) return c.json(normanError(422, "InvalidBodyContent", "body is not JSON"), 422);
      const problem = this.#projectProblem(body, null);
      if (problem) return c.json(problem, 422);
      const clusterId = String(body.clusterId);
      const id = `${clusterId}:p-${this.#suffix()}`;
      const p: FakeProject = {
        id,
        name: String(body.name),
        clusterId,
        description: typeof body.description === "string" ? body.description : "",
        annotations: stringMap(body.annotations),
        labels: stringMap(body.labels),
        resourceQuota: quota(body.resourceQuota),
        namespaceDefaultResourceQuota: quota(body.namespaceDefaultResourceQuota),
      };
      this.projects.set(id, p);
      return c.json(this.#projectJson(originOf(c), p), 201);
    });
    app.get("/v3/projects/:id", (c) => {
      const p = this.projects.get(c.req.param("id"));
      return p
        ? c.json(this.#projectJson(originOf(c), p))
        : notFound(c, "projects", c.req.param("id"));
    });
    app.put("/v3/projects/:id", async (c) => {
      const p = this.projects.get(c.req.param("id"));
      if (!p) return notFound(c, "projects", c.req.param("id"));
      const body = await json(c);
      if (!body) return c.json(normanError(422, "InvalidBodyContent", "body is not JSON"), 422);
      const merged = { ...p, ...body };
      const problem = this.#projectProblem(merged, p);
      if (problem) return c.json(problem, 422);
      if ("name" in body) p.name = String(body.name);
      if ("description" in body) p.description = String(body.description ?? "");
      if ("annotations" in body) p.annotations = stringMap(body.annotations);
      if ("labels" in body) p.labels = stringMap(body.labels);
      if ("resourceQuota" in body) p.resourceQuota = quota(body.resourceQuota);
      if ("namespaceDefaultResourceQuota" in body) {
        p.namespaceDefaultResourceQuota = quota(body.namespaceDefaultResourceQuota);
      }
      return c.json(this.#projectJson(originOf(c), p));
    });
    app.delete("/v3/projects/:id", (c) => {
      const p = this.projects.get(c.req.param("id"));
      if (!p) return notFound(c, "projects", c.req.param("id"));
      // Rancher removes the project's namespaces (and what they hold) and its bindings with it.
      const nsMap = this.namespaces.get(p.clusterId);
      for (const ns of this.namespacesOf(p.id)) {
        nsMap?.delete(ns);
        this.pods.set(
          p.clusterId,
          (this.pods.get(p.clusterId) ?? []).filter((x) => x.metadata.namespace !== ns),
        );
        this.pvcs.set(
          p.clusterId,
          (this.pvcs.get(p.clusterId) ?? []).filter((x) => x.metadata.namespace !== ns),
        );
      }
      for (const b of this.prtbsOf(p.id)) this.prtbs.delete(b.id);
      this.projects.delete(p.id);
      return c.json({ ...this.#projectJson(originOf(c), p), state: "removing" });
    });

    // ---- project role template bindings
    app.get(
      "/v3/projectroletemplatebindings",
      (c) => {
        const origin = originOf(c);
        return this.#list(c, [...this.prtbs.values()], PRTB_KEYS, (b) => this.#prtbJson(origin, b));
      },
    );
    app.post("/v3/projectroletemplatebindings", async (c) => {
      const body = await json(c);
      if (!body) return c.json(normanError(422, "InvalidBodyContent", "body is not JSON"), 422);
      const projectId = typeof body.projectId === "string" ? body.projectId : "";
      const project = this.projects.get(projectId);
      if (!projectId) {
        return c.json(
          normanError(422, "MissingRequired", "projectId is required", "projectId"),
          422,
        );
      }
      if (!project) {
        return c.json(
          normanError(422, "InvalidReference", `project ${projectId} not found`, "projectId"),
          422,
        );
      }
      const role = typeof body.roleTemplateId === "string" ? body.roleTemplateId : "";
      if (!role) {
        return c.json(
          normanError(422, "MissingRequired", "roleTemplateId is required", "roleTemplateId"),
          422,
        );
      }
      if (!this.roleTemplates.has(role)) {
        return c.json(
          normanError(422, "InvalidReference", `roleTemplate ${role} not found`, "roleTemplateId"),
          422,
        );
      }
      const given = SUBJECTS.filter((k) => typeof body[k] === "string" && body[k] !== "");
      if (given.length !== 1) {
        return c.json(
          normanError(
            422,
            "InvalidBodyContent",
            "Binding must target either a user [userId]/[userPrincipalId] OR a group [groupId]/[groupPrincipalId]",
          ),
          422,
        );
      }
      const name = typeof body.name === "string" && body.name
        ? body.name
        : `prtb-${this.#suffix()}`;
      const b: FakePrtb = {
        id: `${projectId.split(":")[1]}:${name}`,
        projectId,
        roleTemplateId: role,
        groupPrincipalId: null,
        userId: null,
        userPrincipalId: null,
        groupId: null,
      };
      for (const k of SUBJECTS) {
        if (typeof body[k] === "string" && body[k]) b[k] = body[k] as string;
      }
      if (this.prtbs.has(b.id)) {
        return c.json(normanError(409, "AlreadyExists", `${b.id} already exists`), 409);
      }
      this.prtbs.set(b.id, b);
      return c.json(this.#prtbJson(originOf(c), b), 201);
    });
    app.get("/v3/projectroletemplatebindings/:id", (c) => {
      const b = this.prtbs.get(c.req.param("id"));
      return b
        ? c.json(this.#prtbJson(originOf(c), b))
        : notFound(c, "projectroletemplatebindings", c.req.param("id"));
    });
    app.put("/v3/projectroletemplatebindings/:id", async (c) => {
      const b = this.prtbs.get(c.req.param("id"));
      if (!b) return notFound(c, "projectroletemplatebindings", c.req.param("id"));
      const body = await json(c) ?? {};
      for (const k of ["projectId", "roleTemplateId", ...SUBJECTS] as const) {
        if (k in body && body[k] !== b[k]) {
          return c.json(normanError(422, "InvalidBodyContent", `${k} is not updatable`, k), 422);
        }
      }
      return c.json(this.#prtbJson(originOf(c), b));
    });
    app.delete("/v3/projectroletemplatebindings/:id", (c) => {
      const b = this.prtbs.get(c.req.param("id"));
      if (!b) return notFound(c, "projectroletemplatebindings", c.req.param("id"));
      this.prtbs.delete(b.id);
      return c.json(this.#prtbJson(originOf(c), b));
    });

    // ---- Kubernetes through the proxy
    const k8s = new Hono();
    const clusterOf = (c: Context) => this.namespaces.get(c.req.param("cluster") ?? "");
    k8s.get("/:cluster/api/v1/namespaces", (c) => {
      const nsMap = clusterOf(c);
      if (!nsMap) return k8sStatus(c, 404, "NotFound", "cluster not found");
      return k8sPage(c, "NamespaceList", [...nsMap.values()]);
    });
    k8s.get("/:cluster/api/v1/namespaces/:name", (c) => {
      const ns = clusterOf(c)?.get(c.req.param("name"));
      return ns
        ? c.json({ apiVersion: "v1", kind: "Namespace", ...ns })
        : k8sStatus(c, 404, "NotFound", `namespaces "${c.req.param("name")}" not found`);
    });
    k8s.post("/:cluster/api/v1/namespaces", async (c) => {
      const nsMap = clusterOf(c);
      if (!nsMap) return k8sStatus(c, 404, "NotFound", "cluster not found");
      const body = await json(c);
      const meta = (body?.metadata ?? {}) as Json;
      const name = typeof meta.name === "string" ? meta.name : "";
      const problem = namespaceNameProblem(name);
      if (problem) {
        return k8sStatus(
          c,
          422,
          "Invalid",
          `Namespace "${name}" is invalid: metadata.name: ${problem}`,
        );
      }
      if (nsMap.has(name)) {
        return k8sStatus(c, 409, "AlreadyExists", `namespaces "${name}" already exists`);
      }
      const ns: K8sObject = {
        metadata: {
          ...this.#meta(name),
          labels: stringMap(meta.labels),
          annotations: stringMap(meta.annotations),
        },
        spec: { finalizers: ["kubernetes"] },
        status: { phase: "Active" },
      };
      // Rancher's nslabels controller copies the project annotation into a label (no cluster part).
      const projectId = ns.metadata.annotations[PROJECT_ID_KEY];
      if (projectId) ns.metadata.labels[PROJECT_ID_KEY] = projectId.split(":")[1] ?? "";
      nsMap.set(name, ns);
      return c.json({ apiVersion: "v1", kind: "Namespace", ...ns }, 201);
    });
    k8s.delete("/:cluster/api/v1/namespaces/:name", (c) => {
      const nsMap = clusterOf(c);
      const name = c.req.param("name");
      if (!nsMap?.has(name)) return k8sStatus(c, 404, "NotFound", `namespaces "${name}" not found`);
      nsMap.delete(name);
      return k8sStatus(c, 200, "", "", "Success");
    });
    const listIn =
      (store: Map<string, K8sObject[]>, kind: string, namespaced: boolean) => (c: Context) => {
        const cluster = c.req.param("cluster") ?? "";
        if (!this.namespaces.has(cluster)) {
          return k8sStatus(c, 404, "NotFound", "cluster not found");
        }
        let items = store.get(cluster) ?? [];
        if (namespaced) {
          items = items.filter((x) => x.metadata.namespace === c.req.param("namespace"));
        }
        return k8sPage(c, kind, items);
      };
    k8s.get("/:cluster/api/v1/pods", listIn(this.pods, "PodList", false));
    k8s.get("/:cluster/api/v1/namespaces/:namespace/pods", listIn(this.pods, "PodList", true));
    k8s.get(
      "/:cluster/api/v1/persistentvolumeclaims",
      listIn(this.pvcs, "PersistentVolumeClaimList", false),
    );
    k8s.get(
      "/:cluster/api/v1/namespaces/:namespace/persistentvolumeclaims",
      listIn(this.pvcs, "PersistentVolumeClaimList", true),
    );
    app.route("/k8s/clusters", k8s);

    app.notFound((c) => c.json(normanError(404, "NotFound", "not found"), 404));
    return app;
  }

  #authorized(header: string): boolean {
    let pair = "";
    if (header.startsWith("Bearer ")) pair = header.slice(7);
    else if (header.startsWith("Basic ")) {
      try {
        pair = new TextDecoder().decode(
          Uint8Array.from(atob(header.slice(6)), (ch) => ch.charCodeAt(0)),
        );
      } catch {
        return false;
      }
    } else return false;
    const i = pair.indexOf(":");
    return i > 0 && this.keys.get(pair.slice(0, i)) === pair.slice(i + 1);
  }

  /** Why a project body would be refused, as Norman's 422 body; null when it is fine. */
  #projectProblem(body: Json, existing: FakeProject | null): Json | null {
    if (typeof body.name !== "string" || body.name === "") {
      return normanError(422, "MissingRequired", "name is required", "name");
    }
    if (typeof body.clusterId !== "string" || body.clusterId === "") {
      return normanError(422, "MissingRequired", "clusterId is required", "clusterId");
    }
    if (existing && body.clusterId !== existing.clusterId) {
      return normanError(422, "InvalidBodyContent", "clusterId is not updatable", "clusterId");
    }
    if (!this.clusters.has(body.clusterId)) {
      return normanError(
        422,
        "InvalidReference",
        `cluster ${body.clusterId} not found`,
        "clusterId",
      );
    }
    const project = body.resourceQuota ?? null;
    const nsDefault = body.namespaceDefaultResourceQuota ?? null;
    if ((project === null) !== (nsDefault === null)) {
      return normanError(
        422,
        "MissingRequired",
        project === null
          ? "resourceQuota is required when namespaceDefaultResourceQuota is set"
          : "namespaceDefaultResourceQuota is required when resourceQuota is set",
        project === null ? "resourceQuota" : "namespaceDefaultResourceQuota",
      );
    }
    if (project === null || nsDefault === null) return null;
    const limits: Record<string, Record<string, number>> = {};
    for (
      const [field, q] of [["resourceQuota", project], [
        "namespaceDefaultResourceQuota",
        nsDefault,
      ]] as const
    ) {
      const limit = (q as Json)?.limit;
      if (typeof limit !== "object" || limit === null) {
        return normanError(422, "InvalidFormat", `${field}.limit is required`, field);
      }
      limits[field] = {};
      for (const [k, v] of Object.entries(limit as Json)) {
        if (v === null || v === undefined) continue;
        if (k === "extended") continue;
        if (!QUOTA_KEYS.includes(k)) {
          return normanError(422, "InvalidFormat", `${field}.limit.${k}: unknown field`, field);
        }
        try {
          if (typeof v !== "string") throw new Error("not a string");
          limits[field][k] = parseQuantity(v);
        } catch {
          return normanError(
            422,
            "InvalidFormat",
            `${field}.limit.${k}: "${String(v)}" is not a quantity`,
            field,
          );
        }
      }
    }
    for (const [k, nsValue] of Object.entries(limits.namespaceDefaultResourceQuota ?? {})) {
      const projectValue = limits.resourceQuota?.[k];
      if (projectValue === undefined) {
        return normanError(
          422,
          "InvalidBodyContent",
          `namespace default quota sets ${k}, which the project quota does not limit`,
        );
      }
      if (nsValue > projectValue) {
        return normanError(
          422,
          "InvalidBodyContent",
          `namespace default quota ${k} exceeds the project limit`,
        );
      }
    }
    return null;
  }

  #projectJson(origin: string, p: FakeProject): Json {
    const self = `${origin}/v3/projects/${p.id}`;
    return {
      ...p,
      type: "project",
      baseType: "project",
      uuid: p.id,
      namespaceId: p.clusterId,
      backingNamespace: `${p.clusterId}-${p.id.split(":")[1]}`,
      state: "active",
      transitioning: "no",
      transitioningMessage: "",
      created: "2026-11-01T00:00:00Z",
      creatorId: "u-berth",
      containerDefaultResourceLimit: null,
      links: { self, update: self, remove: self },
      actions: { exportYaml: `${self}?action=exportYaml` },
    };
  }

  #prtbJson(origin: string, b: FakePrtb): Json {
    const self = `${origin}/v3/projectroletemplatebindings/${b.id}`;
    return {
      ...b,
      type: "projectRoleTemplateBinding",
      baseType: "projectRoleTemplateBinding",
      name: b.id.split(":")[1],
      namespaceId: b.id.split(":")[0],
      serviceAccount: "",
      created: "2026-11-01T00:00:00Z",
      links: { self, remove: self },
    };
  }

  /** A Norman collection: field filters, then `limit`/`marker` paging with `pagination.next`. */
  #list<T extends Json>(
    c: Context,
    all: T[],
    stored: ReadonlySet<string>,
    toJson: (x: T) => Json,
  ): Response {
    const u = new URL(c.req.url);
    const filters = [...u.searchParams].filter(([k]) =>
      k !== "limit" && k !== "marker" && k !== "sort" && k !== "order"
    );
    // Filters on stored fields go first, before the (costlier) JSON of each item is built.
    let raw = all;
    for (const [k, v] of filters) {
      if (stored.has(k)) raw = raw.filter((x) => String(x[k] ?? "") === v);
    }
    let items = raw.map(toJson);
    for (const [k, v] of filters) {
      if (!stored.has(k)) items = items.filter((x) => String(x[k] ?? "") === v);
    }
    // By id in code-unit order, the order the marker comparison below pages in.
    items.sort((a, b) => (String(a.id) < String(b.id) ? -1 : String(a.id) > String(b.id) ? 1 : 0));
    const limit = Math.min(
      3000,
      Number(u.searchParams.get("limit") ?? this.#defaultLimit) || this.#defaultLimit,
    );
    const marker = u.searchParams.get("marker");
    const start = marker ? items.findIndex((x) => String(x.id) > marker) : 0;
    const from = start < 0 ? items.length : start;
    const page = items.slice(from, from + limit);
    const pagination: Json = { limit, total: items.length };
    const last = page.at(-1);
    if (from + limit < items.length && last) {
      const next = new URL(u);
      next.searchParams.set("marker", String(last.id));
      pagination.next = next.toString();
      pagination.partial = true;
    }
    return c.json({
      type: "collection",
      resourceType: u.pathname.split("/").at(-1)?.replace(/s$/, ""),
      links: { self: u.toString() },
      actions: {},
      createTypes: {},
      data: page,
      pagination,
      sort: { order: "asc", reverse: "", links: {} },
      filters: {},
    });
  }
}

/** Stored fields whose JSON value is the stored one (the JSON adds fields, never changes these). */
const PROJECT_KEYS = new Set(["id", "name", "clusterId", "description"]);
const PRTB_KEYS = new Set([
  "id",
  "projectId",
  "roleTemplateId",
  "groupPrincipalId",
  "userId",
  "userPrincipalId",
  "groupId",
]);

function originOf(c: Context): string {
  return new URL(c.req.url).origin;
}

/** A Kubernetes list page: `labelSelector`, `fieldSelector` on `status.phase`, `limit`/`continue`. */
function k8sPage(c: Context, kind: string, all: K8sObject[]): Response {
  let items = all;
  const labelSelector = c.req.query("labelSelector");
  if (labelSelector) {
    for (const term of labelSelector.split(",")) {
      const [k, v] = term.split("=");
      items = items.filter((x) => x.metadata.labels[k ?? ""] === v);
    }
  }
  const fieldSelector = c.req.query("fieldSelector");
  if (fieldSelector) {
    for (const term of fieldSelector.split(",")) {
      const m = /^status\.phase(!=|==|=)(\w+)$/.exec(term);
      if (!m) return k8sStatus(c, 400, "BadRequest", `field label not supported: ${term}`);
      items = items.filter((x) => (x.status.phase === m[2]) === (m[1] !== "!="));
    }
  }
  const limit = Number(c.req.query("limit") ?? "0");
  const cont = c.req.query("continue");
  const from = cont ? Number(atob(cont)) : 0;
  if (!Number.isInteger(from) || from < 0) {
    return k8sStatus(c, 410, "Expired", "the provided continue parameter is too old");
  }
  const page = limit > 0 ? items.slice(from, from + limit) : items.slice(from);
  const more = limit > 0 && from + limit < items.length;
  return c.json({
    kind,
    apiVersion: "v1",
    metadata: {
      resourceVersion: "4711",
      ...(more
        ? { continue: btoa(String(from + limit)), remainingItemCount: items.length - from - limit }
        : {}),
    },
    items: page.map((x) => ({ ...x })),
  });
}

function k8sStatus(
  c: Context,
  code: number,
  reason: string,
  message: string,
  status = "Failure",
): Response {
  return c.json(
    { kind: "Status", apiVersion: "v1", metadata: {}, status, message, reason, code },
    code as 200,
  );
}

function normanError(status: number, code: string, message: string, fieldName?: string): Json {
  return {
    type: "error",
    baseType: "error",
    status: String(status),
    code,
    message,
    ...(fieldName ? { fieldName } : {}),
  };
}

function notFound(c: Context, type: string, id: string): Response {
  return c.json(normanError(404, "NotFound", `${type} "${id}" not found`), 404);
}

async function json(c: Context): Promise<Json | null> {
  const body: unknown = await c.req.json().catch(() => null);
  return typeof body === "object" && body !== null && !Array.isArray(body) ? body as Json : null;
}

function stringMap(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v;
  return out;
}

function quota(value: unknown): { limit: Record<string, string> } | null {
  if (typeof value !== "object" || value === null) return null;
  return { limit: stringMap((value as Json).limit) };
}
