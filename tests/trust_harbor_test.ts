/**
 * Harbor ownership: Berth updates, binds, purges or deletes only the projects it owns (the name
 * it derives for the resource, or one the state file records it creating), never one another
 * resource of the offering holds, and adopts an existing project only when it is unclaimed and
 * empty. Every refusal is a terminal error that says what to do, and nothing is changed.
 */
import assert from "node:assert/strict";
import { harborTarget, type Naming } from "../lib/harbor/plan.ts";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { reportUsage } from "../lib/usage.ts";
import { type HarborSite, makeHarborSite, order } from "./support/harbor.ts";

const GIB = 1024 ** 3;

/** A project Berth never created, with images, and an OK resource whose backend_id names it. */
function foreignLibrary(site: HarborSite, settings = ""): { resource: string } {
  void settings;
  site.harbor.addProject("library", 50 * GIB);
  site.harbor.push("library", "library/nginx", 3 * GIB);
  const resource = site.waldur.addResource(site.offeringUuid, {
    name: "Sneaky",
    slug: "sneaky",
    limits: { storage: 1 },
    backend_id: "library",
    project: "proj",
    customer: "acme",
  });
  return { resource };
}

function harborWrites(site: HarborSite, from: number): string[] {
  return site.harbor.requests.slice(from).filter((r) => r.method !== "GET" && r.method !== "HEAD")
    .map((r) => `${r.method} ${r.path}`);
}

for (const termination of ["refuse", "purge"]) {
  Deno.test(`a Terminate whose backend_id names a project Berth never created deletes nothing (termination: ${termination})`, async () => {
    using site = makeHarborSite(`termination: ${termination}`);
    const { resource } = foreignLibrary(site);
    const terminate = site.waldur.orderTerminate(resource);
    const before = site.harbor.requests.length;
    await processOrders(site.offering.context);
    const o = site.waldur.order(terminate);
    assert.equal(o.state, "erred");
    assert.match(
      o.error_message,
      /backend_id "library" is not a Harbor project this offering manages/,
    );
    assert.match(o.error_message, /nothing was changed/);
    assert.deepEqual(harborWrites(site, before), []);
    assert.ok(site.harbor.project("library"), "library still exists");
    assert.equal(site.harbor.project("library")?.hard, 50 * GIB);
  });
}

Deno.test("an Update whose backend_id names a foreign project sets no quota", async () => {
  using site = makeHarborSite();
  const { resource } = foreignLibrary(site);
  const update = site.waldur.orderUpdate(resource, { storage: 2 });
  const before = site.harbor.requests.length;
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(update).state, "erred");
  assert.deepEqual(harborWrites(site, before), []);
  assert.equal(site.harbor.project("library")?.hard, 50 * GIB);
});

Deno.test("a membership pass binds no group to, and reports no usage of, a foreign project", async () => {
  using site = makeHarborSite();
  const { resource } = foreignLibrary(site);
  site.waldur.setTeam("proj", [{ username: "mallory" }]);
  const before = site.harbor.requests.length;
  const result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "partial");
  assert.deepEqual(harborWrites(site, before), [], "no group, no binding, no quota");
  assert.equal(site.waldur.resource(resource).state, "Erred", "the refusal is shown in Waldur");
  assert.match(
    site.backend.rows().find((r) => r.resource === resource)?.flags.join() ?? "",
    /not owned/,
  );
  await reportUsage(site.offering.context);
  assert.deepEqual(site.waldur.usagesOf(resource), [], "another project's usage is not billed");
});

Deno.test("a Create whose derived project another tenant holds is refused, not adopted", async () => {
  using site = makeHarborSite();
  // tenant A owns waldur-shared, with images
  const a = site.waldur.orderCreate(site.offeringUuid, {
    name: "Shared",
    limits: { storage: 20 },
    project: "alpha",
    customer: "tenant-a",
  });
  await processOrders(site.offering.context);
  assert.equal(site.waldur.resource(a.resource).backend_id, "waldur-shared");
  site.harbor.push("waldur-shared", "waldur-shared/secret-app", GIB);
  // tenant B orders a resource with the same slug
  const b = site.waldur.orderCreate(site.offeringUuid, {
    name: "Shared",
    slug: "shared",
    limits: { storage: 1 },
    project: "beta",
    customer: "tenant-b",
  });
  const before = site.harbor.requests.length;
  await processOrders(site.offering.context);
  const o = site.waldur.order(b.order);
  assert.equal(o.state, "erred");
  assert.match(o.error_message, /already exists and belongs to resource/);
  assert.equal(site.waldur.resource(b.resource).backend_id, "", "B holds nothing");
  assert.equal(site.harbor.project("waldur-shared")?.hard, 20 * GIB, "A's quota is untouched");
  const writes = harborWrites(site, before);
  assert.deepEqual(writes, ["POST /api/v2.0/projects"], "only the create that answered 409");
  assert.ok(
    !site.harbor.project("waldur-shared")?.members.some((m) => m.entityName === "waldur-beta"),
    "B's group gets no access to A's images",
  );
});

Deno.test("a Create adopts an unclaimed empty project, but not an unclaimed one holding images", async () => {
  using site = makeHarborSite();
  site.harbor.addProject("waldur-empty", 5 * GIB);
  const empty = order(site, "Empty");
  site.harbor.addProject("waldur-orphan", 5 * GIB);
  site.harbor.push("waldur-orphan", "waldur-orphan/old", GIB);
  const orphan = order(site, "Orphan");
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(empty.order).state, "done");
  assert.equal(site.waldur.resource(empty.resource).backend_id, "waldur-empty");
  const refused = site.waldur.order(orphan.order);
  assert.equal(refused.state, "erred");
  assert.match(refused.error_message, /holds 1 repository and was not created by Berth/);
  assert.match(refused.error_message, /delete or rename it in Harbor/);
  assert.equal(site.harbor.project("waldur-orphan")?.hard, 5 * GIB);
});

Deno.test("a project Berth created stays its own after a crash before set_backend_id, images or not", async () => {
  using site = makeHarborSite();
  const { order: uuid, resource } = order(site, "Crashy");
  // the first attempt creates the project, then Waldur refuses set_backend_id (the agent died)
  let refuse = true;
  site.intercept = (request, next) =>
    refuse && new URL(request.url).pathname.endsWith("/set_backend_id/")
      ? Promise.resolve(new Response("down", { status: 503 }))
      : next(request);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.resource(resource).backend_id, "");
  site.harbor.push("waldur-crashy", "waldur-crashy/app", GIB); // a fast user
  refuse = false;
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(uuid).state, "done");
  assert.equal(site.waldur.resource(resource).backend_id, "waldur-crashy");
});

Deno.test("a Terminate of a project another resource also holds in Waldur is refused", async () => {
  using site = makeHarborSite();
  const a = order(site, "Alpha");
  await processOrders(site.offering.context);
  // someone points a second resource at alpha's project
  const b = site.waldur.addResource(site.offeringUuid, {
    name: "Beta",
    slug: "beta",
    backend_id: "waldur-alpha",
    project: "proj",
    customer: "acme",
  });
  const terminateA = site.waldur.orderTerminate(a.resource);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(terminateA).state, "erred");
  assert.match(
    site.waldur.order(terminateA).error_message,
    new RegExp(`held by another resource .*${b}`),
  );
  assert.ok(site.harbor.project("waldur-alpha"), "not deleted while claimed twice");
});

Deno.test("harborTarget: the derived name, or what Berth recorded; anything else is refused", () => {
  const naming: Naming = {
    allocationPrefix: "waldur-",
    oidcGroupPrefix: "waldur-",
    defaultStorageGb: 10,
    roleId: 2,
  };
  const r = (backendId: string) => ({
    uuid: "r1",
    name: "Alpha",
    slug: "alpha",
    projectUuid: "p",
    projectSlug: "proj",
    projectName: "Proj",
    customerUuid: "c",
    customerSlug: "acme",
    customerName: "Acme",
    backendId,
    limits: {},
  });
  const table: [string, string | undefined, string][] = [
    ["", undefined, "waldur-alpha"],
    ["waldur-alpha", undefined, "waldur-alpha"],
    ["old-alpha", "old-alpha", "old-alpha"], // created under an earlier allocation_prefix
    ["library", undefined, "refused"],
    ["library", "old-alpha", "refused"],
    ["../waldur-alpha", undefined, "refused"],
  ];
  for (const [backendId, recorded, want] of table) {
    const got = harborTarget(r(backendId), naming, recorded);
    assert.equal("name" in got ? got.name : "refused", want, `${backendId} / ${recorded}`);
  }
});

Deno.test("two offerings on one Harbor with one allocation_prefix are a configuration error", async () => {
  const { parseConfig } = await import("../lib/config.ts");
  const { scopeConflicts } = await import("../lib/agent.ts");
  const { PLUGINS } = await import("../lib/plugins.ts");
  const offering = (name: string, url: string, prefix: string) => `
  - name: ${name}
    waldur_api_url: https://waldur.example.com/api/
    waldur_api_token: token-0123456789
    waldur_offering_uuid: 0b1c0000000000000000000000000001
    backend_type: harbor
    backend_settings:
      harbor_url: ${url}
      robot_username: robot$berth
      robot_password: pw-0123456789
      allocation_prefix: "${prefix}"`;
  const problems = (...offerings: string[]) => {
    const parsed = parseConfig(`offerings:${offerings.join("")}\n`, {
      env: () => undefined,
      readFile: () => "",
      schemas: Object.fromEntries(PLUGINS.map((p) => [p.type, p.settings])),
    });
    if (!parsed.ok) throw new Error(parsed.problems.join("\n"));
    return scopeConflicts(parsed.config, PLUGINS);
  };
  assert.deepEqual(
    problems(
      offering("a", "https://harbor.example.com", "waldur-"),
      offering("b", "https://HARBOR.example.com/", "waldur-"),
    ),
    [
      "offerings a and b both manage harbor projects on https://harbor.example.com, named " +
      "waldur-* and waldur-*: each would take the other's objects for its own; give each a " +
      "prefix that does not start the other's (or its own server)",
    ],
  );
  // a prefix that starts another: waldur-lab-x is a project of both
  assert.equal(
    problems(
      offering("a", "https://harbor.example.com", "waldur-"),
      offering("b", "https://harbor.example.com", "waldur-lab-"),
    ).length,
    1,
  );
  assert.deepEqual(
    problems(
      offering("a", "https://harbor.example.com", "waldur-"),
      offering("b", "https://harbor.example.com", "lab-"),
      offering("c", "https://other.example.com", "waldur-"),
    ),
    [],
  );
});

Deno.test("a Terminate of a resource Waldur names no project for deletes nothing, even one of its derived name", async () => {
  using site = makeHarborSite("termination: purge");
  site.harbor.addProject("waldur-orphan", 5 * GIB);
  site.harbor.push("waldur-orphan", "waldur-orphan/precious", GIB);
  const resource = site.waldur.addResource(site.offeringUuid, {
    name: "Orphan",
    slug: "orphan",
    project: "proj",
    customer: "acme",
  }); // OK, backend_id "" (its Create was refused, say)
  const terminate = site.waldur.orderTerminate(resource);
  const before = site.harbor.requests.length;
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(terminate).state, "done", "nothing of its to delete");
  assert.deepEqual(harborWrites(site, before), []);
  assert.equal(site.harbor.project("waldur-orphan")?.repositories.length, 1);
});

Deno.test("two tenants ordering one slug in one pass: one project, one owner, the other refused", async () => {
  using site = makeHarborSite("", {}, { yamlExtra: "concurrency: 4" });
  const a = site.waldur.orderCreate(site.offeringUuid, {
    name: "Shared",
    limits: { storage: 20 },
    project: "alpha",
    customer: "tenant-a",
  });
  const b = site.waldur.orderCreate(site.offeringUuid, {
    name: "Shared",
    limits: { storage: 1 },
    project: "beta",
    customer: "tenant-b",
  });
  await processOrders(site.offering.context);
  const states = [a, b].map((o) => site.waldur.order(o.order).state).sort();
  assert.deepEqual(states, ["done", "erred"]);
  const winner = site.waldur.order(a.order).state === "done" ? a : b;
  const loser = winner === a ? b : a;
  assert.match(site.waldur.order(loser.order).error_message, /belongs to resource/);
  assert.equal(site.waldur.resource(loser.resource).backend_id, "");
  const groups = site.harbor.project("waldur-shared")?.members.filter((m) => m.entityType === "g")
    .map((m) => m.entityName);
  assert.deepEqual(groups, [winner === a ? "waldur-alpha" : "waldur-beta"]);
  assert.equal(site.harbor.project("waldur-shared")?.hard, (winner === a ? 20 : 1) * GIB);
});

Deno.test("harbor: a project the state file records under an earlier name is kept by the membership pass", async () => {
  using site = makeHarborSite();
  // created under an earlier allocation_prefix: Waldur and the state file both name "old-alpha"
  site.harbor.addProject("old-alpha", 20 * GIB);
  const resource = site.waldur.addResource(site.offeringUuid, {
    name: "Alpha",
    slug: "alpha",
    limits: { storage: 20 },
    backend_id: "old-alpha",
    project: "proj",
    customer: "acme",
  });
  site.store.recordOwned("registry", resource, "old-alpha", 0);
  const result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  assert.equal(site.waldur.resource(resource).state, "OK");
  const project = site.harbor.project("old-alpha");
  assert.ok(
    project?.members.some((m) => m.entityName === "waldur-proj"),
    "the OIDC group is bound to the recorded project",
  );
});
