import assert from "node:assert/strict";
import { ManualClock } from "../../testing/manual_clock.ts";
import { createWaldurClient } from "./client.ts";
import { FakeWaldur } from "./fake.ts";

function client(fake: FakeWaldur, apiUrl = "http://waldur.test/api") {
  const seen: string[] = [];
  const c = createWaldurClient({
    config: { apiUrl, token: fake.token, verifySsl: true },
    fetch: (r) => {
      seen.push(`${r.method} ${r.url}`);
      return Promise.resolve(fake.app.request(r));
    },
    clock: new ManualClock(),
    userAgent: "berth/test",
  });
  return { c, seen };
}

Deno.test("lists page with page_size=300 to the end and repeat state= params", async () => {
  const fake = new FakeWaldur();
  const offering = fake.addOffering("o", []);
  for (let i = 0; i < 750; i++) {
    fake.orderCreate(offering, { name: `r${i}`, project: "p", customer: "c" });
  }
  const { c, seen } = client(fake);
  const { items, rejected } = await c.listOrders(offering, ["pending-provider", "executing"]);
  assert.equal(items.length, 750);
  assert.equal(rejected.length, 0);
  assert.equal(seen.length, 3);
  assert.match(seen[0] ?? "", /state=pending-provider&state=executing&page=1&page_size=300$/);
});

Deno.test("a server that caps the page size lower is still paged to the end", async () => {
  const fake = new FakeWaldur();
  const offering = fake.addOffering("o", []);
  for (let i = 0; i < 250; i++) {
    fake.orderCreate(offering, { name: `r${i}`, project: "p", customer: "c" });
  }
  let calls = 0;
  const c = createWaldurClient({
    config: { apiUrl: "http://waldur.test/api", token: fake.token, verifySsl: true },
    // an older Waldur whose maximum is 100
    fetch: (r) => {
      calls++;
      return Promise.resolve(fake.app.request(r.url.replace("page_size=300", "page_size=100"), r));
    },
    clock: new ManualClock(),
    userAgent: "berth/test",
  });
  const { items } = await c.listOrders(offering, ["pending-provider"]);
  assert.equal(new Set(items.map((o) => o.uuid)).size, 250);
  assert.equal(calls, 3);
});

Deno.test("a malformed item is set aside with its uuid and problem; the rest of the list is kept", async () => {
  const fake = new FakeWaldur();
  const offering = fake.addOffering("o", []);
  const { order } = fake.orderCreate(offering, { name: "good", project: "p", customer: "c" });
  const bad = fake.orderCreate(offering, { name: "bad", project: "p", customer: "c" });
  (fake.order(bad.order) as unknown as Record<string, unknown>).type = "Explode";
  const { c } = client(fake);
  const { items, rejected } = await c.listOrders(offering, ["pending-provider"]);
  assert.deepEqual(items.map((o) => o.uuid), [order]);
  assert.equal(rejected[0]?.uuid, bad.order);
  assert.match(rejected[0]?.problem ?? "", /^type: Invalid option/);
});

Deno.test("the client sends Token auth and a 401 is a terminal error", async () => {
  const fake = new FakeWaldur();
  const { c } = client(fake);
  assert.equal((await c.me()).username, "berth-agent");
  const wrong = createWaldurClient({
    config: { apiUrl: "http://waldur.test/api", token: "bad", verifySsl: true },
    fetch: (r) => Promise.resolve(fake.app.request(r)),
    clock: new ManualClock(),
    userAgent: "t",
  });
  await assert.rejects(
    wrong.me(),
    (e) => e instanceof Error && /HTTP 401/.test(e.message) && !("transient" in e && e.transient),
  );
});

Deno.test("the client fetches an OIDC client-credentials token once and sends it as bearer", async () => {
  const requests: Request[] = [];
  let tokens = 0;
  const c = createWaldurClient({
    config: {
      apiUrl: "http://waldur.test/api",
      oidc: { tokenUrl: "http://idp.test/token", clientId: "berth", clientSecret: "s3cret" },
      verifySsl: true,
    },
    fetch: async (r) => {
      requests.push(r);
      if (r.url === "http://idp.test/token") {
        tokens++;
        const form = new URLSearchParams(await r.text());
        assert.equal(form.get("grant_type"), "client_credentials");
        assert.equal(form.get("client_secret"), "s3cret");
        return Response.json({ access_token: "jwt-1", expires_in: 300 });
      }
      assert.equal(r.headers.get("authorization"), "Bearer jwt-1");
      return Response.json({ uuid: "u", username: "svc" });
    },
    clock: new ManualClock(),
    userAgent: "t",
  });
  await c.me();
  await c.me();
  assert.equal(tokens, 1);
});
