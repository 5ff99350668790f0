/**
 * The fake Rancher's v3 clusters and projects: read a cluster; list, create, read, update and
 * delete projects (the delete takes the project's namespaces, what they hold and its bindings
 * with it). A project quota needs its namespace default and the reverse, every limit is a
 * quantity, and no namespace default exceeds the project's limit: otherwise 422, as Norman does.
 */
import { Hono } from "hono";
import { parseQuantity } from "../quantity.ts";
import { json, stringMap } from "./body.ts";
import { collection, normanError, notFound, originOf } from "./norman.ts";
import type { FakeProject, Json, RancherState } from "./state.ts";

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

/** Stored fields whose JSON value is the stored one (the JSON adds fields, never changes these). */
const PROJECT_KEYS = new Set(["id", "name", "clusterId", "description"]);

/** The `/v3/clusters/:id` and `/v3/projects` paths, to mount at the root. */
export function projectsApp(state: RancherState): Hono {
  const app = new Hono();

  app.get("/v3/clusters/:id", (c) => {
    const cl = state.clusters.get(c.req.param("id"));
    return cl ? c.json(cl) : notFound(c, "clusters", c.req.param("id"));
  });

  app.get("/v3/projects", (c) =>
    collection(c, [...state.projects.values()], {
      stored: PROJECT_KEYS,
      toJson: projectJson,
      defaultLimit: state.defaultLimit,
    }));
  app.post("/v3/projects", async (c) => {
    const body = await json(c);
    if (!body) return c.json(normanError(422, "InvalidBodyContent", "body is not JSON"), 422);
    const problem = projectProblem(state, body, null);
    if (problem) return c.json(problem, 422);
    const clusterId = String(body.clusterId);
    const id = `${clusterId}:p-${state.suffix()}`;
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
    state.projects.set(id, p);
    return c.json(projectJson(p, originOf(c)), 201);
  });
  app.get("/v3/projects/:id", (c) => {
    const p = state.projects.get(c.req.param("id"));
    return p ? c.json(projectJson(p, originOf(c))) : notFound(c, "projects", c.req.param("id"));
  });
  app.put("/v3/projects/:id", async (c) => {
    const p = state.projects.get(c.req.param("id"));
    if (!p) return notFound(c, "projects", c.req.param("id"));
    const body = await json(c);
    if (!body) return c.json(normanError(422, "InvalidBodyContent", "body is not JSON"), 422);
    const merged = { ...p, ...body };
    const problem = projectProblem(state, merged, p);
    if (problem) return c.json(problem, 422);
    if ("name" in body) p.name = String(body.name);
    if ("description" in body) p.description = String(body.description ?? "");
    if ("annotations" in body) p.annotations = stringMap(body.annotations);
    if ("labels" in body) p.labels = stringMap(body.labels);
    if ("resourceQuota" in body) p.resourceQuota = quota(body.resourceQuota);
    if ("namespaceDefaultResourceQuota" in body) {
      p.namespaceDefaultResourceQuota = quota(body.namespaceDefaultResourceQuota);
    }
    return c.json(projectJson(p, originOf(c)));
  });
  app.delete("/v3/projects/:id", (c) => {
    const p = state.projects.get(c.req.param("id"));
    if (!p) return notFound(c, "projects", c.req.param("id"));
    // Rancher removes the project's namespaces (and what they hold) and its bindings with it.
    for (const ns of state.namespacesOf(p.id)) state.removeNamespace(p.clusterId, ns);
    for (const b of state.prtbsOf(p.id)) state.prtbs.delete(b.id);
    state.projects.delete(p.id);
    return c.json({ ...projectJson(p, originOf(c)), state: "removing" });
  });
  return app;
}

/** Why a project body would be refused, as Norman's 422 body; null when it is fine. */
function projectProblem(
  state: RancherState,
  body: Json,
  existing: FakeProject | null,
): Json | null {
  if (typeof body.name !== "string" || body.name === "") {
    return normanError(422, "MissingRequired", "name is required", "name");
  }
  if (typeof body.clusterId !== "string" || body.clusterId === "") {
    return normanError(422, "MissingRequired", "clusterId is required", "clusterId");
  }
  if (existing && body.clusterId !== existing.clusterId) {
    return normanError(422, "InvalidBodyContent", "clusterId is not updatable", "clusterId");
  }
  if (!state.clusters.has(body.clusterId)) {
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

function projectJson(p: FakeProject, origin: string): Json {
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

function quota(value: unknown): { limit: Record<string, string> } | null {
  if (typeof value !== "object" || value === null) return null;
  return { limit: stringMap((value as Json).limit) };
}
