/**
 * How the fake Rancher's v3 (Norman) API answers, shared by its route modules: the error body,
 * the 404 for a missing object, and a collection: field filters, then `limit`/`marker` paging
 * with `pagination.next`.
 */
import type { Context } from "hono";
import type { Json } from "./state.ts";

/** Norman's error body. */
export function normanError(
  status: number,
  code: string,
  message: string,
  fieldName?: string,
): Json {
  return {
    type: "error",
    baseType: "error",
    status: String(status),
    code,
    message,
    ...(fieldName ? { fieldName } : {}),
  };
}

/** Norman's 404 for an object of `type` that does not exist. */
export function notFound(c: Context, type: string, id: string): Response {
  return c.json(normanError(404, "NotFound", `${type} "${id}" not found`), 404);
}

/** The origin the request came to, for the links Norman puts in every object. */
export function originOf(c: Context): string {
  return new URL(c.req.url).origin;
}

/** How {@link collection} reads and pages a list. */
export interface CollectionOptions<T extends Json> {
  /** Stored fields whose JSON value is the stored one: filters on them run before `toJson`. */
  stored: ReadonlySet<string>;
  /** The object as the API answers it, its links on `origin`. */
  toJson: (x: T, origin: string) => Json;
  /** The page size when the request gives no `limit`. */
  defaultLimit: number;
}

/** A Norman collection: field filters, then `limit`/`marker` paging with `pagination.next`. */
export function collection<T extends Json>(
  c: Context,
  all: T[],
  { stored, toJson, defaultLimit }: CollectionOptions<T>,
): Response {
  const u = new URL(c.req.url);
  const filters = [...u.searchParams].filter(([k]) =>
    k !== "limit" && k !== "marker" && k !== "sort" && k !== "order"
  );
  // Filters on stored fields go first, before the (costlier) JSON of each item is built.
  let raw = all;
  for (const [k, v] of filters) {
    if (stored.has(k)) raw = raw.filter((x) => String(x[k] ?? "") === v);
  }
  const origin = u.origin;
  let items = raw.map((x) => toJson(x, origin));
  for (const [k, v] of filters) {
    if (!stored.has(k)) items = items.filter((x) => String(x[k] ?? "") === v);
  }
  // By id in code-unit order, the order the marker comparison below pages in.
  items.sort((a, b) => (String(a.id) < String(b.id) ? -1 : String(a.id) > String(b.id) ? 1 : 0));
  const limit = Math.min(
    3000,
    Number(u.searchParams.get("limit") ?? defaultLimit) || defaultLimit,
  );
  const marker = u.searchParams.get("marker");
  const start = marker ? items.findIndex((x) => String(x.id) > marker) : 0;
  const from = start < 0 ? items.length : start;
  const page = items.slice(from, from + limit);
  const pagination: Json = { limit, total: items.length };
  const last = page.at(-1);
  if (from + limit < items.length && last) {
    const next = new URL(u);
    next.searchParams.set("marker", String(last.id));
    pagination.next = next.toString();
    pagination.partial = true;
  }
  return c.json({
    type: "collection",
    resourceType: u.pathname.split("/").at(-1)?.replace(/s$/, ""),
    links: { self: u.toString() },
    actions: {},
    createTypes: {},
    data: page,
    pagination,
    sort: { order: "asc", reverse: "", links: {} },
    filters: {},
  });
}
