import assert from "node:assert/strict";
import { z } from "zod";
import { ManualClock } from "../testing/manual_clock.ts";
import { BerthError, HttpError } from "./errors.ts";
import { createHttp, joinUrl, parseRetryAfter } from "./http.ts";

function scripted(responses: (() => Response | Promise<Response>)[]) {
  const seen: Request[] = [];
  return {
    seen,
    fetch: (request: Request) => {
      seen.push(request);
      const next = responses.shift();
      if (!next) throw new Error("no more responses");
      return Promise.resolve(next());
    },
  };
}

Deno.test("joinUrl keeps the base path, repeats array params and encodes values", () => {
  assert.equal(
    joinUrl("https://w.example.com/api", "/marketplace-orders/", {
      state: ["pending-provider", "executing"],
      q: "a b",
    }),
    "https://w.example.com/api/marketplace-orders/?state=pending-provider&state=executing&q=a+b",
  );
  assert.equal(joinUrl("https://h/api/v2.0/", "projects"), "https://h/api/v2.0/projects");
});

Deno.test("a GET is retried on 503 and honours Retry-After, then parsed with zod", async () => {
  const clock = new ManualClock();
  const s = scripted([
    () => new Response("busy", { status: 503, headers: { "retry-after": "2" } }),
    () => Response.json({ id: 7 }),
  ]);
  const http = createHttp({
    system: "harbor",
    baseUrl: "https://h",
    fetch: s.fetch,
    clock,
    random: () => 0,
  });
  const res = await http.request("GET", "/x", { schema: z.object({ id: z.number() }) });
  assert.equal(res.data.id, 7);
  assert.equal(s.seen.length, 2);
  assert.deepEqual(clock.slept, [2000]);
});

Deno.test("retries are bounded and back off exponentially; the last error is transient", async () => {
  const clock = new ManualClock();
  const s = scripted(Array.from({ length: 3 }, () => () => new Response("down", { status: 500 })));
  const http = createHttp({
    system: "waldur",
    baseUrl: "https://w",
    fetch: s.fetch,
    clock,
    random: () => 1,
  });
  await assert.rejects(
    http.request("GET", "/x"),
    (e) => e instanceof HttpError && e.transient && e.status === 500,
  );
  assert.equal(s.seen.length, 3);
  assert.deepEqual(clock.slept, [250, 500]);
});

Deno.test("the backoff grows up to maxDelayMs and stays there", async () => {
  const clock = new ManualClock();
  const s = scripted(Array.from({ length: 6 }, () => () => new Response("down", { status: 503 })));
  const http = createHttp({
    system: "waldur",
    baseUrl: "https://w",
    fetch: s.fetch,
    clock,
    random: () => 1,
    retry: { attempts: 6, baseDelayMs: 250, maxDelayMs: 1_000 },
  });
  await assert.rejects(http.request("GET", "/x"), (e) => e instanceof HttpError && e.transient);
  assert.equal(s.seen.length, 6);
  assert.deepEqual(clock.slept, [250, 500, 1_000, 1_000, 1_000]);
});

Deno.test("a Retry-After longer than 30 s is not waited inside one call: it fails at once", async () => {
  const clock = new ManualClock();
  const s = scripted([
    () => new Response("busy", { status: 503, headers: { "retry-after": "31" } }),
    () => Response.json({ id: 7 }),
  ]);
  const http = createHttp({ system: "harbor", baseUrl: "https://h", fetch: s.fetch, clock });
  await assert.rejects(
    http.request("GET", "/x"),
    (e) => e instanceof HttpError && e.transient && e.status === 503 && e.retryAfterMs === 31_000,
  );
  assert.equal(s.seen.length, 1, "no second try inside the call");
  assert.deepEqual(clock.slept, [], "nothing waited");
  // 30 s is still waited for
  const s30 = scripted([
    () => new Response("busy", { status: 503, headers: { "retry-after": "30" } }),
    () => Response.json({ id: 7 }),
  ]);
  const clock30 = new ManualClock();
  const http30 = createHttp({
    system: "harbor",
    baseUrl: "https://h",
    fetch: s30.fetch,
    clock: clock30,
  });
  assert.equal((await http30.request("GET", "/x")).status, 200);
  assert.deepEqual(clock30.slept, [30_000]);
});

Deno.test("a POST is not repeated after a 500 (it may have happened) but is after a 429", async () => {
  const clock = new ManualClock();
  const s = scripted([() => new Response("", { status: 500 })]);
  const http = createHttp({ system: "waldur", baseUrl: "https://w", fetch: s.fetch, clock });
  await assert.rejects(http.request("POST", "/x", { body: {} }));
  assert.equal(s.seen.length, 1);
  const s2 = scripted([
    () => new Response("", { status: 429 }),
    () => new Response(null, { status: 201 }),
  ]);
  const http2 = createHttp({ system: "waldur", baseUrl: "https://w", fetch: s2.fetch, clock });
  assert.equal((await http2.request("POST", "/x", { body: {} })).status, 201);
});

Deno.test("4xx errors are terminal and name the action; bodies are excerpted", async () => {
  const s = scripted([() => new Response(JSON.stringify({ detail: "nope" }), { status: 403 })]);
  const http = createHttp({
    system: "harbor",
    baseUrl: "https://h",
    fetch: s.fetch,
    clock: new ManualClock(),
  });
  await assert.rejects(
    http.request("DELETE", "/projects/1", { action: "delete project acme" }),
    (e) =>
      e instanceof HttpError && !e.transient &&
      e.message === 'harbor: cannot delete project acme: HTTP 403 {"detail":"nope"}',
  );
});

Deno.test("a network error is transient; an unexpected shape is terminal and names the field", async () => {
  const clock = new ManualClock();
  const down = createHttp({
    system: "waldur",
    baseUrl: "https://w",
    fetch: () => Promise.reject(new TypeError("connection refused")),
    clock,
    retry: { attempts: 1 },
  });
  await assert.rejects(
    down.request("GET", "/x"),
    (e) => e instanceof HttpError && e.transient && e.status === 0,
  );
  const s = scripted([() => Response.json([{ uuid: 1 }])]);
  const http = createHttp({ system: "waldur", baseUrl: "https://w", fetch: s.fetch, clock });
  await assert.rejects(
    http.request("GET", "/x", { schema: z.array(z.object({ uuid: z.string() })) }),
    (e) => e instanceof BerthError && !e.transient && /\[0\]\.uuid: Invalid input/.test(e.message),
  );
});

Deno.test("truncated JSON is transient (a proxy cut it off)", async () => {
  const s = scripted([() => new Response('{"a": [1, 2', { status: 200 })]);
  const http = createHttp({
    system: "waldur",
    baseUrl: "https://w",
    fetch: s.fetch,
    clock: new ManualClock(),
    retry: { attempts: 1 },
  });
  await assert.rejects(
    http.request("GET", "/x", { schema: z.unknown() }),
    (e) => e instanceof BerthError && e.transient,
  );
});

Deno.test("Retry-After accepts seconds and HTTP dates", () => {
  const now = Date.UTC(2026, 0, 1, 0, 0, 0);
  assert.equal(parseRetryAfter("3", now), 3000);
  assert.equal(parseRetryAfter("Thu, 01 Jan 2026 00:00:10 GMT", now), 10_000);
  assert.equal(parseRetryAfter("soon", now), undefined);
  assert.equal(parseRetryAfter(null, now), undefined);
});

Deno.test("no answer in time names the server and the wait; the error carries the URL asked", async () => {
  const hanging = createHttp({
    system: "harbor",
    baseUrl: "https://harbor.example.com/api/v2.0",
    // answers only by failing when the request's deadline aborts it
    fetch: (r) =>
      new Promise((_, reject) => r.signal.addEventListener("abort", () => reject(r.signal.reason))),
    clock: new ManualClock(),
    timeoutMs: 10,
    retry: { attempts: 1 },
  });
  await assert.rejects(
    hanging.request("GET", "/health", { query: { q: "x" } }),
    (e) =>
      e instanceof HttpError &&
      e.message === "harbor: cannot GET /health: no answer from https://harbor.example.com " +
          "within 10 ms" &&
      e.url === "https://harbor.example.com/api/v2.0/health",
  );
});

Deno.test("a TLS failure is named: unknown CA, hostname mismatch, expired, not TLS at all", async () => {
  const failing = (why: string) =>
    createHttp({
      system: "rancher",
      baseUrl: "https://rancher.example.com",
      fetch: () => Promise.reject(new TypeError("fetch failed", { cause: new Error(why) })),
      clock: new ManualClock(),
      retry: { attempts: 1 },
    }).request("GET", "/v3");
  const cases: [string, RegExp][] = [
    [
      "client error (Connect): invalid peer certificate: UnknownIssuer",
      /unknown certificate authority/,
    ],
    [
      'invalid peer certificate: certificate not valid for name "rancher.example.com"; ' +
      'certificate is only valid for DnsName("other.test")',
      /hostname mismatch: the certificate is not valid for rancher\.example\.com \(only for other\.test\)$/,
    ],
    [
      "invalid peer certificate: certificate expired: verification time 1796215745 (UNIX), but " +
      "certificate is not valid after 1577923200 (218292545 seconds ago)",
      /the certificate expired on 2020-01-02T00:00:00\.000Z$/,
    ],
    ["received corrupt message of type InvalidContentType", /does not speak TLS there/],
  ];
  for (const [why, words] of cases) {
    await assert.rejects(failing(why), (e) =>
      e instanceof HttpError &&
      e.message.startsWith(
        "rancher: cannot GET /v3: TLS failure with https://rancher.example.com: ",
      ) &&
      words.test(e.message));
  }
});
