/**
 * What the fake Harbor's route modules share, answering as Harbor's v2.0 API does: its error
 * body, the JSON body of a request, its paging (`page`, `page_size`, `X-Total-Count`, `Link`),
 * its `q` filter, the robot's permission check (403) and the project named or numbered in a path.
 */
import type { Context, MiddlewareHandler } from "hono";
import type { FakeProject, HarborPermission, HarborState } from "./state.ts";

/** Harbor's error body: `{"errors": [{code, message}]}` with this status. */
export function error(c: Context, status: number, code: string, message: string): Response {
  return c.json({ errors: [{ code, message }] }, status as 400);
}

/** The request's JSON body when it is an object; undefined otherwise. */
export async function json(c: Context): Promise<Record<string, unknown> | undefined> {
  try {
    const body = await c.req.json();
    return body && typeof body === "object" && !Array.isArray(body) ? body : undefined;
  } catch {
    return undefined;
  }
}

/** Harbor's paging: `page` (1-based), `page_size` (default 10, at most 100), headers. */
export function page<T>(c: Context, all: T[]): Response {
  const pageNo = Number(c.req.query("page") ?? "1");
  const size = Number(c.req.query("page_size") ?? "10");
  if (!Number.isInteger(pageNo) || pageNo < 1) {
    return error(c, 422, "UNPROCESSABLE_ENTITY", "page in query should be greater than 0");
  }
  if (!Number.isInteger(size) || size < 1 || size > 100) {
    return error(
      c,
      422,
      "UNPROCESSABLE_ENTITY",
      "page_size in query should be less than or equal to 100",
    );
  }
  const items = all.slice((pageNo - 1) * size, pageNo * size);
  const url = new URL(c.req.url);
  const link = (n: number, rel: string) => {
    url.searchParams.set("page", String(n));
    url.searchParams.set("page_size", String(size));
    return `<${url.pathname}${url.search}>; rel="${rel}"`;
  };
  const links: string[] = [];
  if (pageNo > 1) links.push(link(pageNo - 1, "prev"));
  if (pageNo * size < all.length) links.push(link(pageNo + 1, "next"));
  c.header("x-total-count", String(all.length));
  if (links.length) c.header("link", links.join(" , "));
  return c.json(items);
}

/** One clause of Harbor's `q`: `key=value` (exact) or `key=~value` (fuzzy: contains). */
export interface QueryClause {
  key: string;
  value: string;
  fuzzy: boolean;
}

/**
 * Harbor's `q` as Harbor reads it: unescaped once more, split at commas, `k=v` exact, `k=~v`
 * fuzzy, a leading backslash escaping the value; ranges and lists (`[ { (`) are not served.
 * Only the `keys` a route filters by are taken; a string says why the query is refused (400).
 */
export function harborQuery(c: Context, keys: readonly string[]): QueryClause[] | string {
  let q = c.req.query("q") ?? "";
  if (q === "") return [];
  try {
    q = decodeURIComponent(q.replaceAll("+", " "));
  } catch {
    // Harbor keeps a query it cannot unescape as it came
  }
  const clauses: QueryClause[] = [];
  for (const param of q.split(",")) {
    const at = param.indexOf("=");
    const key = param.slice(0, at);
    let value = param.slice(at + 1);
    if (at <= 0 || value === "") {
      return 'the query string must contain "=" and the key/value cannot be empty';
    }
    if (!keys.includes(key)) return `the fake does not filter by ${key}`;
    if (/^[[{(]/.test(value)) return `the fake serves no range or list: ${value}`;
    const fuzzy = value.startsWith("~");
    if (fuzzy) value = value.slice(1);
    else if (value.startsWith("\\")) value = value.slice(1);
    clauses.push({ key, value, fuzzy });
  }
  return clauses;
}

/** Whether `text` passes the clause: equal, or containing the value when fuzzy. */
export function matches(clause: QueryClause, text: string): boolean {
  return clause.fuzzy ? text.includes(clause.value) : text === clause.value;
}

/** A middleware answering Harbor's 403 when the robot lacks `permission`. */
export function need(state: HarborState, permission: HarborPermission): MiddlewareHandler {
  return async (c, next) => {
    if (!state.can(permission)) {
      return error(
        c,
        403,
        "FORBIDDEN",
        `forbidden: the robot has no permission ${permission.replace(":", " ")}`,
      );
    }
    await next();
  };
}

/** The project of the path: by id, or by name when `X-Is-Resource-Name: true` or not numeric. */
export function findProject(state: HarborState, c: Context): FakeProject | undefined {
  const raw = c.req.param("project_name_or_id") ?? "";
  const asName = c.req.header("x-is-resource-name") === "true";
  if (!asName && /^\d+$/.test(raw)) return state.projects.get(Number(raw));
  return state.project(raw);
}

/** The 404 for a project the path names that does not exist. */
export function projectNotFound(c: Context): Response {
  return error(c, 404, "NOT_FOUND", `project ${c.req.param("project_name_or_id")} not found`);
}
