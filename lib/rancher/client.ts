/**
 * Rancher's v3 (Norman) management API and the Kubernetes API behind Rancher's
 * `/k8s/clusters/{id}` proxy, as Berth uses them. Auth is an API key: access key and secret key
 * as HTTP basic, or the `token-xxxxx:secret` bearer token. Norman lists follow
 * `pagination.next` to the end, never to another origin or back to a page already read;
 * Kubernetes lists follow `metadata.continue`, never a token already sent; both are bounded by
 * `MAX_LIST_ITEMS` (`pages.ts`).
 *
 * Secrets and ServiceAccounts are `objects_client.ts`'s ({@link kubeObjects}), on this client's
 * calls and lists.
 *
 * A refused key (401) or a missing permission (403) fails the call with a message that says
 * what to fix (the Python agent carried on unauthenticated). Both are the operator's to fix,
 * so they are classified transient: orders wait for the fix instead of failing.
 */
import { z } from "zod";
import type { Clock } from "../clock.ts";
import { BerthError, explainRefusal, HttpError } from "../errors.ts";
import {
  basicAuth,
  createHttp,
  type Exchange,
  type Fetch,
  type Http,
  type QueryValue,
  urlPath,
} from "../http.ts";
import { readK8s, readNorman } from "./pages.ts";
import {
  Cluster,
  collection,
  k8sList,
  Namespace,
  Pod,
  Project,
  Prtb,
  Pvc,
  type QuotaLimit,
} from "./schemas.ts";
import { type KubeObjects, kubeObjects, orNull } from "./objects_client.ts";

/** Options of {@link createRancherClient}. */
export interface RancherClientOptions {
  /** `backend_url`, with or without `/v3`. */
  url: string;
  /** Access key and secret key, or a bearer token `token-xxxxx:secret`. */
  auth: { accessKey: string; secretKey: string } | { token: string };
  fetch: Fetch;
  clock: Clock;
  onExchange?: (exchange: Exchange) => void;
  /** Items asked for per page (Norman `limit`, Kubernetes `limit`). */
  pageSize?: number;
  timeoutMs?: number;
}

/** What a project is created or updated with. */
export interface ProjectBody {
  name: string;
  clusterId: string;
  description: string;
  annotations: Record<string, string>;
  labels?: Record<string, string>;
  resourceQuota: { limit: QuotaLimit } | null;
  namespaceDefaultResourceQuota: { limit: QuotaLimit } | null;
}

/** The Rancher and Kubernetes calls Berth makes (Secrets and ServiceAccounts: {@link KubeObjects}). */
export interface RancherClient extends KubeObjects {
  readonly http: Http;
  readonly base: string;
  cluster(clusterId: string): Promise<Cluster>;
  /** Every project of a cluster (all pages); with `name`, only that display name. */
  listProjects(clusterId: string, name?: string): Promise<Project[]>;
  /** The project of this id, or null when Rancher has none. */
  project(id: string): Promise<Project | null>;
  createProject(body: ProjectBody): Promise<Project>;
  updateProject(id: string, body: Partial<ProjectBody>): Promise<Project>;
  deleteProject(id: string): Promise<void>;
  /** Every project role template binding (all pages); with `projectId`, only that project's. */
  listPrtbs(projectId?: string): Promise<Prtb[]>;
  createPrtb(
    body: { projectId: string; roleTemplateId: string; groupPrincipalId: string },
  ): Promise<
    Prtb
  >;
  deletePrtb(id: string): Promise<void>;
  /** Namespaces of the cluster; with `projectName` (`p-xxxxx`), only that project's. */
  listNamespaces(clusterId: string, projectName?: string): Promise<Namespace[]>;
  /** One namespace, or null. */
  namespace(clusterId: string, name: string): Promise<Namespace | null>;
  createNamespace(
    clusterId: string,
    body: { name: string; labels: Record<string, string>; annotations: Record<string, string> },
  ): Promise<void>;
  /** Pods of the cluster that count against quota (not Succeeded, not Failed), all pages. */
  listActivePods(clusterId: string): Promise<Pod[]>;
  /** Persistent volume claims of the cluster, or of one namespace; all pages. */
  listPvcs(clusterId: string, namespace?: string): Promise<Pvc[]>;
}

/** Whether a call failed with 409: a write on a stale resourceVersion, or a create that exists. */
export function isConflict(error: unknown): error is HttpError {
  return error instanceof HttpError && error.status === 409;
}

/** `https://r/` and `https://r/v3` both give `https://r`. */
export function rancherBase(url: string): string {
  return url.replace(/\/+$/, "").replace(/\/v3$/, "");
}

/** Builds a Rancher client. */
export function createRancherClient(options: RancherClientOptions): RancherClient {
  const base = rancherBase(options.url);
  const pageSize = options.pageSize ?? 1000;
  const authorization = "token" in options.auth
    ? `Bearer ${options.auth.token}`
    : basicAuth(options.auth.accessKey, options.auth.secretKey);
  const who = "token" in options.auth
    ? options.auth.token.split(":")[0] ?? "the token"
    : options.auth.accessKey;
  const http = createHttp({
    system: "rancher",
    baseUrl: base,
    fetch: options.fetch,
    clock: options.clock,
    headers: () => ({ authorization }),
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.onExchange ? { onExchange: options.onExchange } : {}),
  });

  async function call<T>(
    method: string,
    path: string,
    action: string,
    opts: {
      query?: Record<string, QueryValue>;
      body?: unknown;
      schema?: z.ZodType<T>;
      headers?: Record<string, string>;
      idempotent?: boolean;
    } = {},
  ) {
    try {
      return await http.request<T>(method, path, { ...opts, action });
    } catch (error) {
      throw explain(error, action, who);
    }
  }

  /** A Norman collection, every page (`readNorman`). */
  function norman<T>(
    path: string,
    item: z.ZodType<T>,
    action: string,
    query: Record<string, QueryValue>,
  ): Promise<T[]> {
    return readNorman({
      base,
      path,
      query: { ...query, limit: pageSize },
      pageSize,
      action,
      get: async (at) =>
        (await call("GET", at.path, action, { query: at.query, schema: collection(item) })).data,
    });
  }

  /** A Kubernetes list through the proxy, every page (`readK8s`). */
  function k8s<T>(
    cluster: string,
    path: string,
    item: z.ZodType<T>,
    action: string,
    query: Record<string, QueryValue> = {},
  ): Promise<T[]> {
    const url = urlPath`/k8s/clusters/${clusterId(cluster)}/api/v1` + path;
    return readK8s({
      pageSize,
      action,
      get: async (cont) =>
        (await call("GET", url, action, {
          query: { ...query, limit: pageSize, continue: cont },
          schema: k8sList(item),
        })).data,
    });
  }

  return {
    http,
    base,
    cluster: async (id) =>
      (await call("GET", urlPath`/v3/clusters/${clusterId(id)}`, `read cluster ${id}`, {
        schema: Cluster,
      })).data,
    listProjects: (clusterId, name) =>
      norman("/v3/projects", Project, `list the projects of cluster ${clusterId}`, {
        clusterId,
        name,
      }),
    project: async (id) =>
      await orNull(call("GET", urlPath`/v3/projects/${projectId(id)}`, `read project ${id}`, {
        schema: Project,
      })),
    createProject: async (body) =>
      (await call("POST", "/v3/projects", `create project ${body.name}`, {
        body: { type: "project", ...body },
        schema: Project,
      })).data,
    updateProject: async (id, body) =>
      (await call("PUT", urlPath`/v3/projects/${projectId(id)}`, `update project ${id}`, {
        body,
        schema: Project,
      }))
        .data,
    deleteProject: async (id) => {
      await call("DELETE", urlPath`/v3/projects/${projectId(id)}`, `delete project ${id}`);
    },
    listPrtbs: (projectId) =>
      norman(
        "/v3/projectroletemplatebindings",
        Prtb,
        projectId ? `list the role bindings of ${projectId}` : "list project role bindings",
        { projectId },
      ),
    createPrtb: async (body) =>
      (await call(
        "POST",
        "/v3/projectroletemplatebindings",
        `bind ${body.groupPrincipalId} to ${body.projectId} as ${body.roleTemplateId}`,
        { body: { type: "projectRoleTemplateBinding", ...body }, schema: Prtb },
      )).data,
    deletePrtb: async (id) => {
      await call(
        "DELETE",
        urlPath`/v3/projectroletemplatebindings/${prtbId(id)}`,
        `delete role binding ${id}`,
      );
    },
    listNamespaces: (clusterId, projectName) =>
      k8s(
        clusterId,
        "/namespaces",
        Namespace,
        projectName
          ? `list the namespaces of ${projectName}`
          : `list the namespaces of ${clusterId}`,
        projectName ? { labelSelector: `field.cattle.io/projectId=${projectName}` } : {},
      ),
    namespace: async (cluster, name) =>
      await orNull(call(
        "GET",
        urlPath`/k8s/clusters/${clusterId(cluster)}/api/v1/namespaces/${name}`,
        `read namespace ${name}`,
        { schema: Namespace },
      )),
    createNamespace: async (cluster, body) => {
      await call(
        "POST",
        urlPath`/k8s/clusters/${clusterId(cluster)}/api/v1/namespaces`,
        `create namespace ${body.name}`,
        {
          body: {
            apiVersion: "v1",
            kind: "Namespace",
            metadata: { name: body.name, labels: body.labels, annotations: body.annotations },
          },
        },
      );
    },
    listActivePods: (clusterId) =>
      k8s(clusterId, "/pods", Pod, `list the pods of ${clusterId}`, {
        fieldSelector: "status.phase!=Succeeded,status.phase!=Failed",
      }),
    listPvcs: (clusterId, namespace) =>
      k8s(
        clusterId,
        namespace
          ? urlPath`/namespaces/${namespace}/persistentvolumeclaims`
          : "/persistentvolumeclaims",
        Pvc,
        `list the persistent volume claims of ${namespace ?? clusterId}`,
      ),
    ...kubeObjects({
      call,
      list: k8s,
      root: (cluster) => urlPath`/k8s/clusters/${clusterId(cluster)}/api/v1`,
    }),
  };
}

/** Rewrites 401 and 403 into what the operator must do; everything else passes unchanged. */
function explain(error: unknown, action: string, who: string): unknown {
  return explainRefusal(error, action, "rancher", {
    401: `Rancher refused the API key ${who} (HTTP 401); check username/password (access key ` +
      "and secret key) or token, and that the key has not expired",
    403: `the API key ${who} lacks the permission (HTTP 403); use an unscoped key of a user who ` +
      "owns the cluster",
  });
}

/** A cluster id as Rancher makes them (`local`, `c-m-…`), or a refusal. */
export function clusterId(id: string): string {
  return shaped(id, /^(local|c-[a-z0-9-]{1,60})$/, "cluster id");
}

/** A project id as Rancher makes them (`<cluster>:p-…`), or a refusal. */
export function projectId(id: string): string {
  return shaped(id, /^(local|c-[a-z0-9-]{1,60}):p-[a-z0-9]{1,60}$/, "project id");
}

/** A project role binding id (`p-…:prtb-…`), or a refusal. */
function prtbId(id: string): string {
  return shaped(id, /^[a-z0-9-]{1,64}:[a-z0-9-]{1,64}$/, "role binding id");
}

function shaped(id: string, shape: RegExp, what: string): string {
  if (!shape.test(id)) {
    throw new BerthError(`refusing ${JSON.stringify(id.slice(0, 80))} as a Rancher ${what}`, {
      system: "rancher",
      transient: false,
    });
  }
  return id;
}
