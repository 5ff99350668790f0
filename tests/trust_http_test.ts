/**
 * Trust boundaries at the HTTP layer: no redirect is followed (credentials never travel to
 * another origin), credentials an upstream echoes never reach Waldur, the page, the log or the
 * state file, no response body is read past its cap, and ids never become paths.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../testing/manual_clock.ts";
import { base64Utf8 } from "../lib/log.ts";
import { HttpError } from "../lib/errors.ts";
import { createHttp, joinUrl, urlPath } from "../lib/http.ts";
import { capResponses } from "../lib/http_cap.ts";
import { createKeycloakClient, KeycloakSettings } from "../lib/keycloak/client.ts";
import { syncMembership } from "../lib/membership.ts";
import { processOrders } from "../lib/orders.ts";
import { createWaldurClient } from "../lib/waldur/client.ts";
import { realWorld } from "../lib/world.ts";
import { makeHarborSite, order } from "./support/harbor.ts";
import { makeRancherSite, orderProject } from "./support/rancher.ts";
import { makeSite, orderCreate } from "./support/site.ts";

/** A loopback server that answers with `handler` and records what it was sent. */
function loopback(handler: (request: Request) => Response | Promise<Response>) {
  const seen: { method: string; path: string; body: string }[] = [];
  const server = Deno.serve({ hostname: "127.0.0.1", port: 0, onListen: () => {} }, async (r) => {
    seen.push({ method: r.method, path: new URL(r.url).pathname, body: await r.text() });
    return await handler(r);
  });
  return {
    url: `http://127.0.0.1:${server.addr.port}`,
    seen,
    async [Symbol.asyncDispose]() {
      await server.shutdown();
    },
  };
}

for (const status of [307, 308]) {
  Deno.test(`a ${status} from the Keycloak token endpoint is refused: the password is never re-sent`, async () => {
    await using elsewhere = loopback(() => Response.json({ access_token: "stolen" }));
    await using keycloak = loopback(() =>
      new Response(null, { status, headers: { location: `${elsewhere.url}/collect` } })
    );
    const client = createKeycloakClient({
      settings: KeycloakSettings.parse({
        keycloak_url: keycloak.url,
        keycloak_realm: "waldur",
        keycloak_username: "admin",
        keycloak_password: "kc-password-0123",
      }),
      fetch: realWorld().fetch,
      clock: new ManualClock(),
    });
    const error = await client.realm().then(() => null, (e: unknown) => e);
    assert.ok(error instanceof HttpError, String(error));
    assert.equal(error.status, status);
    assert.equal(error.transient, false, "a redirect is a configuration problem, not retried");
    assert.match(error.message, new RegExp(`redirected to ${elsewhere.url}/collect`));
    assert.equal(keycloak.seen.length, 1, "asked once, not retried");
    assert.match(keycloak.seen[0]?.body ?? "", /password=kc-password-0123/);
    assert.deepEqual(elsewhere.seen, [], "the redirect target never heard from Berth");
  });
}

Deno.test("a 308 from Waldur's OIDC token endpoint is refused: the client secret is never re-sent", async () => {
  await using elsewhere = loopback(() => Response.json({ access_token: "x" }));
  await using idp = loopback(() =>
    new Response(null, { status: 308, headers: { location: `${elsewhere.url}/token` } })
  );
  const waldur = createWaldurClient({
    config: {
      apiUrl: "http://127.0.0.1:9/api",
      oidc: { tokenUrl: `${idp.url}/token`, clientId: "agent", clientSecret: "oidc-secret-0123" },
      verifySsl: true,
    },
    fetch: realWorld().fetch,
    clock: new ManualClock(),
    userAgent: "berth/test",
  });
  const error = await waldur.me().then(() => null, (e: unknown) => e);
  assert.ok(error instanceof HttpError, String(error));
  assert.equal(error.status, 308);
  assert.deepEqual(elsewhere.seen, []);
});

Deno.test("a 302 on the orders list is an error naming where it points, never 'no orders'", async () => {
  using site = makeSite();
  const { order: uuid } = orderCreate(site, "alpha");
  site.intercept = (request, next) =>
    new URL(request.url).pathname.endsWith("/marketplace-orders/")
      ? Promise.resolve(
        new Response(null, { status: 302, headers: { location: "https://login.example/sso" } }),
      )
      : next(request);
  await assert.rejects(
    processOrders(site.offering.context),
    /redirected to https:\/\/login\.example\/sso \(HTTP 302\)/,
  );
  assert.equal(site.waldur.order(uuid).state, "pending-provider");
});

Deno.test("credentials a server echoes never reach Waldur, the page, the log or the state file", async () => {
  using site = makeHarborSite();
  const basic = base64Utf8(`${site.harbor.username}:${site.harbor.password}`);
  site.intercept = (request, next) =>
    request.method === "POST" && new URL(request.url).pathname === "/api/v2.0/projects"
      ? Promise.resolve(Response.json({
        errors: [{
          code: "BAD_REQUEST",
          message: `invalid request; received Authorization: Basic ${basic}, ` +
            `form password=${encodeURIComponent(site.harbor.password)}, auth ${basic}`,
        }],
      }, { status: 400 }))
      : next(request);
  const { order: uuid } = order(site, "leaky");
  await processOrders(site.offering.context);
  const erred = site.waldur.order(uuid);
  assert.equal(erred.state, "erred");
  const places = {
    "Waldur's error_message": erred.error_message,
    "/api/status": JSON.stringify(site.status.snapshot()),
    "the log": site.logs.join("\n"),
    "the state file": JSON.stringify(site.store.order(uuid)),
  };
  for (const [where, text] of Object.entries(places)) {
    assert.ok(!text.includes(basic), `${where} holds the basic credentials: ${text}`);
    assert.ok(!text.includes(site.harbor.password), `${where} holds the password`);
    assert.ok(
      !text.includes(encodeURIComponent(site.harbor.password)),
      `${where} holds the form-encoded password`,
    );
  }
  assert.match(erred.error_message, /HTTP 400/);
  assert.match(
    erred.error_message,
    /the server's answer is in the agent's log/,
    "customers read Berth's message, not the upstream body (expose_backend_error_details off)",
  );
  assert.match(places["the log"], /invalid request/, "the operator sees the cleaned answer");
});

Deno.test("expose_backend_error_details: true adds a short cleaned excerpt, still without credentials", async () => {
  using site = makeHarborSite("", {}, { yamlExtra: "expose_backend_error_details: true" });
  const secretish = `Bearer ${"a1b2c3d4".repeat(8)}`;
  site.intercept = (request, next) =>
    request.method === "POST" && new URL(request.url).pathname === "/api/v2.0/projects"
      ? Promise.resolve(
        new Response(`project name refused by policy ${"x".repeat(400)} ${secretish}`, {
          status: 400,
        }),
      )
      : next(request);
  const { order: uuid } = order(site, "verbose");
  await processOrders(site.offering.context);
  const message = site.waldur.order(uuid).error_message;
  assert.match(message, /HTTP 400 project name refused by policy x+…/);
  assert.ok(message.length < 300, `short: ${message.length} characters`);
  assert.ok(!message.includes("a1b2c3d4"), message);
});

Deno.test("a body past max_response_mb is refused without being read whole, and the pass says why", async () => {
  using site = makeSite({ yamlExtra: "max_response_mb: 1" });
  orderCreate(site, "big");
  let produced = 0;
  site.intercept = (request, next) => {
    if (!new URL(request.url).pathname.endsWith("/marketplace-orders/")) return next(request);
    const chunk = new TextEncoder().encode(`{"uuid":"${"f".repeat(32)}"},`.repeat(1000));
    // an endless body: only the cap can end the read
    const body = new ReadableStream<Uint8Array>({
      start: (c) => c.enqueue(new TextEncoder().encode('{"results":[')),
      pull: (c) => {
        produced += chunk.byteLength;
        c.enqueue(chunk);
      },
    });
    return Promise.resolve(new Response(body, { headers: { "content-type": "application/json" } }));
  };
  await assert.rejects(
    processOrders(site.offering.context),
    /the response is larger than 1 MiB; refused \(raise max_response_mb/,
  );
  assert.ok(produced < 2 * 1024 ** 2, `read ${produced} bytes`);
});

Deno.test("a Content-Length past the cap stops the read before the first byte", async () => {
  let pulled = false;
  const fetch = capResponses(() =>
    Promise.resolve(
      new Response(
        new ReadableStream({
          pull: (c) => {
            pulled = true;
            c.enqueue(new Uint8Array(10));
          },
        }, { highWaterMark: 0 }),
        { headers: { "content-length": String(64 * 1024 ** 2) } },
      ),
    ), 32 * 1024 ** 2);
  const http = createHttp({
    system: "harbor",
    baseUrl: "http://h",
    fetch,
    clock: new ManualClock(),
  });
  await assert.rejects(http.request("GET", "/x"), /larger than 32 MiB/);
  assert.equal(pulled, false);
});

Deno.test("urlPath: any id is one encoded segment or refused, never another endpoint (fuzz)", () => {
  const pieces = [
    "..",
    ".",
    "/",
    "%2e",
    "%2E%2e",
    "?",
    "#",
    "\\",
    "%00",
    "\u0000",
    "a",
    "p-1",
    ":",
    "@",
    " ",
    "é",
    "%",
    ";",
    "&",
  ];
  let seed = 42;
  const random = () => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
  let refused = 0;
  for (let i = 0; i < 5_000; i++) {
    const length = 1 + Math.floor(random() * 5);
    const id = Array.from({ length }, () => pieces[Math.floor(random() * pieces.length)]).join("");
    let path: string;
    try {
      path = urlPath`/v3/projects/${id}/members`;
    } catch {
      assert.ok(id === "." || id === "..", `refused ${JSON.stringify(id)}`);
      refused++;
      continue;
    }
    const url = new URL(joinUrl("https://rancher.example/base/", path));
    const segments = url.pathname.split("/");
    assert.deepEqual(
      [segments.length, segments[1], segments[2], segments[3], segments[5]],
      [6, "base", "v3", "projects", "members"],
      `${JSON.stringify(id)} → ${url.pathname}`,
    );
    assert.equal(decodeURIComponent(segments[4] ?? ""), id);
    assert.equal(url.search, "");
    assert.equal(url.hash, "");
  }
  assert.ok(refused > 0);
});

Deno.test("a Waldur username shaped like a path reaches no other Keycloak endpoint (keycloak_use_user_id)", async () => {
  using site = makeRancherSite({ keycloak: true, settings: "keycloak_use_user_id: true" });
  const admin = site.keycloak.addUser("master", "admin-victim");
  orderProject(site, "Analytics");
  await processOrders(site.offering.context);
  site.waldur.setTeam("proj", [{ username: `../../master/users/${admin}` }]);
  const before = site.keycloak.requests.length;
  await syncMembership(site.offering.context);
  const sent = site.keycloak.requests.slice(before).map((r) => `${r.method} ${r.path}`);
  assert.ok(
    sent.every((r) => !r.includes("/realms/master/users")),
    `reached another realm:\n${sent.join("\n")}`,
  );
  const paths = site.keycloak.requests.slice(before).map((r) =>
    new URL(r.path, "http://k").pathname
  );
  assert.ok(paths.every((p) => !p.includes(admin)), `the id became a path:\n${paths.join("\n")}`);
});

Deno.test("a capped body keeps a chunk that is a small view of a large buffer as a copy of its bytes", async () => {
  // how Deno hands on a fetch body: 16 KiB views of the 64 KiB buffers it reads into
  const big = new ArrayBuffer(64 * 1024);
  const view = new Uint8Array(big, 0, 16 * 1024).fill(7);
  const whole = new Uint8Array(16 * 1024).fill(8);
  const fetch = capResponses(() =>
    Promise.resolve(
      new Response(
        new ReadableStream({
          start: (c) => {
            c.enqueue(view);
            c.enqueue(whole);
            c.close();
          },
        }),
      ),
    ), 32 * 1024 ** 2);
  const response = await fetch(new Request("http://h/"));
  const chunks: Uint8Array[] = [];
  for await (const chunk of response.body!) chunks.push(chunk);
  assert.deepEqual(chunks.map((c) => [c.byteLength, c.buffer.byteLength, c[0]]), [
    [16 * 1024, 16 * 1024, 7], // the 64 KiB buffer is not kept alive by 16 KiB of body
    [16 * 1024, 16 * 1024, 8], // a chunk that fills its buffer goes on as it is
  ]);
  assert.equal(chunks[1], whole);
});
