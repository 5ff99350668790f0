/**
 * The code's shape: dependencies point one way (routes and main.ts use lib; lib never imports
 * routes), no module imports itself back through others (no cycle, type imports included), and
 * routes/ names no backend (each plugin presents itself).
 */
import assert from "node:assert/strict";

const ROOT = new URL("..", import.meta.url).href;

interface Info {
  modules: {
    specifier: string;
    dependencies?: {
      specifier: string;
      code?: { specifier: string };
      type?: { specifier: string };
    }[];
  }[];
}

/** The project's own modules reachable from `entries` and, for each, the project modules it imports. */
async function graph(entries: string[]): Promise<Map<string, string[]>> {
  const out = new Map<string, string[]>();
  for (const entry of entries) {
    const { code, stdout, stderr } = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", entry],
      cwd: new URL(ROOT).pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    assert.equal(code, 0, new TextDecoder().decode(stderr));
    const info = JSON.parse(new TextDecoder().decode(stdout)) as Info;
    for (const m of info.modules) {
      if (!m.specifier.startsWith(ROOT)) continue;
      const deps = (m.dependencies ?? [])
        .flatMap((d) => [d.code?.specifier, d.type?.specifier])
        .filter((s): s is string => s !== undefined && s.startsWith(ROOT));
      out.set(m.specifier.slice(ROOT.length), [...new Set(deps.map((s) => s.slice(ROOT.length)))]);
    }
  }
  return out;
}

const modules = await graph(["main.ts", "bench/run.ts", "tests/cli_test.ts", "lib/loop_test.ts"]);

Deno.test("lib never imports routes (routes and main.ts use lib, not the other way)", () => {
  const wrong = [...modules].filter(([m]) => m.startsWith("lib/")).flatMap(([m, deps]) =>
    deps.filter((d) => d.startsWith("routes/") || d === "main.ts").map((d) => `${m} → ${d}`)
  );
  assert.ok(modules.size > 50, `only ${modules.size} modules seen`);
  assert.deepEqual(wrong, []);
});

Deno.test("production code never imports the test doubles in testing/", () => {
  const wrong = [...modules]
    .filter(([m]) => (m.startsWith("lib/") || m.startsWith("routes/")) && !m.endsWith("_test.ts"))
    .flatMap(([m, deps]) => deps.filter((d) => d.startsWith("testing/")).map((d) => `${m} → ${d}`));
  assert.ok([...modules.keys()].some((m) => m.startsWith("testing/")), "the doubles were seen");
  assert.deepEqual(wrong, []);
});

Deno.test("no import cycle among the project's modules", () => {
  const cycles: string[] = [];
  const state = new Map<string, "open" | "done">();
  const path: string[] = [];
  const visit = (m: string) => {
    state.set(m, "open");
    path.push(m);
    for (const d of modules.get(m) ?? []) {
      if (state.get(d) === "open") cycles.push([...path.slice(path.indexOf(d)), d].join(" → "));
      else if (!state.has(d)) visit(d);
    }
    path.pop();
    state.set(m, "done");
  };
  for (const m of modules.keys()) if (!state.has(m)) visit(m);
  assert.deepEqual(cycles, []);
});

Deno.test("routes/ names no backend: plugins present themselves (lib/presentation.ts)", async () => {
  const { PLUGINS } = await import("../lib/plugins.ts");
  const names = PLUGINS.map((p) => p.type);
  assert.ok(names.includes("harbor") && names.includes("rancher"));
  const pattern = new RegExp(names.join("|"), "i");
  const found: string[] = [];
  const dir = new URL("../routes/", import.meta.url);
  for await (const entry of Deno.readDir(dir)) {
    if (!entry.isFile) continue;
    const lines = (await Deno.readTextFile(new URL(entry.name, dir))).split("\n");
    lines.forEach((line, i) => {
      if (pattern.test(line)) found.push(`routes/${entry.name}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(found, []);
});
