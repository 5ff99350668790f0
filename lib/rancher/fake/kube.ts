/**
 * How the fake Rancher's Kubernetes proxy answers, shared by its route modules: the `Status`
 * body of a refusal (or of a delete), and a list page: `labelSelector` (`key=value`,
 * `key==value`, `key!=value`, `key`, `!key`, comma for "and"), `fieldSelector` on
 * `status.phase`, `metadata.name` and `metadata.namespace`, then `limit`/`continue` paging with
 * `remainingItemCount`.
 */
import type { Context } from "hono";
import type { Json } from "./state.ts";

/** What a list page reads of an object: its name and labels, and its status when it has one. */
interface Listed {
  metadata: { name: string; namespace?: string; labels: Record<string, string> };
  status?: Json;
}

/** A Kubernetes `Status` body with its HTTP status (a refusal, or a delete's `Success`). */
export function k8sStatus(
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

/** A Kubernetes list page of `all`: selectors, then `limit`/`continue`. */
export function k8sPage(c: Context, kind: string, all: Listed[]): Response {
  let items = all;
  for (const term of (c.req.query("labelSelector") ?? "").split(",").filter(Boolean)) {
    const match = labelTerm(term);
    if (!match) return k8sStatus(c, 400, "BadRequest", `unable to parse requirement: ${term}`);
    items = items.filter((x) => match(x.metadata.labels));
  }
  const fieldSelector = c.req.query("fieldSelector");
  if (fieldSelector) {
    for (const term of fieldSelector.split(",")) {
      const m = /^(status\.phase|metadata\.name|metadata\.namespace)(!=|==|=)([-.\w]+)$/.exec(
        term,
      );
      if (!m) return k8sStatus(c, 400, "BadRequest", `field label not supported: ${term}`);
      const field = (x: Listed) =>
        m[1] === "status.phase"
          ? x.status?.phase
          : m[1] === "metadata.name"
          ? x.metadata.name
          : x.metadata.namespace;
      items = items.filter((x) => (field(x) === m[3]) === (m[2] !== "!="));
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

/** One requirement of a label selector as a test on labels; null when it does not parse. */
function labelTerm(term: string): ((labels: Record<string, string>) => boolean) | null {
  const m = /^\s*(!?)([\w./-]+)\s*(?:(==|=|!=)\s*([\w.-]*))?\s*$/.exec(term);
  if (!m) return null;
  const [, not, key = "", op, value] = m;
  if (not) return op ? null : (labels) => !(key in labels);
  if (!op) return (labels) => key in labels;
  return op === "!=" ? (labels) => labels[key] !== value : (labels) => labels[key] === value;
}
