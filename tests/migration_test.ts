/**
 * Migration without guesswork: every YAML example of the Python agent's Harbor and Rancher plugin
 * READMEs (the copies in tests/fixtures/python-agent/) through `berth check-config`, which must
 * accept it or give a hint for every problem and warning it prints; following the hints turns the
 * Rancher README's "Basic" and "Full" examples into a file Berth accepts.
 */
import assert from "node:assert/strict";
import YAML from "yaml";
import { main, type World } from "../lib/cli.ts";
import { PLUGINS } from "../lib/plugins.ts";
import { ManualClock } from "../testing/manual_clock.ts";
import { createApp } from "../routes/app.tsx";

const FIXTURES = new URL("./fixtures/python-agent/", import.meta.url);

/** A hint follows its problem after "; " and starts with "did you mean", "Berth" or "write". */
const HINTED = /; (did you mean `[^`]+`\?|Berth |write )/;

/** The fenced `yaml` blocks of a README, with the `#`/`##`/`###` heading each sits under. */
function examples(file: string): { heading: string; text: string }[] {
  const out: { heading: string; text: string }[] = [];
  let heading = "";
  let block: string[] | null = null;
  for (const line of Deno.readTextFileSync(new URL(file, FIXTURES)).split("\n")) {
    const fence = line.trim();
    if (block === null && /^#{1,4} /.test(line)) heading = line;
    if (block === null && fence === "```yaml") block = [];
    else if (block !== null && fence.startsWith("```")) {
      out.push({ heading, text: block.join("\n") });
      block = null;
    } else block?.push(line);
  }
  return out;
}

/** Offering keys a fragment may hold; any other key of a fragment belongs at the root. */
const OFFERING_KEYS = new Set([
  "backend_settings",
  "backend_components",
  "order_processing_backend",
  "membership_sync_backend",
  "reporting_backend",
]);

function minimalOffering(type: "harbor" | "rancher"): Record<string, unknown> {
  return {
    name: `${type}-fragment`,
    waldur_api_url: "https://waldur.example.com/api/",
    waldur_api_token: "t",
    waldur_offering_uuid: "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e",
    backend_type: type,
    backend_settings: type === "harbor"
      ? { harbor_url: "https://harbor.example.com", robot_username: "r", robot_password: "p" }
      : {
        backend_url: "https://rancher.example.com",
        username: "u",
        password: "p",
        cluster_id: "c-m-1234abcd",
      },
    backend_components: {
      [type === "harbor" ? "storage" : "cpu"]: {
        measured_unit: "GB",
        accounting_type: "limit",
        label: "L",
      },
    },
  };
}

/**
 * An example as a whole file. A complete config (it has `offerings:`) is taken as it is. A
 * fragment (the troubleshooting sections' `backend_components:`, `*_backend:` keys, `logging:`)
 * is completed with one minimal valid offering of the README's backend: its offering keys go into
 * that offering, its other keys stay at the root.
 */
function asFile(text: string, type: "harbor" | "rancher"): { file: string; fragment: boolean } {
  const doc: unknown = YAML.parse(text);
  assert.ok(doc !== null && typeof doc === "object" && !Array.isArray(doc), text);
  if ("offerings" in doc) return { file: text, fragment: false };
  const offering = minimalOffering(type);
  const root: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(doc)) {
    if (OFFERING_KEYS.has(key)) offering[key] = value;
    else root[key] = value;
  }
  return { file: YAML.stringify({ ...root, offerings: [offering] }), fragment: true };
}

interface Checked {
  code: number;
  /** The problem lines (stderr, indented) and the warning lines (stdout). */
  lines: string[];
}

async function checkConfig(file: string): Promise<Checked> {
  const out: string[] = [];
  const err: string[] = [];
  const world: World = {
    // Every ${VAR} is set; the interval variables are not.
    env: (name) => name.startsWith("WALDUR_SITE_AGENT_") ? undefined : `${name.toLowerCase()}-env`,
    readFile: (path) => {
      if (path === "config.yaml") return file;
      throw new Deno.errors.NotFound(path);
    },
    fetch: () => Promise.reject(new Error("check-config reaches no server")),
    clock: new ManualClock(),
    isTerminal: false,
    onSignal: () => () => {},
    serve: () => Promise.reject(new Error("check-config serves nothing")),
    makeTempDir: () => Promise.reject(new Error("no temporary directories")),
    removeDir: () => Promise.resolve(),
    plugins: PLUGINS,
    version: "0.0.0",
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    statusApp: createApp,
  };
  const code = await main(["check-config", "-c", "config.yaml"], world);
  const lines = [
    ...err.filter((l) => l.startsWith("  ")).map((l) => l.trim()),
    ...out.filter((l) => l.startsWith("warning: ")),
  ];
  return { code, lines };
}

const READMES = [
  { file: "harbor-plugin-readme.txt", type: "harbor", examples: 2, fragments: 1 },
  { file: "rancher-plugin-readme.txt", type: "rancher", examples: 6, fragments: 3 },
] as const;

Deno.test("every YAML example of the Python agent's Harbor and Rancher READMEs passes check-config or gets a hint for every problem", async () => {
  for (const readme of READMES) {
    const found = examples(readme.file);
    assert.equal(found.length, readme.examples, `${readme.file}: the yaml blocks`);
    let fragments = 0;
    for (const { heading, text } of found) {
      const { file, fragment } = asFile(text, readme.type);
      if (fragment) fragments++;
      const { code, lines } = await checkConfig(file);
      const where = `${readme.file}, ${heading}:\n${text}\n${lines.join("\n")}`;
      assert.ok(code === 0 || lines.length > 0, `exit ${code} with nothing said: ${where}`);
      for (const line of lines) assert.match(line, HINTED, `a line without a hint: ${where}`);
    }
    assert.equal(fragments, readme.fragments, `${readme.file}: the fragments completed`);
  }
});

Deno.test("check-config names the Berth key for each Python spelling of the Rancher README's Basic example", async () => {
  const basic = examples("rancher-plugin-readme.txt")
    .find((e) => e.heading.includes("Basic Configuration"));
  assert.ok(basic);
  const { code, lines } = await checkConfig(basic.text);
  assert.equal(code, 1);
  assert.deepEqual(lines, [
    "offerings[0].waldur_api_url: Required; write this offering's Waldur API URL, e.g. `waldur_api_url: https://waldur.example.com/api/`",
    "offerings[0].uuid: unknown key; did you mean `waldur_offering_uuid`?",
    "offerings[0].backend: unknown key; did you mean `backend_settings`?",
    "offerings[0].components: unknown key; did you mean `backend_components`?",
    "waldur: unknown key; Berth reads the Waldur connection per offering: write `waldur_api_url` and `waldur_api_token` in each offering",
  ]);
});

/** A problem line's path, `offerings[0].backend_components.cpu.name`, as keys. */
function pathOf(line: string): PropertyKey[] {
  const at = line.slice(0, line.indexOf(": "));
  return at.split(".").flatMap((part) => {
    const m = /^([^[]+)\[(\d+)\]$/.exec(part);
    return m ? [m[1] ?? "", Number(m[2])] : [part];
  });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === "object" && !Array.isArray(value);
}

/** The object holding the last key of `path` (list items are records too). */
function parentOf(doc: unknown, path: readonly PropertyKey[]): Record<string, unknown> {
  let here = doc;
  for (const key of path.slice(0, -1)) {
    here = Array.isArray(here) && typeof key === "number"
      ? here[key]
      : isRecord(here) && typeof key === "string"
      ? here[key]
      : undefined;
  }
  assert.ok(isRecord(here), `no parent of ${path.join(".")}`);
  return here;
}

/**
 * Does what one problem line's hint says, as an operator would: a rename ("did you mean `x`?"),
 * a value from its example ("write `key: value`"), or the `waldur:` block moved into each
 * offering. False when the hint says nothing a test can follow.
 */
function follow(doc: Record<string, unknown>, line: string): boolean {
  const path = pathOf(line);
  const key = path.at(-1);
  const hint = line.slice(line.indexOf("; ") + 2);
  if (path.length === 1 && key === "waldur") {
    const waldur = doc.waldur;
    assert.ok(isRecord(waldur) && Array.isArray(doc.offerings));
    for (const o of doc.offerings) {
      assert.ok(isRecord(o));
      o.waldur_api_url = waldur.api_url;
      o.waldur_api_token = waldur.token;
    }
    delete doc.waldur;
    return true;
  }
  if (typeof key !== "string") return false;
  const parent = parentOf(doc, path);
  const rename = /^did you mean `(\w+)`\?/.exec(hint)?.[1];
  if (rename) {
    parent[rename] = parent[key];
    delete parent[key];
    return true;
  }
  const write = /`(\w+): ([^`]+)`/.exec(hint);
  if (write?.[1] === key) {
    parent[key] = write[2];
    return true;
  }
  return false;
}

Deno.test("following check-config's hints turns the Rancher README's Basic and Full examples into a file Berth accepts, with a warning for each key that does nothing", async () => {
  const found = examples("rancher-plugin-readme.txt");
  const warnings: Record<string, string[]> = {};
  const followed: Record<string, string[]> = {};
  for (const name of ["Basic Configuration", "Full Configuration"]) {
    const example = found.find((e) => e.heading.includes(name));
    assert.ok(example);
    const doc: unknown = YAML.parse(example.text);
    assert.ok(isRecord(doc));
    let checked = await checkConfig(example.text);
    for (let round = 0; checked.code !== 0 && round < 10; round++) {
      const done = checked.lines.filter((l) => !l.startsWith("warning: "))
        .filter((line) => follow(doc, line));
      assert.ok(done.length > 0, `no hint to follow:\n${checked.lines.join("\n")}`);
      (followed[name] ??= []).push(...done.map((l) => l.slice(0, l.indexOf(";"))));
      checked = await checkConfig(YAML.stringify(doc));
    }
    assert.equal(checked.code, 0, checked.lines.join("\n"));
    warnings[name] = checked.lines;
  }
  assert.deepEqual(followed["Full Configuration"], [
    "offerings[0].waldur_api_url: Required",
    "offerings[0].uuid: unknown key",
    "offerings[0].backend: unknown key",
    "offerings[0].components: unknown key",
    "waldur: unknown key",
    "offerings[0].backend_components.cpu.billing_type: unknown key",
    "offerings[0].backend_components.cpu.name: unknown key",
    "offerings[0].backend_components.memory.billing_type: unknown key",
    "offerings[0].backend_components.memory.name: unknown key",
    "offerings[0].backend_components.storage.billing_type: unknown key",
    "offerings[0].backend_components.storage.name: unknown key",
    "offerings[0].backend_components.pods.billing_type: unknown key",
    "offerings[0].backend_components.pods.name: unknown key",
    ...["cpu", "memory", "storage", "pods"].map((c) =>
      `offerings[0].backend_components.${c}.accounting_type: Invalid option: expected one of "usage"|"limit"|"one"`
    ),
  ]);
  assert.deepEqual(warnings["Basic Configuration"], []);
  const full = warnings["Full Configuration"] ?? [];
  for (const line of full) assert.match(line, HINTED);
  assert.deepEqual(full.map((l) => l.slice(0, l.indexOf(";"))), [
    "warning: offerings[0].backend_settings.keycloak.keycloak_sync_frequency: has no effect",
    "warning: offerings[0].backend_components.pods: rancher neither limits nor reports it",
  ]);
});

Deno.test("check-config warns that switching certificate checks off has no effect, and says what to use", async () => {
  const full = examples("rancher-plugin-readme.txt")[0];
  assert.ok(full);
  const text = full.text
    .replace(
      'waldur_offering_uuid: "your-offering-uuid"',
      "waldur_offering_uuid: 0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e",
    )
    .replace("verify_cert: true", "verify_cert: false")
    .replace("keycloak_ssl_verify: true", "keycloak_ssl_verify: false")
    .replace('backend_type: "rancher"', 'backend_type: "rancher"\n    verify_ssl: false');
  const { code, lines } = await checkConfig(text);
  assert.equal(code, 0, lines.join("\n"));
  for (const line of lines) assert.match(line, HINTED);
  assert.deepEqual(lines.map((l) => l.slice(0, l.indexOf(";"))), [
    "warning: offerings[0].verify_ssl: false has no effect",
    "warning: offerings[0].backend_settings.verify_cert: false has no effect",
    "warning: offerings[0].backend_settings.keycloak.keycloak_ssl_verify: false has no effect",
  ]);
});
