/** The config schema's keys, and a parse with every `${VAR}` set, for the docs tests. */
import { z } from "zod";
import { type ConfigResult, parseConfig } from "../../lib/config.ts";
import { configSchema } from "../../lib/config_schema.ts";
import { PLUGINS } from "../../lib/plugins.ts";

const schemas = Object.fromEntries(PLUGINS.map((p) => [p.type, p.settings]));
/** Every ${VAR} resolves to a value long enough for any rule; the interval variables are unset. */
const env = (name: string) =>
  name.startsWith("WALDUR_SITE_AGENT_") ? undefined : `${name.toLowerCase()}-value-from-env`;

/** Parses a config text as `berth check-config` would, with every `${VAR}` set. */
export function parse(text: string): ConfigResult {
  return parseConfig(text, { env, readFile: () => "", schemas });
}

/** Every property name the config's JSON Schema has, at any depth. */
export function schemaKeys(): Set<string> {
  const keys = new Set<string>();
  const walk = (node: unknown): void => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (node === null || typeof node !== "object") return;
    for (const [k, v] of Object.entries(node)) {
      if (k === "properties" && v && typeof v === "object") {
        for (const name of Object.keys(v)) keys.add(name);
      }
      walk(v);
    }
  };
  walk(z.toJSONSchema(configSchema(schemas), { io: "input", unrepresentable: "any" }));
  return keys;
}
