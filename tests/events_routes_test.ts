/**
 * Event mode on the status page and in `/metrics`, from a fixed status model with three event
 * connections: one subscribed with messages, one refused by the broker (its error naming a
 * hostile queue), one lost and waiting to reconnect.
 */
import assert from "node:assert/strict";
import { StatusModel } from "../lib/status.ts";
import { createApp } from "../routes/app.tsx";
import { checkExposition } from "./support/exposition.ts";
import { fixtureStatus } from "./support/status_fixture.ts";

const HOSTILE = `<img src=x onerror="alert(1)">&"'`;
const WS = "wss://waldur.example.com:443/rmqws-stomp";

function eventApp() {
  const { status, clock } = fixtureStatus({ secrets: ["waldur-secret-token"] });
  const connected = clock.now();
  const rows = status.eventConnections;
  rows.add("registry", "order", WS);
  rows.update("registry", "order", (r) => {
    r.state = "connected";
    r.connectedSince = connected - 90_000;
    r.messages = 1_234;
    r.malformed = 2;
    r.lastMessage = connected - 5_000;
  });
  rows.add("registry", "user_role", WS);
  rows.update("registry", "user_role", (r) => {
    r.state = "refused";
    r.reconnects = 3;
    r.lastError = `the broker refused the login (Bad CONNECT: Access refused for ${HOSTILE}, ` +
      "passcode waldur-secret-token)";
  });
  rows.add("k8s", "order", WS);
  rows.update("k8s", "order", (r) => {
    r.state = "disconnected";
    r.reconnects = 1;
    r.messages = 7;
    r.lastMessage = connected - 600_000;
    r.lastError = "connection lost (WebSocket close 1006)";
  });
  return { app: createApp({ status, deno: "2.9.6" }), connected };
}

Deno.test("the page's Event connections section shows each connection's state, counts and error, escaped", async () => {
  const { app } = eventApp();
  const res = await app.request("/");
  assert.equal(res.status, 200);
  const html = await res.text();
  const section = /<section id="event-connections">([^]*?)<\/section>/.exec(html)?.[1];
  assert.ok(section, "the section is on the page");
  assert.match(section, /<h2>Event connections<\/h2>/);
  const rows = section.split("<tr>").slice(2); // the head, then one row per connection
  assert.equal(rows.length, 3);
  assert.match(rows[0]!, /registry<\/td><td>order<\/td>/);
  assert.match(rows[0]!, /<span class="badge ok">connected<\/span>/);
  assert.match(rows[0]!, /1234 \(2 malformed\)/);
  assert.match(rows[1]!, /<span class="badge failed">refused<\/span>/);
  assert.match(rows[1]!, /<td>3<\/td>/, "its reconnects");
  assert.match(rows[1]!, /the broker refused the login/);
  assert.match(rows[2]!, /k8s<\/td><td>order<\/td>/);
  assert.match(rows[2]!, /<span class="badge partial">disconnected<\/span>/);
  assert.match(rows[2]!, /connection lost \(WebSocket close 1006\)/);
  // the hostile name is text, never markup; the token is redacted
  assert.ok(!html.includes("<img src=x"), "no raw markup from an error");
  assert.match(section, /&lt;img src=x onerror=(&quot;|")alert\(1\)(&quot;|")&gt;&amp;/);
  assert.ok(!html.includes("waldur-secret-token"));
  assert.match(section, /\[redacted\]/);
});

Deno.test("/api/status and /metrics carry the event connections: berth_events_* per offering and type", async () => {
  const { app, connected } = eventApp();
  const model = StatusModel.parse(await (await app.request("/api/status")).json());
  assert.deepEqual(
    model.eventConnections?.map((c) => `${c.offering}/${c.type} ${c.state}`),
    ["registry/order connected", "registry/user_role refused", "k8s/order disconnected"],
  );
  const text = await (await app.request("/metrics")).text();
  const samples = checkExposition(text);
  const series = (name: string) =>
    Object.fromEntries(
      samples.filter((s) => s.name === name).map((
        s,
      ) => [`${s.labels.offering}/${s.labels.type}`, s.value]),
    );
  assert.deepEqual(series("berth_events_connected"), {
    "registry/order": 1,
    "registry/user_role": 0,
    "k8s/order": 0,
  });
  assert.deepEqual(series("berth_events_messages_total"), {
    "registry/order": 1234,
    "registry/user_role": 0,
    "k8s/order": 7,
  });
  assert.deepEqual(series("berth_events_malformed_total"), {
    "registry/order": 2,
    "registry/user_role": 0,
    "k8s/order": 0,
  });
  assert.deepEqual(series("berth_events_reconnects_total"), {
    "registry/order": 0,
    "registry/user_role": 3,
    "k8s/order": 1,
  });
  assert.deepEqual(series("berth_events_last_message_timestamp_seconds"), {
    "registry/order": (connected - 5_000) / 1000,
    "k8s/order": (connected - 600_000) / 1000,
  }, "no sample before the first message");
  assert.match(text, /# TYPE berth_events_messages_total counter/);
  assert.ok(!text.includes("waldur-secret-token"));
});
