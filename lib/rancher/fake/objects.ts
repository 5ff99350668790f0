/**
 * The fake Rancher's Kubernetes Secrets and ServiceAccounts (core/v1, per namespace), as the API
 * server answers them: Secrets listed (cluster-wide or per namespace, with selectors and paging),
 * read, created (409 AlreadyExists), replaced (409 Conflict on a stale `resourceVersion`, 422
 * for a changed `type`, which Kubernetes keeps immutable) and deleted (404 NotFound; 409 when
 * `preconditions` no longer hold); ServiceAccounts listed (cluster-wide, with a
 * `metadata.name` field selector), one read and JSON-merge-patched (a
 * `metadata.resourceVersion` in the patch is a precondition, 409 when stale). Data keys and
 * base64 values, names and the `kubernetes.io/dockerconfigjson` payload are validated as
 * Kubernetes validates them. Every write takes the next resourceVersion (`state.ts`).
 */
import { type Context, Hono } from "hono";
import { objectNameProblem } from "../schemas.ts";
import { json, stringMap } from "./body.ts";
import { k8sPage, k8sStatus } from "./kube.ts";
import {
  decodeBase64,
  encodeBase64,
  type Json,
  type K8sStored,
  objectMeta,
  type RancherState,
  type StoredKind,
} from "./state.ts";

const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
const KINDS: Record<StoredKind, string> = { secrets: "Secret", serviceaccounts: "ServiceAccount" };

/** Where a request points: cluster, namespace and (for one object) name. */
interface Where {
  cluster: string;
  namespace: string;
  name: string;
}

/** The Secret and ServiceAccount paths of the Kubernetes proxy, to mount at `/k8s/clusters`. */
export function objectsApp(state: RancherState): Hono {
  const app = new Hono();
  const ns = "/:cluster/api/v1/namespaces/:namespace";
  const where = (c: Context): Where => ({
    cluster: c.req.param("cluster") ?? "",
    namespace: c.req.param("namespace") ?? "",
    name: c.req.param("name") ?? "",
  });
  /** A 404 Status when the cluster (or the namespace) does not exist; null when it does. */
  const absent = (c: Context, w: Where): Response | null => {
    const namespaces = state.namespaces.get(w.cluster);
    if (!namespaces) return k8sStatus(c, 404, "NotFound", "cluster not found");
    if (w.namespace && !namespaces.has(w.namespace)) {
      return k8sStatus(c, 404, "NotFound", `namespaces "${w.namespace}" not found`);
    }
    return null;
  };
  const one = (kind: StoredKind) => (c: Context) => {
    const w = where(c);
    const found = state.object(kind, w.cluster, w.namespace, w.name);
    return found ? c.json(answer(kind, found)) : notFound(c, kind, w.name);
  };

  app.get("/:cluster/api/v1/secrets", (c) =>
    absent(c, where(c)) ??
      k8sPage(c, "SecretList", state.objectsIn("secrets", where(c).cluster)));
  app.get(`${ns}/secrets`, (c) => {
    const w = where(c);
    return absent(c, w) ??
      k8sPage(c, "SecretList", state.objectsIn("secrets", w.cluster, w.namespace));
  });
  app.post(`${ns}/secrets`, async (c) => {
    const w = where(c);
    const refused = absent(c, w);
    if (refused) return refused;
    const body = await json(c);
    if (!body) return k8sStatus(c, 400, "BadRequest", "the body is not a JSON object");
    const name = ((body.metadata ?? {}) as Json).name;
    if (typeof name !== "string" || name === "") {
      return invalid(
        c,
        "Secret",
        "",
        "metadata.name: Required value: name or generateName is required",
      );
    }
    const made = secretOf(c, body, { ...w, name });
    if (made instanceof Response) return made;
    if (state.object("secrets", w.cluster, w.namespace, made.metadata.name)) {
      return k8sStatus(c, 409, "AlreadyExists", `secrets "${made.metadata.name}" already exists`);
    }
    return c.json(answer("secrets", state.store("secrets", w.cluster, made)), 201);
  });
  app.get(`${ns}/secrets/:name`, one("secrets"));
  app.put(`${ns}/secrets/:name`, async (c) => {
    const w = where(c);
    const existing = state.object("secrets", w.cluster, w.namespace, w.name);
    if (!existing) return notFound(c, "secrets", w.name);
    const body = await json(c);
    if (!body) return k8sStatus(c, 400, "BadRequest", "the body is not a JSON object");
    const made = secretOf(c, body, w);
    if (made instanceof Response) return made;
    const wanted = ((body.metadata ?? {}) as Json).resourceVersion;
    const stale = staleness(c, "secrets", existing, wanted);
    if (stale) return stale;
    if (made.type !== existing.type) {
      return invalid(
        c,
        "Secret",
        w.name,
        `type: Invalid value: "${made.type}": field is immutable`,
      );
    }
    const { uid, creationTimestamp } = existing.metadata;
    return c.json(answer(
      "secrets",
      state.store("secrets", w.cluster, {
        ...made,
        metadata: { ...made.metadata, uid, creationTimestamp },
      }),
    ));
  });
  app.delete(`${ns}/secrets/:name`, async (c) => {
    const w = where(c);
    const existing = state.object("secrets", w.cluster, w.namespace, w.name);
    if (!existing) return notFound(c, "secrets", w.name);
    const pre = ((await json(c))?.preconditions ?? {}) as Json;
    const stale = staleness(c, "secrets", existing, pre.resourceVersion) ??
      (pre.uid !== undefined && pre.uid !== existing.metadata.uid
        ? conflict(c, "secrets", w.name, "Precondition failed: UID in precondition")
        : null);
    if (stale) return stale;
    state.stored.secrets.delete(`${w.cluster}/${w.namespace}/${w.name}`);
    return c.json({
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Success",
      details: { name: w.name, kind: "secrets", uid: existing.metadata.uid },
    });
  });
  app.get("/:cluster/api/v1/serviceaccounts", (c) =>
    absent(c, where(c)) ??
      k8sPage(c, "ServiceAccountList", state.objectsIn("serviceaccounts", where(c).cluster)));
  app.get(`${ns}/serviceaccounts/:name`, one("serviceaccounts"));
  app.patch(`${ns}/serviceaccounts/:name`, async (c) => {
    const w = where(c);
    const existing = state.object("serviceaccounts", w.cluster, w.namespace, w.name);
    if (!existing) return notFound(c, "serviceaccounts", w.name);
    const type = (c.req.header("content-type") ?? "").split(";")[0];
    if (type !== "application/merge-patch+json") {
      return k8sStatus(c, 415, "UnsupportedMediaType", `the fake takes merge patches, not ${type}`);
    }
    const patch = await json(c);
    if (!patch) return k8sStatus(c, 400, "BadRequest", "the patch is not a JSON object");
    const stale = staleness(
      c,
      "serviceaccounts",
      existing,
      ((patch.metadata ?? {}) as Json).resourceVersion,
    );
    if (stale) return stale;
    const merged = mergePatch(existing, patch) as Json;
    const problem = pullSecretsProblem(merged.imagePullSecrets);
    if (problem) return invalid(c, "ServiceAccount", w.name, problem);
    const meta = (merged.metadata ?? {}) as Json;
    return c.json(answer(
      "serviceaccounts",
      state.store("serviceaccounts", w.cluster, {
        ...merged,
        metadata: {
          ...existing.metadata,
          labels: stringMap(meta.labels),
          annotations: stringMap(meta.annotations),
        },
      }),
    ));
  });
  return app;
}

/**
 * The Secret a create or replace body makes at `w`, validated as Kubernetes validates one
 * (`stringData` merged into `data`, `type` defaulting to `Opaque`); the refusal otherwise.
 */
function secretOf(c: Context, body: Json, w: Where): Response | K8sStored {
  const meta = (body.metadata ?? {}) as Json;
  if (meta.namespace !== undefined && meta.namespace !== w.namespace) {
    return k8sStatus(
      c,
      400,
      "BadRequest",
      "the namespace of the provided object does not match the namespace sent on the request",
    );
  }
  if (meta.name !== w.name) {
    return k8sStatus(
      c,
      400,
      "BadRequest",
      `the name of the object (${
        String(meta.name)
      }) does not match the name on the URL (${w.name})`,
    );
  }
  const nameProblem = objectNameProblem(w.name);
  if (nameProblem) {
    return invalid(c, "Secret", w.name, `metadata.name: Invalid value: ${nameProblem}`);
  }
  const data: Record<string, string> = {};
  for (const [k, v] of Object.entries((body.data ?? {}) as Json)) {
    if (typeof v !== "string" || !BASE64.test(v)) {
      return k8sStatus(
        c,
        400,
        "BadRequest",
        `Secret in version "v1" cannot be handled: data[${k}]: illegal base64 data`,
      );
    }
    data[k] = v;
  }
  for (const [k, v] of Object.entries(stringMap(body.stringData))) {
    data[k] = encodeBase64(v);
  }
  const badKey = Object.keys(data).find((k) => !SECRET_KEY.test(k));
  if (badKey !== undefined) {
    return invalid(
      c,
      "Secret",
      w.name,
      `data[${badKey}]: Invalid value: "${badKey}": a valid config key must consist of ` +
        "alphanumeric characters, '-', '_' or '.'",
    );
  }
  const type = typeof body.type === "string" && body.type ? body.type : "Opaque";
  if (type === "kubernetes.io/dockerconfigjson") {
    const config = data[".dockerconfigjson"];
    if (config === undefined) {
      return invalid(c, "Secret", w.name, "data[.dockerconfigjson]: Required value");
    }
    try {
      JSON.parse(decodeBase64(config));
    } catch {
      return invalid(c, "Secret", w.name, "data[.dockerconfigjson]: Invalid value: not JSON");
    }
  }
  return {
    metadata: {
      ...objectMeta(w.name, w.namespace),
      namespace: w.namespace,
      labels: stringMap(meta.labels),
      annotations: stringMap(meta.annotations),
      resourceVersion: "",
    },
    type,
    data,
  };
}

/** A 409 Conflict when `wanted` (a resourceVersion the client sent) is not the object's; else null. */
function staleness(
  c: Context,
  kind: StoredKind,
  existing: K8sStored,
  wanted: unknown,
): Response | null {
  if (wanted === undefined || wanted === "" || wanted === existing.metadata.resourceVersion) {
    return null;
  }
  return conflict(
    c,
    kind,
    existing.metadata.name,
    "the object has been modified; please apply your changes to the latest version and try again",
  );
}

function conflict(c: Context, kind: StoredKind, name: string, why: string): Response {
  return k8sStatus(
    c,
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${kind} "${name}": ${why}`,
  );
}

function notFound(c: Context, kind: StoredKind, name: string): Response {
  return k8sStatus(c, 404, "NotFound", `${kind} "${name}" not found`);
}

function invalid(c: Context, kind: string, name: string, why: string): Response {
  return k8sStatus(c, 422, "Invalid", `${kind} "${name}" is invalid: ${why}`);
}

/** Why `imagePullSecrets` is not a list of `{name}`; null when it is (or is absent). */
function pullSecretsProblem(value: unknown): string | null {
  if (value === undefined || value === null) return null;
  if (
    !Array.isArray(value) ||
    !value.every((x) => typeof x === "object" && x !== null && typeof x.name === "string")
  ) {
    return "imagePullSecrets: Invalid value: a list of {name} is required";
  }
  return null;
}

/** RFC 7386: `patch` merged into `target` (null removes a key; arrays and scalars replace). */
function mergePatch(target: unknown, patch: unknown): unknown {
  if (typeof patch !== "object" || patch === null || Array.isArray(patch)) return patch;
  const out: Json = typeof target === "object" && target !== null && !Array.isArray(target)
    ? { ...target as Json }
    : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

/** A stored object as the API answers it: with its kind. */
function answer(kind: StoredKind, object: K8sStored): Json {
  return { apiVersion: "v1", kind: KINDS[kind], ...object };
}
