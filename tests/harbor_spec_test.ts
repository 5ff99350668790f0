/**
 * The fake Harbor and the Harbor client against Harbor's own swagger (v2.15.2): every route the
 * fake serves is a spec operation, and every request the backend sends in a full scenario is
 * one too, with known query and header parameters, every required one present, and a JSON body
 * that validates against the operation's body schema (unknown fields refused: Harbor would
 * silently drop them).
 */
import assert from "node:assert/strict";
import { Ajv } from "ajv";
import YAML from "yaml";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { reportUsage } from "../lib/usage.ts";
import { FakeHarbor } from "../lib/harbor/fake.ts";
import { makeHarborSite, order } from "./support/harbor.ts";

const SPEC = new URL("../spec/harbor-v2.0-swagger.yaml", import.meta.url);

interface Param {
  name: string;
  in: "query" | "header" | "path" | "body";
  required?: boolean;
  type?: string;
  schema?: unknown;
}
interface Operation {
  parameters?: ({ $ref: string } | Param)[];
}
interface Spec {
  basePath: string;
  paths: Record<string, Record<string, Operation>>;
  parameters: Record<string, Param>;
  definitions: Record<string, unknown>;
}

const spec = YAML.parse(Deno.readTextFileSync(SPEC)) as Spec;

/** Definitions with `additionalProperties: false` wherever properties are listed. */
function closed(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(closed);
  if (node === null || typeof node !== "object") return node;
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(node)) out[k] = closed(v);
  if ("properties" in out && !("additionalProperties" in out)) out.additionalProperties = false;
  return out;
}

const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
ajv.addSchema({ definitions: closed(spec.definitions) }, "harbor");

function parameters(op: Operation): Param[] {
  return (op.parameters ?? []).map((p) => {
    if ("$ref" in p) {
      const found = spec.parameters[p.$ref.replace("#/parameters/", "")];
      assert.ok(found, `unknown parameter ${p.$ref}`);
      return found;
    }
    return p;
  });
}

function findOperation(method: string, path: string): Operation | undefined {
  const local = path.slice(spec.basePath.length);
  for (const [template, ops] of Object.entries(spec.paths)) {
    const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);
    if (re.test(local)) {
      const op = ops[method.toLowerCase()];
      if (op) return op;
    }
  }
  return undefined;
}

/** Problems of one request against the spec; empty when it conforms. */
function check(method: string, url: URL, headers: Headers, body: unknown): string[] {
  const what = `${method} ${url.pathname}`;
  const op = findOperation(method, url.pathname);
  if (!op) return [`${what} is not a spec operation`];
  const problems: string[] = [];
  const params = parameters(op);
  for (const key of new Set(url.searchParams.keys())) {
    const p = params.find((x) => x.in === "query" && x.name === key);
    if (!p) problems.push(`${what}: unknown query parameter ${key}`);
    else if (p.type === "integer" && !/^-?\d+$/.test(url.searchParams.get(key) ?? "")) {
      problems.push(`${what}: ${key} must be an integer`);
    }
  }
  for (const p of params) {
    if (!p.required) continue;
    if (p.in === "query" && !url.searchParams.has(p.name)) {
      problems.push(`${what}: required query parameter ${p.name} missing`);
    }
    if (p.in === "header" && !headers.has(p.name)) {
      problems.push(`${what}: required header ${p.name} missing`);
    }
    if (p.in === "body" && body === undefined) problems.push(`${what}: body missing`);
  }
  for (const [name] of headers) {
    if (!name.startsWith("x-")) continue;
    if (!params.some((p) => p.in === "header" && p.name.toLowerCase() === name)) {
      problems.push(`${what}: unknown header ${name}`);
    }
  }
  const bodyParam = params.find((p) => p.in === "body");
  if (body !== undefined) {
    if (!bodyParam) problems.push(`${what}: sends a body the operation does not take`);
    else {
      const validate = ajv.compile(rebase(bodyParam.schema));
      if (!validate(body)) {
        problems.push(`${what}: body ${JSON.stringify(body)}: ${ajv.errorsText(validate.errors)}`);
      }
    }
  }
  return problems;
}

/** A body schema with its `#/definitions/...` refs pointed at the registered spec. */
function rebase(schema: unknown): Record<string, unknown> {
  return JSON.parse(
    JSON.stringify(schema ?? {}).replaceAll('"#/definitions/', '"harbor#/definitions/'),
  );
}

Deno.test("every route the fake Harbor serves is a spec operation", () => {
  const fake = new FakeHarbor();
  const routes = fake.app.routes.filter((r) => r.method !== "ALL");
  assert.ok(routes.length >= 20);
  for (const r of routes) {
    const template = r.path.slice(spec.basePath.length).replace(/:(\w+)/g, "{$1}");
    const ops = spec.paths[template];
    assert.ok(ops, `${template} is not in the spec`);
    assert.ok(r.method.toLowerCase() in ops, `${r.method} ${template} is not in the spec`);
  }
});

Deno.test("the conformance check catches a wrong body, an unknown field and an unknown path", () => {
  const h = new Headers();
  const url = (p: string) => new URL(`http://h${spec.basePath}${p}`);
  assert.deepEqual(check("PUT", url("/quotas/1"), h, { hard: { storage: 5 } }), []);
  assert.equal(check("PUT", url("/quotas/1"), h, { hard: { storage: "5" } }).length, 1);
  assert.equal(
    check("POST", url("/projects"), h, { project_name: "a", storagelimit: 1 }).length,
    1,
  );
  assert.equal(check("GET", url("/projects/1/quota"), h, undefined).length, 1);
  assert.equal(check("GET", url("/projects?nam=x"), h, undefined).length, 1);
});

Deno.test("every request the Harbor backend sends in a full scenario conforms to the swagger", async () => {
  using site = makeHarborSite("termination: purge");
  const sent: { method: string; url: URL; headers: Headers; body: unknown }[] = [];
  site.intercept = async (request, next) => {
    const url = new URL(request.url);
    if (url.hostname === "harbor.test") {
      const text = await request.clone().text();
      sent.push({
        method: request.method,
        url,
        headers: request.headers,
        body: text === "" ? undefined : JSON.parse(text),
      });
    }
    return next(request);
  };
  site.harbor.addProject("waldur-adopted");
  const a = order(site, "alpha", { storage: 4 });
  order(site, "adopted", {});
  order(site, "other", { storage: 1 }, "proj-two");
  site.waldur.setTeam("proj", [{ username: "ann" }]);
  await processOrders(site.offering.context);
  site.harbor.setHard("waldur-alpha", 1);
  site.harbor.removeGroupMember("waldur-other", "waldur-proj-two");
  site.harbor.project("waldur-adopted")!.members.find((m) => m.entityType === "g")!.roleId = 4;
  await syncMembership(site.offering.context);
  site.harbor.push("waldur-alpha", "team/app", 1024);
  await reportUsage(site.offering.context);
  site.waldur.orderUpdate(a.resource, { storage: 8 });
  await processOrders(site.offering.context);
  site.waldur.orderTerminate(a.resource);
  await processOrders(site.offering.context);
  await site.backend.diagnose();
  await site.backend.plan([]);
  const kinds = new Set(sent.map((s) => `${s.method} ${s.url.pathname.replace(/\d+/g, "N")}`));
  assert.ok(kinds.size >= 14, [...kinds].join("\n"));
  const problems = sent.flatMap((s) => check(s.method, s.url, s.headers, s.body));
  assert.deepEqual(problems, []);
});
