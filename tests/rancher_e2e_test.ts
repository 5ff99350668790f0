/**
 * The Rancher offering end to end: fake Waldur, fake Rancher (with its Kubernetes proxy) and
 * fake Keycloak, driven through the real order, membership and usage processors, no socket.
 */
import assert from "node:assert/strict";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { reportUsage } from "../lib/usage.ts";
import { makeRancherSite, orderProject, type RancherSite } from "./support/rancher.ts";

const GROUP = "project_proj_workloads-manage";
const PARENT = "c_cm7x2k9q";

function childOf(site: RancherSite, name: string) {
  const realm = site.keycloak.realm("waldur");
  const parent = [...realm.groups.values()].find((g) => g.name === PARENT && !g.parentId);
  const child = [...realm.groups.values()].find((g) =>
    g.name === name && g.parentId === parent?.id
  );
  if (!child) return undefined;
  return {
    ...child,
    usernames: [...child.members].map((id) => realm.users.get(id)?.username ?? id).sort(),
  };
}

function writes(site: RancherSite) {
  return {
    rancher: site.rancher.writes().length,
    keycloak: site.keycloak.requests.filter((r) => r.method !== "GET" && !r.path.includes("/token"))
      .length,
    waldur: site.waldur.writes().length,
  };
}

Deno.test("rancher create with keycloak: project, quotas, namespace, group tree and binding", async () => {
  using site = makeRancherSite({ keycloak: true, settings: `namespace_labels: {team: blue}` });
  const { order, resource } = orderProject(site, "Analytics");
  const result = await processOrders(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  assert.equal(site.waldur.order(order).state, "done");
  const [project, ...others] = site.rancher.projectsNamed("waldur-analytics");
  assert.ok(project);
  assert.equal(others.length, 0);
  assert.equal(site.waldur.resource(resource).backend_id, project.id);
  assert.match(project.id, /^c-m-7x2k9q4d:p-[a-z0-9]{5}$/);
  assert.equal(project.description, "Analytics (Customer: acme, Project: proj)");
  assert.equal(project.annotations["waldur/managed-by"], "berth");
  assert.equal(project.annotations["waldur/resource-uuid"], resource);
  assert.equal(
    project.annotations["waldur/project-uuid"],
    site.waldur.resource(resource).project_uuid,
  );
  const limit = { limitsCpu: "4000m", limitsMemory: "8192Mi" };
  assert.deepEqual(project.resourceQuota, { limit });
  assert.deepEqual(project.namespaceDefaultResourceQuota, { limit });
  assert.deepEqual(site.rancher.namespacesOf(project.id), ["waldur-analytics"]);
  const ns = site.rancher.namespaces.get(site.cluster)?.get("waldur-analytics");
  assert.equal(ns?.metadata.labels.team, "blue");
  assert.deepEqual(
    site.rancher.prtbsOf(project.id).map((b) => [b.groupPrincipalId, b.roleTemplateId]),
    [[`keycloakoidc_group://${GROUP}`, "workloads-manage"]],
  );
  const parent = site.keycloak.group("waldur", PARENT);
  assert.ok(parent, "the cluster's parent group exists");
  assert.ok(childOf(site, GROUP), "the project's child group exists under it");
});

Deno.test("rancher: a second pass writes nothing; membership adds and removes; missing users are shown", async () => {
  using site = makeRancherSite({ keycloak: true });
  const ann = site.keycloak.addUser("waldur", "ann");
  const bob = site.keycloak.addUser("waldur", "bob");
  orderProject(site, "Analytics");
  await processOrders(site.offering.context);
  // keycloak_use_user_id: Waldur's offering usernames are Keycloak user ids.
  site.waldur.setTeam("proj", [{ username: ann }, { username: bob }, { username: "ghost-id" }]);
  let result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  assert.deepEqual(childOf(site, GROUP)?.usernames, ["ann", "bob"]);
  const row = site.backend.groupRows().find((g) => g.path === `/${PARENT}/${GROUP}`);
  assert.deepEqual(row?.missing, ["ghost-id"]);
  assert.deepEqual(row?.added, ["ann", "bob"]);
  assert.ok(
    site.logs.some((l) => l.includes("missing in Keycloak: ghost-id is not in realm waldur")),
  );

  const before = writes(site);
  result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "ok");
  assert.deepEqual(writes(site), before, "a steady pass writes nothing anywhere");
  assert.deepEqual(
    await site.backend.plan([]),
    [],
    "nothing wanted, nothing of Berth's left to touch",
  );

  site.waldur.setTeam("proj", [{ username: ann }]);
  await syncMembership(site.offering.context);
  assert.deepEqual(childOf(site, GROUP)?.usernames, ["ann"]);
  const after = site.backend.groupRows().find((g) => g.path === `/${PARENT}/${GROUP}`);
  assert.deepEqual(after?.removed, ["bob"]);
  assert.equal(after?.members, 1);
});

/** The Keycloak user reads a membership pass sent: `id <x>` or `username <x>`. */
function userLookups(site: RancherSite): string[] {
  return site.keycloak.requests.filter((r) => r.method === "GET").flatMap((r) => {
    const url = new URL(r.path, "http://k");
    const byId = /\/admin\/realms\/[^/]+\/users\/([^/]+)$/.exec(url.pathname);
    if (byId) return [`id ${byId[1]}`];
    if (url.pathname.endsWith("/users")) return [`username ${url.searchParams.get("username")}`];
    return [];
  });
}

Deno.test("rancher: usernames are looked up by username, never by id, when keycloak_use_user_id is false", async () => {
  const site = makeRancherSite({ keycloak: true, settings: "keycloak_use_user_id: false" });
  try {
    const ann = site.keycloak.addUser("waldur", "ann");
    site.keycloak.addUser("waldur", "bob");
    orderProject(site, "Analytics");
    await processOrders(site.offering.context);
    // bob's Waldur username is his Keycloak username; the other one is ann's Keycloak *id*,
    // which names nobody when usernames are usernames
    site.waldur.setTeam("proj", [{ username: "bob" }, { username: ann }]);
    const before = site.keycloak.requests.length;
    await syncMembership(site.offering.context);
    site.keycloak.requests.splice(0, before);
    assert.deepEqual(userLookups(site).sort(), [`username ${ann}`, "username bob"]);
    assert.deepEqual(childOf(site, GROUP)?.usernames, ["bob"], "an id is not a username");
    const row = site.backend.groupRows().find((g) => g.path === `/${PARENT}/${GROUP}`);
    assert.deepEqual(row?.missing, [ann]);

    // a member is matched by username too: ann stays while the team names her, and her
    // Keycloak id in the team does not keep her
    site.waldur.setTeam("proj", [{ username: "ann" }]);
    let pass = await syncMembership(site.offering.context);
    assert.equal(pass.outcome, "ok", pass.error);
    assert.deepEqual(childOf(site, GROUP)?.usernames, ["ann"]);
    site.waldur.setTeam("proj", [{ username: ann }]);
    pass = await syncMembership(site.offering.context);
    assert.equal(pass.outcome, "ok", pass.error);
    assert.deepEqual(childOf(site, GROUP)?.usernames, [], "ann's id does not name her: removed");
    const after = site.backend.groupRows().find((g) => g.path === `/${PARENT}/${GROUP}`);
    assert.deepEqual(after?.removed, ["ann"]);
    assert.deepEqual(after?.missing, [ann]);
  } finally {
    site.close();
  }
});

Deno.test("rancher: usernames are Keycloak ids, read by id, when keycloak_use_user_id is true", async () => {
  const site = makeRancherSite({ keycloak: true, settings: "keycloak_use_user_id: true" });
  try {
    const ann = site.keycloak.addUser("waldur", "ann");
    orderProject(site, "Analytics");
    await processOrders(site.offering.context);
    site.waldur.setTeam("proj", [{ username: ann }]);
    const before = site.keycloak.requests.length;
    await syncMembership(site.offering.context);
    site.keycloak.requests.splice(0, before);
    assert.deepEqual(userLookups(site), [`id ${ann}`], "one read by id, no username search");
    assert.deepEqual(childOf(site, GROUP)?.usernames, ["ann"]);
  } finally {
    site.close();
  }
});

Deno.test("rancher: an Update order sets the new quota; drift is repaired by the membership pass", async () => {
  using site = makeRancherSite({ keycloak: true });
  const { resource } = orderProject(site, "Analytics");
  await processOrders(site.offering.context);
  const id = site.waldur.resource(resource).backend_id;
  const order = site.waldur.orderUpdate(resource, { cpu: 8, memory: 16.5 });
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(order).state, "done");
  const project = site.rancher.projects.get(id)!;
  assert.deepEqual(project.resourceQuota, {
    limit: { limitsCpu: "8000m", limitsMemory: "16896Mi" },
  });

  // Someone edits the quota, deletes the binding and the namespace in Rancher.
  project.resourceQuota = { limit: { limitsCpu: "64", limitsMemory: "1Ti" } };
  project.namespaceDefaultResourceQuota = { limit: { limitsCpu: "64", limitsMemory: "1Ti" } };
  for (const b of site.rancher.prtbsOf(id)) site.rancher.prtbs.delete(b.id);
  site.rancher.namespaces.get(site.cluster)?.clear();
  const plan = await site.backend.plan(
    [{ resource: { ...specOf(site, resource) }, usernames: [] }],
  );
  assert.deepEqual(plan.map((p) => p.action), ["set-quota", "create-namespace", "create-binding"]);
  const result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  assert.deepEqual(project.resourceQuota, {
    limit: { limitsCpu: "8000m", limitsMemory: "16896Mi" },
  });
  assert.equal(site.rancher.prtbsOf(id).length, 1);
  assert.deepEqual(site.rancher.namespacesOf(id), ["waldur-analytics"]);
});

function specOf(site: RancherSite, uuid: string) {
  const r = site.waldur.resource(uuid);
  return {
    uuid: r.uuid,
    name: r.name,
    slug: r.slug,
    projectUuid: r.project_uuid,
    projectSlug: r.project_slug,
    projectName: r.project_name,
    customerUuid: r.customer_uuid,
    customerSlug: r.customer_slug,
    customerName: r.customer_name,
    backendId: r.backend_id,
    limits: Object.fromEntries(Object.entries(r.limits).map(([k, v]) => [k, Number(v)])),
  };
}

Deno.test("rancher: two resources of one Waldur project share the group; it goes with the last", async () => {
  using site = makeRancherSite({ keycloak: true });
  const ann = site.keycloak.addUser("waldur", "ann");
  const a = orderProject(site, "Alpha");
  const b = orderProject(site, "Beta");
  await processOrders(site.offering.context);
  site.waldur.setTeam("proj", [{ username: ann }]);
  await syncMembership(site.offering.context);
  assert.deepEqual(childOf(site, GROUP)?.usernames, ["ann"]);

  site.waldur.orderTerminate(a.resource);
  let result = await processOrders(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  assert.equal(site.rancher.projectsNamed("waldur-alpha").length, 0);
  assert.deepEqual(childOf(site, GROUP)?.usernames, ["ann"], "Beta still uses the group");
  result = await syncMembership(site.offering.context);
  assert.ok(childOf(site, GROUP), "the membership pass keeps it too");

  site.waldur.orderTerminate(b.resource);
  result = await processOrders(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  assert.equal(childOf(site, GROUP), undefined, "no resource uses the group: deleted");
  assert.equal(site.keycloak.group("waldur", PARENT), undefined, "the parent had no children left");
});

Deno.test("rancher: the shared group is kept when either the sibling project or its binding is left", async () => {
  for (const left of ["sibling only", "binding only"] as const) {
    using site = makeRancherSite({ keycloak: true });
    const ann = site.keycloak.addUser("waldur", "ann");
    const a = orderProject(site, "Alpha");
    const b = orderProject(site, "Beta");
    await processOrders(site.offering.context);
    site.waldur.setTeam("proj", [{ username: ann }]);
    await syncMembership(site.offering.context);
    const beta = site.rancher.projects.get(site.waldur.resource(b.resource).backend_id);
    assert.ok(beta);
    if (left === "sibling only") {
      // Beta still carries the Waldur project's annotation, but its binding was deleted
      for (const binding of site.rancher.prtbsOf(beta.id)) site.rancher.prtbs.delete(binding.id);
    } else {
      // Beta is still bound to the group, but lost the annotation naming the Waldur project
      delete beta.annotations["waldur/project-uuid"];
      assert.equal(site.rancher.prtbsOf(beta.id).length, 1);
    }
    site.waldur.orderTerminate(a.resource);
    const result = await processOrders(site.offering.context);
    assert.equal(result.outcome, "ok", result.error);
    assert.equal(site.rancher.projectsNamed("waldur-alpha").length, 0);
    assert.deepEqual(childOf(site, GROUP)?.usernames, ["ann"], `${left}: Beta still uses it`);
  }
});

Deno.test("rancher: a Keycloak parent group Berth did not make is kept when its last child goes", async () => {
  using site = makeRancherSite({ keycloak: true });
  // the operator made the cluster's parent group: no managed_by attribute
  const parent = site.keycloak.addGroup("waldur", PARENT);
  const { resource } = orderProject(site, "Analytics");
  let result = await processOrders(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  assert.ok(childOf(site, GROUP), "the child is made under the operator's parent");
  site.waldur.orderTerminate(resource);
  result = await processOrders(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  assert.equal(childOf(site, GROUP), undefined, "Berth's child group goes");
  assert.equal(site.keycloak.group("waldur", PARENT)?.id, parent, "the operator's parent stays");
  const pass = await syncMembership(site.offering.context);
  assert.equal(pass.outcome, "ok", pass.error);
  assert.equal(site.keycloak.group("waldur", PARENT)?.id, parent, "the membership pass keeps it");
});

Deno.test("rancher: Keycloak down during create — the project is made, the error shown, groups come later", async () => {
  using site = makeRancherSite({ keycloak: true });
  let down = true;
  site.intercept = (request, next) => {
    if (down && new URL(request.url).hostname === "keycloak.test") {
      return Promise.reject(new TypeError("connection refused"));
    }
    return next(request);
  };
  const { order, resource } = orderProject(site, "Analytics");
  const result = await processOrders(site.offering.context);
  assert.equal(site.waldur.order(order).state, "done", result.error);
  const id = site.waldur.resource(resource).backend_id;
  assert.equal(site.rancher.prtbsOf(id).length, 1, "the binding needs only the group's name");
  const row = site.backend.groupRows().find((g) => g.path === `/${PARENT}/${GROUP}`);
  assert.match(row?.error ?? "", /keycloak: .*connection refused/);
  assert.ok(site.logs.some((l) => l.includes("the other work went on")));

  let pass = await syncMembership(site.offering.context);
  assert.equal(pass.outcome, "partial", "the membership pass reports the Keycloak error");
  assert.match(pass.error, /keycloak/);
  assert.equal(
    site.waldur.resource(resource).state,
    "OK",
    "a Keycloak outage never errs the resource",
  );
  down = false;
  site.clock.advance(60_000); // the next membership pass, after Keycloak's circuit let a probe by
  pass = await syncMembership(site.offering.context);
  assert.equal(pass.outcome, "ok", pass.error);
  assert.ok(childOf(site, GROUP));
  assert.equal(site.backend.groupRows()[0]?.error, "");
});

Deno.test("rancher: an expired Keycloak token is renewed and the pass goes on", async () => {
  using site = makeRancherSite({ keycloak: true, tokenTtl: 60 });
  const ann = site.keycloak.addUser("waldur", "ann");
  orderProject(site, "Analytics");
  await processOrders(site.offering.context);
  site.waldur.setTeam("proj", [{ username: ann }]);
  site.keycloak.expireTokens();
  const pass = await syncMembership(site.offering.context);
  assert.equal(pass.outcome, "ok", pass.error);
  assert.deepEqual(childOf(site, GROUP)?.usernames, ["ann"]);
  assert.deepEqual(site.keycloak.grants, ["password", "password"]);
  site.clock.advance(58_000);
  await syncMembership(site.offering.context);
  assert.deepEqual(site.keycloak.grants, ["password", "password", "refresh_token"]);
});

Deno.test("rancher terminate: refused while claims exist, done with purge; never done when it failed", async () => {
  using site = makeRancherSite();
  const { resource } = orderProject(site, "Analytics");
  const other = orderProject(site, "Other");
  await processOrders(site.offering.context);
  const id = site.waldur.resource(resource).backend_id;
  const otherId = site.waldur.resource(other.resource).backend_id;
  assert.deepEqual(site.rancher.namespacesOf(otherId), ["waldur-other"]);
  site.rancher.addPvc(site.cluster, "waldur-analytics", "data", "10Gi");
  site.rancher.addPvc(site.cluster, "waldur-analytics", "logs", "512Mi");
  site.rancher.addPvc(site.cluster, "someone-else", "theirs", "1Ti"); // not this project's
  // a claim in a real namespace of another project of the cluster: not this project's either
  site.rancher.addPvc(site.cluster, "waldur-other", "theirs", "2Ti");
  const order = site.waldur.orderTerminate(resource);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(order).state, "erred");
  assert.match(
    site.waldur.order(order).error_message,
    /still holds 2 persistent volume claims \(10\.5 GiB\) in waldur-analytics; it was not deleted/,
  );
  assert.ok(
    !site.waldur.order(order).error_message.includes("waldur-other"),
    "only the project's own namespaces are counted",
  );
  assert.ok(site.rancher.projects.has(id));

  using purge = makeRancherSite({ settings: "termination: purge" });
  const r2 = orderProject(purge, "Analytics");
  await processOrders(purge.offering.context);
  purge.rancher.addPvc(purge.cluster, "waldur-analytics", "data", "10Gi");
  const o2 = purge.waldur.orderTerminate(r2.resource);
  await processOrders(purge.offering.context);
  assert.equal(purge.waldur.order(o2).state, "done");
  assert.equal(purge.rancher.userProjects().length, 0);
  assert.deepEqual(
    [...purge.rancher.namespaces.get(purge.cluster)?.keys() ?? []],
    ["kube-system"],
    "only the System project's namespace is left",
  );
});

Deno.test("rancher usage: pod requests and claims by namespace, every quantity form, one list each", async () => {
  using site = makeRancherSite();
  const a = orderProject(site, "Alpha");
  const b = orderProject(site, "Beta");
  await processOrders(site.offering.context);
  const c = site.cluster;
  site.rancher.addPod(c, "waldur-alpha", "web", {
    containers: [{ requests: { cpu: "250m", memory: "512Mi" } }, {
      requests: { cpu: "1.5", memory: "1G" },
    }],
  });
  site.rancher.addPod(c, "waldur-alpha", "batch", {
    phase: "Pending",
    containers: [{ requests: { cpu: "100m", memory: "128Mi" } }],
    initContainers: [{ requests: { cpu: "2", memory: "64Mi" } }],
  });
  site.rancher.addPod(c, "waldur-alpha", "done", {
    phase: "Succeeded",
    containers: [{ requests: { cpu: "16", memory: "64Gi" } }],
  });
  site.rancher.addPod(c, "waldur-beta", "api", {
    containers: [{ limits: { cpu: "0.001e3", memory: "1073741824" } }],
  });
  site.rancher.addPvc(c, "waldur-alpha", "data", "20Gi");
  site.rancher.addPvc(c, "waldur-beta", "data", "1.5Gi");
  site.rancher.addPod(c, "kube-system", "dns", { containers: [{ requests: { cpu: "8" } }] });
  const from = site.rancher.requests.length;
  const result = await reportUsage(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  const usage = (uuid: string) =>
    Object.fromEntries(site.waldur.usagesOf(uuid).map((u) => [u.type, u.usage]));
  // Alpha: 0.25 + 1.5 + max(0.1, 2) = 3.75 cores; 512Mi + 1G + 128Mi = 1.6313 GiB.
  assert.deepEqual(usage(a.resource), { cpu: "3.75", memory: "1.56", storage: "20.00" });
  assert.deepEqual(usage(b.resource), { cpu: "1.00", memory: "1.00", storage: "1.50" });
  const reads = site.rancher.requests.slice(from).map((r) => r.path.split("?")[0]);
  assert.deepEqual(reads.sort(), [
    "/k8s/clusters/c-m-7x2k9q4d/api/v1/namespaces",
    "/k8s/clusters/c-m-7x2k9q4d/api/v1/persistentvolumeclaims",
    "/k8s/clusters/c-m-7x2k9q4d/api/v1/pods",
    "/v3/projects",
  ]);
  const row = site.backend.rows().find((r) => r.project === "waldur-alpha");
  assert.equal(row?.cpuRequested, 3.75);
  assert.equal(row?.cpuLimit, 4);
  assert.equal(row?.storageRequestedBytes, 20 * 1024 ** 3);
  assert.deepEqual(row?.namespaces, ["waldur-alpha"]);
});

Deno.test("rancher usage: a quantity that does not parse skips that project, never reports 0", async () => {
  using site = makeRancherSite();
  const a = orderProject(site, "Alpha");
  const b = orderProject(site, "Beta");
  await processOrders(site.offering.context);
  site.rancher.addPod(site.cluster, "waldur-alpha", "web", {
    containers: [{ requests: { cpu: "lots" } }],
  });
  site.rancher.addPod(site.cluster, "waldur-beta", "web", {
    containers: [{ requests: { cpu: "2" } }],
  });
  const result = await reportUsage(site.offering.context);
  assert.equal(result.outcome, "partial");
  assert.match(result.error, /"lots" is not a Kubernetes quantity/);
  assert.deepEqual(site.waldur.usagesOf(a.resource), []);
  assert.equal(site.waldur.usagesOf(b.resource).find((u) => u.type === "cpu")?.usage, "2.00");
});

Deno.test("rancher: a refused API key fails the pass with a clear error and keeps orders waiting", async () => {
  using site = makeRancherSite();
  site.rancher.keys.clear();
  const { order } = orderProject(site, "Analytics");
  const result = await processOrders(site.offering.context);
  assert.equal(result.outcome, "partial");
  assert.match(result.error, /Rancher refused the API key token-berth1 \(HTTP 401\)/);
  assert.equal(site.waldur.order(order).state, "executing", "waits for the operator, not erred");
  site.waldur.addResource(site.offeringUuid, {
    name: "Old",
    project: "proj",
    customer: "acme",
    backend_id: "c-m-7x2k9q4d:p-old00",
  });
  await assert.rejects(syncMembership(site.offering.context), /HTTP 401/);
  assert.ok(!site.logs.some((l) => l.includes("s3cr3t-rancher-key")), "the secret is never logged");
});

Deno.test("rancher create: adopts a project of that name, refuses hostile names, repairs a crash", async () => {
  using site = makeRancherSite();
  const existing = await (await site.rancher.app.request("http://rancher.test/v3/projects", {
    method: "POST",
    headers: { authorization: `Bearer ${site.rancher.accessKey}:${site.rancher.secretKey}` },
    body: JSON.stringify({ name: "waldur-legacy", clusterId: site.cluster }),
  })).json() as { id: string };
  const legacy = orderProject(site, "Legacy");
  const bad = site.waldur.orderCreate(site.offeringUuid, {
    name: "Bad",
    slug: "../<script>",
    project: "proj",
    customer: "acme",
  });
  const long = site.waldur.orderCreate(site.offeringUuid, {
    name: "Long",
    slug: "x".repeat(300),
    project: "proj",
    customer: "acme",
  });
  await processOrders(site.offering.context);
  assert.equal(site.waldur.resource(legacy.resource).backend_id, existing.id);
  assert.equal(site.rancher.projectsNamed("waldur-legacy").length, 1);
  assert.deepEqual(site.backend.rows().find((r) => r.projectId === existing.id)?.flags, [
    "adopted",
  ]);
  assert.equal(site.waldur.order(bad.order).state, "erred");
  assert.match(site.waldur.order(bad.order).error_message, /not a valid Kubernetes namespace name/);
  assert.equal(site.waldur.order(long.order).state, "erred");
  assert.match(site.waldur.order(long.order).error_message, /longer than 63 characters/);
  assert.equal(site.rancher.userProjects().length, 1, "nothing was created for the hostile names");

  // A crash between the Rancher create and set_backend_id: the next pass finds its own project.
  const crash = orderProject(site, "Crashy");
  let failed = false;
  site.intercept = (request, next) => {
    if (!failed && request.url.includes("/set_backend_id/")) {
      failed = true;
      return Promise.reject(new TypeError("connection reset"));
    }
    return next(request);
  };
  await processOrders(site.offering.context);
  site.clock.advance(10 * 60_000);
  await processOrders(site.offering.context);
  assert.equal(site.waldur.order(crash.order).state, "done");
  assert.equal(site.rancher.projectsNamed("waldur-crashy").length, 1, "exactly one project");
});

/** Deletes a top-level group and its children from the fake Keycloak, as an admin would by hand. */
function deleteByHand(site: RancherSite, name: string): void {
  const realm = site.keycloak.realm("waldur");
  const top = [...realm.groups.values()].find((g) => g.name === name && !g.parentId);
  assert.ok(top, `group ${name} exists`);
  for (const id of realm.children.get(top.id) ?? []) realm.groups.delete(id);
  realm.children.delete(top.id);
  realm.groups.delete(top.id);
  realm.children.get("")?.delete(top.id);
}

Deno.test("rancher: the membership pass makes the cluster's parent group again after it was deleted by hand", async () => {
  using site = makeRancherSite({ keycloak: true });
  const ann = site.keycloak.addUser("waldur", "ann");
  orderProject(site, "Analytics");
  await processOrders(site.offering.context);
  site.waldur.setTeam("proj", [{ username: ann }]);
  let result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  deleteByHand(site, "c_cm7x2k9q");
  await syncMembership(site.offering.context);
  result = await syncMembership(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  const realm = site.keycloak.realm("waldur");
  const parent = [...realm.groups.values()].find((g) => g.name === "c_cm7x2k9q" && !g.parentId);
  assert.ok(parent, "the parent group is back");
  const child = [...realm.groups.values()].find((g) => g.parentId === parent.id);
  assert.equal(child?.name, "project_proj_workloads-manage");
  assert.deepEqual([...child.members], [ann]);
});
