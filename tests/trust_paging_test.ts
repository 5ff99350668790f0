/**
 * Trust boundaries of paging: every upstream list is bounded by construction. A list stops at an
 * empty page, at the count it announces and at MAX_LIST_ITEMS; an absurd count, pages that never
 * end, a Norman `pagination.next` that loops or leaves backend_url's origin and a Kubernetes
 * `continue` that repeats are errors (never a truncation), after a handful of requests. Orders
 * are processed page by page: one page of orders is held at a time, and every order is still
 * reached in one pass.
 *
 * Each hostile server here also has a request budget: past it the test's server stops answering,
 * so code without the bounds fails fast instead of reading for minutes.
 */
import assert from "node:assert/strict";
import { z } from "zod";
import { ManualClock } from "../testing/manual_clock.ts";
import { BerthError } from "../lib/errors.ts";
import type { Fetch } from "../lib/http.ts";
import { createKeycloakClient, KeycloakSettings } from "../lib/keycloak/client.ts";
import { FakeKeycloak } from "../lib/keycloak/fake.ts";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { makeHarborSite } from "./support/harbor.ts";
import { makeRancherSite } from "./support/rancher.ts";
import { makeSite, orderCreate, type Site } from "./support/site.ts";

const REFUSED_COUNT =
  /announces 1,000,000,000,000 items, more than Berth reads \(100,000\); refusing/;
const STILL_FULL = /still full after 100,000 items; refusing/;

/** Counts the requests `matches` selects; past `budget` they fail (the test's safety net). */
function counter(budget: number) {
  const c = {
    n: 0,
    take(): void {
      if (++c.n > budget) throw new TypeError(`test budget of ${budget} requests spent`);
    },
  };
  return c;
}

/** The error a promise rejects with (asserted to be a terminal BerthError). */
async function refusal(promise: Promise<unknown>): Promise<BerthError> {
  const error = await promise.then(() => null, (e: unknown) => e);
  assert.ok(error instanceof BerthError, `expected a refusal, got ${String(error)}`);
  assert.equal(error.transient, false, "a hostile list is an error to fix, not retried");
  return error;
}

const hex = () => crypto.randomUUID().replaceAll("-", "");

/** `n` copies of `template`, each with a fresh uuid. */
function fresh(template: object, n: number): object[] {
  return Array.from({ length: n }, () => ({ ...template, uuid: hex() }));
}

const isList = (request: Request, path: string) =>
  request.method === "GET" && new URL(request.url).pathname === path;

// ---- Waldur ---------------------------------------------------------------------------------

Deno.test("waldur: an absurd x-result-count is refused at the first page, for orders and resources", async () => {
  using site = makeSite();
  orderCreate(site, "real");
  const order = site.waldur.orders.values().next().value;
  const resource = site.waldur.resources.values().next().value;
  const reads = counter(5);
  site.intercept = (request, next) => {
    const path = new URL(request.url).pathname;
    const list = path === "/api/marketplace-orders/"
      ? order ?? {}
      : path === "/api/marketplace-provider-resources/"
      ? { ...resource, state: "OK" }
      : undefined;
    if (request.method !== "GET" || !list) return next(request);
    reads.take();
    return Promise.resolve(
      Response.json(fresh(list, 300), { headers: { "x-result-count": "1e12" } }),
    );
  };
  const orders = await refusal(processOrders(site.offering.context));
  assert.match(orders.message, /^waldur: cannot list orders: the server announces/);
  assert.match(orders.message, REFUSED_COUNT);
  assert.equal(reads.n, 1, "one page read, not 10,000");
  assert.deepEqual(site.waldur.writes(), [], "no order of the hostile page was touched");
  reads.n = 0;
  const resources = await refusal(syncMembership(site.offering.context));
  assert.match(resources.message, REFUSED_COUNT);
  assert.equal(reads.n, 1);
});

Deno.test("waldur: full pages without a count stop at MAX_LIST_ITEMS with an error", async () => {
  using site = makeSite();
  orderCreate(site, "real");
  const order = site.waldur.orders.values().next().value;
  const reads = counter(700);
  site.intercept = (request, next) => {
    if (!isList(request, "/api/marketplace-orders/")) return next(request);
    reads.take();
    // a full page of new orders every time, no x-result-count
    return Promise.resolve(Response.json(fresh(order ?? {}, 300)));
  };
  const waldur = site.offering.context.waldur;
  const whole = await refusal(waldur.listOrders(site.offeringUuid, ["pending-provider"]));
  assert.match(whole.message, STILL_FULL);
  assert.equal(reads.n, 334, "100,200 items read: the bound, then the refusal");

  reads.n = 0;
  const pages = waldur.orderPages(site.offeringUuid, ["pending-provider"]);
  let held = 0;
  const paged = await refusal((async () => {
    for (let page = await pages.next(); !page.done; page = await pages.next(0)) {
      held = Math.max(held, page.value.items.length);
    }
  })());
  assert.match(paged.message, STILL_FULL);
  assert.equal(reads.n, 334);
  assert.equal(held, 300, "one page held at a time");
});

Deno.test("waldur: pages that repeat the same orders end at the read budget, not never", async () => {
  using site = makeSite();
  orderCreate(site, "real");
  const order = site.waldur.orders.values().next().value;
  const page = fresh(order ?? {}, 300);
  const reads = counter(800);
  site.intercept = (request, next) => {
    if (!isList(request, "/api/marketplace-orders/")) return next(request);
    reads.take();
    return Promise.resolve(Response.json(page));
  };
  const pages = site.offering.context.waldur.orderPages(site.offeringUuid, ["pending-provider"]);
  let yielded = 0;
  const error = await refusal((async () => {
    for (let p = await pages.next(); !p.done; p = await pages.next(0)) {
      yielded += p.value.items.length;
    }
  })());
  assert.match(error.message, /did not end after 670 pages/);
  assert.equal(yielded, 300, "each order once");
});

// ---- Harbor ---------------------------------------------------------------------------------

Deno.test("harbor: X-Total-Count 1e12 is refused after one request", async () => {
  using site = makeHarborSite();
  for (let i = 0; i < 100; i++) site.harbor.addProject(`p-${i}`);
  const reads = counter(20);
  site.intercept = async (request, next) => {
    if (!isList(request, "/api/v2.0/projects")) return await next(request);
    reads.take();
    const answer = await next(request);
    const headers = new Headers(answer.headers);
    headers.set("x-total-count", "1000000000000");
    return new Response(answer.body, { status: answer.status, headers });
  };
  const error = await refusal(site.backend.client.listProjects());
  assert.match(error.message, /^harbor: cannot list projects: the server announces/);
  assert.match(error.message, REFUSED_COUNT);
  assert.equal(reads.n, 1);
});

Deno.test("harbor: pages that are always full, without a count, stop at MAX_LIST_ITEMS", async () => {
  using site = makeHarborSite();
  for (let i = 0; i < 100; i++) site.harbor.addProject(`p-${i}`);
  const reads = counter(1100);
  site.intercept = async (request, next) => {
    if (!isList(request, "/api/v2.0/projects")) return await next(request);
    reads.take();
    // page 1 whatever page is asked for, without X-Total-Count
    const url = new URL(request.url);
    url.searchParams.set("page", "1");
    const answer = await next(new Request(url, request));
    return new Response(await answer.text(), { headers: { "content-type": "application/json" } });
  };
  const error = await refusal(site.backend.client.listProjects());
  assert.match(error.message, STILL_FULL);
  assert.equal(reads.n, 1000, "100,000 items in pages of 100, then the refusal");
});

// ---- Rancher and Kubernetes -----------------------------------------------------------------

/** A Rancher site whose project list answers `edit(body, request)` instead of the fake's. */
function rancherWith(
  edit: (body: Record<string, unknown>, request: Request) => Record<string, unknown>,
  budget: number,
) {
  const site = makeRancherSite();
  const hosts: string[] = [];
  const reads = counter(budget);
  site.intercept = async (request: Request, next: Fetch) => {
    hosts.push(new URL(request.url).host);
    if (!isList(request, "/v3/projects")) return await next(request);
    reads.take();
    const answer = await next(request);
    return Response.json(
      edit(z.record(z.string(), z.unknown()).parse(await answer.json()), request),
    );
  };
  return { site, hosts, reads };
}

Deno.test("rancher: a pagination.next that repeats a page already read is refused", async () => {
  const { site, reads } = rancherWith((body, request) => {
    const again = new URL(request.url);
    again.searchParams.set("marker", "m-1");
    return {
      ...body,
      data: [{ id: "x", name: "x", clusterId: "c" }],
      pagination: { next: `${again}` },
    };
  }, 50);
  using _ = site;
  const error = await refusal(site.backend.client.listProjects(site.cluster));
  assert.match(error.message, /pagination\.next points to a page already read; refusing/);
  assert.equal(reads.n, 2, "the first page, the linked one, and no third");
});

Deno.test("rancher: a next link back to the first page is refused at once", async () => {
  const { site, reads } = rancherWith((body, request) => ({
    ...body,
    data: [{ id: "x", name: "x", clusterId: "c" }],
    pagination: { next: request.url },
  }), 50);
  using _ = site;
  const error = await refusal(site.backend.client.listProjects(site.cluster));
  assert.match(error.message, /already read/);
  assert.equal(reads.n, 1);
});

Deno.test("rancher: distinct next links forever end at the page bound", async () => {
  let marker = 0;
  const { site, reads } = rancherWith((body, request) => {
    const next = new URL(request.url);
    next.searchParams.set("marker", `m-${++marker}`);
    return {
      ...body,
      data: [{ id: "x", name: "x", clusterId: "c" }],
      pagination: { next: `${next}` },
    };
  }, 300);
  using _ = site;
  const error = await refusal(site.backend.client.listProjects(site.cluster));
  assert.match(error.message, /did not end after 200 pages \(Berth reads 100,000 items at most\)/);
  assert.equal(reads.n, 200);
});

Deno.test("rancher: a next link to another origin is refused and never requested", async () => {
  for (const link of ["http://evil.test/v3/projects?marker=z", "//evil.test/v3/projects"]) {
    const { site, hosts } = rancherWith((body) => ({
      ...body,
      data: [{ id: "x", name: "x", clusterId: "c" }],
      pagination: { next: link },
    }), 50);
    using _ = site;
    const error = await refusal(site.backend.client.listProjects(site.cluster));
    assert.match(
      error.message,
      /the next page is at http:\/\/evil\.test, not at backend_url http:\/\/rancher\.test; refusing/,
    );
    assert.deepEqual([...new Set(hosts)], ["rancher.test"], "evil.test never heard from Berth");
    assert.equal(hosts.length, 1);
  }
});

Deno.test("kubernetes: a continue token that repeats is refused", async () => {
  using site = makeRancherSite();
  const reads = counter(50);
  site.intercept = (request, next) => {
    if (!new URL(request.url).pathname.endsWith("/api/v1/namespaces")) return next(request);
    reads.take();
    return Promise.resolve(
      Response.json({ kind: "NamespaceList", metadata: { continue: "again" }, items: [] }),
    );
  };
  const error = await refusal(site.backend.client.listNamespaces(site.cluster));
  assert.match(
    error.message,
    /^kubernetes: cannot list the namespaces of .*: metadata\.continue repeats a token already sent; refusing/,
  );
  assert.equal(reads.n, 2);
});

// ---- Keycloak -------------------------------------------------------------------------------

Deno.test("keycloak: members pages that are always full stop at MAX_LIST_ITEMS", async () => {
  const clock = new ManualClock();
  const fake = new FakeKeycloak({ now: () => clock.now(), tokenTtl: 3600 });
  fake.addRealm("waldur");
  const reads = counter(1100);
  const users = Array.from({ length: 100 }, (_, i) => ({ id: `u-${i}`, username: `user${i}` }));
  const client = createKeycloakClient({
    settings: KeycloakSettings.parse({
      keycloak_url: "http://keycloak.test",
      keycloak_username: "admin",
      keycloak_password: "admin-secret",
    }),
    clock,
    fetch: async (request) => {
      if (!/\/groups\/[^/]+\/members$/.test(new URL(request.url).pathname)) {
        return await fake.app.request(request);
      }
      reads.take();
      return Response.json(users);
    },
  });
  const error = await refusal(client.members("g-1"));
  assert.match(
    error.message,
    /^keycloak: cannot list members of group g-1: the list is still full/,
  );
  assert.match(error.message, STILL_FULL);
  assert.equal(reads.n, 1000);
});

// ---- orders, page by page -------------------------------------------------------------------

/**
 * Watches the order listing: the orders done at each read, the orders of the page just read,
 * and every approval of an order that is not on it (an order held from an earlier page).
 */
function watchOrders(site: Site) {
  const seen = { reads: [] as number[], pages: [] as string[], stale: [] as string[] };
  let current = new Set<string>();
  site.intercept = async (request, next) => {
    const path = new URL(request.url).pathname;
    const approve = path.match(/^\/api\/marketplace-orders\/([0-9a-f]+)\/approve_by_provider\/$/);
    if (approve && !current.has(approve[1] ?? "")) seen.stale.push(approve[1] ?? "");
    if (!isList(request, "/api/marketplace-orders/")) return await next(request);
    seen.reads.push([...site.waldur.orders.values()].filter((o) => o.state === "done").length);
    seen.pages.push(new URL(request.url).search.replace(/^.*&page=/, "page="));
    const answer = await next(request);
    const page = z.array(z.object({ uuid: z.string() })).parse(await answer.clone().json());
    current = new Set(page.map((o) => o.uuid));
    return answer;
  };
  return seen;
}

Deno.test("orders: 700 orders over three pages are all done in one pass, one page at a time", async () => {
  using site = makeSite();
  for (let i = 0; i < 700; i++) orderCreate(site, `r${i}`);
  const seen = watchOrders(site);
  const result = await processOrders(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  assert.equal([...site.waldur.orders.values()].filter((o) => o.state === "done").length, 700);
  assert.equal(result.stats.done, 700);
  assert.equal(result.stats.listed, 700);
  assert.equal(result.stats.pages, 3);
  assert.ok((result.stats.held ?? 0) <= 300, `held ${result.stats.held}`);
  // each page read after the one before was finished (the finished orders left the listing,
  // so the next unread order is on page 1 again)
  assert.deepEqual(seen.reads, [0, 300, 600]);
  assert.deepEqual(seen.pages, [
    "page=1&page_size=300",
    "page=1&page_size=300",
    "page=1&page_size=300",
  ]);
  assert.deepEqual(seen.stale, [], "every order approved was on the page just read");
});

Deno.test("orders: with some orders deferred by a transient backend error, every order is reached in one pass", async () => {
  using site = makeSite();
  const names = Array.from({ length: 700 }, (_, i) => `r${i}`);
  const failing = new Set(names.filter((_, i) => i % 3 === 1));
  for (const name of names) orderCreate(site, name);
  const ensure = site.backend.ensure.bind(site.backend);
  site.backend.ensure = (spec) =>
    failing.has(spec.name)
      ? Promise.reject(
        new BerthError(`${spec.name}: backend busy`, { system: "backend", transient: true }),
      )
      : ensure(spec);
  const seen = watchOrders(site);
  const result = await processOrders(site.offering.context);
  assert.equal(result.outcome, "partial");
  assert.equal(result.stats.listed, 700);
  assert.equal(result.stats.deferred, failing.size);
  assert.equal(result.stats.done, 700 - failing.size);
  const approvals = site.waldur.requests.filter((r) => r.path.endsWith("/approve_by_provider/"));
  assert.equal(approvals.length, 700, "every order approved, once");
  assert.equal(new Set(approvals.map((r) => r.path)).size, 700);
  for (const o of site.waldur.orders.values()) {
    assert.equal(o.state, failing.has(o.resource_name) ? "executing" : "done", o.resource_name);
  }
  assert.ok((result.stats.held ?? 0) <= 300);
  assert.ok(seen.reads.length <= 6, `${seen.reads.length} reads: ${seen.pages.join(", ")}`);
  assert.deepEqual(seen.stale, []);
  // the next pass finishes the deferred ones
  site.backend.ensure = ensure;
  site.clock.advance(60_000);
  const again = await processOrders(site.offering.context);
  assert.equal(again.outcome, "ok", again.error);
  assert.equal(again.stats.done, failing.size);
  assert.ok([...site.waldur.orders.values()].every((o) => o.state === "done"));
});

Deno.test("orders: a malformed order is still reported when orders are read page by page", async () => {
  using site = makeSite();
  // first in the listing: the page it is on is read again once the orders after it are done
  const bad = orderCreate(site, "bad");
  (site.waldur.order(bad.order) as unknown as Record<string, unknown>).type = "Explode";
  for (let i = 0; i < 400; i++) orderCreate(site, `r${i}`);
  const result = await processOrders(site.offering.context);
  assert.equal(result.outcome, "partial");
  assert.match(result.error, new RegExp(`^order ${bad.order} is malformed: type: Invalid option`));
  assert.equal(result.stats.done, 400);
  assert.equal(result.stats.pages, 2, "page 1, then page 1 again past the malformed order");
  assert.doesNotMatch(
    result.error,
    /\(and \d+ more\)/,
    "reported once, though its page was read again",
  );
});

Deno.test("orders: a pass stopped by its signal reads no further page", async () => {
  using site = makeSite();
  for (let i = 0; i < 700; i++) orderCreate(site, `r${i}`);
  const stop = new AbortController();
  const seen = watchOrders(site);
  const watched = site.intercept;
  let dones = 0;
  site.intercept = async (request, next) => {
    const answer = await watched(request, next);
    // shutdown arrives while page 1 is being worked on
    if (request.url.includes("/set_state_done/") && ++dones === 10) stop.abort();
    return answer;
  };
  const result = await processOrders(site.offering.context, stop.signal);
  assert.equal(seen.reads.length, 1, "page 2 was never read");
  assert.ok((result.stats.done ?? 0) >= 10 && (result.stats.done ?? 0) < 300);
  assert.equal(result.stats.pages, 1);
});
