/**
 * How the fake Waldur answers, as Django REST framework does, shared by its route modules: the
 * 404 body, the JSON body of a request, validation errors by field, and `LinkHeaderPagination`.
 */
import type { Context } from "hono";
import type { z } from "zod";

/** DRF's 404. */
export function notFound(c: Context): Response {
  return c.json({ detail: "Not found." }, 404);
}

/** The body as JSON: `null` when empty, `undefined` when it is not JSON. */
export async function readJson(c: Context): Promise<Record<string, unknown> | null | undefined> {
  const text = await c.req.text();
  if (text.trim() === "") return null;
  try {
    const v: unknown = JSON.parse(text);
    return v !== null && typeof v === "object" && !Array.isArray(v)
      ? v as Record<string, unknown>
      : undefined;
  } catch {
    return undefined;
  }
}

/** A validation failure as DRF's 400 body: field path → messages. */
export function fieldErrors(error: z.ZodError): Record<string, string[]> {
  const out: Record<string, string[]> = {};
  for (const issue of error.issues) {
    const key = issue.path.length ? issue.path.join(".") : "non_field_errors";
    (out[key] ??= []).push(
      issue.code === "invalid_type" ? "This field is required." : issue.message,
    );
  }
  return out;
}

/** DRF LinkHeaderPagination: page, page_size (default 10, max 300), x-result-count and Link. */
export function paginate<T>(c: Context, items: T[]): Response {
  const size = Math.min(300, Math.max(1, Number(c.req.query("page_size") ?? 10) || 10));
  const page = Math.max(1, Number(c.req.query("page") ?? 1) || 1);
  const last = Math.max(1, Math.ceil(items.length / size));
  if (page > last && items.length > 0) return c.json({ detail: "Invalid page." }, 404);
  const url = new URL(c.req.url);
  const link = (p: number, rel: string) => {
    url.searchParams.set("page", String(p));
    return `<${url.toString()}>; rel="${rel}"`;
  };
  const links = [link(1, "first")];
  if (page > 1) links.push(link(page - 1, "prev"));
  if (page < last) links.push(link(page + 1, "next"));
  links.push(link(last, "last"));
  c.header("x-result-count", String(items.length));
  c.header("link", links.join(", "));
  return c.json(items.slice((page - 1) * size, page * size));
}
