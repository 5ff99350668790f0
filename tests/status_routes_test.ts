import assert from "node:assert/strict";
import { basicAuth } from "../lib/http.ts";
import { StatusModel } from "../lib/status.ts";
import { createApp } from "../routes/app.tsx";
import { tokenMatches } from "../routes/auth.ts";
import { WEDGE_MS } from "../routes/probes.ts";
import { checkExposition } from "./support/exposition.ts";
import { type FixtureOptions, fixtureStatus } from "./support/status_fixture.ts";

function appFor(options: FixtureOptions & { token?: string } = {}) {
  const { status, clock } = fixtureStatus(options);
  const app = createApp({
    status,
    deno: "2.9.6",
    ...(options.token ? { token: options.token } : {}),
  });
  return { app, status, clock };
}

async function page(app: ReturnType<typeof createApp>, path = "/"): Promise<string> {
  const res = await app.request(path);
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^text\/html/);
  return await res.text();
}

Deno.test("the status page for a fixed model matches its snapshot", async (t) => {
  const { app } = appFor();
  // one element per line, so a change reads as a small diff
  await t.assertSnapshot((await page(app)).replaceAll("><", ">\n<"));
});

Deno.test("the status page shows loops, Harbor quota bars, Rancher quotas, the Keycloak tree, orders, changes and errors", async () => {
  const { app } = appFor();
  const html = await page(app);
  assert.match(html, /<span class="state failing" id="overall">/, "a partial/failed pass shows");
  assert.match(html, /Berth <small>0\.1\.0-test<\/small>/);
  assert.match(html, /\/etc\/berth\/config\.yaml/);
  // loop table: the first line of a multi-line error, the full text on expand
  assert.match(
    html,
    /<details id="loop-error-2" class="error"><summary>order 7f3e: Rancher POST \/v3\/projects: HTTP 422 InvalidBodyContent<\/summary><pre>[^<]*namespace default<\/pre>/,
  );
  assert.match(html, /running now/, "a pass in flight says so");
  // harbor: used / hard, a meter and a percent; flags; group bound
  assert.match(
    html,
    /42 GiB \/ 100 GiB<meter[^>]*value="0\.42"[^>]*><\/meter><span class="pct">42 %/,
  );
  assert.match(html, /<span class="flag warn">near quota<\/span>/);
  assert.match(html, /<span class="flag bad">over quota<\/span><span class="flag info">adopted/);
  assert.match(html, /<span class="flag bad">not found<\/span>/);
  assert.match(html, /harbor-gamma-ci <span class="bad" title="not bound to the project">✗/);
  // rancher: CPU, memory, storage and namespaces
  assert.match(html, /<td class="num">1\.25 \/ 4<\/td><td class="num">3 GiB \/ 8 GiB/);
  assert.match(html, /delta-ml, delta-ml-batch/);
  // keycloak: parent, children with counts, added / removed / missing, errors
  assert.match(html, /<span class="group parent">\/c_cm7x2k9q<\/span>/);
  assert.match(html, /project_delta_workloads-manage<\/span> <span class="members">2 members/);
  assert.match(html, /removed: bob/);
  assert.match(html, /missing in Keycloak: ghost/);
  assert.match(html, /members unknown/);
  assert.match(html, /connection refused/);
  // orders in flight, last changes
  assert.match(html, /id="orders"><h2>Orders in flight <span class="count">1</);
  assert.match(html, /create project <b>acme-registry<\/b>/);
});

Deno.test("the page pages and filters a big table, and every table counts what matched", async () => {
  const { app } = appFor({ harborProjects: 120 });
  let html = await page(app, "/?p.h0=3");
  assert.match(html, /page 3 of 3/);
  // 124 rows: pages of 50, the third has 24
  const rowsOf = (h: string) =>
    h.split('data-table="h0"')[1]?.split("</tbody>")[0]?.match(/<tr[ >]/g)?.length ?? 0;
  assert.equal(rowsOf(html), 24 + 1, "24 rows and the header row");
  assert.match(html, /<a data-nav="true" href="\?p\.h0=2" rel="prev">/);

  html = await page(app, "/?q=proj-0011&n=5");
  assert.match(html, /10 of 124 projects match/, "proj-00110 to proj-00119");
  assert.match(html, /page 1 of 2/);
  assert.equal(rowsOf(html), 5 + 1);
  assert.match(html, /<a data-nav="true" href="\?q=proj-0011&amp;n=5&amp;p\.h0=2" rel="next">/);

  html = await page(app, "/?p.h0=999");
  assert.match(html, /page 3 of 3/, "a page past the end shows the last");
});

Deno.test("a name is shown as text: no markup from a project name reaches the page", async () => {
  const hostile = `<script>alert(1)</script>"><img src=x onerror=alert(2)>`;
  const { app } = appFor({ hostileName: hostile });
  const html = await page(app);
  assert.ok(!html.includes("<script>alert"), "no script element from the name");
  assert.ok(!html.includes("<img src=x"), "no attribute break-out");
  assert.match(html, /&lt;script&gt;alert\(1\)&lt;\/script&gt;&quot;&gt;&lt;img src=x/);
  const filtered = await page(app, `/?q=${encodeURIComponent(hostile)}`);
  assert.ok(!filtered.includes("<script>alert"), "the filter value is escaped too");
  assert.match(filtered, /value="&lt;script&gt;/);
});

Deno.test("responses carry a CSP with no inline script, no framing and nosniff", async () => {
  const { app } = appFor();
  for (const path of ["/", "/api/status", "/metrics", "/healthz", "/assets/berth.js"]) {
    const res = await app.request(path);
    await res.body?.cancel();
    const csp = res.headers.get("content-security-policy") ?? "";
    assert.match(csp, /script-src 'self'(;|$)/, path);
    assert.ok(!csp.includes("unsafe-inline"), path);
    assert.match(csp, /frame-ancestors 'none'/, path);
    assert.match(csp, /default-src 'none'/, path);
    assert.equal(res.headers.get("x-content-type-options"), "nosniff", path);
    assert.equal(res.headers.get("x-frame-options"), "DENY", path);
    assert.equal(res.headers.get("referrer-policy"), "no-referrer", path);
  }
  const api = await app.request("/api/status");
  await api.body?.cancel();
  assert.equal(api.headers.get("cache-control"), "no-store", "live data is never cached");
  const html = await page(app);
  assert.ok(!/<script>[^<]/.test(html), "no inline script in the page");
  assert.ok(!/ style=/.test(html), "no inline style attribute");
  assert.ok(!/ on[a-z]+=/.test(html), "no inline event handler");
  assert.ok(!/(src|href)="(https?:)?\/\//.test(html), "no external asset");
  const js = await app.request("/assets/berth.js");
  assert.match(js.headers.get("content-type") ?? "", /javascript/);
  assert.match(await js.text(), /setInterval\(refresh/);
});

Deno.test("status.token protects everything but the probes, as bearer or basic password", async () => {
  const token = "s3cret-status-token-1234";
  const { app } = appFor({ token });
  for (const path of ["/", "/api/status", "/metrics", "/assets/berth.css", "/nope", "/healthz/"]) {
    const res = await app.request(path);
    assert.equal(res.status, 401, path);
    assert.match(res.headers.get("www-authenticate") ?? "", /^Basic realm="berth"/, path);
    assert.match(await res.text(), /needs status\.token/, `${path}: the body names the setting`);
  }
  for (const path of ["/healthz", "/readyz"]) {
    const res = await app.request(path);
    await res.body?.cancel();
    assert.notEqual(res.status, 401, `${path} stays open for the probe`);
  }
  const ok = async (authorization: string) => {
    const res = await app.request("/api/status", { headers: { authorization } });
    await res.body?.cancel();
    return res.status;
  };
  assert.equal(await ok(`Bearer ${token}`), 200);
  assert.equal(await ok(`bearer  ${token}`), 200, "the scheme in any case, more than one space");
  assert.equal(await ok(basicAuth("admin", token)), 200);
  assert.equal(await ok(basicAuth("", token)), 200, "any user name, even none");
  assert.equal(await ok(`basic ${basicAuth("u", token).slice(6)}`), 200);
  assert.equal(await ok(`Bearer ${token}x`), 401);
  assert.equal(await ok(`Bearer ${token.slice(0, -1)}`), 401);
  assert.equal(await ok(basicAuth(token, "")), 401, "the token as the user name is no password");
  assert.equal(await ok(basicAuth("u", `${token}x`)), 401);
  assert.equal(await ok(`Basic ${btoa(token)}`), 401, "no colon, no password");
  assert.equal(await ok("Basic !!!"), 401);
  assert.equal(await ok(`Bearer ${basicAuth("u", token)}`), 401);
  assert.equal(await ok(token), 401);
});

Deno.test("a status.token refused by bearer-auth's token syntax works as bearer and basic password", async () => {
  // bearer-auth would answer `Bearer <this>` with 400; Prometheus' credentials send it as it is
  const token = 'p@ss w0rd:"#1$%^&*()"{}';
  const { app } = appFor({ token });
  const status = async (authorization?: string) => {
    const res = await app.request(
      "/api/status",
      authorization ? { headers: { authorization } } : {},
    );
    await res.body?.cancel();
    return res.status;
  };
  assert.equal(await status(`Bearer ${token}`), 200);
  assert.equal(await status(basicAuth("u", token)), 200, "the password may hold colons");
  assert.equal(await status(`Bearer ${token}x`), 401);
  assert.equal(await status(`Bearer ${token.slice(0, -1)}`), 401);
  assert.equal(await status(basicAuth("u", `${token}x`)), 401);
  assert.equal(await status(token), 401);
  assert.equal(await status(), 401);
  const res = await app.request("/api/status", { headers: { authorization: "Bearer wrong!" } });
  assert.match(res.headers.get("www-authenticate") ?? "", /^Basic realm="berth"/);
  assert.match(await res.text(), /needs status\.token/);
  const unicode = "tōken-ünïcode-ŝtatus";
  const { app: other } = appFor({ token: unicode });
  const basic = await other.request("/", { headers: { authorization: basicAuth("u", unicode) } });
  await basic.body?.cancel();
  assert.equal(basic.status, 200, "a non-ASCII password, sent as UTF-8 as browsers do");
});

Deno.test("without status.token nothing asks for one", async () => {
  const { app } = appFor();
  for (const path of ["/", "/api/status", "/metrics"]) {
    const res = await app.request(path, { headers: { authorization: "Bearer wrong" } });
    await res.body?.cancel();
    assert.equal(res.status, 200, path);
    assert.equal(res.headers.get("www-authenticate"), null, path);
  }
});

Deno.test("token comparison: equal only for the same text, whatever the lengths", () => {
  assert.equal(tokenMatches("abc", "abc"), true);
  assert.equal(tokenMatches("abd", "abc"), false);
  assert.equal(tokenMatches("", "abc"), false);
  assert.equal(tokenMatches("abcabc", "abc"), false);
  assert.equal(tokenMatches("tōken", "tōken"), true);
});

Deno.test("a registered secret never reaches the page or /api/status", async () => {
  const secret = "hunter2-waldur-token-value";
  const { app, status, clock } = appFor({ secrets: [secret] });
  // the secret through every writer of the record, not only error()
  status.loopFinished("registry", "membership", "failed", `pass failed: ${secret}`, 300_000);
  status.orderPending({
    uuid: "5ec00000000000000000000000000009",
    offering: "registry",
    type: "Create",
    resourceName: "secret-order",
    attempts: 1,
    lastError: `order failed: ${secret}`,
    nextAttemptAt: clock.now() + 60_000,
  });
  status.audit({
    at: clock.now(),
    offering: "registry",
    system: "harbor",
    action: "create robot",
    target: "acme-registry",
    result: "failed",
    detail: `robot said ${secret}`,
  });
  status.breaker({
    system: "harbor",
    target: "https://registry.example.com",
    state: "open",
    failures: 5,
    opens: 1,
    since: clock.now(),
    retryAt: clock.now() + 30_000,
    lastError: `breaker saw ${secret}`,
  });
  status.publish("registry", {
    kind: "harbor",
    at: clock.now(),
    rows: [{ project: "acme-registry", resourceName: `row holds ${secret}`, flags: [secret] }],
  });
  const html = await page(app);
  const json = await (await app.request("/api/status")).text();
  const metrics = await (await app.request("/metrics")).text();
  for (const body of [html, json, metrics]) assert.ok(!body.includes(secret));
  for (const body of [html, json]) assert.match(body, /login failed with \[redacted\]/);
  const model = JSON.parse(json) as StatusModel;
  // each writer kept its text, with the secret replaced
  assert.equal(
    model.loops.find((l) => l.offering === "registry" && l.loop === "membership")?.lastError,
    "pass failed: [redacted]",
  );
  assert.equal(
    model.orders.find((o) => o.resourceName === "secret-order")?.lastError,
    "order failed: [redacted]",
  );
  assert.ok(model.events.some((e) => e.detail === "robot said [redacted]"));
  assert.equal(
    model.breakers.find((b) => b.system === "harbor")?.lastError,
    "breaker saw [redacted]",
  );
  assert.deepEqual(model.backends.find((b) => b.offering === "registry")?.rows, [
    { project: "acme-registry", resourceName: "row holds [redacted]", flags: ["[redacted]"] },
  ]);
  for (const text of ["pass failed: [redacted]", "order failed: [redacted]"]) {
    assert.ok(html.includes(text), `the page shows ${text}`);
  }
});

Deno.test("/api/status is the status model, and its schema accepts it", async () => {
  const { app, status } = appFor();
  const res = await app.request("/api/status");
  assert.equal(res.status, 200);
  assert.match(res.headers.get("content-type") ?? "", /^application\/json/);
  const body = StatusModel.parse(await res.json());
  assert.deepEqual(body, JSON.parse(JSON.stringify(status.snapshot())));
  assert.equal(body.loops.length, 4);
  assert.equal(body.backends.find((b) => b.kind === "rancher")?.groups?.length, 3);
});

Deno.test("/healthz stays 200 while remotes fail, and is 503 only for a wedged loop", async () => {
  const { app, status, clock } = appFor();
  let res = await app.request("/healthz");
  assert.equal(res.status, 200, "a partial pass and a Keycloak error do not fail liveness");
  await res.body?.cancel();
  status.loopFinished("registry", "orders", "failed", "Waldur unreachable", 60_000);
  res = await app.request("/healthz");
  assert.equal(res.status, 200, "Waldur down does not restart the pod");
  await res.body?.cancel();
  clock.advance(WEDGE_MS + 1_000); // k8s/usage has been running silently since the fixture began
  res = await app.request("/healthz");
  assert.equal(res.status, 503);
  const body = await res.json();
  assert.ok(body.problems.some((p: string) => /k8s\/usage: pass silent/.test(p)), body.problems);
  status.heartbeat("k8s", "usage");
  status.loopFinished("k8s", "usage", "ok", "", 1_800_000);
  for (const l of status.loops()) status.loopFinished(l.offering, l.loop, "ok", "", 0);
  res = await app.request("/healthz");
  assert.equal(res.status, 200);
  await res.body?.cancel();
});

Deno.test("/healthz stays 200 when the wall clock steps an hour forward or back; only elapsed time wedges", async () => {
  const { app, status, clock } = appFor();
  // every loop idle and due within its interval, as a healthy agent's loops are
  status.heartbeat("k8s", "usage");
  status.loopFinished("k8s", "usage", "ok", "", 1_800_000);
  const health = async () => {
    const res = await app.request("/healthz");
    const body = await res.json();
    return `${res.status} ${body.problems.join("; ")}`.trim();
  };
  assert.equal(await health(), "200");
  clock.stepWall(60 * 60_000); // NTP corrects a clock an hour slow
  assert.equal(await health(), "200", "a step forward is not a late scheduler");
  clock.stepWall(-2 * 60 * 60_000); // a VM resumed with its clock an hour behind
  assert.equal(await health(), "200", "a step back is not a late scheduler either");
  status.loopStarted("registry", "orders");
  clock.stepWall(60 * 60_000);
  assert.equal(await health(), "200", "a running pass is not silent because the wall clock jumped");
  status.loopFinished("registry", "orders", "ok", "", 60_000);
  clock.advance(WEDGE_MS + 61_000); // real time passes and no loop runs
  assert.match(await health(), /^503 .*registry\/orders: scheduler 601 s late/);
});

Deno.test("/readyz is 503 with reasons until every loop finished a first pass", async () => {
  const { app, status } = appFor();
  let res = await app.request("/readyz");
  assert.equal(res.status, 503);
  assert.deepEqual((await res.json()).problems, ["k8s/usage: first pass not finished"]);
  status.loopFinished("k8s", "usage", "failed", "Rancher down", 60_000);
  res = await app.request("/readyz");
  assert.equal(res.status, 200, "a finished pass, even a failed one, makes the agent ready");
  await res.body?.cancel();
});

Deno.test("a status server open to the network without a token shows a banner saying so", async () => {
  const { app, status } = appFor();
  assert.doesNotMatch(await page(app), /id="exposure"/, "no server recorded: no banner");
  status.serving({ listen: "127.0.0.1:8080", tokenRequired: false, openToNetwork: false });
  assert.doesNotMatch(await page(app), /id="exposure"/, "loopback: no banner");
  status.serving({ listen: "0.0.0.0:8080", tokenRequired: true, openToNetwork: false });
  assert.doesNotMatch(await page(app), /id="exposure"/, "behind a token: no banner");
  status.serving({ listen: "0.0.0.0:8080", tokenRequired: false, openToNetwork: true });
  const html = await page(app);
  assert.match(
    html,
    /<p id="exposure" class="banner" role="alert"><strong>This page is open to the network without a token\.<\/strong>/,
  );
  assert.match(html, /listens on <code>0\.0\.0\.0:8080<\/code>/);
  assert.ok(
    html.indexOf('id="exposure"') > html.indexOf('id="live"'),
    "inside the part the refresh replaces",
  );
  const model = StatusModel.parse(await (await app.request("/api/status")).json());
  assert.deepEqual(model.server, {
    listen: "0.0.0.0:8080",
    tokenRequired: false,
    openToNetwork: true,
    acceptFailures: 0,
    lastAcceptError: "",
  });
});

Deno.test("accept failures the status server survived are counted in /api/status and /metrics", async () => {
  const { app, status } = appFor();
  status.serving({ listen: "127.0.0.1:8080", tokenRequired: false, openToNetwork: false });
  status.serverEvent({
    kind: "accept",
    message: "Too many open files (os error 24)",
    retryInMs: 500,
  });
  status.serverEvent({ kind: "listening", url: "http://127.0.0.1:8080/" });
  status.serverEvent({
    kind: "accept",
    message: "Too many open files (os error 24)",
    retryInMs: 1000,
  });
  status.serverEvent({ kind: "handler", message: "boom" });
  const model = StatusModel.parse(await (await app.request("/api/status")).json());
  assert.equal(model.server?.acceptFailures, 2);
  assert.equal(model.server?.lastAcceptError, "Too many open files (os error 24)");
  const samples = checkExposition(await (await app.request("/metrics")).text());
  assert.deepEqual(
    samples.filter((s) => s.name === "berth_status_accept_failures_total").map((s) => s.value),
    [2],
  );
});
