/**
 * Rancher's two kinds of list, read to the end and bounded by {@link MAX_LIST_ITEMS}: Norman
 * collections by `pagination.next` (a link that is followed only to the origin of backend_url
 * and never back to a page already read), Kubernetes lists by `metadata.continue` (never a token
 * already sent). A list past the bound is an error, never a truncation.
 */
import { BerthError } from "../errors.ts";
import { cleanExcerpt, joinUrl, type QueryValue } from "../http.ts";
import { listTooLong, MAX_LIST_ITEMS } from "../list_limit.ts";
import type { Collection, K8sList } from "./schemas.ts";

/** Where one page is: a path under the base and its query. */
export interface PageAt {
  path: string;
  query: Record<string, QueryValue>;
}

/**
 * Every page of a Norman collection from `path` + `query` (which carries `limit`), following
 * `pagination.next` until there is none or a page is empty. A `pagination.total` or a list past
 * `MAX_LIST_ITEMS`, or more pages than twice that many items take, is an error.
 */
export async function readNorman<T>(options: {
  /** backend_url without `/v3`. */
  base: string;
  path: string;
  query: Record<string, QueryValue>;
  pageSize: number;
  action: string;
  get: (at: PageAt) => Promise<Collection<T>>;
}): Promise<T[]> {
  const { base, action } = options;
  const out: T[] = [];
  let at: PageAt = { path: options.path, query: options.query };
  const read = new Set([pageKey(new URL(joinUrl(base, at.path, at.query)))]);
  for (let pages = 1;; pages++) {
    const body = await options.get(at);
    const total = body.pagination?.total;
    if (typeof total === "number" && total > MAX_LIST_ITEMS) {
      throw listTooLong("rancher", action, { announced: total });
    }
    out.push(...body.data);
    const link = body.pagination?.next;
    if (!link || body.data.length === 0) return out;
    if (out.length >= MAX_LIST_ITEMS) throw listTooLong("rancher", action);
    if (pages * options.pageSize >= 2 * MAX_LIST_ITEMS) {
      throw listTooLong("rancher", action, { pages });
    }
    at = follow(base, link, read, action);
  }
}

/**
 * A `pagination.next` link as a path under the base and its query. A link to another origin
 * (credentials would go with it) or to a page already read (a loop) is refused: never requested.
 */
function follow(base: string, link: string, read: Set<string>, action: string): PageAt {
  const origin = new URL(base).origin;
  const u = URL.parse(link, base);
  if (!u || u.origin !== origin) {
    throw new BerthError(
      `rancher: cannot ${action}: the next page is at ${
        cleanExcerpt(u?.origin ?? link, 100)
      }, not at backend_url ${origin}; refusing to follow it`,
      { system: "rancher", transient: false },
    );
  }
  const key = pageKey(u);
  if (read.has(key)) {
    throw new BerthError(
      `rancher: cannot ${action}: pagination.next points to a page already read; refusing`,
      { system: "rancher", transient: false },
    );
  }
  read.add(key);
  const query: Record<string, string[]> = {};
  for (const [k, v] of u.searchParams) (query[k] ??= []).push(v);
  const basePath = new URL(base).pathname.replace(/\/+$/, "");
  const path = u.pathname.startsWith(basePath) ? u.pathname.slice(basePath.length) : u.pathname;
  return { path, query };
}

/**
 * Every page of a Kubernetes list, following `metadata.continue` (a filtered page may be empty
 * and still continue). A token already sent, a list past `MAX_LIST_ITEMS` (read, or announced
 * by `remainingItemCount`), or more pages than twice that many items take, is an error.
 */
export async function readK8s<T>(options: {
  pageSize: number;
  action: string;
  get: (cont: string | undefined) => Promise<K8sList<T>>;
}): Promise<T[]> {
  const { action } = options;
  const out: T[] = [];
  const sent = new Set<string>();
  let cont: string | undefined;
  for (let pages = 1;; pages++) {
    const body = await options.get(cont);
    out.push(...body.items);
    const announced = out.length + (body.metadata?.remainingItemCount ?? 0);
    if (announced > MAX_LIST_ITEMS) throw listTooLong("kubernetes", action, { announced });
    cont = body.metadata?.continue || undefined;
    if (!cont) return out;
    if (sent.has(cont)) {
      throw new BerthError(
        `kubernetes: cannot ${action}: metadata.continue repeats a token already sent; refusing`,
        { system: "kubernetes", transient: false },
      );
    }
    sent.add(cont);
    if (out.length >= MAX_LIST_ITEMS) throw listTooLong("kubernetes", action);
    if (pages * options.pageSize >= 2 * MAX_LIST_ITEMS) {
      throw listTooLong("kubernetes", action, { pages });
    }
  }
}

/** A page's URL as compared for repeats: the query sorted, no fragment. */
function pageKey(u: URL): string {
  const copy = new URL(u);
  copy.searchParams.sort();
  copy.hash = "";
  return copy.toString();
}
