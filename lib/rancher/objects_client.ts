/**
 * The Kubernetes objects Berth writes through Rancher's `/k8s/clusters/{id}` proxy: Secrets and
 * ServiceAccounts, as part of the Rancher client (`client.ts` spreads {@link kubeObjects} into
 * it). A list of Secrets (always narrowed by a label selector) keeps metadata and `type` only;
 * `secret()` is the one read that returns `data`. A list of ServiceAccounts keeps metadata and
 * `imagePullSecrets`. Writes are conditional on the `resourceVersion` Berth read: a Secret is
 * replaced whole with PUT (Berth writes all of it), a ServiceAccount's `imagePullSecrets` are set
 * with a JSON merge patch (`application/merge-patch+json`) carrying `metadata.resourceVersion`
 * as its precondition, so the fields Berth does not model are never sent back and lost; the list
 * is `x-kubernetes-list-type: atomic`, so a strategic merge patch would replace it just the same.
 * Either way a stale version is a 409 Conflict (`isConflict`): read again, decide again.
 */
import type { z } from "zod";
import { BerthError, HttpError } from "../errors.ts";
import { type HttpResponse, type QueryValue, urlPath } from "../http.ts";
import {
  namespaceNameProblem,
  objectNameProblem,
  Secret,
  SecretMeta,
  ServiceAccount,
} from "./schemas.ts";

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

/** The Secret and ServiceAccount calls of the Rancher client. */
export interface KubeObjects {
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
  /** Creates a Secret; a 409 (`isConflict`) when one of that name exists. */
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
  /**
   * The cluster's ServiceAccounts, all pages, metadata and `imagePullSecrets` only; with `name`,
   * only those of that name (a `metadata.name` field selector): one list for every namespace.
   */
  listServiceAccounts(clusterId: string, name?: string): Promise<ServiceAccount[]>;
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

/** What {@link kubeObjects} is built on: the client's calls and lists. */
export interface KubeCalls {
  /** One request, its errors in the operator's words. */
  call<T>(
    method: string,
    path: string,
    action: string,
    opts?: {
      query?: Record<string, QueryValue>;
      body?: unknown;
      schema?: z.ZodType<T>;
      headers?: Record<string, string>;
      idempotent?: boolean;
    },
  ): Promise<HttpResponse<T>>;
  /** A Kubernetes list under the cluster's `/api/v1`, every page. */
  list<T>(
    cluster: string,
    path: string,
    item: z.ZodType<T>,
    action: string,
    query?: Record<string, QueryValue>,
  ): Promise<T[]>;
  /** `/k8s/clusters/<id>/api/v1` of a cluster, its id checked. */
  root(cluster: string): string;
}

/** The Secret and ServiceAccount calls over the client's `call` and `list`. */
export function kubeObjects(k: KubeCalls): KubeObjects {
  const { call } = k;
  /** The path of one Secret or ServiceAccount, its namespace and name checked. */
  const objectPath = (cluster: string, kind: "secrets" | "serviceaccounts", ref: ObjectRef) =>
    k.root(cluster) +
    urlPath`/namespaces/${checked(ref.namespace, namespaceNameProblem)}/${kind}/${
      checked(ref.name, objectNameProblem)
    }`;
  return {
    listSecrets: async (clusterId, { namespace, labelSelector }) =>
      await k.list(
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
        k.root(cluster) +
          urlPath`/namespaces/${checked(body.namespace, namespaceNameProblem)}/secrets`,
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
    listServiceAccounts: async (clusterId, name) =>
      await k.list(
        clusterId,
        "/serviceaccounts",
        ServiceAccount,
        name === undefined
          ? `list the service accounts of ${clusterId}`
          : `list the service accounts ${name} of ${clusterId}`,
        name === undefined
          ? {}
          : { fieldSelector: `metadata.name=${checked(name, objectNameProblem)}` },
      ),
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
export async function orNull<T>(answer: Promise<{ data: T }>): Promise<T | null> {
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
