/**
 * Rancher's v3 (Norman) management API and the Kubernetes API behind Rancher's
 * `/k8s/clusters/{id}` proxy, as Berth uses them. Auth is an API key: access key and secret key
 * as HTTP basic, or the `token-xxxxx:secret` bearer token. Norman lists follow
 * `pagination.next` to the end, never to another origin or back to a page already read;
 * Kubernetes lists follow `metadata.continue`, never a token already sent; both are bounded by
 * `MAX_LIST_ITEMS` (`pages.ts`).
 *
 * Secrets and ServiceAccounts: a list of Secrets (always narrowed by a label selector) keeps
 * metadata and `type` only; `secret()` is the one read that returns `data`. Writes are
 * conditional on the `resourceVersion` Berth read: a Secret is replaced whole with PUT (Berth
 * writes all of it), a ServiceAccount's `imagePullSecrets` are set with a JSON merge patch
 * (`application/merge-patch+json`) carrying `metadata.resourceVersion` as its precondition, so
 * the fields Berth does not model are never sent back and lost; the list is
 * `x-kubernetes-list-type: atomic`, so a strategic merge patch would replace it just the same.
 * Either way a stale version is a 409 Conflict ({@link isConflict}): read again, decide again.
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
  namespaceNameProblem,
  objectNameProblem,
  Pod,
  Project,
  Prtb,
  Pvc,
  type QuotaLimit,
  Secret,
  SecretMeta,
  ServiceAccount,
} from "./schemas.ts";

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

/** A namespaced Kubernetes object's place. */
export interface ObjectRef {
  namespace: string;
  name: string;
}

/** A Secret as Berth writes it: the whole object. */
export interface SecretBody extends ObjectRef {
  labels: Record<string, string>;
  annotations: Record<string, string>;
  /** e.g. `kubernetes.io/dockerconfigjson`; Kubernetes never lets it change. */
  type: string;
  /** Key → base64 value. */
  data: Record<string, string>;
}

/** The Rancher and Kubernetes calls Berth makes. */
export interface RancherClient {
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
  /**
   * Secrets matching `labelSelector`, of one namespace or of the cluster, all pages: metadata
   * and type only, never their data.
   */
  listSecrets(
    clusterId: string,
    options: { namespace?: string; labelSelector: string },
  ): Promise<SecretMeta[]>;
  /** One Secret with its data, or null. The only call that reads a Secret's values. */
  secret(clusterId: string, ref: ObjectRef): Promise<Secret | null>;
  /** Creates a Secret; a 409 ({@link isConflict}) when one of that name exists. */
  createSecret(clusterId: string, body: SecretBody): Promise<SecretMeta>;
  /** Replaces a Secret (PUT) if it is still at `resourceVersion`; a 409 when it moved on. */
  replaceSecret(
    clusterId: string,
    body: SecretBody & { resourceVersion: string },
  ): Promise<SecretMeta>;
  /**
   * Deletes a Secret; one already gone is fine. With `resourceVersion`, only if it is still at
   * that version (a 409 otherwise): the Secret deleted is the one Berth read.
   */
  deleteSecret(clusterId: string, ref: ObjectRef & { resourceVersion?: string }): Promise<void>;
  /** One ServiceAccount, or null. */
  serviceAccount(clusterId: string, ref: ObjectRef): Promise<ServiceAccount | null>;
  /**
   * Sets a ServiceAccount's `imagePullSecrets` (the whole list) if it is still at
   * `resourceVersion` (a JSON merge patch; a 409 when it moved on); nothing else changes.
   */
  setImagePullSecrets(
    clusterId: string,
    change: ObjectRef & { resourceVersion: string; imagePullSecrets: readonly string[] },
  ): Promise<ServiceAccount>;
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
    listSecrets: async (clusterId, { namespace, labelSelector }) =>
      await k8s(
        clusterId,
        namespace === undefined
          ? "/secrets"
          : urlPath`/namespaces/${checked(namespace, namespaceNameProblem)}/secrets`,
        SecretMeta,
        `list the secrets ${labelSelector} of ${namespace ?? clusterId}`,
        { labelSelector },
      ),
    secret: async (cluster, ref) =>
      await orNull(call("GET", objectPath(cluster, "secrets", ref), `read secret ${named(ref)}`, {
        schema: Secret,
      })),
    createSecret: async (cluster, body) =>
      (await call(
        "POST",
        urlPath`/k8s/clusters/${clusterId(cluster)}/api/v1/namespaces/${
          checked(body.namespace, namespaceNameProblem)
        }/secrets`,
        `create secret ${named(body)}`,
        { body: secretJson(checked(body.name, objectNameProblem), body), schema: SecretMeta },
      )).data,
    replaceSecret: async (cluster, body) =>
      (await call("PUT", objectPath(cluster, "secrets", body), `replace secret ${named(body)}`, {
        body: secretJson(body.name, body),
        schema: SecretMeta,
      })).data,
    deleteSecret: async (cluster, ref) => {
      try {
        await call("DELETE", objectPath(cluster, "secrets", ref), `delete secret ${named(ref)}`, {
          ...(ref.resourceVersion === undefined ? {} : {
            body: {
              apiVersion: "v1",
              kind: "DeleteOptions",
              preconditions: { resourceVersion: version(ref.resourceVersion) },
            },
          }),
        });
      } catch (error) {
        if (!(error instanceof HttpError && error.status === 404)) throw error;
      }
    },
    serviceAccount: async (cluster, ref) =>
      await orNull(call(
        "GET",
        objectPath(cluster, "serviceaccounts", ref),
        `read service account ${named(ref)}`,
        { schema: ServiceAccount },
      )),
    setImagePullSecrets: async (cluster, change) =>
      (await call(
        "PATCH",
        objectPath(cluster, "serviceaccounts", change),
        `set the image pull secrets of service account ${named(change)}`,
        {
          body: {
            metadata: { resourceVersion: version(change.resourceVersion) },
            imagePullSecrets: change.imagePullSecrets.map((name) => ({ name })),
          },
          headers: { "content-type": "application/merge-patch+json" },
          schema: ServiceAccount,
          // conditional on the resourceVersion: a repeat after a lost answer is a 409, never a
          // second change
          idempotent: true,
        },
      )).data,
  };
}

/** The path of one Secret or ServiceAccount, its namespace and name checked. */
function objectPath(cluster: string, kind: "secrets" | "serviceaccounts", ref: ObjectRef): string {
  return urlPath`/k8s/clusters/${clusterId(cluster)}/api/v1/namespaces/${
    checked(ref.namespace, namespaceNameProblem)
  }/${kind}/${checked(ref.name, objectNameProblem)}`;
}

/** A Secret's JSON as Kubernetes takes it. */
function secretJson(name: string, body: SecretBody & { resourceVersion?: string }) {
  return {
    apiVersion: "v1",
    kind: "Secret",
    metadata: {
      name,
      namespace: body.namespace,
      labels: body.labels,
      annotations: body.annotations,
      ...(body.resourceVersion === undefined
        ? {}
        : { resourceVersion: version(body.resourceVersion) }),
    },
    type: body.type,
    data: body.data,
  };
}

function named(ref: ObjectRef): string {
  return `${ref.namespace}/${ref.name}`;
}

/** The answer's data, or null when the server has no such object (404). */
async function orNull<T>(answer: Promise<{ data: T }>): Promise<T | null> {
  try {
    return (await answer).data;
  } catch (error) {
    if (error instanceof HttpError && error.status === 404) return null;
    throw error;
  }
}

/** A resourceVersion to make a write conditional on; an empty one (no condition) is refused. */
function version(resourceVersion: string): string {
  return checked(resourceVersion, (v) => v === "" ? "a write without a resourceVersion" : null);
}

/** A Kubernetes name (or version) `problem` finds nothing wrong with, or a refusal. */
function checked(name: string, problem: (name: string) => string | null): string {
  const why = problem(name);
  if (why !== null) {
    throw new BerthError(`refusing ${why}`, { system: "kubernetes", transient: false });
  }
  return name;
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
