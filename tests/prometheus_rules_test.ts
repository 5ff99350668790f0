/**
 * deploy/prometheus-rules.yaml: a Prometheus rule file whose every metric is one Berth exposes
 * (the families of a scrape of `/metrics`, which declares every family in every scrape).
 */
import assert from "node:assert/strict";
import YAML from "yaml";
import { z } from "zod";
import { StatusRecord } from "../lib/status.ts";
import { createApp } from "../routes/app.tsx";

const RULES = Deno.readTextFileSync(new URL("../deploy/prometheus-rules.yaml", import.meta.url));

const Rule = z.object({
  alert: z.string().regex(/^[A-Z][A-Za-z]+$/),
  expr: z.string().min(1),
  for: z.string().regex(/^\d+[smhd]$/).optional(),
  labels: z.object({ severity: z.enum(["critical", "warning", "info"]) }).strict(),
  annotations: z.object({ summary: z.string().min(1), description: z.string().min(1) }).strict(),
}).strict();
const RuleFile = z.object({
  groups: z.array(z.object({ name: z.string(), rules: z.array(Rule).min(1) }).strict()).min(1),
}).strict();

/** Berth's metric families and their types, from the exposition of a fresh status record. */
async function families(): Promise<Map<string, string>> {
  const status = new StatusRecord({ version: "t", configPath: "c", offerings: [], now: () => 0 });
  const text = await (await createApp({ status, deno: "2.9.6" }).request("/metrics")).text();
  return new Map([...text.matchAll(/^# TYPE (\S+) (\S+)$/gm)].map((m) => [m[1] ?? "", m[2] ?? ""]));
}

const KEYWORDS = new Set(["by", "without", "on", "ignoring", "group_left", "group_right", "bool"]);
const OPERATORS = new Set(["and", "or", "unless", "offset", "inf", "nan"]);

/** The metric names a PromQL expression reads (not functions, labels, keywords or strings). */
function metricNames(expr: string): string[] {
  const bare = expr
    .replace(/"(?:[^"\\]|\\.)*"/g, '""') // strings (label values, templates)
    .replace(/\{[^}]*\}/g, "") // label matchers
    .replace(/\[[^\]]*\]/g, "") // ranges
    .replace(/\b\d+(?:ms|[smhdwy])\b/g, "") // durations (offset 5m)
    .replace(/\b(?:by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)/g, ""); // label lists
  const names: string[] = [];
  for (const m of bare.matchAll(/[A-Za-z_:][A-Za-z0-9_:]*(\s*\()?/g)) {
    const word = m[0].replace(/\s*\($/, "");
    if (m[1] !== undefined || KEYWORDS.has(word) || OPERATORS.has(word.toLowerCase())) continue;
    names.push(word);
  }
  return names;
}

Deno.test("the Prometheus rules file is a rule file: groups of rules with alert, expr, for, severity, summary and description", () => {
  const file = RuleFile.parse(YAML.parse(RULES));
  const alerts = file.groups.flatMap((g) => g.rules.map((r) => r.alert));
  assert.equal(new Set(alerts).size, alerts.length, "alert names are unique");
  // what the rules are there for: loops failing or late, open circuits, erred resources, robots
  for (const wanted of ["LoopFailing", "LoopStalled", "CircuitOpen", "ResourcesErred", "Robot"]) {
    assert.ok(alerts.some((a) => a.includes(wanted)), wanted);
  }
});

Deno.test("every metric a Prometheus rule reads is a family Berth exposes", async () => {
  const known = await families();
  const file = RuleFile.parse(YAML.parse(RULES));
  const unknown: string[] = [];
  for (const rule of file.groups.flatMap((g) => g.rules)) {
    const names = metricNames(rule.expr);
    assert.ok(names.length > 0, `${rule.alert} reads no metric`);
    for (const name of names) {
      const histogram = name.replace(/_(bucket|sum|count)$/, "");
      if (!known.has(name) && known.get(histogram) !== "histogram") {
        unknown.push(`${rule.alert}: ${name}`);
      }
    }
  }
  assert.deepEqual(unknown, []);
});

Deno.test("metricNames finds the metrics of an expression, not its functions, labels or keywords", () => {
  assert.deepEqual(
    metricNames(
      'sum by (loop, offering) (increase(berth_a_total{outcome="failed"}[30m])) > 0 unless ' +
        "time() - berth_b_seconds > 6 * 3600 and on(x) up offset 5m",
    ),
    ["berth_a_total", "berth_b_seconds", "up"],
  );
});
