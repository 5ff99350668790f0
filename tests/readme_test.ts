import assert from "node:assert/strict";
import { NO_EFFECT, PYTHON_KEYS } from "../lib/config_hints.ts";
import { parse, schemaKeys } from "./support/config_keys.ts";

const README = Deno.readTextFileSync(new URL("../README.md", import.meta.url));

/** The fenced blocks of a language, each with the `##` heading it sits under. */
function blocks(lang: string): { heading: string; text: string }[] {
  const out: { heading: string; text: string }[] = [];
  let heading = "";
  let current: string[] | null = null;
  for (const line of README.split("\n")) {
    if (current === null && line.startsWith("## ")) heading = line;
    if (current === null && line === "```" + lang) current = [];
    else if (current !== null && line.startsWith("```")) {
      out.push({ heading, text: current.join("\n") });
      current = null;
    } else current?.push(line);
  }
  return out;
}

/** A `backend_settings:` snippet inside an offering of its section's backend. */
function asConfig(heading: string, snippet: string): string {
  const type = /backend_type: (\w+)/.exec(heading)?.[1];
  if (!type) throw new Error(`a backend_settings snippet outside a backend section: ${heading}`);
  const components = snippet.includes("backend_components:")
    ? ""
    : "\n    backend_components: {storage: {measured_unit: GB, accounting_type: limit, label: S}}";
  const indented = snippet.split("\n").map((l) => `    ${l}`).join("\n");
  return `offerings:
  - name: snippet
    waldur_api_url: https://waldur.example.com/api/
    waldur_api_token: t
    waldur_offering_uuid: 0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e
    backend_type: ${type}
${indented}${components}
`;
}

Deno.test("every YAML snippet in the README is a valid config (or part of one)", () => {
  const yaml = blocks("yaml");
  assert.ok(yaml.length >= 3);
  for (const { heading, text } of yaml) {
    let config: string;
    if (/^offerings:/m.test(text)) config = text;
    else if (/^backend_settings:/m.test(text)) config = asConfig(heading, text);
    else throw new Error(`a YAML snippet this test does not know how to check:\n${text}`);
    const result = parse(config);
    assert.ok(result.ok, `${heading}\n${result.ok ? "" : result.problems.join("\n")}\n${text}`);
  }
});

Deno.test("the README names every key of the config schema", () => {
  const missing = [...schemaKeys()].filter((k) =>
    !README.includes(`\`${k}\``) && !new RegExp(`^\\s*#?\\s*${k}:`, "m").test(README)
  );
  assert.deepEqual(missing, []);
});

Deno.test("the quick start is two commands, one for the demo and one for the tests", () => {
  const quick = README.split("## Quick start")[1]?.split("\n## ")[0] ?? "";
  const first = /```sh\n([\s\S]*?)```/.exec(quick)?.[1] ?? "";
  const commands = first.split("\n").map((l) => l.replace(/#.*/, "").trim()).filter(Boolean);
  assert.equal(commands.length, 2, first);
  assert.match(commands[0] ?? "", /task demo$/);
  assert.equal(commands[1], "bash .ci/run");
  const shot = /!\[[^\]]*\]\(([^)]+\.png)\)/.exec(README)?.[1] ?? "";
  assert.ok(Deno.statSync(new URL(`../${shot}`, import.meta.url)).size > 10_000, "the screenshot");
});

Deno.test("the migration section's table names every Python spelling and every key with no effect that check-config knows", () => {
  const section = README.split("## Migrating from waldur-site-agent")[1]?.split("\n## ")[0] ?? "";
  const rows = section.split("\n").filter((l) => l.startsWith("| "));
  const named = (key: string) => rows.some((r) => r.split("|")[1]?.includes(`\`${key}`));
  const keys = [...PYTHON_KEYS.map((k) => k.key), ...Object.keys(NO_EFFECT)];
  assert.ok(keys.length >= 14, `${keys.length} keys`);
  assert.deepEqual(keys.filter((k) => !named(k)), []);
  assert.match(section, /replace the three units with one/);
});
