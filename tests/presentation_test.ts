/**
 * The presentation contract: every row the Harbor and Rancher backends publish, through their
 * order, membership and usage passes against the fakes, parses with its plugin's schema (so no
 * row can vanish from the page), and a row that does not is said on the page.
 */
import assert from "node:assert/strict";
import type { z } from "zod";
import { GroupRow } from "../lib/keycloak/group_row.ts";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { PLUGINS } from "../lib/plugins.ts";
import { rowsOf } from "../lib/presentation.ts";
import type { StatusRecord } from "../lib/status.ts";
import { reportUsage } from "../lib/usage.ts";
import { createApp } from "../routes/app.tsx";
import { makeHarborKeycloakSite, order } from "./support/harbor.ts";
import { makeRancherSite, orderProject } from "./support/rancher.ts";
import { fixtureStatus } from "./support/status_fixture.ts";

const GIB = 1024 ** 3;

/** Problems of `rows` against `schema`, one line per row that does not parse. */
function problems(rows: readonly Record<string, unknown>[], schema: z.ZodType): string[] {
  return rows.flatMap((row) => {
    const parsed = schema.safeParse(row);
    return parsed.success ? [] : [`${JSON.stringify(row)}: ${parsed.error.message}`];
  });
}

/** Every published row and group checked against its schema; the rows seen, by kind. */
async function checkPublished(
  status: StatusRecord,
): Promise<Map<string, Record<string, unknown>[]>> {
  const seen = new Map<string, Record<string, unknown>[]>();
  for (const b of status.snapshot().backends) {
    const presentations = PLUGINS.find((p) => p.type === b.kind)?.presentations ?? [];
    assert.ok(presentations.length > 0, `the ${b.kind} plugin presents its rows`);
    assert.deepEqual(problems(b.groups ?? [], GroupRow), [], `${b.kind} groups`);
    for (const table of Object.keys(b.tables ?? {})) {
      assert.ok(presentations.some((p) => p.table === table), `table ${table} is presented`);
    }
    for (const presentation of presentations) {
      const rows = rowsOf(b, presentation);
      const name = `${b.kind} ${presentation.table ?? "rows"}`;
      assert.deepEqual(problems(rows, presentation.schema), [], name);
      for (const row of rows) {
        const cells = presentation.section.cells(presentation.schema.parse(row));
        assert.equal(cells.length, presentation.section.columns.length, "a cell per column");
      }
      seen.set(name, [...seen.get(name) ?? [], ...rows]);
    }
    seen.set(b.kind, [...seen.get(b.kind) ?? [], ...b.rows]);
  }
  const page = await (await createApp({ status }).request("/?n=500")).text();
  assert.doesNotMatch(page, /could not be shown/);
  return seen;
}

Deno.test("every row Harbor publishes (orders, membership, usage, adopted, missing) parses with its plugin's schema", async () => {
  using site = makeHarborKeycloakSite(["ann"]);
  site.harbor.addProject("waldur-old", -1);
  order(site, "old", { storage: 3 });
  order(site, "full", { storage: 1 });
  order(site, "no-limit", {});
  const gone = order(site, "gone");
  site.waldur.addResource(site.offeringUuid, {
    name: "Never made",
    project: "proj",
    customer: "acme",
    backend_id: "waldur-never-made",
  });
  site.waldur.setTeam("proj", [{ username: "ann" }, { username: "ghost" }]);
  await processOrders(site.offering.context);
  site.harbor.push("waldur-full", "app", 2 * GIB);
  site.waldur.orderTerminate(gone.resource);
  await processOrders(site.offering.context);
  await syncMembership(site.offering.context);
  await reportUsage(site.offering.context);
  const seen = await checkPublished(site.status);
  const rows = seen.get("harbor") ?? [];
  assert.ok(rows.length >= 4, `${rows.length} Harbor rows`);
  const flags = rows.flatMap((r) => Array.isArray(r.flags) ? r.flags : []);
  assert.ok(flags.includes("adopted") && flags.includes("over quota"), flags.join(", "));
});

Deno.test("every row Rancher publishes (orders, usage, missing projects, Keycloak groups) parses with its plugin's schema", async () => {
  using site = makeRancherSite({ keycloak: true });
  site.keycloak.addUser("waldur", "ann");
  const a = orderProject(site, "Alpha");
  orderProject(site, "Beta", {});
  site.waldur.addResource(site.offeringUuid, {
    name: "Never made",
    project: "proj",
    customer: "acme",
    backend_id: `${site.cluster}:p-gone0`,
  });
  site.waldur.setTeam("proj", [{ username: "ann" }, { username: "ghost" }]);
  await processOrders(site.offering.context);
  site.rancher.addPod(site.cluster, "waldur-alpha", "web", {
    containers: [{ requests: { cpu: "250m", memory: "512Mi" } }],
  });
  site.rancher.addPvc(site.cluster, "waldur-alpha", "data", "2Gi");
  await syncMembership(site.offering.context);
  await reportUsage(site.offering.context);
  site.waldur.orderUpdate(a.resource, { cpu: 1, memory: 1, storage: 10 });
  await processOrders(site.offering.context);
  const seen = await checkPublished(site.status);
  const rows = seen.get("rancher") ?? [];
  assert.ok(rows.length >= 3, `${rows.length} Rancher rows`);
  const flags = rows.flatMap((r) => Array.isArray(r.flags) ? r.flags : []);
  assert.ok(flags.includes("missing"), flags.join(", "));
  assert.ok(rows.some((r) => typeof r.cpuRequested === "number"), "usage was observed");
  const groups = site.status.snapshot().backends.flatMap((b) => b.groups ?? []);
  assert.ok(groups.length > 0, "the Keycloak groups were published");
});

Deno.test("a row that does not match its schema is counted on the page, not silently dropped", async () => {
  const { status, clock } = fixtureStatus();
  status.publish("registry", {
    kind: "harbor",
    at: clock.now(),
    rows: [
      { project: "fine", resource: "r1", resourceName: "Fine", quotaBytes: 1, usedBytes: 0 },
      ...status.snapshot().backends.find((b) => b.offering === "registry")?.rows ?? [],
    ],
  });
  const k8s = status.snapshot().backends.find((b) => b.offering === "k8s");
  const [first] = k8s?.rows ?? [];
  // the Rancher backend writes no project id while it knows none: a row, not a problem
  status.publish("k8s", {
    kind: "rancher",
    at: clock.now(),
    rows: [{ ...first, project: "no-id-yet", projectId: null }],
    groups: [...k8s?.groups ?? [], { path: "/c/broken", members: "3" }],
  });
  const page = await (await createApp({ status }).request("/")).text();
  assert.match(page, /1 row on this page could not be shown/);
  assert.match(page, /acme-registry/, "the other rows still show");
  assert.match(page, /<td>no-id-yet<\/td>/);
  const groups = page.slice(page.indexOf('class="keycloak"'));
  assert.match(groups, /1 row on this page could not be shown/, "a broken group row is counted");
});

Deno.test("each presented section names its tables with its own letter, and g stays the groups'", () => {
  const keys = PLUGINS.flatMap((p) => (p.presentations ?? []).map((x) => x.section.key));
  assert.ok(keys.length >= 2);
  for (const k of keys) assert.match(k, /^[a-z]$/);
  assert.equal(new Set(keys).size, keys.length);
  assert.ok(!keys.includes("g"));
});
