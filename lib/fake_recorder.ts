/**
 * The request log every fake keeps (`requests`): method, path with its query, status, and, when
 * asked, the JSON body of a POST or PUT. One middleware for the four fakes, so what a test counts
 * or matches reads the same everywhere.
 */
import type { MiddlewareHandler } from "hono";

/** One request a fake answered. */
export interface RecordedRequest {
  method: string;
  /** The path and query string, `/api/v2.0/projects?page=1`. */
  path: string;
  status: number;
  /** The JSON body of a POST or PUT, when bodies are recorded. */
  body?: unknown;
}

/** A middleware that appends every request, once answered, to `into`. */
export function recordRequests(
  into: RecordedRequest[],
  options: { bodies?: boolean } = {},
): MiddlewareHandler {
  return async (c, next) => {
    let body: unknown = undefined;
    if (options.bodies && (c.req.method === "POST" || c.req.method === "PUT")) {
      // Hono caches the text, so the handler still reads the body; `raw.clone()` would copy the
      // request's signal, which makes Deno.serve print its legacy-abort warning in the demo
      const text = await c.req.text();
      try {
        body = JSON.parse(text);
      } catch {
        body = undefined;
      }
    }
    await next();
    const url = new URL(c.req.url);
    into.push({
      method: c.req.method,
      path: url.pathname + url.search,
      status: c.res.status,
      ...(options.bodies ? { body } : {}),
    });
  };
}
