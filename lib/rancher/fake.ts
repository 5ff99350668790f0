/**
 * A fake Rancher 2.x: the v3 (Norman) management API for clusters, projects and project role
 * template bindings, and the Kubernetes core/v1 API behind `/k8s/clusters/{id}` for namespaces,
 * pods, persistent volume claims, Secrets and ServiceAccounts. It answers as Rancher does (`rancher-v3-notes.md`):
 * ids `c-xxxxx:p-xxxxx`, Norman collection bodies with `pagination.next`, 422 for a project
 * quota without its namespace default (or a namespace default above the project's limit) and for
 * any change to a binding's immutable fields, API-key auth (basic or bearer), Kubernetes lists
 * with quantity strings, `limit`/`continue` paging and `labelSelector`/`fieldSelector`.
 *
 * This module assembles the server: the request log, the faults and API-key auth in front of
 * every path, then the sub-apps: `fake/projects.ts` and `fake/bindings.ts` (v3, sharing
 * `fake/norman.ts`), `fake/k8s.ts` (the proxy: namespaces, pods, claims) and `fake/objects.ts`
 * (its Secrets and ServiceAccounts), both answering as `fake/kube.ts` says, over the state in
 * `fake/state.ts`.
 */
import type { Hono, MiddlewareHandler } from "hono";
import { fakeApp } from "../fake_app.ts";
import { bindingsApp } from "./fake/bindings.ts";
import { k8sApp } from "./fake/k8s.ts";
import { normanError } from "./fake/norman.ts";
import { objectsApp } from "./fake/objects.ts";
import { projectsApp } from "./fake/projects.ts";
import { RancherState } from "./fake/state.ts";

/** The fake Rancher server. */
export class FakeRancher extends RancherState {
  /** The server: `/v3` and `/k8s/clusters`. */
  readonly app: Hono = rancherApp(this);
}

function rancherApp(state: RancherState): Hono {
  const app = fakeApp(state);
  app.use("*", apiKeyAuth(state.keys));
  app.route("/", projectsApp(state));
  app.route("/", bindingsApp(state));
  app.route("/k8s/clusters", k8sApp(state));
  app.route("/k8s/clusters", objectsApp(state));

  app.notFound((c) => c.json(normanError(404, "NotFound", "not found"), 404));
  return app;
}

/** API-key auth: Norman's 401 unless the request carries one of `keys`. */
function apiKeyAuth(keys: ReadonlyMap<string, string>): MiddlewareHandler {
  return async (c, next) => {
    if (!authorized(keys, c.req.header("authorization") ?? "")) {
      return c.json(normanError(401, "Unauthorized", "must authenticate"), 401);
    }
    await next();
  };
}

/** Whether the header carries a valid API key, as `Bearer access:secret` or basic auth. */
function authorized(keys: ReadonlyMap<string, string>, header: string): boolean {
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
  return i > 0 && keys.get(pair.slice(0, i)) === pair.slice(i + 1);
}

// The types of the fake's state and options (`fake/state.ts`), for tests and the demo.
export type {
  FakeContainer,
  FakePodSpec,
  FakeProject,
  FakePrtb,
  FakeRancherOptions,
  K8sStored,
  StoredKind,
} from "./fake/state.ts";
