/**
 * The fake Rancher's proxy to each cluster's Kubernetes API, `/k8s/clusters/{id}`: core/v1
 * namespaces (list, read, create with the name rule, delete; Rancher copies the project
 * annotation into a label) and pods and persistent volume claims (cluster-wide or per
 * namespace). A new namespace gets its `default` ServiceAccount; a deleted one takes what it
 * holds with it. Lists and errors as `kube.ts` answers them.
 */
import { type Context, Hono } from "hono";
import { namespaceNameProblem, PROJECT_ID_KEY } from "../schemas.ts";
import { json, stringMap } from "./body.ts";
import { k8sPage, k8sStatus } from "./kube.ts";
import { type Json, type K8sObject, objectMeta, type RancherState } from "./state.ts";

/** The Kubernetes proxy, to mount at `/k8s/clusters`. */
export function k8sApp(state: RancherState): Hono {
  const k8s = new Hono();
  const clusterOf = (c: Context) => state.namespaces.get(c.req.param("cluster") ?? "");
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
        ...objectMeta(name),
        labels: stringMap(meta.labels),
        annotations: stringMap(meta.annotations),
      },
      spec: { finalizers: ["kubernetes"] },
      status: { phase: "Active" },
    };
    // Rancher's nslabels controller copies the project annotation into a label (no cluster part).
    const projectId = ns.metadata.annotations[PROJECT_ID_KEY];
    if (projectId) ns.metadata.labels[PROJECT_ID_KEY] = projectId.split(":")[1] ?? "";
    state.addNamespace(c.req.param("cluster") ?? "", ns);
    return c.json({ apiVersion: "v1", kind: "Namespace", ...ns }, 201);
  });
  k8s.delete("/:cluster/api/v1/namespaces/:name", (c) => {
    const name = c.req.param("name");
    if (!clusterOf(c)?.has(name)) {
      return k8sStatus(c, 404, "NotFound", `namespaces "${name}" not found`);
    }
    state.removeNamespace(c.req.param("cluster") ?? "", name);
    return k8sStatus(c, 200, "", "", "Success");
  });
  const listIn =
    (store: Map<string, K8sObject[]>, kind: string, namespaced: boolean) => (c: Context) => {
      const cluster = c.req.param("cluster") ?? "";
      if (!state.namespaces.has(cluster)) {
        return k8sStatus(c, 404, "NotFound", "cluster not found");
      }
      let items = store.get(cluster) ?? [];
      if (namespaced) {
        items = items.filter((x) => x.metadata.namespace === c.req.param("namespace"));
      }
      return k8sPage(c, kind, items);
    };
  k8s.get("/:cluster/api/v1/pods", listIn(state.pods, "PodList", false));
  k8s.get("/:cluster/api/v1/namespaces/:namespace/pods", listIn(state.pods, "PodList", true));
  k8s.get(
    "/:cluster/api/v1/persistentvolumeclaims",
    listIn(state.pvcs, "PersistentVolumeClaimList", false),
  );
  k8s.get(
    "/:cluster/api/v1/namespaces/:namespace/persistentvolumeclaims",
    listIn(state.pvcs, "PersistentVolumeClaimList", true),
  );
  return k8s;
}
