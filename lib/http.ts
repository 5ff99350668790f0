/**
 * The fetch wrapper every upstream client uses: base URL, auth headers, per-request timeout,
 * bounded retries of transient failures with exponential backoff and full jitter (honouring
 * Retry-After), zod-parsed JSON, and typed {@link HttpError}s. `fetch` and the clock are
 * injected, so tests wire a client straight to a fake's `app.request` with no socket.
 */
import type { z } from "zod";
import type { Clock } from "./clock.ts";
import { BerthError, HttpError, type System } from "./errors.ts";
import { ResponseTooLarge, responseTooLarge } from "./http_cap.ts";
import { scrubCredentials } from "./log.ts";
import { describeIssues } from "./zod_issues.ts";

/** The one function a client needs to reach a server. */
export type Fetch = (request: Request) => Promise<Response>;

/** One finished exchange, for metrics and request counting. */
export interface Exchange {
  system: System;
  method: string;
  path: string;
  status: number;
  durationMs: number;
}

/** Retry policy of one client. */
export interface RetryPolicy {
  /** Tries in all, the first included (1 = no retry). */
  attempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

/** Options of {@link createHttp}. */
export interface HttpOptions {
  system: System;
  baseUrl: string;
  fetch: Fetch;
  clock: Clock;
  /** Headers added to every request (auth); called per request so tokens can refresh. */
  headers?: () => Promise<Record<string, string>> | Record<string, string>;
  timeoutMs?: number;
  retry?: Partial<RetryPolicy>;
  /** Called after every exchange, successful or not. */
  onExchange?: (exchange: Exchange) => void;
  /** Source of randomness for jitter (tests pass a fixed one). */
  random?: () => number;
}

/** A query string value; arrays repeat the key (`state=a&state=b`). */
export type QueryValue = string | number | boolean | undefined | readonly string[];

/** One request. */
export interface RequestOptions<T> {
  query?: Record<string, QueryValue>;
  body?: unknown;
  /** Extra headers for this request only. */
  headers?: Record<string, string>;
  /** Parses the JSON body; without it the body is ignored. */
  schema?: z.ZodType<T>;
  /** Retry a POST too (only for calls that are safe to repeat). */
  idempotent?: boolean;
  /** What the call does, for error messages ("create project acme"). */
  action?: string;
}

/** A parsed response. */
export interface HttpResponse<T> {
  status: number;
  headers: Headers;
  data: T;
}

/** A configured client for one upstream system. */
export interface Http {
  readonly system: System;
  readonly baseUrl: string;
  request<T = undefined>(
    method: string,
    path: string,
    options?: RequestOptions<T>,
  ): Promise<HttpResponse<T>>;
}

const DEFAULT_RETRY: RetryPolicy = { attempts: 3, baseDelayMs: 250, maxDelayMs: 8_000 };
const IDEMPOTENT = new Set(["GET", "HEAD", "PUT", "DELETE", "OPTIONS"]);
/** A Retry-After longer than this is not waited for inside one call: the pass moves on. */
const MAX_INLINE_RETRY_AFTER_MS = 30_000;

/** Builds a client for one system. */
export function createHttp(options: HttpOptions): Http {
  const retry = { ...DEFAULT_RETRY, ...options.retry };
  const timeoutMs = options.timeoutMs ?? 30_000;
  const random = options.random ?? Math.random;

  async function once<T>(
    method: string,
    path: string,
    opts: RequestOptions<T>,
  ): Promise<HttpResponse<T>> {
    const url = joinUrl(options.baseUrl, path, opts.query);
    const where = url.split("?")[0] ?? url;
    const headers = new Headers({ accept: "application/json" });
    for (const [k, v] of Object.entries(await options.headers?.() ?? {})) headers.set(k, v);
    for (const [k, v] of Object.entries(opts.headers ?? {})) headers.set(k, v);
    let body: string | undefined;
    if (opts.body !== undefined) {
      if (opts.body instanceof URLSearchParams) {
        headers.set("content-type", "application/x-www-form-urlencoded");
        body = opts.body.toString();
      } else {
        // a JSON body of another media type (a merge patch) says so in `opts.headers`
        if (!opts.headers?.["content-type"]) headers.set("content-type", "application/json");
        body = JSON.stringify(opts.body);
      }
    }
    const what = opts.action ?? `${method} ${path}`;
    const started = options.clock.monotonic();
    // A timer cleared once the body is read (AbortSignal.timeout would keep every request's
    // signal, and what listens to it, alive for the whole timeout).
    const deadline = new AbortController();
    const timer = setTimeout(
      () => deadline.abort(new DOMException(`no answer within ${timeoutMs} ms`, "TimeoutError")),
      timeoutMs,
    );
    let response: Response;
    let text: string;
    try {
      try {
        response = await options.fetch(
          new Request(url, {
            method,
            headers,
            body: body ?? null,
            signal: deadline.signal,
            // A redirect would carry credentials (a password form, a bearer token) to wherever
            // it points, and a followed list could answer "nothing": none is ever followed.
            redirect: "manual",
          }),
        );
      } catch (cause) {
        options.onExchange?.({ system: options.system, method, path, status: 0, durationMs: 0 });
        const reason = noAnswer(cause, url, timeoutMs);
        throw new HttpError(`${options.system}: cannot ${what}: ${reason}`, {
          system: options.system,
          method,
          path,
          url: where,
          status: 0,
          cause,
        });
      }
      try {
        text = method === "HEAD" ? "" : await response.text();
      } catch (cause) {
        if (cause instanceof ResponseTooLarge) {
          throw responseTooLarge(
            options.system,
            { what, method, path, status: response.status },
            cause,
          );
        }
        throw new HttpError(`${options.system}: cannot ${what}: the response was cut off`, {
          system: options.system,
          method,
          path,
          url: where,
          status: 0,
          cause,
        });
      }
    } finally {
      clearTimeout(timer);
    }
    options.onExchange?.({
      system: options.system,
      method,
      path,
      status: response.status,
      durationMs: options.clock.monotonic() - started,
    });
    if (response.status >= 300 && response.status < 400) {
      const location = response.headers.get("location") ?? "(no Location)";
      throw new HttpError(
        `${options.system}: cannot ${what}: the server redirected to ${
          cleanExcerpt(location, 200)
        } (HTTP ${response.status}); Berth follows no redirect: if that is the right address, ` +
          `put it in the ${options.system} URL of the configuration`,
        {
          system: options.system,
          method,
          path,
          url: where,
          status: response.status,
          transient: false,
        },
      );
    }
    if (!response.ok) {
      const excerpt = cleanExcerpt(text, EXCERPT_CHARS);
      const retryAfterMs = parseRetryAfter(
        response.headers.get("retry-after"),
        options.clock.now(),
      );
      throw new HttpError(
        `${options.system}: cannot ${what}: ${
          statusWords(options.system, response.status, retryAfterMs)
        }${excerpt ? ` ${excerpt}` : ""}`,
        {
          system: options.system,
          method,
          path,
          url: where,
          status: response.status,
          bodyExcerpt: excerpt,
          ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
        },
      );
    }
    if (!opts.schema) {
      return { status: response.status, headers: response.headers, data: undefined as T };
    }
    let json: unknown;
    try {
      json = text === "" ? null : JSON.parse(text);
    } catch (cause) {
      // A truncated or garbled body is what a proxy or an overloaded server sends: retry later.
      throw new BerthError(`${options.system}: cannot ${what}: the response is not valid JSON`, {
        system: options.system,
        transient: true,
        cause,
      });
    }
    const parsed = opts.schema.safeParse(json);
    if (!parsed.success) {
      throw new BerthError(
        `${options.system}: ${what}: unexpected response: ${describeIssues(parsed.error.issues)}`,
        { system: options.system, transient: false },
      );
    }
    return { status: response.status, headers: response.headers, data: parsed.data };
  }

  async function request<T>(
    method: string,
    path: string,
    opts: RequestOptions<T> = {},
  ): Promise<HttpResponse<T>> {
    const retriable = IDEMPOTENT.has(method) || opts.idempotent === true;
    for (let attempt = 1;; attempt++) {
      try {
        return await once(method, path, opts);
      } catch (error) {
        if (!(error instanceof BerthError) || !error.transient || attempt >= retry.attempts) {
          throw error;
        }
        const status = error instanceof HttpError ? error.status : 0;
        // A POST is repeated only when the server said it did nothing (429) or the caller allows.
        if (!retriable && status !== 429) throw error;
        const after = error instanceof HttpError ? error.retryAfterMs : undefined;
        if (after !== undefined && after > MAX_INLINE_RETRY_AFTER_MS) throw error;
        const backoff = Math.min(retry.maxDelayMs, retry.baseDelayMs * 2 ** (attempt - 1));
        // the server's Retry-After is the wait, not a floor under a longer backoff
        await options.clock.sleep(after ?? random() * backoff);
      }
    }
  }

  return { system: options.system, baseUrl: options.baseUrl, request };
}

const NAMES: Record<System, string> = {
  waldur: "Waldur",
  harbor: "Harbor",
  rancher: "Rancher",
  kubernetes: "Kubernetes",
  keycloak: "Keycloak",
  backend: "the backend",
  config: "the configuration",
  store: "the state file",
};

/** An HTTP status in words: `rate limited by Waldur (HTTP 429, retry after 10 s)`. */
function statusWords(system: System, status: number, retryAfterMs: number | undefined): string {
  const after = retryAfterMs === undefined
    ? ""
    : `, retry after ${Math.ceil(retryAfterMs / 1000)} s`;
  if (status === 429) return `rate limited by ${NAMES[system]} (HTTP 429${after})`;
  if (status === 502 || status === 503 || status === 504) {
    return `${NAMES[system]} unavailable (HTTP ${status}${after})`;
  }
  return `HTTP ${status}`;
}

/**
 * Why no answer came, naming the server: a timeout, an open circuit, a refused connection, a
 * name that does not resolve, a TLS failure (unknown CA, hostname mismatch, expired certificate,
 * a server that does not speak TLS), a reset connection.
 */
export function noAnswer(cause: unknown, url: string, timeoutMs = 0): string {
  const origin = URL.canParse(url) ? new URL(url).origin : url;
  if (cause instanceof DOMException && cause.name === "TimeoutError") {
    return `no answer from ${origin} within ${timeoutMs} ms`;
  }
  const message = cause instanceof Error ? cause.message : String(cause);
  if (cause instanceof Error && cause.name === "CircuitOpenError") return message;
  // Deno says "fetch failed" and puts why in the cause: "tcp connect error: Connection refused"
  const why: string[] = [];
  for (let e: unknown = cause, depth = 0; e !== undefined && depth < 5; depth++) {
    why.push(e instanceof Error ? e.message : String(e));
    e = e instanceof Error ? e.cause : undefined;
  }
  const all = why.join(" ");
  if (/connection refused|ECONNREFUSED/i.test(all)) return `connection refused: ${origin}`;
  if (/dns error|failed to lookup|name resolution|ENOTFOUND/i.test(all)) {
    return `cannot resolve ${origin}`;
  }
  const tls = tlsProblem(all);
  if (tls !== undefined) return `TLS failure with ${origin}: ${tls}`;
  if (/connection reset|ECONNRESET/i.test(all)) return `connection reset by ${origin}`;
  return `connection failed: ${origin} (${why.at(-1) ?? message})`;
}

/** The TLS problem a connection error names (rustls' words, as Deno reports them), if any. */
function tlsProblem(text: string): string | undefined {
  if (/UnknownIssuer|unknown ?ca\b|self[- ]signed|unable to get local issuer/i.test(text)) {
    return "the certificate is signed by an unknown certificate authority (trust that CA " +
      "with ca_file or DENO_CERT; see the README, TLS)";
  }
  const name = /not valid for name "?([^";]+)"?(?:; certificate is only valid for (.+))?$/i
    .exec(text);
  if (name || /NotValidForName/.test(text)) {
    const valid = name?.[2]?.replace(/DnsName\("([^"]*)"\)|IpAddress\(([^)]*)\)/g, "$1$2");
    return `hostname mismatch: the certificate is not valid for ${name?.[1] ?? "this name"}${
      valid ? ` (only for ${valid})` : ""
    }`;
  }
  const after = /not valid after (\d+)/i.exec(text);
  if (after || /expired/i.test(text)) {
    const when = after ? ` on ${new Date(Number(after[1]) * 1000).toISOString()}` : "";
    return `the certificate expired${when}`;
  }
  if (/not valid before|NotValidYet/i.test(text)) return "the certificate is not valid yet";
  if (/InvalidContentType|corrupt message|wrong version number/i.test(text)) {
    return "the server does not speak TLS there (is the URL http:, not https:?)";
  }
  const peer = /invalid peer certificate: ([^)]+)/i.exec(text);
  if (peer) return `invalid certificate (${peer[1]})`;
  if (/handshake|\btls\b|certificate/i.test(text)) return "the TLS handshake failed";
  return undefined;
}

/** Characters of an upstream body kept in an error message. */
const EXCERPT_CHARS = 200;

/**
 * An upstream text as it may appear in a message: one line, no control characters, credentials
 * in any form it might echo (`Authorization: Basic …`, bearer tokens, JWTs, `password=…`)
 * replaced, and cut to `max` characters.
 */
export function cleanExcerpt(text: string, max: number): string {
  const line = scrubCredentials(text.slice(0, max * 4))
    // deno-lint-ignore no-control-regex -- control characters are what is removed
    .replace(/[\u0000-\u001f\u007f-\u009f\u200b-\u200f\u2028\u2029]+/g, " ")
    .replace(/\s+/g, " ")
    .trim();
  return line.length > max ? `${line.slice(0, max - 1)}…` : line;
}

/**
 * A URL path built from data: each interpolated value is one percent-encoded segment, and a
 * value that is empty or `.`/`..` (which URL parsing would resolve into another path) is
 * refused. `urlPath\`/projects/${id}/members\`` can never reach another endpoint.
 */
export function urlPath(strings: TemplateStringsArray, ...values: (string | number)[]): string {
  let out = strings[0] ?? "";
  values.forEach((value, i) => {
    const text = String(value);
    if (text === "" || text === "." || text === "..") {
      throw new BerthError(`refusing the identifier "${text}" as a URL path segment`, {
        system: "backend",
        transient: false,
      });
    }
    // `:` and `@` are path characters (RFC 3986 pchar) and stay as they are: Rancher's project
    // ids (`c-abcde:p-xyz12`) are sent as its UI and CLI send them
    out += encodeURIComponent(text).replace(/%3A/gi, ":").replace(/%40/gi, "@") +
      (strings[i + 1] ?? "");
  });
  return out;
}

/** `base` + `path` + query, keeping the base's path prefix (`https://h/api/` + `/x/` → `/api/x/`). */
export function joinUrl(base: string, path: string, query?: Record<string, QueryValue>): string {
  const url = new URL(base);
  const prefix = url.pathname.replace(/\/+$/, "");
  if (path !== "") url.pathname = prefix + (path.startsWith("/") ? path : `/${path}`);
  url.search = "";
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value === undefined) continue;
    if (Array.isArray(value)) { for (const v of value) url.searchParams.append(key, v); }
    else url.searchParams.append(key, String(value));
  }
  return url.toString();
}

/** Milliseconds from a Retry-After header (seconds or an HTTP date). */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const seconds = Number(value);
  const ms = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - now;
  // a server (or something in front of it) asking for days is not waited for days
  return Number.isNaN(ms) ? undefined : Math.min(MAX_RETRY_AFTER_MS, Math.max(0, ms));
}

/** The longest Retry-After believed: a longer one is read as this long. */
export const MAX_RETRY_AFTER_MS = 15 * 60_000;

/** An HTTP basic `Authorization` value; UTF-8 safe (btoa alone fails on non-Latin-1 secrets). */
export function basicAuth(username: string, password: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(`${username}:${password}`)) {
    binary += String.fromCharCode(byte);
  }
  return `Basic ${btoa(binary)}`;
}
