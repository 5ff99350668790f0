/**
 * The fake Waldur must not serve what the real one does not: every route it serves exists in
 * the Waldur 8.0.5 OpenAPI spec with that method, and every request the client sends in the
 * end-to-end suite does too.
 */
import { createQueue, registerEventSubscription } from "../lib/waldur/subscriptions.ts";
import assert from "node:assert/strict";
import YAML from "yaml";
import { Ajv } from "ajv";
import { FakeWaldur } from "../lib/waldur/fake.ts";
import { processOrders } from "../lib/orders.ts";
import { syncMembership } from "../lib/membership.ts";
import { reportUsage } from "../lib/usage.ts";
import { makeSite, orderCreate } from "./support/site.ts";

const SPEC = new URL("../spec/waldur-openapi-schema-8.0.5.yaml", import.meta.url);

type Spec = { paths: Record<string, Record<string, unknown>> };
let cached: Spec | undefined;
function spec(): Spec {
  cached ??= YAML.parse(Deno.readTextFileSync(SPEC), { maxAliasCount: -1 }) as Spec;
  return cached;
}

/** `/api/marketplace-orders/abc123/approve_by_provider/` → its spec template, if any. */
function specPath(path: string, method: string): string | undefined {
  for (const [template, ops] of Object.entries(spec().paths)) {
    const re = new RegExp(`^${template.replace(/\{[^}]+\}/g, "[^/]+")}$`);
    if (re.test(path) && method.toLowerCase() in ops) return template;
  }
  return undefined;
}

Deno.test("every route the fake Waldur serves exists in the spec with that method", () => {
  const fake = new FakeWaldur();
  const routes = fake.app.routes.filter((r) => r.method !== "ALL");
  assert.ok(routes.length > 15);
  for (const r of routes) {
    const template = r.path.replace(/:(\w+)/g, "{$1}");
    const ops = spec().paths[template];
    assert.ok(ops, `${template} is not in the spec`);
    assert.ok(r.method.toLowerCase() in ops, `${r.method} ${template} is not in the spec`);
  }
});

Deno.test("every request the agent sends in a full cycle is a spec operation", async () => {
  using site = makeSite();
  const sent: { method: string; path: string }[] = [];
  site.intercept = (request, next) => {
    sent.push({ method: request.method, path: new URL(request.url).pathname });
    return next(request);
  };
  const { resource } = orderCreate(site, "specced", {});
  site.waldur.setTeam("proj", [{ username: "ann" }]);
  await processOrders(site.offering.context);
  site.waldur.orderUpdate(resource, { storage: 3 });
  await processOrders(site.offering.context);
  await syncMembership(site.offering.context);
  site.backend.projects.get("waldur-specced")!.used.storage = 1;
  await reportUsage(site.offering.context);
  site.waldur.orderTerminate(resource);
  await processOrders(site.offering.context);
  await site.offering.waldur.registerIdentity(
    site.offeringUuid,
    "t",
    ["order_process"],
    "2026-11-15T12:00:00Z",
  );
  await site.offering.waldur.getOffering(site.offeringUuid);
  await site.offering.waldur.me();
  assert.ok(sent.length > 10);
  for (const s of sent) {
    assert.ok(specPath(s.path, s.method), `${s.method} ${s.path} is not in the spec`);
  }
});

/** An OpenAPI 3 component schema as JSON Schema for ajv: `nullable` made a type union. */
function componentSchemas(): Record<string, unknown> {
  const doc = spec() as Spec & { components: { schemas: Record<string, unknown> } };
  const convert = (v: unknown): unknown => {
    if (Array.isArray(v)) return v.map(convert);
    if (v === null || typeof v !== "object") return v;
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === "$ref" && typeof x === "string") {
        out.$ref = x.replace("#/components/schemas/", "waldur#/definitions/");
      } else if (k !== "nullable") out[k] = convert(x);
    }
    return (v as { nullable?: boolean }).nullable ? { anyOf: [out, { type: "null" }] } : out;
  };
  return convert(doc.components.schemas) as Record<string, unknown>;
}

Deno.test("the event subscription paths take and answer what the spec says", async () => {
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ $id: "waldur", definitions: componentSchemas() });
  const valid = (name: string, value: unknown) => {
    const check = ajv.getSchema(`waldur#/definitions/${name}`);
    assert.ok(check, name);
    assert.ok(check(value), `${name}: ${JSON.stringify(check.errors)}`);
  };
  const fake = new FakeWaldur();
  const offering = fake.addOffering("Containers", []);
  const send = async (method: string, path: string, body: unknown, schema?: string) => {
    if (schema) valid(schema, body);
    assert.ok(specPath(path, method), `${method} ${path} is not in the spec`);
    const res = await fake.app.request(path, {
      method,
      headers: { authorization: `Token ${fake.token}`, "content-type": "application/json" },
      body: JSON.stringify(body),
    });
    return { status: res.status, json: await res.json() as Record<string, unknown> };
  };
  const identity = await send("POST", "/api/marketplace-site-agent-identities/", {
    offering,
    name: "agent",
  });
  const sub = await send(
    "POST",
    `/api/marketplace-site-agent-identities/${identity.json.uuid}/register_event_subscription/`,
    { observable_object_type: "order", description: "berth order" },
    "AgentEventSubscriptionCreateRequest",
  );
  assert.equal(sub.status, 201);
  valid("EventSubscription", sub.json);
  const made = await send(
    "POST",
    "/api/event-subscriptions/",
    { description: "d", observable_objects: [{ object_type: "resource" }] },
    "EventSubscriptionRequest",
  );
  assert.equal(made.status, 201);
  valid("EventSubscription", made.json);
  // the queue's answer, from a fake whose RabbitMQ accepts every call
  const withRabbit = new FakeWaldur({
    token: fake.token,
    rabbit: {
      managementUrl: "http://rabbit.test",
      adminUser: "admin",
      adminPass: "pw",
      fetch: () => Promise.resolve(new Response(null, { status: 201 })),
    },
  });
  withRabbit.offerings.set(offering, fake.offerings.get(offering)!);
  const s2 = await withRabbit.app.request("/api/event-subscriptions/", {
    method: "POST",
    headers: { authorization: `Token ${fake.token}`, "content-type": "application/json" },
    body: "{}",
  });
  const subUuid = (await s2.json() as { uuid: string }).uuid;
  const body = { offering_uuid: offering, object_type: "order" };
  valid("EventSubscriptionQueueCreateRequest", body);
  const path = `/api/event-subscriptions/${subUuid}/create_queue/`;
  assert.ok(specPath(path, "POST"));
  const q = await withRabbit.app.request(path, {
    method: "POST",
    headers: { authorization: `Token ${fake.token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  assert.equal(q.status, 201);
  valid("EventSubscriptionQueue", await q.json());
});

Deno.test("event mode's subscription requests conform to the spec", async () => {
  const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
  ajv.addSchema({ $id: "waldur", definitions: componentSchemas() });
  using site = makeSite();
  const sent: { method: string; path: string; body: unknown }[] = [];
  site.intercept = async (request, next) => {
    const text = await request.clone().text();
    sent.push({
      method: request.method,
      path: new URL(request.url).pathname,
      body: text ? JSON.parse(text) : undefined,
    });
    return next(request);
  };
  const http = site.offering.waldur.http;
  const identity = await site.offering.waldur.registerIdentity(site.offeringUuid, "t", [], "now");
  const sub = await registerEventSubscription(http, identity, "order");
  // without a RabbitMQ the fake answers 400 as Waldur does; the request is what is checked here
  await assert.rejects(createQueue(http, sub.uuid, site.offeringUuid, "order"));
  const schemas: Record<string, string> = {
    register_event_subscription: "AgentEventSubscriptionCreateRequest",
    create_queue: "EventSubscriptionQueueCreateRequest",
  };
  let checked = 0;
  for (const s of sent) {
    assert.ok(specPath(s.path, s.method), `${s.method} ${s.path} is not in the spec`);
    const action = /\/(register_event_subscription|create_queue)\/$/.exec(s.path)?.[1];
    if (!action) continue;
    const check = ajv.getSchema(`waldur#/definitions/${schemas[action]}`);
    assert.ok(check);
    assert.ok(check(s.body), `${action}: ${JSON.stringify(check.errors)}`);
    checked++;
  }
  assert.equal(checked, 2);
});
