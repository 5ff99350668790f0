/**
 * The zod schema of the configuration file in its list form: the root keys, and per offering the
 * keys every backend shares plus `backend_settings` checked by its backend's own schema (the
 * `backend_type` chooses it). `parseConfig` checks the resolved file with it; `berth
 * config-schema` prints it as JSON Schema.
 */
import { z } from "zod";
import { EVENT_KEYS } from "./events/config.ts";
import { DEFAULT_HISTORY_DAYS, MAX_HISTORY_DAYS } from "./history.ts";

/** backend_type → the zod schema of its `backend_settings`. */
export type SettingsSchemas = Readonly<Record<string, z.ZodType>>;

const Duration = z.union([
  z.number().positive().describe("seconds"),
  z.string().regex(/^\d+(\.\d+)?(ms|s|m|h)$/, "expected a duration like 90s, 5m or 1h"),
]);

/**
 * One entry of `backend_components`: an offering component as waldur-site-agent describes it.
 * Loose: a key Berth does not read still loads (the Python agent's components may carry one);
 * `check-config` names a misspelling of a key here and warns about the others (config_hints.ts).
 */
export const ComponentSchema = z.looseObject({
  measured_unit: z.string(),
  /** (Rancher) what the component limits: cpu, ram or memory, storage; default its name. */
  type: z.string().optional(),
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

const HttpUrl = z.string().regex(/^https?:\/\/[^\s/]+/, "must start with http:// or https://")
  .refine((v) => URL.canParse(v), "is not a valid URL");

/** Keys of the Python agent that Berth accepts and ignores. */
export const IGNORED_OFFERING_KEYS = [
  "resource_import_enabled",
  "username_reconciliation_enabled",
] as const;
/** Root keys of the Python agent that Berth accepts and ignores. */
export const IGNORED_ROOT_KEYS = ["sentry_dsn", "elastic_apm_server_url", "log_shipping"] as const;

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
    backend_components: z.record(z.string(), ComponentSchema).default({}),
    concurrency: z.number().int().min(1).max(64).optional(),
    ...EVENT_KEYS,
    ...Object.fromEntries(IGNORED_OFFERING_KEYS.map((k) => [k, z.unknown().optional()])),
  }).strict();
}

/** The schema of the whole file (list form), for `berth config-schema` and tests. */
export function configSchema(schemas: SettingsSchemas): z.ZodType {
  return fileSchema(schemas);
}

const SCHEMAS = new WeakMap<SettingsSchemas, ReturnType<typeof fileSchema>>();

/** The file's schema for one set of backend schemas, built once (building costs more than using it). */
export function cachedFileSchema(schemas: SettingsSchemas): ReturnType<typeof fileSchema> {
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
      /** Days of usage, order and loop history the state file keeps (the page's charts). */
      history_days: z.number().int().min(1).max(MAX_HISTORY_DAYS).default(DEFAULT_HISTORY_DAYS),
    }).strict().default({ listen: "127.0.0.1:8080", history_days: DEFAULT_HISTORY_DAYS }),
    state_file: z.string().optional(),
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
