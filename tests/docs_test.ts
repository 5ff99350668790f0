/**
 * The code documents itself: every export of a production module (main.ts, lib/ and routes/,
 * tests aside) carries a JSDoc, read from `deno doc --json`; and ARCHITECTURE.md names every
 * file under lib/.
 */
import assert from "node:assert/strict";
import { z } from "zod";

const ROOT = new URL("..", import.meta.url);

/** Kinds of export that need a doc; a `reference` (a re-export) is documented where declared. */
const DOCUMENTED_KINDS = new Set([
  "class",
  "enum",
  "function",
  "interface",
  "namespace",
  "typeAlias",
  "variable",
]);

/** The part of `deno doc --json` (format version 2, Deno 2.x) this test reads. */
const DocJson = z.object({
  version: z.literal(2),
  nodes: z.record(
    z.string(),
    z.object({
      symbols: z.array(z.object({
        name: z.string(),
        declarations: z.array(z.object({
          location: z.object({ line: z.number() }),
          declarationKind: z.string(),
          kind: z.string(),
          jsDoc: z.object({ doc: z.string().optional() }).optional(),
        })),
      })).default([]),
    }),
  ),
});

/** Paths (from the repository root) of the .ts/.tsx files under `dir`, tests left out. */
async function sources(dir: string): Promise<string[]> {
  const out: string[] = [];
  for await (const entry of Deno.readDir(new URL(`${dir}/`, ROOT))) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory) out.push(...await sources(path));
    else if (/\.tsx?$/.test(entry.name) && !/_test\.tsx?$/.test(entry.name)) out.push(path);
  }
  return out.sort();
}

const production = ["main.ts", ...await sources("lib"), ...await sources("routes")];

/** `file:line kind name` of every export without a JSDoc in `files`. */
async function undocumented(files: readonly string[]): Promise<string[]> {
  const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", ...files],
    cwd: ROOT.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(code, 0, new TextDecoder().decode(stderr));
  const doc = DocJson.parse(JSON.parse(new TextDecoder().decode(stdout)));
  const missing: { file: string; line: number; what: string }[] = [];
  for (const [specifier, node] of Object.entries(doc.nodes)) {
    const file = specifier.slice(ROOT.href.length);
    for (const symbol of node.symbols) {
      const exported = symbol.declarations.filter((d) =>
        d.declarationKind === "export" && DOCUMENTED_KINDS.has(d.kind)
      );
      // a schema and its inferred type share a name: one doc serves both
      const first = exported[0];
      if (first === undefined || exported.some((d) => (d.jsDoc?.doc ?? "").trim() !== "")) {
        continue;
      }
      missing.push({ file, line: first.location.line, what: `${first.kind} ${symbol.name}` });
    }
  }
  return missing
    .sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line)
    .map((m) => `${m.file}:${m.line} ${m.what}`);
}

Deno.test("every export of a production module has a JSDoc", async () => {
  const checked = production;
  assert.ok(checked.length > 40, `only ${checked.length} modules checked`);
  const missing = await undocumented(checked);
  assert.deepEqual(missing, [], `exports without a JSDoc:\n${missing.join("\n")}`);
});

Deno.test("ARCHITECTURE.md names every production file under lib/", async () => {
  const text = await Deno.readTextFile(new URL("ARCHITECTURE.md", ROOT));
  const block = text.split("```")[1] ?? "";
  // an entry is a line that starts in the first column and the indented lines under it
  const entries = block.split(/\n(?=\S)/);
  // a file in a folder under lib/ (or in a folder of that folder, as fake/) is named by its
  // name in that folder's entry
  const named = (file: string) => {
    const folder = file.split("/").slice(0, 2).join("/") + "/";
    const name = file.slice(file.lastIndexOf("/") + 1);
    return entries.some((e) =>
      e.includes(file) || (folder !== "lib/" && e.startsWith(folder) && e.includes(name))
    );
  };
  const unnamed = production.filter((f) => f.startsWith("lib/") && !named(f));
  assert.deepEqual(unnamed, []);
});
