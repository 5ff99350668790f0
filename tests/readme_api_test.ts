/**
 * The README's lists of `/api/status` fields and `/metrics` families against the code, both
 * ways: a field or family the code has and the README lacks fails naming it, and so does a
 * README entry the code no longer has.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { StatusModel, StatusRecord } from "../lib/status.ts";
import { createApp } from "../routes/app.tsx";

const README = Deno.readTextFileSync(new URL("../README.md", import.meta.url));

/** Every field of a schema as a path (`loops[].lastSuccess`); records and scalars end a path. */
function fieldPaths(schema: z.core.$ZodType, prefix = ""): string[] {
  if (
    schema instanceof z.ZodOptional || schema instanceof z.ZodNullable ||
    schema instanceof z.ZodDefault
  ) {
    return fieldPaths(schema.unwrap(), prefix);
  }
  if (schema instanceof z.ZodArray) return fieldPaths(schema.element, `${prefix}[]`);
  if (schema instanceof z.ZodObject) {
    return Object.entries(schema.shape).flatMap(([key, value]) => {
      const path = prefix ? `${prefix}.${key}` : key;
      return [path, ...fieldPaths(value, path)];
    });
  }
  return [];
}

/** The first cells (`name`) of the table rows under a `### ` heading of the README. */
function tableNames(heading: string): string[] {
  const start = README.indexOf(`\n### ${heading}\n`);
  assert.ok(start >= 0, `the README has no "### ${heading}" section`);
  const rest = README.slice(start + heading.length + 6);
  const section = rest.slice(0, rest.search(/\n##+ /) >>> 0);
  return [...section.matchAll(/^\| `([^`]+)` +\|/gm)].map((m) => m[1] ?? "");
}

/** Both directions at once: what the code has that the README lacks, and the reverse. */
function compare(code: readonly string[], readme: readonly string[], what: string): void {
  const missing = code.filter((name) => !readme.includes(name));
  const gone = readme.filter((name) => !code.includes(name));
  assert.deepEqual(
    { [`${what} missing from the README`]: missing, [`README ${what} the code lacks`]: gone },
    { [`${what} missing from the README`]: [], [`README ${what} the code lacks`]: [] },
  );
}

Deno.test("the README documents every /api/status field, and no field the model lacks", () => {
  const code = fieldPaths(StatusModel);
  assert.ok(code.includes("breakers[].opens") && code.includes("loops[].lastSuccess"));
  compare(code, tableNames("`/api/status` fields"), "/api/status fields");
});

Deno.test("the README documents every metric family Berth exposes, and no family it lacks", async () => {
  const status = new StatusRecord({ version: "t", configPath: "c", offerings: [], now: () => 0 });
  const text = await (await createApp({ status, deno: "2.9.6" }).request("/metrics")).text();
  const code = [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1] ?? "");
  assert.ok(
    code.includes("berth_circuit_open") && code.includes("berth_team_robot_expiry_seconds"),
  );
  compare(code, tableNames("Metrics"), "metric families");
});
