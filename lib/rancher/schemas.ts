/**
 * zod schemas of what Rancher's v3 (Norman) API and the Kubernetes core/v1 API answer, as far
 * as Berth reads them (`spec/rancher-v3-notes.md`, `spec/kubernetes-core-v1-notes.md`).
 * Objects are loose: servers add fields, and Berth must not break on them.
 */
import { z } from "zod";

const StringMap = z.record(z.string(), z.string());

/** `resourceQuotaLimit`: every value a quantity string. */
export const QuotaLimit = z.object({
  limitsCpu: z.string().optional(),
  limitsMemory: z.string().optional(),
  requestsCpu: z.string().optional(),
  requestsMemory: z.string().optional(),
  requestsStorage: z.string().optional(),
  pods: z.string().optional(),
});
export type QuotaLimit = z.infer<typeof QuotaLimit>;

/** A Rancher v3 project (Norman `/v3/projects`): quota, namespace default quota, Berth's annotations. */
export const Project = z.object({
  id: z.string().min(1),
  name: z.string(),
  clusterId: z.string(),
  description: z.string().nullish(),
  state: z.string().nullish(),
  annotations: StringMap.nullish(),
  labels: StringMap.nullish(),
  resourceQuota: z.object({ limit: QuotaLimit.nullish(), usedLimit: QuotaLimit.nullish() })
    .nullish(),
  namespaceDefaultResourceQuota: z.object({ limit: QuotaLimit.nullish() }).nullish(),
});
export type Project = z.infer<typeof Project>;

/** A project role template binding: a user or group principal bound to a project with a role. */
export const Prtb = z.object({
  id: z.string().min(1),
  projectId: z.string(),
  roleTemplateId: z.string(),
  groupPrincipalId: z.string().nullish(),
  userId: z.string().nullish(),
  userPrincipalId: z.string().nullish(),
  groupId: z.string().nullish(),
});
export type Prtb = z.infer<typeof Prtb>;

/** A Rancher v3 cluster, as `berth diagnose` reads it (state, Kubernetes version). */
export const Cluster = z.object({
  id: z.string(),
  name: z.string(),
  state: z.string().nullish(),
  version: z.object({ gitVersion: z.string().optional() }).nullish(),
});
export type Cluster = z.infer<typeof Cluster>;

/** A Norman collection body. */
export interface Collection<T> {
  type: "collection";
  data: T[];
  pagination?:
    | { next?: string | null | undefined; total?: number | null | undefined }
    | null
    | undefined;
}

/** A Norman collection of `item`. */
export function collection<T>(item: z.ZodType<T>): z.ZodType<Collection<T>> {
  return z.object({
    type: z.literal("collection"),
    data: z.array(item),
    pagination: z.object({
      next: z.string().nullish(),
      limit: z.number().optional(),
      total: z.number().nullish(),
    }).nullish(),
  });
}

const Meta = z.object({
  name: z.string(),
  namespace: z.string().optional(),
  labels: StringMap.nullish(),
  annotations: StringMap.nullish(),
});

const Resources = z.object({
  requests: StringMap.nullish(),
  limits: StringMap.nullish(),
});

const Container = z.object({
  name: z.string(),
  resources: Resources.nullish(),
  restartPolicy: z.string().nullish(),
});

/** A Kubernetes namespace through the Rancher proxy; its project is in a label or annotation. */
export const Namespace = z.object({
  metadata: Meta,
  status: z.object({ phase: z.string().optional() }).nullish(),
});
export type Namespace = z.infer<typeof Namespace>;

/** A pod with what its requests count against quota (containers, init containers, overhead). */
export const Pod = z.object({
  metadata: Meta,
  spec: z.object({
    containers: z.array(Container),
    initContainers: z.array(Container).nullish(),
    overhead: StringMap.nullish(),
    resources: Resources.nullish(),
  }),
  status: z.object({ phase: z.string().optional() }).nullish(),
});
export type Pod = z.infer<typeof Pod>;

/** A persistent volume claim: its namespace and requested storage. */
export const Pvc = z.object({
  metadata: Meta,
  spec: z.object({ resources: Resources.nullish() }),
  status: z.object({ phase: z.string().optional() }).nullish(),
});
export type Pvc = z.infer<typeof Pvc>;

/** Metadata of an object Berth may write: what a conditional write or delete needs back. */
const WrittenMeta = Meta.extend({
  resourceVersion: z.string().optional(),
  uid: z.string().optional(),
});

/**
 * A Secret as a list for planning reads it: metadata and `type`, never its `data` (the values
 * are dropped in the parse; only {@link Secret} keeps them).
 */
export const SecretMeta = z.object({
  metadata: WrittenMeta,
  type: z.string().optional(),
});
export type SecretMeta = z.infer<typeof SecretMeta>;

/** A Secret with its `data` (key → base64 value): read one at a time, where a credential is read. */
export const Secret = SecretMeta.extend({
  data: z.record(z.string(), z.base64()).nullish(),
});
export type Secret = z.infer<typeof Secret>;

/** A ServiceAccount: its metadata and the Secrets its pods pull images with. */
export const ServiceAccount = z.object({
  metadata: WrittenMeta,
  imagePullSecrets: z.array(z.object({ name: z.string().default("") })).nullish(),
});
export type ServiceAccount = z.infer<typeof ServiceAccount>;

/** A Kubernetes list body. */
export interface K8sList<T> {
  kind: string;
  metadata?:
    | { continue?: string | null | undefined; remainingItemCount?: number | null | undefined }
    | null
    | undefined;
  items: T[];
}

/** A Kubernetes list (`NamespaceList`, `PodList`, ...). */
export function k8sList<T>(item: z.ZodType<T>): z.ZodType<K8sList<T>> {
  return z.object({
    kind: z.string(),
    metadata: z.object({
      continue: z.string().nullish(),
      remainingItemCount: z.number().nullish(),
    }).nullish(),
    items: z.array(item),
  });
}

/** The annotation and label that tie a namespace to its Rancher project. */
export const PROJECT_ID_KEY = "field.cattle.io/projectId";

/**
 * An object name as Kubernetes requires of Secrets and ServiceAccounts (an RFC 1123 subdomain:
 * at most 253 characters, dot-separated labels); null when it is one.
 */
export function objectNameProblem(name: string): string | null {
  if (name.length > 253) return `"${name.slice(0, 70)}" is longer than 253 characters`;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/.test(name)) {
    return `"${name.slice(0, 70)}" is not a valid Kubernetes object name ` +
      "(lower-case letters, digits, '-' and '.', starting and ending with a letter or digit)";
  }
  return null;
}

/** A namespace name as Kubernetes requires (RFC 1123 label); null when it is one. */
export function namespaceNameProblem(name: string): string | null {
  if (name.length > 63) return `"${name.slice(0, 70)}" is longer than 63 characters`;
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(name)) {
    return `"${name.slice(0, 70)}" is not a valid Kubernetes namespace name ` +
      "(lower-case letters, digits and '-', starting and ending with a letter or digit)";
  }
  return null;
}
