import assert from "node:assert/strict";
import { eventConfig, eventTypes } from "./config.ts";

const keys = {
  stomp_enabled: true,
  stomp_ws_path: "/rmqws-stomp",
  websocket_use_tls: true,
  stomp_membership_sync_enabled: true,
};

Deno.test("event config takes the host from waldur_api_url and the port from verify_ssl, as the Python agent", () => {
  const api = { apiUrl: "https://waldur.example.com/api", verifySsl: true };
  assert.deepEqual(eventConfig(keys, api), {
    url: "wss://waldur.example.com:443/rmqws-stomp",
    membership: true,
  });
  assert.equal(
    eventConfig({ ...keys, websocket_use_tls: false }, { ...api, verifySsl: false })?.url,
    "ws://waldur.example.com:80/rmqws-stomp",
  );
  assert.equal(
    eventConfig({ ...keys, stomp_ws_host: "mq", stomp_ws_port: 15674, stomp_ws_path: "/ws" }, api)
      ?.url,
    "wss://mq:15674/ws",
  );
  assert.equal(eventConfig({ ...keys, stomp_enabled: false }, api), undefined);
});

Deno.test("event types follow the loops and stomp_membership_sync_enabled", () => {
  const events = { url: "ws://x", membership: true };
  assert.deepEqual(eventTypes({ orders: true, membership: true }, events), [
    "order",
    "user_role",
    "resource",
    "offering_user",
  ]);
  assert.deepEqual(
    eventTypes({ orders: true, membership: true }, { ...events, membership: false }),
    [
      "order",
    ],
  );
  assert.deepEqual(
    eventTypes({ orders: false, membership: true }, events).includes("order"),
    false,
  );
});
