/**
 * The status page's words: what an operator read wrong on it (issue 21's glitches), each pinned
 * here so it does not come back.
 */
import assert from "node:assert/strict";
import { createApp } from "../routes/app.tsx";
import { fixtureStatus } from "./support/status_fixture.ts";

async function pageOf(status: ReturnType<typeof fixtureStatus>["status"]): Promise<string> {
  const res = await createApp({ status, deno: "2.9.6" }).request("/");
  assert.equal(res.status, 200);
  return await res.text();
}

/** The page's text as a reader sees it: cells and items apart, inline tags dropped, spaces folded. */
function textOf(html: string): string {
  return html.replace(/<\/?(td|th|tr|li|ul|h\d|p|div|section|table)\b[^>]*>/g, " ")
    .replace(/<[^>]*>/g, "").replace(/\s+/g, " ");
}

Deno.test("a Keycloak group's missing users and its error read as two messages", async () => {
  const { status } = fixtureStatus();
  status.publish("k8s", {
    kind: "rancher",
    at: 0,
    rows: [],
    groups: [{
      path: "/c_1/project_x",
      members: 1,
      added: [],
      removed: [],
      missing: ["ghost"],
      error: "keycloak: cannot search group project_x: HTTP 503",
    }],
  });
  const text = textOf(await pageOf(status));
  assert.match(text, /missing in Keycloak: ghost; error: keycloak: cannot search group/);
  assert.doesNotMatch(text, /ghost keycloak:/);
});

Deno.test("Harbor's top-level OIDC groups are not called child groups", async () => {
  const { status } = fixtureStatus();
  const group = (name: string) => ({
    path: `/${name}`,
    members: 2,
    added: [],
    removed: [],
    missing: [],
    error: "",
  });
  status.publish("registry", {
    kind: "harbor",
    at: 0,
    rows: [],
    groups: [group("waldur-a"), group("waldur-b")],
  });
  const text = textOf(await pageOf(status));
  assert.match(text, /top-level groups 2 groups on this page/);
  assert.match(text, /\/c_cm7x2k9q 3 child groups on this page/, "a parent's groups still are");
});

Deno.test("a closed circuit shows its last error as past, not as a failure", async () => {
  const { status, clock } = fixtureStatus();
  const breaker = {
    system: "harbor",
    target: "https://registry.example.com",
    failures: 0,
    opens: 1,
    retryAt: null,
    lastError: "HTTP 503",
  };
  status.breaker({ ...breaker, state: "open", since: clock.now() - 60_000 });
  const open = await pageOf(status);
  assert.match(open, /<td><span class="error">HTTP 503<\/span><\/td>/);
  status.breaker({ ...breaker, state: "closed", since: clock.now() });
  const closed = await pageOf(status);
  assert.match(closed, /<small>before it closed:<\/small> <span class="error past">HTTP 503/);
  assert.doesNotMatch(closed, /<td><span class="error">HTTP 503/);
});

Deno.test("an order whose next attempt is due says so instead of a time in the past", async () => {
  const { status, clock } = fixtureStatus();
  const order = {
    offering: "registry",
    type: "Create",
    resourceName: "due-now",
    attempts: 1,
    lastError: "",
  };
  status.orderPending({ ...order, uuid: "d0e0000000000000000000000000000a", nextAttemptAt: 0 });
  status.orderPending({
    ...order,
    uuid: "d0e0000000000000000000000000000b",
    nextAttemptAt: clock.now() + 90_000,
  });
  const text = textOf(await pageOf(status));
  assert.match(text, /due-now d0e0000000000000000000000000000a 1 next orders pass/);
  assert.match(text, /due-now d0e0000000000000000000000000000b 1 in 1m 30s/);
  assert.doesNotMatch(text, /years ago/);
});

Deno.test("a right-to-left mark in a name cannot reverse the uuid after it or the entry's words", async () => {
  const { status } = fixtureStatus({ hostileName: "evil\u202Eoc.evil" });
  status.attention.orderErred({
    offering: "registry",
    uuid: "o1",
    type: "Create",
    resource: "r1",
    resourceName: "evil\u202Eoc.evil",
    message: "boom",
  });
  const html = await pageOf(status);
  assert.match(html, /<bdi>evil\u202Eoc\.evil<\/bdi> <small class="uuid">res-evil/);
  assert.match(html, /<bdi class="what">Create order of evil\u202Eoc\.evil erred: boom<\/bdi>/);
});
