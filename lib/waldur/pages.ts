/**
 * Waldur's lists, read by DRF page number (`page`, `page_size` at most 300) and bounded by
 * {@link MAX_LIST_ITEMS}. {@link readAll} reads a whole list (resources, usages): to the end by
 * `x-result-count`, or to a short page when there is no count. {@link readPages} reads an order
 * listing page by page while the caller finishes the orders of each page, which leave the listing
 * and move the later ones up.
 */
import { z } from "zod";
import { BerthError, HttpError } from "../errors.ts";
import type { Budget } from "../budget.ts";
import type { Http, QueryValue } from "../http.ts";
import { announcedCount, listTooLong, MAX_LIST_ITEMS } from "../list_limit.ts";
import { describeIssues } from "../zod_issues.ts";
import type { Rejected } from "./schemas.ts";

/** A list whose malformed items were set aside instead of failing the whole call. */
export interface Checked<T> {
  items: T[];
  rejected: Rejected[];
}

/** Waldur's maximum (a server that caps lower is still paged to the end by x-result-count). */
export const PAGE_SIZE = 300;

/** Every page of a list, each item checked on its own. */
export async function readAll<T>(
  http: Http,
  path: string,
  schema: z.ZodType<T>,
  query: Record<string, QueryValue>,
  action: string,
  budget?: Budget,
): Promise<Checked<T>> {
  const out: Checked<T> = { items: [], rejected: [] };
  let seen = 0;
  try {
    return await readInto(out, http, path, schema, query, action, budget, (n) => seen = n);
  } finally {
    budget?.release(seen);
  }
}

async function readInto<T>(
  out: Checked<T>,
  http: Http,
  path: string,
  schema: z.ZodType<T>,
  query: Record<string, QueryValue>,
  action: string,
  budget: Budget | undefined,
  held: (n: number) => void,
): Promise<Checked<T>> {
  let seen = 0;
  for (let page = 1;; page++) {
    const res = await http.request("GET", path, {
      query: { ...query, page, page_size: PAGE_SIZE },
      schema: z.array(z.unknown()),
      action,
    });
    const total = announcedCount("waldur", action, res.headers.get("x-result-count"));
    for (const raw of res.data) {
      const parsed = schema.safeParse(raw);
      if (parsed.success) out.items.push(parsed.data);
      else out.rejected.push(rejectedItem(raw, parsed.error.issues));
    }
    seen += res.data.length;
    if (res.data.length === 0) break;
    if (total === undefined ? res.data.length < PAGE_SIZE : seen >= total) break;
    if (seen >= MAX_LIST_ITEMS) throw listTooLong("waldur", action);
    if (budget && !budget.take(res.data.length)) {
      // several long lists at once (every loop of every offering) cannot add up without bound
      throw new BerthError(
        `waldur: cannot ${action}: the lists being read at once hold more than ${
          budget.limit.toLocaleString("en")
        } items; retried at the next pass`,
        { system: "waldur", transient: true },
      );
    }
    held(seen);
  }
  return out;
}

/**
 * A listing, page by page, for a caller that acts on each page before the next is read (one
 * page of items held at a time). Each item is yielded once (by uuid); the caller passes `next()`
 * how many items of the page just yielded left the listing (orders it finished), and the next
 * read starts at the first item not read yet, where it is now: the page (number and size, see
 * {@link pageAt}) that starts at or before it and reaches furthest past it. The items that moved
 * up are not skipped; the ones read twice are not yielded twice.
 *
 * It ends at an empty page, at the announced count, at a short page when there is no count, or
 * past the end (DRF's 404 "Invalid page." when the listing got shorter meanwhile). Past
 * {@link MAX_LIST_ITEMS} items, or twice the reads that many take, it is {@link listTooLong}.
 */
export async function* readPages<T extends { uuid: string }>(
  http: Http,
  path: string,
  schema: z.ZodType<T>,
  query: Record<string, QueryValue>,
  action: string,
): AsyncGenerator<Checked<T>, void, number | undefined> {
  const yielded = new Set<string>();
  let distinct = 0;
  /** The server's page size: lower than ours when it caps `page_size`. */
  let size = PAGE_SIZE;
  /** Where the first item not read yet is in the listing now. */
  let offset = 0;
  for (let reads = 1;; reads++) {
    if (reads > 2 * Math.ceil(MAX_LIST_ITEMS / size) + 2) {
      throw listTooLong("waldur", action, { pages: reads - 1 });
    }
    const at = pageAt(offset, size);
    let data: unknown[];
    let total: number | undefined;
    try {
      const res = await http.request("GET", path, {
        query: { ...query, page: at.page, page_size: at.size },
        schema: z.array(z.unknown()),
        action,
      });
      data = res.data;
      total = announcedCount("waldur", action, res.headers.get("x-result-count"));
    } catch (error) {
      if (at.page > 1 && error instanceof HttpError && error.status === 404) return;
      throw error;
    }
    const start = (at.page - 1) * at.size;
    const end = start + data.length;
    // a first page shorter than asked for while the count says more: the server's maximum
    if (at.page === 1 && total !== undefined && data.length > 0 && data.length < at.size) {
      if (end < total) size = Math.min(size, data.length);
    }
    const page: Checked<T> = { items: [], rejected: [] };
    data.forEach((raw, i) => {
      const parsed = schema.safeParse(raw);
      if (!parsed.success) {
        if (start + i >= offset) page.rejected.push(rejectedItem(raw, parsed.error.issues));
      } else if (!yielded.has(parsed.data.uuid)) {
        yielded.add(parsed.data.uuid);
        page.items.push(parsed.data);
      }
    });
    distinct += page.items.length + page.rejected.length;
    if (distinct > MAX_LIST_ITEMS) throw listTooLong("waldur", action);
    const last = end <= offset || (total === undefined ? data.length < at.size : end >= total);
    const left = page.items.length + page.rejected.length > 0 ? (yield page) ?? 0 : 0;
    if (last) return;
    offset = end - Math.max(0, Math.min(left, page.items.length));
  }
}

/**
 * The DRF page (number, and size at most `max`) that starts at or before `offset` and reaches
 * furthest past it: `max` when `offset` is on a page boundary (every item finished, or none),
 * otherwise the size that wastes least on items read before.
 */
export function pageAt(offset: number, max: number): { page: number; size: number } {
  let best = { page: Math.floor(offset / max) + 1, size: max };
  let reach = max - (offset % max);
  for (let size = max - 1; size > reach; size--) {
    const r = size - (offset % size);
    if (r > reach) {
      best = { page: Math.floor(offset / size) + 1, size };
      reach = r;
    }
  }
  return best;
}

function rejectedItem(raw: unknown, issues: readonly z.core.$ZodIssue[]): Rejected {
  const uuid =
    raw !== null && typeof raw === "object" && "uuid" in raw && typeof raw.uuid === "string"
      ? raw.uuid
      : undefined;
  return { ...(uuid === undefined ? {} : { uuid }), problem: describeIssues(issues) };
}
