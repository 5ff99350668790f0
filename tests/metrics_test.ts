import assert from "node:assert/strict";
// @ts-types="./support/parse_prometheus_text_format.d.ts"
import parsePrometheusTextFormat from "parse-prometheus-text-format";
import { z } from "zod";
import { ATTENTION_KINDS } from "../lib/attention.ts";
import { StatusRecord } from "../lib/status.ts";
import { createApp } from "../routes/app.tsx";
import { checkExposition, type Sample } from "./support/exposition.ts";
import { fixtureStatus } from "./support/status_fixture.ts";

async function scrape() {
  const { status } = fixtureStatus();
  const app = createApp({ status, deno: "2.9.6" });
  const res = await app.request("/metrics");
  assert.equal(res.status, 200);
  assert.equal(res.headers.get("content-type"), "text/plain; version=0.0.4; charset=utf-8");
  return await res.text();
}

function find(samples: readonly Sample[], name: string, labels: Record<string, string>) {
  return samples.filter((s) =>
    s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)
  );
}

Deno.test("/metrics is valid exposition format, line by line", async () => {
  const samples = checkExposition(await scrape());
  assert.ok(samples.length > 30);
});

Deno.test("/metrics parses with a Prometheus text-format parser into the named families", async () => {
  const families = z.array(z.object({ name: z.string(), type: z.string() }))
    .parse(parsePrometheusTextFormat(await scrape()));
  const names = new Map(families.map((f) => [f.name, f.type]));
  assert.deepEqual(Object.fromEntries(names), {
    berth_build_info: "GAUGE",
    berth_start_time_seconds: "GAUGE",
    berth_loop_runs_total: "COUNTER",
    berth_loop_duration_seconds: "HISTOGRAM",
    berth_loop_last_success_timestamp_seconds: "GAUGE",
    berth_events_connected: "GAUGE",
    berth_events_messages_total: "COUNTER",
    berth_events_malformed_total: "COUNTER",
    berth_events_reconnects_total: "COUNTER",
    berth_events_last_message_timestamp_seconds: "GAUGE",
    berth_orders_total: "COUNTER",
    berth_orders_in_flight: "GAUGE",
    berth_resources_erred: "GAUGE",
    berth_attention_entries: "GAUGE",
    berth_http_requests_total: "COUNTER",
    berth_status_accept_failures_total: "COUNTER",
    berth_circuit_open: "GAUGE",
    berth_circuit_opens_total: "COUNTER",
    berth_harbor_quota_bytes: "GAUGE",
    berth_team_robot_expiry_seconds: "GAUGE",
    berth_oidc_identity_conflicts: "GAUGE",
    berth_rancher_quota: "GAUGE",
    berth_pull_secret_namespaces: "GAUGE",
    berth_keycloak_group_members: "GAUGE",
  });
});

Deno.test("every family is declared in every scrape, a fresh agent's too, so alerts and docs can rely on the list", async () => {
  const declared = (text: string) => [...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]);
  const fresh = new StatusRecord({
    version: "0.1.0-test",
    configPath: "config.yaml",
    offerings: [],
    now: () => 0,
    monotonic: () => 0,
  });
  // the fixture with everything that has series of its own: event mode, the status server
  const { status: busy } = fixtureStatus();
  busy.eventConnections.add("registry", "order", "ws://127.0.0.1:15674/ws");
  busy.serving({ listen: "127.0.0.1:8080", tokenRequired: false, openToNetwork: false });
  busy.erredResources("registry", 1);
  const text = async (status: StatusRecord) =>
    await (await createApp({ status, deno: "2.9.6" }).request("/metrics")).text();
  assert.deepEqual(declared(await text(fresh)), declared(await text(busy)));
});

Deno.test("berth_resources_erred has one sample per offering a whole membership pass counted", async () => {
  const status = new StatusRecord({
    version: "0.1.0-test",
    configPath: "config.yaml",
    offerings: [],
    now: () => 0,
  });
  status.erredResources("registry", 2);
  status.erredResources("k8s", 0);
  const res = await createApp({ status, deno: "2.9.6" }).request("/metrics");
  const samples = checkExposition(await res.text()).filter((s) =>
    s.name === "berth_resources_erred"
  );
  assert.deepEqual(samples.map((s) => [s.labels.offering, s.value]), [["registry", 2], ["k8s", 0]]);
});

Deno.test("berth_attention_entries counts the Needs attention list by kind, every kind present", async () => {
  const { status } = fixtureStatus();
  const kinds = new Map(
    checkExposition(await (await createApp({ status, deno: "2.9.6" }).request("/metrics")).text())
      .filter((s) => s.name === "berth_attention_entries")
      .map((s) => [s.labels.kind, s.value]),
  );
  const expected = new Map<string, number>(ATTENTION_KINDS.map((k) => [k, 0]));
  for (const e of status.snapshot().attention) {
    expected.set(e.kind, (expected.get(e.kind) ?? 0) + 1);
  }
  assert.deepEqual(kinds, expected);
  assert.ok([...kinds.values()].some((n) => n > 0), "the fixture has something to attend to");
});

Deno.test("/metrics reports loops, orders, HTTP, quotas and group sizes from the status record", async () => {
  const s = checkExposition(await scrape());
  const one = (name: string, labels: Record<string, string>) => {
    const found = find(s, name, labels);
    assert.equal(found.length, 1, `${name} ${JSON.stringify(labels)}`);
    return found[0]?.value;
  };
  assert.equal(one("berth_build_info", { version: "0.1.0-test", deno: "2.9.6" }), 1);
  assert.equal(
    one("berth_loop_runs_total", { loop: "orders", offering: "k8s", outcome: "partial" }),
    1,
  );
  // registry/orders took 1.2 s: not in the 1 s bucket, in the 2.5 s one
  const bucket = (le: string) =>
    one("berth_loop_duration_seconds_bucket", { loop: "orders", offering: "registry", le });
  assert.equal(bucket("1"), 0);
  assert.equal(bucket("2.5"), 1);
  assert.equal(bucket("+Inf"), 1);
  assert.equal(
    one("berth_loop_duration_seconds_sum", { loop: "orders", offering: "registry" }),
    1.2,
  );
  assert.equal(
    one("berth_loop_last_success_timestamp_seconds", { loop: "orders", offering: "registry" }),
    Date.UTC(2026, 10, 15, 12, 0, 1, 200) / 1000,
  );
  assert.equal(
    find(s, "berth_loop_last_success_timestamp_seconds", { offering: "k8s" }).length,
    0,
    "a loop that never succeeded has no last-success sample",
  );
  assert.equal(one("berth_orders_total", { type: "Create", outcome: "done" }), 1);
  assert.equal(one("berth_orders_total", { type: "Update", outcome: "erred" }), 1);
  assert.equal(one("berth_orders_in_flight", {}), 1);
  assert.equal(
    one("berth_http_requests_total", { system: "waldur", method: "GET", code: "200" }),
    2,
  );
  assert.equal(
    one("berth_http_requests_total", { system: "keycloak", method: "POST", code: "error" }),
    1,
  );
  const gib = 1024 ** 3;
  assert.equal(
    one("berth_harbor_quota_bytes", { project: "acme-registry", kind: "hard" }),
    100 * gib,
  );
  assert.equal(
    one("berth_harbor_quota_bytes", { project: "acme-registry", kind: "used" }),
    42 * gib,
  );
  assert.equal(
    find(s, "berth_harbor_quota_bytes", { project: "lost-project" }).length,
    0,
    "a project not found has no quota samples",
  );
  assert.equal(
    one("berth_rancher_quota", { project: "alpha-workloads", resource: "cpu", kind: "requested" }),
    1.25,
  );
  assert.equal(
    one("berth_rancher_quota", { project: "delta-ml", resource: "memory", kind: "limit" }),
    32 * gib,
  );
  assert.equal(
    one("berth_keycloak_group_members", { group: "/c_cm7x2k9q/project_delta_workloads-manage" }),
    2,
  );
});

Deno.test("label values with quotes, backslashes and newlines are escaped", async () => {
  const { status } = fixtureStatus();
  status.publish("registry", {
    kind: "harbor",
    at: 0,
    rows: [{
      project: 'we"ird\\name\nx',
      resource: "r",
      resourceName: "r",
      quotaBytes: -1,
      usedBytes: 5,
      repositories: 0,
      group: "g",
      groupBound: true,
      flags: [],
    }],
  });
  const text = await (await createApp({ status }).request("/metrics")).text();
  assert.ok(
    text.includes('project="we\\"ird\\\\name\\nx",kind="hard"} +Inf'),
    "unlimited is +Inf",
  );
  const s = checkExposition(text);
  assert.equal(
    find(s, "berth_harbor_quota_bytes", { project: 'we"ird\\name\nx', kind: "used" })[0]?.value,
    5,
  );
});

Deno.test("the checker refuses what the format forbids", () => {
  const bad = [
    "x 1", // no final newline
    "# TYPE x counter\n# TYPE x counter\nx 1\n",
    'x{a="1"} 1\nx{a="1"} 2\n',
    "x{a=1} 1\n",
    'x{a="\\q"} 1\n',
    "x one\n",
    '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_count 1\n',
    '# TYPE h histogram\nh_bucket{le="1"} 1\nh_count 1\n',
    'a 1\nb 1\na{x="1"} 1\n',
  ];
  for (const text of bad) assert.throws(() => checkExposition(text), Error, JSON.stringify(text));
});
