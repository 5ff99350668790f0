/**
 * Migration without guesswork, in one table: the Python agent's spellings (its code and its
 * plugins' READMEs) with the Berth key or what Berth does instead, what to write for a key that
 * is missing or wrong, and the keys that parse but have no effect here. `parseConfig` adds a hint
 * to each problem the table explains and warns about the keys with no effect; the README's
 * migration table names every key here (tests/readme_test.ts).
 *
 * A hint follows its problem after `; ` and starts with "did you mean", "Berth" or "write".
 */
import { z } from "zod";
import { nearestKey } from "./config_typos.ts";
import { ComponentSchema } from "./config_schema.ts";

/** One entry of `backend_components` (config.ts's ComponentConfig, without importing config.ts). */
type ComponentConfig = z.infer<typeof ComponentSchema>;

/** Where a key sits in the file (list form). */
export type KeyScope = "root" | "offering" | "component" | "backend_settings" | "keycloak";

/** A key the Python agent or its READMEs spell one way and Berth reads another way, or not at all. */
export interface PythonKey {
  scope: KeyScope;
  key: string;
  /** Berth's key for the same thing, when it is a rename. */
  berth?: string;
  /** The hint printed after the problem. */
  hint: string;
}

function renamed(scope: KeyScope, key: string, berth: string, more = ""): PythonKey {
  return { scope, key, berth, hint: `did you mean \`${berth}\`?${more}` };
}

/** The Python spellings Berth does not read, each with its hint. */
export const PYTHON_KEYS: readonly PythonKey[] = [
  {
    scope: "root",
    key: "waldur",
    hint:
      "Berth reads the Waldur connection per offering: write `waldur_api_url` and `waldur_api_token` in each offering",
  },
  {
    scope: "root",
    key: "logging",
    hint:
      "Berth uses `log_level` (DEBUG, INFO, WARNING, ERROR) and `log_format` (auto, json, pretty) at the top level; a Python format string has no counterpart",
  },
  renamed("offering", "uuid", "waldur_offering_uuid"),
  renamed("offering", "backend", "backend_settings"),
  renamed("offering", "components", "backend_components"),
  renamed(
    "offering",
    "api_url",
    "waldur_api_url",
    " (the list form's name; a mapping form may say api_url)",
  ),
  renamed(
    "offering",
    "api_token",
    "waldur_api_token",
    " (the list form's name; a mapping form may say api_token)",
  ),
  renamed(
    "offering",
    "offering_uuid",
    "waldur_offering_uuid",
    " (the list form's name; a mapping form may say offering_uuid)",
  ),
  renamed(
    "component",
    "billing_type",
    "accounting_type",
    " (`usage`, `limit` or `one`; Harbor's and Rancher's components are `limit`)",
  ),
  renamed("component", "name", "label", " (the name Waldur shows)"),
];

/** What to write for a key that is missing or not valid, by its name (list form). */
export const WHAT_TO_WRITE: Readonly<Record<string, string>> = {
  offerings: "write `offerings:`, a list of offerings (see the README, Configuration)",
  waldur_api_url:
    "write this offering's Waldur API URL, e.g. `waldur_api_url: https://waldur.example.com/api/`",
  waldur_api_token:
    "write `waldur_api_token: ${WALDUR_TOKEN}` (a service-provider token), or all of `oidc_token_url`, `oidc_client_id`, `oidc_client_secret`",
  waldur_offering_uuid:
    "write the offering's UUID as Waldur shows it on the offering's page (32 hex digits, dashes optional)",
  backend_settings:
    "write the backend's settings under `backend_settings` (see the README's section of its backend_type)",
  accounting_type:
    "write `accounting_type: limit` (a quota Berth sets: Harbor storage, Rancher cpu, ram, storage), `usage` (billed by the usage Berth reports) or `one` (a one-time charge)",
  measured_unit: "write the unit Waldur shows, e.g. `measured_unit: GB`",
  label: "write the name Waldur shows, e.g. `label: Container Storage`",
};

/** Keys that parse but have no effect in Berth (with the value that does nothing), and the hint. */
export const NO_EFFECT: Readonly<
  Record<"verify_ssl" | "verify_cert" | "keycloak_ssl_verify" | "keycloak_sync_frequency", string>
> = {
  verify_ssl:
    "Berth always checks Waldur's certificate (Deno cannot switch checks off for one connection); give its CA with DENO_CERT=/path/ca.pem (see the README, TLS)",
  verify_cert:
    "Berth always checks the certificate (Deno cannot switch checks off for one connection); write `ca_file: /path/ca.pem` instead (see the README, TLS)",
  keycloak_ssl_verify:
    "Berth always checks Keycloak's certificate (Deno cannot switch checks off for one connection); give its CA with DENO_CERT=/path/ca.pem (see the README, TLS)",
  keycloak_sync_frequency:
    "Berth syncs Keycloak groups on every membership pass; write `intervals.membership` instead",
};

/** How a backend_type tells which of `backend_components` it limits or reports. */
export interface ComponentMapping {
  maps(name: string, component: ComponentConfig): boolean;
  /** What it maps, in words: "components of `type` cpu, ram (or memory) and storage". */
  described: string;
}

/** One issue zod found, in the list form: where, what, and for unknown keys their names. */
export interface FileIssue {
  path: PropertyKey[];
  message: string;
  /** The unknown keys, for an "unknown keys" issue. */
  keys?: readonly string[];
  /** The keys the schema knows there, for "did you mean" on a misspelt one. */
  known?: readonly string[];
  /** The key is missing (zod saw `undefined`). */
  missing: boolean;
}

/** A problem of the file: where (list-form path), what, and the hint when there is one. */
export interface Problem {
  path: PropertyKey[];
  message: string;
  hint?: string;
}

/** The scope of a list-form path (the object the path points at). */
export function scopeOf(path: readonly PropertyKey[]): KeyScope | undefined {
  const [first, index, key, name, ...rest] = path;
  if (first === undefined) return "root";
  if (first !== "offerings" || typeof index !== "number") return undefined;
  if (key === undefined) return "offering";
  if (key === "backend_components" && name !== undefined && rest.length === 0) return "component";
  if (key === "backend_settings" && name === undefined) return "backend_settings";
  if (key === "backend_settings" && name === "keycloak" && rest.length === 0) return "keycloak";
  return undefined;
}

/** The Python spelling `key` in `scope`, when the table has it. */
export function pythonKey(scope: KeyScope | undefined, key: string): PythonKey | undefined {
  return PYTHON_KEYS.find((k) => k.scope === scope && k.key === key);
}

/** The keys of a component Berth reads. */
const COMPONENT_KEYS: readonly string[] = Object.keys(ComponentSchema.shape);

/** The key Berth reads that a component's `key` misspells: not read, not a Python spelling, near one. */
function componentTypo(key: string): string | undefined {
  if (COMPONENT_KEYS.includes(key) || pythonKey("component", key)) return undefined;
  return nearestKey(key, COMPONENT_KEYS);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/**
 * The misspelt keys of each component of the list-form `value` as "unknown keys" issues (zod
 * names none: a component lets keys it does not know through, for the Python agent's).
 */
export function componentKeyIssues(value: unknown): FileIssue[] {
  const out: FileIssue[] = [];
  const offerings = valueAt(value, ["offerings"]);
  if (!Array.isArray(offerings)) return out;
  offerings.forEach((offering: unknown, i) => {
    const components = valueAt(offering, ["backend_components"]);
    if (!isRecord(components)) return;
    for (const [name, component] of Object.entries(components)) {
      if (!isRecord(component)) continue;
      const keys = Object.keys(component).filter((k) => componentTypo(k) !== undefined);
      if (keys.length === 0) continue;
      const path = ["offerings", i, "backend_components", name];
      out.push({ path, message: "unknown keys", keys, known: COMPONENT_KEYS, missing: false });
    }
  });
  return out;
}

/** The value at a path of a plain value, or undefined. */
export function valueAt(value: unknown, path: readonly PropertyKey[]): unknown {
  let here = value;
  for (const key of path) {
    if (here === null || typeof here !== "object") return undefined;
    here = Object.getOwnPropertyDescriptor(here, key)?.value;
  }
  return here;
}

/**
 * The issues zod found in the list-form `value` as problems with hints: an unknown key the table
 * knows, or one a known key's misspelling, gets a line of its own with its hint (the others stay
 * together: `unknown keys a, b`); a missing key that a Python spelling or a misspelling beside it
 * explains is not named again; a key the table says what to write for gets that.
 */
export function hintIssues(issues: readonly FileIssue[], value: unknown): Problem[] {
  const renames = new Set<string>();
  for (const issue of issues) {
    for (const key of issue.keys ?? []) {
      const berth = pythonKey(scopeOf(issue.path), key)?.berth ??
        nearestKey(key, issue.known ?? []);
      if (berth) renames.add(JSON.stringify([...issue.path, berth]));
    }
  }
  const out: Problem[] = [];
  const seen = new Set<string>();
  const add = (p: Problem) => {
    const id = JSON.stringify([p.path, p.message]);
    if (!seen.has(id)) out.push(p);
    seen.add(id);
  };
  for (const issue of issues) {
    if (issue.keys) {
      const scope = scopeOf(issue.path);
      const near = (key: string) => nearestKey(key, issue.known ?? []);
      const plain = issue.keys.filter((key) => !pythonKey(scope, key) && !near(key));
      for (const key of issue.keys) {
        const known = pythonKey(scope, key);
        const typo = known ? undefined : near(key);
        if (known) add({ path: [...issue.path, key], message: "unknown key", hint: known.hint });
        else if (typo) {
          add({
            path: [...issue.path, key],
            message: "unknown key",
            hint: `did you mean \`${typo}\`?`,
          });
        }
      }
      if (plain.length > 0) {
        const s = plain.length > 1 ? "s" : "";
        add({ path: issue.path, message: `unknown key${s} ${plain.join(", ")}` });
      }
      continue;
    }
    if (issue.missing && renames.has(JSON.stringify(issue.path))) continue;
    const key = issue.path.at(-1);
    const parent = issue.path.slice(0, -1);
    const beside = issue.missing
      ? PYTHON_KEYS.find((k) =>
        k.berth === key && k.scope === scopeOf(parent) &&
        valueAt(value, [...parent, k.key]) !== undefined
      )
      : undefined;
    if (beside) {
      add({ path: [...parent, beside.key], message: "unknown key", hint: beside.hint });
      continue;
    }
    const hint = typeof key === "string" ? WHAT_TO_WRITE[key] : undefined;
    add({ path: issue.path, message: issue.message, ...(hint ? { hint } : {}) });
  }
  return out;
}

const Inert = z.looseObject({
  verify_cert: z.unknown().optional(),
  keycloak: z.looseObject({
    keycloak_ssl_verify: z.unknown().optional(),
    keycloak_sync_frequency: z.unknown().optional(),
  }).optional(),
});

/** One offering as the schema parsed it: the keys {@link noEffect} looks at. */
export interface ParsedOffering {
  backend_type: string;
  verify_ssl: boolean;
  backend_settings: unknown;
  backend_components: Record<string, ComponentConfig>;
}

/**
 * The keys of one offering (at YAML path `at`) that parse but have no effect in Berth, each as
 * `path: what; hint`: certificate checks switched off, Keycloak's sync frequency, a component the
 * backend neither limits nor reports, a Python spelling beside the key Berth reads, a component
 * key Berth does not read (a misspelling of one it reads is a problem: {@link componentKeyIssues}).
 */
export function noEffect(at: string, o: ParsedOffering, mapping?: ComponentMapping): string[] {
  const out: string[] = [];
  const line = (path: string, what: string, hint: string) =>
    out.push(`${at}.${path}: ${what}; ${hint}`);
  if (!o.verify_ssl) line("verify_ssl", "false has no effect", NO_EFFECT.verify_ssl);
  const settings = Inert.safeParse(o.backend_settings);
  if (settings.success) {
    const s = settings.data;
    if (s.verify_cert === false) {
      line("backend_settings.verify_cert", "false has no effect", NO_EFFECT.verify_cert);
    }
    if (s.keycloak?.keycloak_ssl_verify === false) {
      line(
        "backend_settings.keycloak.keycloak_ssl_verify",
        "false has no effect",
        NO_EFFECT.keycloak_ssl_verify,
      );
    }
    if (s.keycloak?.keycloak_sync_frequency !== undefined) {
      line(
        "backend_settings.keycloak.keycloak_sync_frequency",
        "has no effect",
        NO_EFFECT.keycloak_sync_frequency,
      );
    }
  }
  for (const [name, component] of Object.entries(o.backend_components)) {
    const here = `backend_components.${name}`;
    if (mapping && !mapping.maps(name, component)) {
      line(
        here,
        `${o.backend_type} neither limits nor reports it`,
        `Berth maps ${mapping.described}`,
      );
    }
    for (const k of PYTHON_KEYS) {
      if (k.scope !== "component" || !k.berth || component[k.key] === undefined) continue;
      line(`${here}.${k.key}`, "has no effect", `Berth reads \`${k.berth}\``);
    }
    for (const key of Object.keys(component)) {
      if (COMPONENT_KEYS.includes(key) || pythonKey("component", key) || componentTypo(key)) {
        continue;
      }
      line(
        `${here}.${key}`,
        "has no effect",
        "Berth does not read this key (the README lists the keys it reads, per component)",
      );
    }
  }
  return out;
}
