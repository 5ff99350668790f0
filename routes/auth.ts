/**
 * The optional `status.token`: everything but the probes needs `Authorization: Bearer <token>`
 * or HTTP basic with the token as the password (any user name, so a browser can log in).
 * hono's bearer-auth and basic-auth read the header; the comparison takes the same time whatever
 * the guess.
 */
import { createHash, timingSafeEqual } from "node:crypto";
import type { Context, MiddlewareHandler } from "hono";
import { basicAuth } from "hono/basic-auth";
import { bearerAuth } from "hono/bearer-auth";
import { except, some } from "hono/combine";

function digest(text: string): Uint8Array {
  return createHash("sha256").update(text, "utf8").digest();
}

/** True when `given` equals `token`, in time that does not depend on where they differ. */
export function tokenMatches(given: string, token: string): boolean {
  return timingSafeEqual(digest(given), digest(token));
}

/** Paths open without the token: the container probes. */
export const OPEN_PATHS: ReadonlySet<string> = new Set(["/healthz", "/readyz"]);

// the bearer tokens hono's bearer-auth reads (RFC 6750's b64token, its TOKEN_STRINGS); it answers
// any other value with 400, so a status.token outside this syntax is read by bearerAnyText
const B64TOKEN = /^[A-Za-z0-9._~+/-]+=*$/;
const ANY_BEARER = /^Bearer +(.+)$/i;

/** `Authorization: Bearer <token>` for a token with characters bearer-auth refuses. */
function bearerAnyText(token: string): (c: Context) => boolean {
  return (c) => {
    const given = ANY_BEARER.exec(c.req.header("authorization") ?? "")?.[1];
    return given !== undefined && tokenMatches(given, token);
  };
}

/** Requires the token on every path but {@link OPEN_PATHS}; no token configured, no check. */
export function requireToken(token: string | undefined): MiddlewareHandler {
  if (token === undefined) return async (_c, next) => await next();
  const matches = (given: string): boolean => tokenMatches(given, token);
  return except(
    (c) => OPEN_PATHS.has(c.req.path),
    // `some` answers with the last refusal, basic-auth's 401 and its challenge (the browser's login)
    some(
      B64TOKEN.test(token) ? bearerAuth({ verifyToken: matches }) : bearerAnyText(token),
      basicAuth({
        verifyUser: (_user, password) => matches(password),
        realm: "berth",
        invalidUserMessage: "401 Unauthorized: this status page needs status.token\n",
      }),
    ),
  );
}
