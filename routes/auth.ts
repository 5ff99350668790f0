/**
 * The optional `status.token`: everything but the probes needs `Authorization: Bearer <token>`
 * or HTTP basic with the token as the password (any user name, so a browser can log in).
 * The comparison takes the same time whatever the guess.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { MiddlewareHandler } from "hono";

function digest(text: string): Uint8Array {
  return createHash("sha256").update(text, "utf8").digest();
}

/** True when `given` equals `token`, in time that does not depend on where they differ. */
export function tokenMatches(given: string, token: string): boolean {
  return timingSafeEqual(digest(given), digest(token));
}

/** The token a request presents, or "" when it presents none. */
export function presentedToken(authorization: string | undefined): string {
  if (!authorization) return "";
  const bearer = /^Bearer\s+(.+)$/i.exec(authorization);
  if (bearer?.[1]) return bearer[1].trim();
  const basic = /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(authorization);
  if (!basic?.[1]) return "";
  let decoded: string;
  try {
    decoded = new TextDecoder().decode(Uint8Array.from(atob(basic[1]), (c) => c.charCodeAt(0)));
  } catch {
    return "";
  }
  const colon = decoded.indexOf(":");
  return colon === -1 ? "" : decoded.slice(colon + 1);
}

/** Paths open without the token: the container probes. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz"]);

/** Requires the token on every path but {@link OPEN_PATHS}; no token configured, no check. */
export function requireToken(token: string | undefined): MiddlewareHandler {
  return async (c, next) => {
    if (token === undefined || OPEN_PATHS.has(c.req.path)) return await next();
    if (tokenMatches(presentedToken(c.req.header("authorization")), token)) return await next();
    c.header("www-authenticate", 'Basic realm="berth", charset="UTF-8"');
    return c.text("401 Unauthorized: this status page needs status.token\n", 401);
  };
}
