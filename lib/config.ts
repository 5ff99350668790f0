/**
 * The configuration: waldur-site-agent's YAML (list form, and the mapping form the Harbor plugin
 * README shows) → `${VAR}` and `<key>_file` resolved (`config_file.ts`) → zod
 * (`config_schema.ts`) → a typed {@link Config}. Every problem is reported as
 * `offerings[1].backend_settings.cluster_id: Required`, and no message ever contains a value, so
 * a secret cannot leak through an error.
 */
import type { z } from "zod";
import { type EventConfig, eventConfig } from "./events/config.ts";
import { type FileSources, resolveFile } from "./config_file.ts";
import {
  componentKeyIssues,
  type ComponentMapping,
  hintIssues,
  noEffect,
  valueAt,
  WHAT_TO_WRITE,
} from "./config_hints.ts";
import {
  cachedFileSchema,
  type ComponentSchema,
  IGNORED_OFFERING_KEYS,
  IGNORED_ROOT_KEYS,
  type SettingsSchemas,
} from "./config_schema.ts";
import type { Level } from "./log.ts";
import { knownKeysAt } from "./config_typos.ts";
import { formatPath } from "./zod_issues.ts";

const DEFAULT_INTERVALS = { orders: 60_000, membership: 300_000, usage: 1_800_000 } as const;
const INTERVAL_ENV = {
  orders: "WALDUR_SITE_AGENT_ORDER_PROCESS_PERIOD_MINUTES",
  membership: "WALDUR_SITE_AGENT_MEMBERSHIP_SYNC_PERIOD_MINUTES",
  usage: "WALDUR_SITE_AGENT_REPORT_PERIOD_MINUTES",
} as const;

/** The three loops, by their Berth names. */
export type LoopName = keyof typeof DEFAULT_INTERVALS;
/** Every loop name, in the order Berth lists them; `-m all` runs these. */
export const LOOP_NAMES: readonly LoopName[] = ["orders", "membership", "usage"];

/** One entry of `backend_components`, as the file gives it. */
export type ComponentConfig = z.infer<typeof ComponentSchema>;

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
  /** Event mode (`stomp_enabled: true`): where Waldur's web-STOMP is, what it triggers. */
  events?: EventConfig;
}

/** The resolved configuration. */
export interface Config {
  offerings: OfferingConfig[];
  timezone: string;
  logLevel: Level;
  logFormat: "auto" | "json" | "pretty";
  exposeErrorDetails: boolean;
  /** `historyDays`: the state file's history retention (`status.history_days`). */
  status: { listen: string; token?: string; historyDays: number };
  /** `state_file` as given; absent: the wiring module's default (`defaultStateFile`). */
  stateFile?: string;
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

/** What loading needs from the outside world: the environment, files and the backends' schemas. */
export interface ConfigSources extends FileSources {
  schemas: SettingsSchemas;
  /** backend_type → which components it maps, for the warning about the others. */
  components?: Readonly<Record<string, ComponentMapping>>;
}

/** The result of loading: a config, or every problem found. */
export type ConfigResult = { ok: true; config: Config } | { ok: false; problems: string[] };

/** Parses and validates a configuration file's text. */
export function parseConfig(text: string, sources: ConfigSources): ConfigResult {
  const read = resolveFile(text, sources);
  if (!read.ok) return { ok: false, problems: read.problems };
  const { value: resolved, translate, problems, secrets } = read;
  const schema = cachedFileSchema(sources.schemas);
  const parsed = schema.safeParse(resolved, {
    error: (issue) => {
      const missing = issue.code === "invalid_type" || issue.code === "invalid_value";
      if (missing && issue.input === undefined) return "Required";
      if (issue.code === "invalid_union" && "discriminator" in issue) {
        return `unknown backend_type (known: ${Object.keys(sources.schemas).join(", ")})`;
      }
      return undefined;
    },
  });
  const issues = [
    ...(parsed.success ? [] : parsed.error.issues).map((issue) => ({
      path: [...issue.path],
      message: issue.message,
      missing: valueAt(resolved, issue.path) === undefined,
      ...(issue.code === "unrecognized_keys"
        ? { keys: issue.keys, known: knownKeysAt(schema, issue.path, resolved) }
        : {}),
    })),
    ...componentKeyIssues(resolved),
  ];
  for (const p of hintIssues(issues, resolved)) {
    problems.push(`${formatPath(translate(p.path))}: ${p.message}${p.hint ? `; ${p.hint}` : ""}`);
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
        problems.push(`${at}.waldur_api_token: Required; ${WHAT_TO_WRITE.waldur_api_token}`);
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
        warnings.push(`${at}.${key}: accepted for compatibility and ignored`);
      }
    }
    warnings.push(...noEffect(at, o, sources.components?.[o.backend_type]));
    const apiUrl = normaliseApiUrl(o.waldur_api_url);
    const events = eventConfig(o, { apiUrl, verifySsl: o.verify_ssl });
    if (events && token === "") {
      problems.push(
        `${at}.stomp_enabled: event mode logs in to RabbitMQ with waldur_api_token (the passcode); set it`,
      );
    }
    offerings.push({
      name: o.name,
      offeringUuid: o.waldur_offering_uuid,
      backendType: o.backend_type,
      waldur: {
        apiUrl,
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
      ...(events ? { events } : {}),
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
        historyDays: file.status.history_days,
        ...(file.status.token ? { token: file.status.token } : {}),
      },
      ...(file.state_file === undefined ? {} : { stateFile: file.state_file }),
      intervals,
      maxResponseBytes: Math.round(file.max_response_mb * 1024 ** 2),
      warnings,
      secrets,
      credentialPairs: read.credentialPairs,
    },
  };
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
