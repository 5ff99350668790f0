/**
 * The one module that writes to the console. Log lines go to stderr, as JSON lines when stderr
 * is not a terminal and as readable lines when it is; command output (`print`) goes to stdout.
 * Every line passes through the redactor, so a secret never reaches the output.
 */

/** Log levels, lowest first. */
export const LEVELS = ["debug", "info", "warn", "error"] as const;
/** One of {@link LEVELS}: a line is written when its level is at or above the configured one. */
export type Level = typeof LEVELS[number];

/** Structured context attached to a log line. */
export type Fields = Record<string, unknown>;

/** The logger every module receives. */
export interface Logger {
  debug(message: string, fields?: Fields): void;
  info(message: string, fields?: Fields): void;
  warn(message: string, fields?: Fields): void;
  error(message: string, fields?: Fields): void;
  /** A logger that adds `fields` to every line. */
  child(fields: Fields): Logger;
}

const SECRET_KEY = /(token|password|secret|authorization|passcode|api_key|apikey|credential)/i;
const REDACTED = "[redacted]";

/** Runtime secrets (tokens obtained while running) kept for redaction, newest last. */
const KEEP_RUNTIME = 64;

/** Credentials in the forms servers echo them, whoever's they are, replaced by `[redacted]`. */
export function scrubCredentials(text: string): string {
  return text
    // Authorization: Basic xxx / Bearer xxx (a header or an echoed request), Waldur's Token
    .replace(/\b(Basic|Bearer|Negotiate)(\s+|%20|\+)[A-Za-z0-9._~+/%-]{6,}=*/gi, "$1$2[redacted]")
    .replace(/\b(Token)(\s+|%20|\+)[0-9a-f]{20,}/gi, "$1$2[redacted]")
    // JSON Web Tokens (Keycloak access and refresh tokens, OIDC)
    .replace(/\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*/g, "[redacted]")
    // key=value and "key": "value" for secret-looking keys (forms, JSON, query strings)
    .replace(
      /((?:password|passwd|passcode|secret|client_secret|access_token|refresh_token|id_token|api_key|apikey|token|secret_key|private_key)["']?\s*(?:=|:|%3D)\s*["']?)([^"'&\s,;}]+)/gi,
      "$1[redacted]",
    );
}

/** The base64 of a text's UTF-8 bytes (what HTTP basic auth sends). */
export function base64Utf8(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/**
 * Replaces secrets in text: the configured values in every form they travel in (as they are,
 * URL- and form-encoded, JSON-escaped, base64, and `user:password` pairs as basic auth sends
 * them), tokens obtained at run time, and credentials of any origin in the forms servers echo
 * them (`Authorization: Basic …`, bearer tokens, JWTs, `password=…`).
 */
export class Redactor {
  #secrets = new Set<string>();
  #runtime: string[] = [];

  /** Registers a value that must never be printed, in every derived form. Very short values are ignored. */
  add(value: string): void {
    if (value.length < 4) return;
    for (const form of derivedForms(value)) this.#secrets.add(form);
  }

  /** Registers a basic-auth pair: both values, and `base64(user:password)`. */
  addBasic(username: string, password: string): void {
    this.add(password);
    if (password.length >= 4) this.#secrets.add(base64Utf8(`${username}:${password}`));
  }

  /** Registers a token obtained at run time; only the most recent few are kept. */
  addRuntime(value: string): void {
    if (value.length < 8 || this.#runtime.includes(value)) return;
    this.#runtime.push(value);
    if (this.#runtime.length > KEEP_RUNTIME) this.#runtime.shift();
  }

  /** `text` with every registered secret, and every credential-looking text, replaced. */
  redact(text: string): string {
    let out = text;
    for (const secret of this.#secrets) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    for (const secret of this.#runtime) {
      if (out.includes(secret)) out = out.split(secret).join(REDACTED);
    }
    return scrubCredentials(out);
  }

  /** A copy of `value` with secret-looking keys and registered secret values redacted. */
  redactValue(value: unknown, depth = 0): unknown {
    if (typeof value === "string") return this.redact(value);
    if (depth > 6 || value === null || typeof value !== "object") return value;
    if (value instanceof Error) return this.redact(value.message);
    if (Array.isArray(value)) return value.map((v) => this.redactValue(v, depth + 1));
    const out: Record<string, unknown> = {};
    for (const [key, v] of Object.entries(value)) {
      out[key] = SECRET_KEY.test(key) && v !== undefined && v !== null && v !== ""
        ? REDACTED
        : this.redactValue(v, depth + 1);
    }
    return out;
  }
}

/** Options of {@link createLogger}. */
export interface LoggerOptions {
  level?: Level;
  format?: "json" | "pretty";
  redactor?: Redactor;
  /** Where lines go; defaults to stderr. Tests pass an array pusher. */
  write?: (line: string, level: Level) => void;
  /** The clock for timestamps. */
  now?: () => number;
}

/** Builds a logger. */
export function createLogger(options: LoggerOptions = {}): Logger {
  const min = LEVELS.indexOf(options.level ?? "info");
  const format = options.format ?? "json";
  const redactor = options.redactor ?? new Redactor();
  const write = options.write ?? writeStderr;
  const now = options.now ?? (() => new Date().getTime());

  function make(base: Fields): Logger {
    function emit(level: Level, message: string, fields?: Fields): void {
      if (LEVELS.indexOf(level) < min) return;
      const ctx = redactor.redactValue({ ...base, ...fields });
      const time = new Date(now()).toISOString();
      const msg = redactor.redact(message);
      write(
        format === "json" ? jsonLine(time, level, msg, ctx) : prettyLine(time, level, msg, ctx),
        level,
      );
    }
    return {
      debug: (m, f) => emit("debug", m, f),
      info: (m, f) => emit("info", m, f),
      warn: (m, f) => emit("warn", m, f),
      error: (m, f) => emit("error", m, f),
      child: (fields) => make({ ...base, ...fields }),
    };
  }
  return make({});
}

function jsonLine(time: string, level: Level, message: string, ctx: unknown): string {
  const extra = ctx !== null && typeof ctx === "object" ? ctx : {};
  return JSON.stringify({ time, level, msg: message, ...extra });
}

function prettyLine(time: string, level: Level, message: string, ctx: unknown): string {
  const parts = ctx !== null && typeof ctx === "object"
    ? Object.entries(ctx).map(([k, v]) => `${k}=${typeof v === "string" ? v : JSON.stringify(v)}`)
    : [];
  return `${time.slice(11, 19)} ${level.toUpperCase().padEnd(5)} ${message}${
    parts.length ? "  " + parts.join(" ") : ""
  }`;
}

function writeStderr(line: string): void {
  // deno-lint-ignore no-console -- the one place that writes log lines
  console.error(line);
}

/** Writes command output (plans, tables, JSON) to stdout. */
export function print(text: string): void {
  // deno-lint-ignore no-console -- the one place that writes command output
  console.log(text);
}

/** Writes a command's error report to stderr (before a logger exists, or for usage errors). */
export function printError(text: string): void {
  // deno-lint-ignore no-console -- the one place that writes command errors
  console.error(text);
}

/** The forms a secret takes on the wire: raw, URL- and form-encoded, JSON-escaped, base64. */
function derivedForms(value: string): string[] {
  const forms = new Set([
    value,
    encodeURIComponent(value),
    new URLSearchParams({ v: value }).toString().slice(2),
    JSON.stringify(value).slice(1, -1),
    base64Utf8(value),
  ]);
  return [...forms].filter((f) => f.length >= 4);
}
