/**
 * `berth plan` on linked offerings (a Harbor offering with team robots, a Rancher offering
 * writing them as image pull secrets), in a new process that has run no pass: the Harbor
 * offering's robots are read for the plan, so no pull secret is listed for removal that the
 * agent would keep, and nothing is changed.
 */
import assert from "node:assert/strict";
import { main, type World } from "../lib/cli.ts";
import { harborPlugin } from "../lib/harbor/plugin.ts";
import type { BackendPlugin } from "../lib/backend.ts";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { rancherPlugin } from "../lib/rancher/plugin.ts";
import { realWorld } from "../lib/world.ts";
import { createApp } from "../routes/app.tsx";
import { order } from "./support/harbor.ts";
import { type LinkedSite, makeLinkedSite } from "./support/linked.ts";
import { addProjectNamespace } from "./support/rancher.ts";

/** The linked site with two teams' Create orders done and Harbor's pass run: every copy written. */
async function withCopies(): Promise<LinkedSite> {
  const site = makeLinkedSite({ teamRobots: "duration_days: 90" });
  const rancher: string[] = [];
  for (const project of ["proj-p", "proj-q"]) {
    order(site, `${project}-images`, { storage: 1 }, project);
    rancher.push(
      site.waldur.orderCreate(site.kubernetes.config.offeringUuid, {
        name: `${project}-apps`,
        limits: { cpu: 4, memory: 8, storage: 100 },
        project,
        customer: "acme",
      }).resource,
    );
  }
  for (const context of [site.offering.context, site.kubernetes.context]) {
    const done = await processOrders(context);
    assert.equal(done.outcome, "ok", done.error);
  }
  addProjectNamespace(site.rancher, site.waldur.resource(rancher[0] ?? "").backend_id, "p-web");
  const result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  assert.equal(site.harbor.robots.size, 2);
  assert.equal(copies(site), 3, "every namespace of both teams holds its robot's copy");
  return site;
}

/** Berth's pull secrets in the cluster. */
function copies(site: LinkedSite): number {
  return site.rancher.objectsIn("secrets", site.cluster)
    .filter((s) => s.metadata.name === "harbor-pull").length;
}

/** `berth plan` in a new process on the site's config and fakes: what it printed, and its code. */
async function plan(site: LinkedSite): Promise<{ out: string; code: number }> {
  const out: string[] = [];
  const hosts: Record<string, { request: (r: Request) => Response | Promise<Response> }> = {
    "waldur.test": site.waldur.app,
    "harbor.test": site.harbor.app,
    "rancher.test": site.rancher.app,
  };
  const world: World = {
    ...realWorld(),
    statusApp: createApp,
    env: () => undefined,
    readFile: () => site.yaml,
    fetch: async (request) => {
      const server = hosts[new URL(request.url).hostname];
      if (!server) throw new TypeError(`fetch failed: no route to ${request.url}`);
      return await server.request(request);
    },
    clock: site.clock,
    isTerminal: false,
    plugins: [harborPlugin, rancherPlugin] as BackendPlugin<never>[],
    stdout: (text) => out.push(text),
    stderr: (text) => out.push(text),
    writeLog: () => {},
  };
  const code = await main(["plan", "-c", "berth.yaml"], world);
  return { out: out.join("\n"), code };
}

/** Requests that change something, per fake. */
function writes(site: LinkedSite): [number, number, number] {
  return [site.harbor.writes().length, site.rancher.writes().length, site.waldur.writes().length];
}

Deno.test("berth plan on linked offerings with pull secrets, no pass in its process: no copy listed for removal", async () => {
  using site = await withCopies();
  const before = writes(site);
  const { out, code } = await plan(site);
  assert.equal(code, 0, out);
  assert.match(out, /== kubernetes \(rancher\)/);
  assert.doesNotMatch(out, /delete-secret|remove-pull-secret|has no robot/, out);
  assert.doesNotMatch(out, /not-planned|refresh-robot|write-secret/, out);
  assert.match(out, /== kubernetes \(rancher\)\n {2}nothing to change/, out);
  assert.deepEqual(writes(site), before, "plan changes nothing");
  assert.equal(copies(site), 3);
});

Deno.test("berth plan on linked offerings, a robot deleted by hand: its copies are not listed for removal (Harbor's pass makes it again)", async () => {
  using site = await withCopies();
  const robot = site.harbor.robotNamed("berth-proj-p");
  assert.ok(robot);
  site.harbor.robots.delete(robot.id);
  const before = writes(site);
  const { out, code } = await plan(site);
  assert.equal(code, 0, out);
  assert.match(out, /create-robot/, "the Harbor offering plans it again");
  assert.doesNotMatch(out, /delete-secret|remove-pull-secret|has no robot/, out);
  assert.match(
    out,
    /not-planned\s+pull secrets {2}registry offering registry: no team robot yet for proj-p: /,
  );
  assert.deepEqual(writes(site), before, "plan changes nothing");
});
