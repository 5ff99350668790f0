/**
 * The configuration file: waldur-site-agent's YAML (list form, and the mapping form the Harbor
 * plugin README shows) → `${VAR}` and `<key>_file` resolved → zod → a typed {@link Config}.
 * Every problem is reported as `offerings[1].backend_settings.cluster_id: Required`, and no
 * message ever contains a value, so a secret cannot leak through an error.
 */
import YAML from "yaml";
import { z } from "zod";
import { formatPath } from "./http.ts";
import type { Level } from "./log.ts";

/** backend_type → the zod schema of its `backend_settings`. */
export type SettingsSchemas = Readonly<Record<string, z.ZodType>>;

/** Keys whose values are secrets: they may come from `<key>_file` and are always redacted. */
export const SECRET_KEYS: ReadonlySet<string> = new Set([
  "waldur_api_token",
  "oidc_client_secret",
  "robot_password",
  "password",
  "keycloak_password",
  "client_secret",
  "token",
]);

const DEFAULT_INTERVALS = { orders: 60_000, membership: 300_000, usage: 1_800_000 } as const;
const INTERVAL_ENV = {
  orders: "WALDUR_SITE_AGENT_ORDER_PROCESS_PERIOD_MINUTES",
  membership: "WALDUR_SITE_AGENT_MEMBERSHIP_SYNC_PERIOD_MINUTES",
  usage: "WALDUR_SITE_AGENT_REPORT_PERIOD_MINUTES",
} as const;

/** The three loops, by their Berth names. */
export type LoopName = keyof typeof DEFAULT_INTERVALS;
export const LOOP_NAMES: readonly LoopName[] = ["orders", "membership", "usage"];

const Duration = z.union([
  z.number().positive().describe("seconds"),
  z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, "expected a duration like 90s, 5m or 1h"),
]);

const Component = z.looseObject({
  measured_unit: z.string(),
  accounting_type: z.enum(["usage", "limit", "one"]),
  label: z.string(),
  unit_factor: z.number().positive().default(1),
  unit_factor_reporting: z.number().positive().optional(),
  limit: z.number().nonnegative().optional(),
  description: z.string().optional(),
  min_value: z.number().int().optional(),
  max_value: z.number().int().optional(),
  max_available_limit: z.number().int().optional(),
  default_limit: z.number().int().optional(),
  limit_period: z.enum(["annual", "month", "quarterly", "total"]).optional(),
  article_code: z.string().optional(),
  is_boolean: z.boolean().optional(),
  is_prepaid: z.boolean().optional(),
});
export type ComponentConfig = z.infer<typeof Component>;

const HttpUrl = z.string().regex(/^https?:\/\/[^\s/]+/, "must start with http:// or https://")
  .refine((v) => URL.canParse(v), "is not a valid URL");

/** Keys of the Python agent that Berth accepts and ignores (it polls; it has no STOMP). */
const IGNORED_OFFERING_KEYS = [
  "stomp_enabled",
  "stomp_membership_sync_enabled",
  "stomp_ws_host",
  "stomp_ws_port",
  "stomp_ws_path",
  "websocket_use_tls",
  "resource_import_enabled",
  "username_reconciliation_enabled",
] as const;
const IGNORED_ROOT_KEYS = ["sentry_dsn", "elastic_apm_server_url", "log_shipping"] as const;

function offeringShape(backendType: string, settings: z.ZodType) {
  return z.object({
    name: z.string().min(1),
    waldur_api_url: HttpUrl,
    waldur_api_token: z.string().optional(),
    oidc_token_url: HttpUrl.optional(),
    oidc_client_id: z.string().optional(),
    oidc_client_secret: z.string().optional(),
    waldur_offering_uuid: z.string().regex(
      /^[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}$/i,
      "must be a UUID",
    ),
    backend_type: z.literal(backendType),
    order_processing_backend: z.string().optional(),
    membership_sync_backend: z.string().optional(),
    reporting_backend: z.string().optional(),
    username_management_backend: z.string().optional(),
    verify_ssl: z.boolean().default(true),
    backend_settings: settings,
    backend_components: z.record(z.string(), Component).default({}),
    concurrency: z.number().int().min(1).max(64).optional(),
    ...Object.fromEntries(IGNORED_OFFERING_KEYS.map((k) => [k, z.unknown().optional()])),
  }).strict();
}

/** The schema of the whole file (list form), for `berth config-schema` and tests. */
export function configSchema(schemas: SettingsSchemas): z.ZodType {
  return fileSchema(schemas);
}

/** Building the schema costs more than using it; one per set of backend schemas. */
const SCHEMAS = new WeakMap<SettingsSchemas, ReturnType<typeof fileSchema>>();

function cachedFileSchema(schemas: SettingsSchemas): ReturnType<typeof fileSchema> {
  let schema = SCHEMAS.get(schemas);
  if (!schema) SCHEMAS.set(schemas, schema = fileSchema(schemas));
  return schema;
}

function fileSchema(schemas: SettingsSchemas) {
  const types = Object.keys(schemas);
  const options = types.map((t) => offeringShape(t, schemas[t] ?? z.never()));
  const [first, ...rest] = options;
  const offering = first === undefined
    ? z.never()
    : z.discriminatedUnion("backend_type", [first, ...rest]);
  return z.object({
    offerings: z.array(offering).min(1, "at least one offering is required"),
    timezone: z.string().default("UTC"),
    log_level: z.enum(["DEBUG", "INFO", "WARNING", "WARN", "ERROR", "CRITICAL"]).default("INFO"),
    log_format: z.enum(["auto", "json", "pretty"]).default("auto"),
    global_proxy: z.string().optional(),
    reporting_periods: z.number().int().min(1).max(12).optional(),
    expose_backend_error_details: z.boolean().default(false),
    status: z.object({
      listen: z.string().regex(/^[^\s:]*:\d{1,5}$|^\[[0-9a-f:]+\]:\d{1,5}$/i, "expected host:port")
        .default("127.0.0.1:8080"),
      token: z.string().min(16, "must be at least 16 characters").optional(),
    }).strict().default({ listen: "127.0.0.1:8080" }),
    state_file: z.string().default("./berth.db"),
    intervals: z.object({
      orders: Duration.optional(),
      membership: Duration.optional(),
      usage: Duration.optional(),
    }).strict().default({}),
    concurrency: z.number().int().min(1).max(64).default(4),
    max_response_mb: z.number().min(1).max(1024).default(32),
    ...Object.fromEntries(IGNORED_ROOT_KEYS.map((k) => [k, z.unknown().optional()])),
  }).strict();
}

/** Waldur connection of one offering. */
export interface WaldurConfig {
  /** Normalised base URL ending in `/api` (no trailing slash). */
  apiUrl: string;
  token?: string;
  oidc?: { tokenUrl: string; clientId: string; clientSecret: string };
  verifySsl: boolean;
}

/** One offering, resolved. */
export interface OfferingConfig {
  name: string;
  offeringUuid: string;
  backendType: string;
  waldur: WaldurConfig;
  /** Which loops run for this offering (the `*_backend` keys; "" switches one off). */
  loops: Record<LoopName, boolean>;
  /** Already validated against the backend's own schema. */
  backendSettings: unknown;
  components: Record<string, ComponentConfig>;
  concurrency: number;
}

/** The resolved configuration. */
export interface Config {
  offerings: OfferingConfig[];
  timezone: string;
  logLevel: Level;
  logFormat: "auto" | "json" | "pretty";
  exposeErrorDetails: boolean;
  status: { listen: string; token?: string };
  stateFile: string;
  intervals: Record<LoopName, number>;
  /** The cap on any upstream response body (`max_response_mb`). */
  maxResponseBytes: number;
  /** Keys that were accepted but have no effect in Berth. */
  warnings: string[];
  /** Every secret value found, for the log redactor. */
  secrets: string[];
  /** `[username, password]` pairs (basic auth sends them as one base64 text), for the redactor. */
  credentialPairs: [string, string][];
}

/** What loading needs from the outside world. */
export interface ConfigSources {
  env: (name: string) => string | undefined;
  readFile: (path: string) => string;
  schemas: SettingsSchemas;
}

/** The result of loading: a config, or every problem found. */
export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/** Parses and validates a configuration file's text. */
export function parseConfig(text: string, sources: ConfigSources): ConfigResult {
  let raw: unknown;
  try {
    raw = YAML.parse(text, { prettyErrors: true });
  } catch (error) {
    const first = error instanceof Error ? error.message.split("\n")[0] : "invalid YAML";
    return { ok: false, problems: [`(file): not valid YAML: ${first}`] };
  }
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return { ok: false, problems: ["(root): expected a mapping with an `offerings` key"] };
  }
  const problems: string[] = [];
  const secrets: string[] = [];
  const { value: listForm, translate } = normaliseOfferings(raw as Record<string, unknown>);
  const resolved = resolveValues(listForm, [], sources, problems, secrets);
  const parsed = cachedFileSchema(sources.schemas).safeParse(resolved, {
    error: (issue) => {
      if (issue.code === "invalid_type" && issue.input === undefined) return "Required";
      if (issue.code === "invalid_union" && "discriminator" in issue) {
        return `unknown backend_type (known: ${Object.keys(sources.schemas).join(", ")})`;
      }
      return undefined;
    },
  });
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const path = translate(issue.path);
      const message = issue.code === "unrecognized_keys"
        ? `unknown key${issue.keys.length > 1 ? "s" : ""} ${issue.keys.join(", ")}`
        : issue.message;
      problems.push(`${formatPath(path)}: ${message}`);
    }
  }
  if (problems.length > 0 || !parsed.success) return { ok: false, problems: dedupe(problems) };
  const file = parsed.data;
  if (!isTimeZone(file.timezone)) problems.push(`timezone: not a known IANA time zone`);

  const intervals = { ...DEFAULT_INTERVALS } as Record<LoopName, number>;
  for (const loop of LOOP_NAMES) {
    const fromFile = file.intervals[loop];
    const fromEnv = sources.env(INTERVAL_ENV[loop]);
    if (fromFile !== undefined) intervals[loop] = durationMs(fromFile);
    else if (fromEnv !== undefined && fromEnv !== "") {
      const minutes = Number(fromEnv);
      if (!Number.isFinite(minutes) || minutes <= 0) {
        problems.push(`${INTERVAL_ENV[loop]}: must be a positive number of minutes`);
      } else intervals[loop] = minutes * 60_000;
    }
  }

  const offerings: OfferingConfig[] = [];
  const warnings: string[] = [];
  const names = new Set<string>();
  file.offerings.forEach((o, i) => {
    const at = formatPath(translate(["offerings", i]));
    if (names.has(o.name)) problems.push(`${at}.name: another offering has the name "${o.name}"`);
    names.add(o.name);
    const token = o.waldur_api_token ?? "";
    const oidcParts = [o.oidc_token_url, o.oidc_client_id, o.oidc_client_secret];
    let oidc: WaldurConfig["oidc"];
    if (token === "") {
      if (oidcParts.every((p) => p !== undefined && p !== "")) {
        oidc = {
          tokenUrl: o.oidc_token_url ?? "",
          clientId: o.oidc_client_id ?? "",
          clientSecret: o.oidc_client_secret ?? "",
        };
      } else {
        problems.push(
          `${at}.waldur_api_token: Required (or all of oidc_token_url, oidc_client_id, oidc_client_secret)`,
        );
      }
    }
    for (
      const key of [
        "order_processing_backend",
        "membership_sync_backend",
        "reporting_backend",
      ] as const
    ) {
      const v = o[key];
      if (v !== undefined && v !== "" && v !== o.backend_type) {
        problems.push(
          `${at}.${key}: must be "${o.backend_type}" (the offering's backend_type) or ""`,
        );
      }
    }
    for (const key of IGNORED_OFFERING_KEYS) {
      if ((o as Record<string, unknown>)[key] !== undefined) {
        warnings.push(`${at}.${key}: accepted for compatibility and ignored (Berth polls Waldur)`);
      }
    }
    offerings.push({
      name: o.name,
      offeringUuid: o.waldur_offering_uuid,
      backendType: o.backend_type,
      waldur: {
        apiUrl: normaliseApiUrl(o.waldur_api_url),
        ...(token === "" ? {} : { token }),
        ...(oidc === undefined ? {} : { oidc }),
        verifySsl: o.verify_ssl,
      },
      loops: {
        orders: (o.order_processing_backend ?? o.backend_type) !== "",
        membership: (o.membership_sync_backend ?? o.backend_type) !== "",
        usage: (o.reporting_backend ?? o.backend_type) !== "",
      },
      backendSettings: o.backend_settings,
      components: o.backend_components,
      concurrency: o.concurrency ?? file.concurrency,
    });
  });
  for (const key of IGNORED_ROOT_KEYS) {
    if ((file as Record<string, unknown>)[key] !== undefined) {
      warnings.push(`${key}: accepted for compatibility and ignored`);
    }
  }
  if (problems.length > 0) return { ok: false, problems: dedupe(problems) };
  return {
    ok: true,
    config: {
      offerings,
      timezone: file.timezone,
      logLevel: toLevel(file.log_level),
      logFormat: file.log_format,
      exposeErrorDetails: file.expose_backend_error_details,
      status: {
        listen: file.status.listen,
        ...(file.status.token ? { token: file.status.token } : {}),
      },
      stateFile: file.state_file,
      intervals,
      maxResponseBytes: Math.round(file.max_response_mb * 1024 ** 2),
      warnings,
      secrets,
      credentialPairs: credentialPairs(resolved),
    },
  };
}

const PAIRS = [
  ["robot_username", "robot_password"],
  ["username", "password"],
  ["keycloak_username", "keycloak_password"],
  ["client_id", "client_secret"],
  ["oidc_client_id", "oidc_client_secret"],
] as const;

/** Every username/password pair in the resolved file, wherever it sits. */
function credentialPairs(value: unknown, out: [string, string][] = []): [string, string][] {
  if (Array.isArray(value)) { for (const v of value) credentialPairs(v, out); }
  else if (value !== null && typeof value === "object") {
    const o = value as Record<string, unknown>;
    for (const [user, password] of PAIRS) {
      const u = o[user];
      const p = o[password];
      if (typeof u === "string" && typeof p === "string" && p !== "") out.push([u, p]);
    }
    for (const v of Object.values(o)) credentialPairs(v, out);
  }
  return out;
}

/** `https://h/api/`, `https://h/api` and `https://h/` all become `https://h/api`; hosts are untouched. */
export function normaliseApiUrl(url: string): string {
  const u = new URL(url);
  const path = u.pathname.replace(/\/+$/, "");
  u.pathname = path.endsWith("/api") ? path : `${path}/api`;
  u.search = "";
  u.hash = "";
  return u.toString().replace(/\/+$/, "");
}

/** A duration from the file (`90s`, `5m`, `1h`, `250ms`, or a number of seconds) in ms. */
export function durationMs(value: number | string): number {
  if (typeof value === "number") return value * 1000;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(value);
  if (!m) return NaN;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as "ms" | "s" | "m" | "h"];
  return Number(m[1]) * unit;
}

const MAPPING_RENAMES: Record<string, string> = {
  api_url: "waldur_api_url",
  api_token: "waldur_api_token",
  api_token_file: "waldur_api_token_file",
  offering_uuid: "waldur_offering_uuid",
};

/** Turns the mapping form into the list form and returns how to map error paths back. */
function normaliseOfferings(raw: Record<string, unknown>): {
  value: Record<string, unknown>;
  translate: (path: readonly PropertyKey[]) => PropertyKey[];
} {
  const offerings = raw.offerings;
  if (offerings === null || typeof offerings !== "object" || Array.isArray(offerings)) {
    return { value: raw, translate: (p) => [...p] };
  }
  const names = Object.keys(offerings);
  const list = Object.entries(offerings).map(([name, body]) => {
    if (body === null || typeof body !== "object" || Array.isArray(body)) return body;
    const out: Record<string, unknown> = { name };
    for (const [k, v] of Object.entries(body)) out[MAPPING_RENAMES[k] ?? k] = v;
    return out;
  });
  const back = Object.fromEntries(Object.entries(MAPPING_RENAMES).map(([a, b]) => [b, a]));
  return {
    value: { ...raw, offerings: list },
    translate: (path) => {
      if (path[0] !== "offerings" || typeof path[1] !== "number") return [...path];
      const key = path[2];
      const renamed = typeof key === "string" ? back[key] ?? key : key;
      return [
        "offerings",
        names[path[1]] ?? path[1],
        ...(renamed === undefined ? [] : [renamed]),
        ...path.slice(3),
      ];
    },
  };
}

/** Replaces `${VAR}` (and `${VAR:-default}`) in strings and reads `<secret>_file` keys. */
function resolveValues(
  value: unknown,
  path: PropertyKey[],
  sources: ConfigSources,
  problems: string[],
  secrets: string[],
): unknown {
  if (typeof value === "string") {
    return value.replace(
      /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g,
      (_, name: string, fallback?: string) => {
        const v = sources.env(name);
        if (v !== undefined && v !== "") return v;
        if (fallback !== undefined) return fallback;
        problems.push(`${formatPath(path)}: environment variable ${name} is not set`);
        return "";
      },
    );
  }
  if (Array.isArray(value)) {
    return value.map((v, i) => resolveValues(v, [...path, i], sources, problems, secrets));
  }
  if (value === null || typeof value !== "object") return value;
  const out: Record<string, unknown> = {};
  for (const [key, v] of Object.entries(value)) {
    const stem = key.endsWith("_file") ? key.slice(0, -5) : "";
    if (SECRET_KEYS.has(stem)) {
      const here = formatPath([...path, key]);
      if ((value as Record<string, unknown>)[stem] !== undefined) {
        problems.push(`${here}: give either ${stem} or ${key}, not both`);
        continue;
      }
      const file = resolveValues(v, [...path, key], sources, problems, secrets);
      if (typeof file !== "string") {
        problems.push(`${here}: expected a file path`);
        continue;
      }
      try {
        out[stem] = sources.readFile(file).trim();
      } catch (error) {
        const why = error instanceof Error ? error.name : "error";
        problems.push(`${here}: cannot read ${file} (${why})`);
        out[stem] = ""; // already reported: no second "Required" for the same key
      }
      continue;
    }
    out[key] = resolveValues(v, [...path, key], sources, problems, secrets);
  }
  for (const [key, v] of Object.entries(out)) {
    if (SECRET_KEYS.has(key) && typeof v === "string" && v !== "") secrets.push(v);
  }
  return out;
}

function isTimeZone(zone: string): boolean {
  try {
    new Intl.DateTimeFormat("en", { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

function toLevel(level: string): Level {
  switch (level) {
    case "DEBUG":
      return "debug";
    case "WARNING":
    case "WARN":
      return "warn";
    case "ERROR":
    case "CRITICAL":
      return "error";
    default:
      return "info";
  }
}

function dedupe(items: string[]): string[] {
  return [...new Set(items)];
}
