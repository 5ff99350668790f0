/**
 * The configuration file's text → the plain value its schema checks: YAML parsed, the mapping form
 * of `offerings` turned into the list form (with the way back for error paths), `${VAR}` and
 * `<key>_file` resolved, secrets and credential pairs collected. Problems are collected, never
 * thrown, and name no value.
 */
import YAML from "yaml";
import { formatPath } from "./zod_issues.ts";

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

/** What resolving the file needs from the outside world. */
export interface FileSources {
  env: (name: string) => string | undefined;
  readFile: (path: string) => string;
}

/** A file resolved, or the problem that stopped it (not YAML, not a mapping). */
export type ResolvedFile =
  | { ok: false; problems: string[] }
  | {
    ok: true;
    /** The list form, `${VAR}` and `<key>_file` resolved: what the schema checks. */
    value: unknown;
    /** A path in `value` → the same place in the file as written (the mapping form's names). */
    translate: (path: readonly PropertyKey[]) => PropertyKey[];
    /** Problems found while resolving (an unset variable, an unreadable file); the rest goes on. */
    problems: string[];
    /** Every secret value found, for the log redactor. */
    secrets: string[];
    /** `[username, password]` pairs found, for the redactor. */
    credentialPairs: [string, string][];
  };

/** YAML text → the list-form value with `${VAR}` and `<key>_file` resolved, and what was found. */
export function resolveFile(text: string, sources: FileSources): ResolvedFile {
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
  return {
    ok: true,
    value: resolved,
    translate,
    problems,
    secrets,
    credentialPairs: credentialPairs(resolved),
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
  sources: FileSources,
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
