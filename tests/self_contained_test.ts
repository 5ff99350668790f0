/**
 * The repository passes anywhere: nothing in it reads outside its own tree, and the API
 * specifications its conformance tests read are the copies in `spec/`, unchanged (as are the
 * Python agent's READMEs the migration test reads, in `tests/fixtures/python-agent/`).
 */
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath as fromFileUrl } from "node:url";

const ROOT = resolve(fromFileUrl(new URL("..", import.meta.url)));
const SKIP = new Set([".git", "node_modules", "dist", "spec", "__snapshots__"]);
const CODE = /\.(ts|tsx|js|json|yaml|yml|sh)$|^(run|Dockerfile|berth\.service)$/;

function* files(dir: string): Generator<string> {
  for (const entry of Deno.readDirSync(dir)) {
    if (SKIP.has(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory) yield* files(path);
    else if (entry.isFile) yield path;
  }
}

/**
 * Relative paths a file uses as paths: imports and `new URL(…, import.meta.url)` in TypeScript
 * (other `"../"` strings there are test data, such as hostile ids), any quoted `../` in shell,
 * JSON and YAML, and links in Markdown.
 */
function relativeRefs(path: string, text: string): string[] {
  const pattern = path.endsWith(".md")
    ? /\]\((\.\.?\/[^)\s#]*)/g
    : /\.tsx?$/.test(path)
    ? /(?:from|import\(|new URL\()\s*["'`](\.\.?\/[^"'`\s]*)["'`]/g
    : /["'`](\.\.\/[^"'`\s]*)["'`]/g;
  return [...text.matchAll(pattern)].map((m) => m[1] ?? "");
}

Deno.test("no file in the repository names a path outside it", () => {
  const outside: string[] = [];
  let checked = 0;
  for (const path of files(ROOT)) {
    const name = path.split("/").at(-1) ?? "";
    if (!CODE.test(name) && !name.endsWith(".md")) continue;
    const text = Deno.readTextFileSync(path);
    checked++;
    for (const ref of relativeRefs(path, text)) {
      const target = relative(ROOT, resolve(dirname(path), ref));
      if (target.startsWith("..")) outside.push(`${relative(ROOT, path)}: ${ref}`);
    }
    for (const m of text.matchAll(/shared\/specs|\/work\/(shared|main)\b/g)) {
      if (path === fromFileUrl(import.meta.url)) continue;
      outside.push(`${relative(ROOT, path)}: ${m[0]}`);
    }
  }
  assert.ok(checked > 50, `only ${checked} files checked`);
  assert.deepEqual(outside, []);
});

Deno.test("the specifications in spec/ are the upstream files, unchanged", () => {
  const readme = Deno.readTextFileSync(join(ROOT, "spec", "README.md"));
  const sums = [...readme.matchAll(/^([0-9a-f]{64}) {2}(\S+)$/gm)];
  assert.deepEqual(sums.map((m) => m[2]).sort(), [
    "harbor-v2.0-swagger.yaml",
    "keycloak-admin-openapi.json",
    "kubernetes-release-1.36-swagger.json",
    "waldur-openapi-schema-8.0.5.yaml",
  ]);
  for (const [, sum, file] of sums) {
    const bytes = Deno.readFileSync(join(ROOT, "spec", file ?? ""));
    assert.equal(createHash("sha256").update(bytes).digest("hex"), sum, `spec/${file}`);
  }
  for (const notes of ["rancher-v3-notes.md", "kubernetes-core-v1-notes.md"]) {
    assert.ok(readme.includes(notes), `spec/README.md names ${notes}`);
    assert.ok(Deno.statSync(join(ROOT, "spec", notes)).isFile);
  }
});

Deno.test("the Python agent's READMEs in tests/fixtures/python-agent are the copies, unchanged", () => {
  const dir = join(ROOT, "tests", "fixtures", "python-agent");
  const readme = Deno.readTextFileSync(join(dir, "README.md"));
  const sums = [...readme.matchAll(/^([0-9a-f]{64}) {2}(\S+)$/gm)];
  assert.deepEqual(sums.map((m) => m[2]).sort(), [
    "harbor-plugin-readme.txt",
    "rancher-plugin-readme.txt",
  ]);
  for (const [, sum, file] of sums) {
    const bytes = Deno.readFileSync(join(dir, file ?? ""));
    assert.equal(createHash("sha256").update(bytes).digest("hex"), sum, file);
  }
});
