/**
 * Config fuzzing: thousands of random mutations of the sample config, to its structure and to its
 * text, never end in an uncaught exception, a stack trace or a secret in a message. The
 * generator is seeded; a failure names the seed and the case, so it can be replayed.
 */
import assert from "node:assert/strict";
import YAML from "yaml";
import { parseConfig } from "./config.ts";
import { PLUGINS } from "./plugins.ts";

const SAMPLE = Deno.readTextFileSync(new URL("../deploy/config.sample.yaml", import.meta.url));
const schemas = Object.fromEntries(PLUGINS.map((p) => [p.type, p.settings]));
const SECRET = "fuzz-secret-0123456789";
const env = (name: string) => name.startsWith("WALDUR_SITE_AGENT_") ? undefined : SECRET;

/** mulberry32: a small seeded generator. */
function generator(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

function randomValue(rand: () => number, depth = 0): Json {
  const pick = Math.floor(rand() * 16);
  switch (pick) {
    case 0:
      return null;
    case 1:
      return rand() < 0.5;
    case 2:
      return -Math.floor(rand() * 1e6);
    case 3:
      return 1.7976931348623157e308;
    case 4:
      return Math.floor(rand() * 100);
    case 5:
      return "";
    case 6:
      return "x".repeat(Math.floor(rand() * 5000));
    case 7:
      return "проект 🚢 \u0000 \u202e";
    case 8:
      return "${UNSET_VARIABLE_" + Math.floor(rand() * 10) + "}";
    case 9:
      return "../../etc/passwd";
    case 10:
      return "<script>alert(1)</script>";
    case 11:
      return depth > 3 ? [] : [randomValue(rand, depth + 1), randomValue(rand, depth + 1)];
    case 12:
      return depth > 3 ? {} : { [`k${Math.floor(rand() * 9)}`]: randomValue(rand, depth + 1) };
    case 13:
      return "http://";
    case 14:
      return 0.5;
    default:
      return "not-a-uuid";
  }
}

/** All paths to values in `node`. */
function paths(node: Json, at: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(at);
  if (Array.isArray(node)) node.forEach((v, i) => paths(v, [...at, i], out));
  else if (node !== null && typeof node === "object") {
    for (const [k, v] of Object.entries(node)) paths(v, [...at, k], out);
  }
  return out;
}

function mutateTree(base: Json, rand: () => number): Json {
  const tree: Json = structuredClone(base);
  const all = paths(tree).filter((p) => p.length > 0);
  const path = all[Math.floor(rand() * all.length)] ?? [];
  let parent: Json = tree;
  for (const key of path.slice(0, -1)) {
    parent = (parent as Record<string | number, Json>)[key] ?? null;
  }
  const last = path.at(-1);
  if (last === undefined || parent === null || typeof parent !== "object") return tree;
  const holder = parent as Record<string | number, Json>;
  const op = Math.floor(rand() * 4);
  if (op === 0) {
    if (Array.isArray(parent) && typeof last === "number") parent.splice(last, 1);
    else delete holder[last];
  } else if (op === 1 && typeof last === "string") {
    holder[`${last}x`] = holder[last] ?? null; // a typo'd key
    delete holder[last];
  } else {
    holder[last] = randomValue(rand);
  }
  return tree;
}

function mutateText(text: string, rand: () => number): string {
  const i = Math.floor(rand() * text.length);
  switch (Math.floor(rand() * 8)) {
    case 0:
      return text.slice(0, i);
    case 1:
      return text.slice(0, i) + String.fromCharCode(Math.floor(rand() * 0x3000)) + text.slice(i);
    case 2: {
      const lines = text.split("\n");
      lines.splice(Math.floor(rand() * lines.length), 1);
      return lines.join("\n");
    }
    case 3: {
      const lines = text.split("\n");
      const j = Math.floor(rand() * lines.length);
      lines.splice(j, 0, lines[j] ?? "");
      return lines.join("\n");
    }
    case 4:
      return text.replace(/: /, "\t");
    case 5:
      return `a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a]\n` +
        `c: &c [*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c]\n${text}`;
    case 6:
      return `${"[".repeat(5000)}${"]".repeat(5000)}`;
    default:
      return text.slice(0, i) + "!!binary " + text.slice(i);
  }
}

/** Parses `text`; true when it was accepted. */
function check(text: string, label: string): boolean {
  let result: ReturnType<typeof parseConfig>;
  try {
    result = parseConfig(text, { env, readFile: () => SECRET, schemas });
  } catch (error) {
    throw new Error(
      `${label}: parseConfig threw: ${error}\n--- config ---\n${text.slice(0, 2000)}`,
    );
  }
  if (result.ok) return true;
  assert.ok(result.problems.length > 0, `${label}: not ok and no problem`);
  for (const p of result.problems) {
    assert.equal(typeof p, "string", label);
    assert.ok(!/\n\s+at /.test(p), `${label}: a stack trace: ${p}`);
    assert.ok(!p.includes(SECRET), `${label}: a secret in a problem: ${p}`);
    assert.ok(p.length < 2000, `${label}: a problem of ${p.length} characters`);
  }
  return false;
}

Deno.test("config fuzzing: 3,000 structural and 1,500 textual mutations never throw or leak", () => {
  const seed = 20261201;
  const rand = generator(seed);
  const base = YAML.parse(SAMPLE) as Json;
  check(SAMPLE, "the sample itself");
  let refused = 0;
  for (let i = 0; i < 3000; i++) {
    const text = YAML.stringify(mutateTree(base, rand));
    if (!check(text, `seed ${seed}, tree mutation ${i}`)) refused++;
  }
  for (let i = 0; i < 1500; i++) {
    check(mutateText(SAMPLE, rand), `seed ${seed}, text mutation ${i}`);
  }
  assert.ok(refused > 1000, `most mutations are refused (${refused} of 3000)`);
});
