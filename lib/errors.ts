/**
 * Berth's one error type. Every failure is classified: a *transient* error (network, timeout,
 * 429, 5xx) is retried on a later pass and leaves the order as it is; a *terminal* one
 * (validation, 4xx, a refused policy) sends the order to `erred` with its message.
 * Messages say what was attempted and why it failed, and never contain a secret.
 */

/** The external system (or part of Berth) an error comes from. */
export type System =
  | "waldur"
  | "harbor"
  | "rancher"
  | "kubernetes"
  | "keycloak"
  | "backend"
  | "config"
  | "store";

/** Options of {@link BerthError}. */
export interface BerthErrorOptions {
  system: System;
  transient: boolean;
  cause?: unknown;
}

/** A classified failure with the system it comes from. */
export class BerthError extends Error {
  readonly system: System;
  readonly transient: boolean;

  constructor(message: string, options: BerthErrorOptions) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = "BerthError";
    this.system = options.system;
    this.transient = options.transient;
  }
}

/** Context of an HTTP failure. */
export interface HttpErrorOptions {
  system: System;
  method: string;
  path: string;
  /** The full URL asked (without its query), for reports that must name it (`berth diagnose`). */
  url?: string;
  /** HTTP status, or 0 when no response arrived (network error, timeout). */
  status: number;
  bodyExcerpt?: string;
  /** Milliseconds the server asked us to wait (Retry-After), if it said. */
  retryAfterMs?: number;
  /** Overrides the classification by status (e.g. a refused credential the operator must fix). */
  transient?: boolean;
  cause?: unknown;
}

/** A failed HTTP exchange with an upstream system. */
export class HttpError extends BerthError {
  readonly method: string;
  readonly path: string;
  readonly url: string | undefined;
  readonly status: number;
  readonly bodyExcerpt: string;
  readonly retryAfterMs: number | undefined;

  constructor(message: string, options: HttpErrorOptions) {
    super(message, {
      system: options.system,
      transient: options.transient ?? isTransientStatus(options.status),
      cause: options.cause,
    });
    this.name = "HttpError";
    this.method = options.method;
    this.path = options.path;
    this.url = options.url;
    this.status = options.status;
    this.bodyExcerpt = options.bodyExcerpt ?? "";
    this.retryAfterMs = options.retryAfterMs;
  }

  /**
   * The same failure told in the operator's words, optionally reclassified (a refused credential
   * is the operator's to fix: orders should wait for it, not fail).
   */
  rephrase(message: string, transient: boolean = this.transient): HttpError {
    return new HttpError(message, {
      system: this.system,
      method: this.method,
      path: this.path,
      ...(this.url === undefined ? {} : { url: this.url }),
      status: this.status,
      bodyExcerpt: this.bodyExcerpt,
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      transient,
      cause: this,
    });
  }
}

/** 0 (no response), 408, 429 and every 5xx are worth another try later. */
export function isTransientStatus(status: number): boolean {
  return status === 0 || status === 408 || status === 429 || status >= 500;
}

/** True when the error should be retried later rather than reported as final. */
export function isTransient(error: unknown): boolean {
  return error instanceof BerthError ? error.transient : false;
}

/** A one-line message for any thrown value. */
export function errorMessage(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}

/** A terminal error raised by Berth's own checks (validation, policy). */
export function terminal(system: System, message: string, cause?: unknown): BerthError {
  return new BerthError(message, { system, transient: false, cause });
}

/** Characters of an upstream body a customer may read when details are exposed. */
const CUSTOMER_EXCERPT_CHARS = 100;

/** What comes before the server's own words in a reworded refusal. */
export const SAID = "; the server said: ";

/** The text put where an upstream body was, when details are not exposed. */
export const WITHHELD = "(the server's answer is in the agent's log)";

/**
 * What a customer reads in Waldur (an erred order's or resource's `error_message`): Berth's own
 * message, with the upstream server's words cut to a short excerpt when `expose` is on
 * (`expose_backend_error_details`) and left out when it is off. An error that is not Berth's
 * (a bug) is only named, as the Python agent does. The caller still redacts the result.
 */
export function customerMessage(error: unknown, expose: boolean): string {
  if (!(error instanceof BerthError)) {
    return expose
      ? errorMessage(error)
      : "internal error in the site agent; the service provider has the details in its log";
  }
  let message = error.message;
  for (const excerpt of upstreamExcerpts(error)) {
    const short = excerpt.length > CUSTOMER_EXCERPT_CHARS
      ? `${excerpt.slice(0, CUSTOMER_EXCERPT_CHARS - 1)}…`
      : excerpt;
    // a refusal's "; the server said: …" goes whole when withheld: the customer reads no stub
    message = message.split(`${SAID}${excerpt}`).join(expose ? `${SAID}${short}` : "")
      .split(excerpt).join(expose ? short : WITHHELD);
  }
  return message;
}

/** The upstream body excerpts an error (and the errors it wraps) carries, longest first. */
function upstreamExcerpts(error: unknown): string[] {
  const out = new Set<string>();
  for (let e: unknown = error, depth = 0; e instanceof Error && depth < 8; depth++) {
    if (e instanceof HttpError && e.bodyExcerpt) out.add(e.bodyExcerpt);
    e = e.cause;
  }
  return [...out].sort((a, b) => b.length - a.length);
}

/**
 * Rewrites a refusal of the credentials (HTTP 401) or of the permission (HTTP 403) into what
 * the operator must do, `system: cannot <action>: <what>`, followed by the server's own words
 * (`; the server said: <body excerpt>`), transient (the next pass goes on once the operator has
 * fixed it); anything else passes unchanged. One wording rule for every client.
 */
export function explainRefusal(
  error: unknown,
  action: string,
  system: string,
  what: { 401?: string; 403?: string },
): unknown {
  if (!(error instanceof HttpError)) return error;
  const words = error.status === 401 ? what[401] : error.status === 403 ? what[403] : undefined;
  return words === undefined ? error : error.rephrase(
    `${system}: cannot ${action}: ${words}${
      error.bodyExcerpt ? `${SAID}${error.bodyExcerpt}` : ""
    }`,
    true,
  );
}
