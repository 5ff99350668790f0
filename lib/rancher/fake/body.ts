/**
 * Reading a request's JSON body into the shapes the fake Rancher stores, for the v3 routes and
 * the Kubernetes proxy alike: the body as an object, a map of strings (labels, annotations).
 */
import type { Context } from "hono";
import type { Json } from "./state.ts";

/** The request's JSON body when it is an object; null otherwise. */
export async function json(c: Context): Promise<Json | null> {
  const body: unknown = await c.req.json().catch(() => null);
  return typeof body === "object" && body !== null && !Array.isArray(body) ? body as Json : null;
}

/** The string-valued entries of an object; `{}` for anything else. */
export function stringMap(value: unknown): Record<string, string> {
  if (typeof value !== "object" || value === null) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === "string") out[k] = v;
  return out;
}
