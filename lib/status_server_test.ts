import assert from "node:assert/strict";
import { createLogger } from "./log.ts";
import {
  isLoopbackHost,
  openToNetwork,
  openToNetworkWarning,
  parseListen,
  ServerEventLog,
} from "./status_server.ts";

Deno.test("only 127.0.0.0/8, ::1 and localhost count as loopback", () => {
  for (
    const host of [
      "127.0.0.1",
      "127.255.0.9",
      "localhost",
      "LocalHost",
      "::1",
      "[::1]",
      "0:0:0:0:0:0:0:1",
      "0::1",
      "::ffff:127.0.0.1",
    ]
  ) assert.equal(isLoopbackHost(host), true, host);
  for (
    const host of [
      "0.0.0.0",
      "::",
      "10.0.0.1",
      "128.0.0.1",
      "127.0.0.256",
      "::2",
      "1::1",
      "::ffff:10.0.0.1",
      "berth.example.com",
      "localhost.example.com",
      "127.0.0.1.example.com",
      "",
    ]
  ) assert.equal(isLoopbackHost(host), false, host);
});

Deno.test("a status server is open to the network when it listens beyond loopback with no token", () => {
  assert.deepEqual(parseListen(":8080"), { hostname: "127.0.0.1", port: 8080 });
  assert.deepEqual(parseListen("[::]:80"), { hostname: "::", port: 80 });
  assert.equal(openToNetwork(":8080", false), false, "an empty host is 127.0.0.1");
  assert.equal(openToNetwork("0.0.0.0:8080", false), true);
  assert.equal(openToNetwork("[::]:8080", false), true);
  assert.equal(openToNetwork("0.0.0.0:8080", true), false, "a token guards it");
  assert.equal(openToNetwork("not an address", false), false, "the config check reports that");
  assert.equal(openToNetworkWarning("127.0.0.1:8080", false), undefined);
  assert.match(
    openToNetworkWarning("0.0.0.0:8080", false) ?? "",
    /^status\.listen 0\.0\.0\.0:8080 is reachable from the network and status\.token is not set: anyone who reaches the port reads the status page, \/api\/status and \/metrics/,
  );
});

Deno.test("server events: one line per kind per minute, the next saying how many it stands for", () => {
  const lines: string[] = [];
  let now = 0;
  const log = new ServerEventLog(
    createLogger({ format: "pretty", write: (line) => lines.push(line) }),
    () => now,
  );
  for (let i = 0; i < 3; i++) log.record({ kind: "handler", message: `boom ${i}` });
  log.record({ kind: "listen", message: "Too many open files (os error 24)", retryInMs: 2000 });
  log.record({ kind: "listening", url: "http://127.0.0.1:8080/" });
  assert.equal(lines.length, 3, lines.join("\n"));
  assert.match(lines[0] ?? "", /ERROR status server: a request failed: boom 0$/);
  assert.match(lines[1] ?? "", /WARN {2}status server: cannot listen again: .*; next try in 2 s$/);
  assert.match(
    lines[2] ?? "",
    /INFO {2}status server: listening again on http:\/\/127\.0\.0\.1:8080\/$/,
  );
  now = 59_999;
  log.record({ kind: "handler", message: "boom 3" });
  assert.equal(lines.length, 3, "still within the minute");
  now = 61_000;
  log.record({ kind: "handler", message: "boom 4" });
  assert.match(lines[3] ?? "", /boom 4 \(3 more since the last such line, 61 s ago\)$/);
});
