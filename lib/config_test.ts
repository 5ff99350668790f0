import assert from "node:assert/strict";
import { z } from "zod";
import { durationMs, normaliseApiUrl, parseConfig } from "./config.ts";
import { configSchema } from "./config_schema.ts";

const schemas = {
  harbor: z.object({ harbor_url: z.string(), robot_password: z.string() }).strict(),
  rancher: z.object({ cluster_id: z.string(), password: z.string().optional() }).strict(),
};
const UUID = "0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e";

function load(text: string, env: Record<string, string> = {}, files: Record<string, string> = {}) {
  return parseConfig(text, {
    env: (n) => env[n],
    readFile: (p) => {
      const f = files[p];
      if (f === undefined) throw new Deno.errors.NotFound(p);
      return f;
    },
    schemas,
  });
}

const listForm = `
offerings:
  - name: registry
    waldur_api_url: https://waldur.example.com/api/
    waldur_api_token: \${WALDUR_TOKEN}
    waldur_offering_uuid: ${UUID}
    backend_type: harbor
    backend_settings:
      harbor_url: https://harbor.example.com
      robot_password_file: /run/secrets/robot
    backend_components:
      storage: {measured_unit: GB, accounting_type: limit, label: Container Storage, unit_factor: 1}
`;

Deno.test("config reads the list form with ${VAR} and <key>_file secrets", () => {
  const r = load(listForm, { WALDUR_TOKEN: "tok-123456" }, {
    "/run/secrets/robot": "robot-secret\n",
  });
  assert.ok(r.ok, JSON.stringify(r));
  const o = r.config.offerings[0];
  assert.equal(o?.waldur.token, "tok-123456");
  assert.deepEqual(o?.backendSettings, {
    harbor_url: "https://harbor.example.com",
    robot_password: "robot-secret",
  });
  assert.deepEqual(o?.loops, { orders: true, membership: true, usage: true });
  assert.deepEqual(r.config.secrets.sort(), ["robot-secret", "tok-123456"]);
  assert.deepEqual(r.config.intervals, { orders: 60_000, membership: 300_000, usage: 1_800_000 });
});

Deno.test("config reads the mapping form of the Harbor plugin README and names its paths", () => {
  const text = `
offerings:
  harbor-registry:
    backend_type: harbor
    backend_settings: {harbor_url: "https://harbor.example.com", robot_password: x}
    api_url: "https://waldur.example.com/api/"
    api_token: "your-waldur-api-token"
    offering_uuid: "${UUID}"
`;
  const r = load(text);
  assert.ok(r.ok, JSON.stringify(r));
  assert.equal(r.config.offerings[0]?.name, "harbor-registry");
  assert.equal(r.config.offerings[0]?.waldur.apiUrl, "https://waldur.example.com/api");
  const bad = load(
    text.replace(`"${UUID}"`, '"harbor-offering-uuid"').replace("robot_password: x", ""),
  );
  assert.ok(!bad.ok);
  assert.deepEqual(bad.problems, [
    "offerings.harbor-registry.offering_uuid: must be a UUID; write the offering's UUID as Waldur shows it on the offering's page (32 hex digits, dashes optional)",
    "offerings.harbor-registry.backend_settings.robot_password: Required",
  ]);
});

Deno.test("a bad file lists every problem with its YAML path and never a secret", () => {
  const text = `
offerings:
  - name: ok
    waldur_api_url: https://w.example.com/api/
    waldur_api_token: super-secret-token-value
    waldur_offering_uuid: ${UUID}
    backend_type: harbor
    backend_settings: {harbor_url: x, robot_password: hunter2hunter2}
  - name: broken
    waldur_api_url: ftp://nope
    waldur_api_token: another-secret-value
    waldur_offering_uuid: ${UUID}
    backend_type: rancher
    backend_settings: {password: 12345678}
    surprise: 1
status: {token: short}
`;
  const r = load(text);
  assert.ok(!r.ok);
  assert.deepEqual(r.problems.sort(), [
    "offerings[1].backend_settings.cluster_id: Required",
    "offerings[1].backend_settings.password: Invalid input: expected string, received number",
    "offerings[1].waldur_api_url: must start with http:// or https://; write this offering's Waldur API URL, e.g. `waldur_api_url: https://waldur.example.com/api/`",
    "offerings[1]: unknown key surprise",
    "status.token: must be at least 16 characters",
  ]);
  const all = r.problems.join("\n");
  for (const secret of ["super-secret", "another-secret", "hunter2", "12345678", "short"]) {
    assert.ok(!all.includes(secret), `${secret} leaked`);
  }
});

Deno.test("config reports an unset variable, an unreadable secret file and an unknown backend_type", () => {
  const r = load(`
offerings:
  - name: a
    waldur_api_url: https://w/api/
    waldur_api_token: \${MISSING}
    waldur_offering_uuid: ${UUID}
    backend_type: harbor
    backend_settings: {harbor_url: x, robot_password_file: /nope}
  - name: b
    waldur_api_url: https://w/api/
    waldur_api_token: t
    waldur_offering_uuid: ${UUID}
    backend_type: slurm
    backend_settings: {}
`);
  assert.ok(!r.ok);
  assert.deepEqual(r.problems, [
    "offerings[0].waldur_api_token: environment variable MISSING is not set",
    "offerings[0].backend_settings.robot_password_file: cannot read /nope (NotFound)",
    "offerings[1].backend_type: unknown backend_type (known: harbor, rancher)",
  ]);
});

Deno.test("intervals come from the file, else WALDUR_SITE_AGENT_*_PERIOD_MINUTES, else defaults", () => {
  const withFile = load(`${listForm}intervals: {orders: 30s, usage: 1h}\n`, {
    WALDUR_TOKEN: "t",
    WALDUR_SITE_AGENT_ORDER_PROCESS_PERIOD_MINUTES: "9",
    WALDUR_SITE_AGENT_MEMBERSHIP_SYNC_PERIOD_MINUTES: "2.5",
  }, { "/run/secrets/robot": "r" });
  assert.ok(withFile.ok);
  assert.deepEqual(withFile.config.intervals, {
    orders: 30_000,
    membership: 150_000,
    usage: 3_600_000,
  });
  const badEnv = load(listForm, {
    WALDUR_TOKEN: "t",
    WALDUR_SITE_AGENT_REPORT_PERIOD_MINUTES: "soon",
  }, {
    "/run/secrets/robot": "r",
  });
  assert.ok(!badEnv.ok);
  assert.deepEqual(badEnv.problems, [
    "WALDUR_SITE_AGENT_REPORT_PERIOD_MINUTES: must be a positive number of minutes",
  ]);
});

Deno.test("an empty *_backend key switches that loop off; another backend name is refused", () => {
  const base = listForm.replace(
    "backend_type: harbor",
    "backend_type: harbor\n    reporting_backend: ''",
  );
  const r = load(base, { WALDUR_TOKEN: "t" }, { "/run/secrets/robot": "r" });
  assert.ok(r.ok);
  assert.deepEqual(r.config.offerings[0]?.loops, { orders: true, membership: true, usage: false });
  const other = load(
    listForm.replace(
      "backend_type: harbor",
      "backend_type: harbor\n    order_processing_backend: slurm",
    ),
    {
      WALDUR_TOKEN: "t",
    },
    { "/run/secrets/robot": "r" },
  );
  assert.ok(!other.ok);
  assert.match(other.problems[0] ?? "", /order_processing_backend: must be "harbor"/);
  const loops = {
    order_processing_backend: "orders",
    membership_sync_backend: "membership",
    reporting_backend: "usage",
  } as const;
  for (const [key, loop] of Object.entries(loops)) {
    const withKey = (value: string) =>
      load(
        listForm.replace("backend_type: harbor", `backend_type: harbor\n    ${key}: ${value}`),
        { WALDUR_TOKEN: "t" },
        { "/run/secrets/robot": "r" },
      );
    const off = withKey("''");
    assert.ok(off.ok, key);
    assert.deepEqual(
      off.config.offerings[0]?.loops,
      { orders: true, membership: true, usage: true, [loop]: false },
      `${key}: '' switches ${loop} off, and only it`,
    );
    const same = withKey("harbor");
    assert.ok(same.ok, key);
    assert.deepEqual(same.config.offerings[0]?.loops, {
      orders: true,
      membership: true,
      usage: true,
    });
    const wrong = withKey("slurm");
    assert.ok(!wrong.ok, `${key}: slurm`);
    assert.deepEqual(wrong.problems, [
      `offerings[0].${key}: must be "harbor" (the offering's backend_type) or ""`,
    ]);
  }
});

Deno.test("the Waldur URL is normalised without mangling host names", () => {
  assert.equal(normaliseApiUrl("https://h.example.com/api/"), "https://h.example.com/api");
  assert.equal(normaliseApiUrl("https://h.example.com/api"), "https://h.example.com/api");
  assert.equal(normaliseApiUrl("https://h.example.com/"), "https://h.example.com/api");
  assert.equal(normaliseApiUrl("https://cloud.pi/api/"), "https://cloud.pi/api");
  assert.equal(normaliseApiUrl("https://api.example/"), "https://api.example/api");
  assert.equal(normaliseApiUrl("https://h:8443/waldur/api/"), "https://h:8443/waldur/api");
});

Deno.test("durations accept ms, s, m, h and plain seconds", () => {
  assert.equal(durationMs("250ms"), 250);
  assert.equal(durationMs("90s"), 90_000);
  assert.equal(durationMs("5m"), 300_000);
  assert.equal(durationMs("1.5h"), 5_400_000);
  assert.equal(durationMs(45), 45_000);
});

Deno.test("config-schema produces a JSON Schema with one branch per backend_type", () => {
  const schema = z.toJSONSchema(configSchema(schemas), { io: "input", unrepresentable: "any" });
  const text = JSON.stringify(schema);
  assert.match(text, /"const":"harbor"/);
  assert.match(text, /"const":"rancher"/);
  assert.match(text, /"cluster_id"/);
});

Deno.test("a component without accounting_type says what to write, not the enum's options", () => {
  const r = load(`
offerings:
  - name: h
    waldur_api_url: https://w.example.com/api/
    waldur_api_token: t
    waldur_offering_uuid: ${UUID}
    backend_type: harbor
    backend_settings: {harbor_url: "https://h.example.com", robot_password: p}
    backend_components:
      storage: {measured_unit: GB, label: Storage}
`);
  assert.ok(!r.ok);
  assert.deepEqual(r.problems, [
    "offerings[0].backend_components.storage.accounting_type: Required; write `accounting_type: limit` (a quota Berth sets: Harbor storage, Rancher cpu, ram, storage), `usage` (billed by the usage Berth reports) or `one` (a one-time charge)",
  ]);
});

Deno.test("status.history_days is the history's retention: 30 days unless set, 1 to 366", () => {
  const env = { WALDUR_TOKEN: "t" };
  const files = { "/run/secrets/robot": "r" };
  const unset = load(listForm, env, files);
  assert.ok(unset.ok);
  assert.equal(unset.config.status.historyDays, 30);
  const set = load(`${listForm}status: {history_days: 7}\n`, env, files);
  assert.ok(set.ok);
  assert.equal(set.config.status.historyDays, 7);
  const tooLong = load(`${listForm}status: {history_days: 400}\n`, env, files);
  assert.ok(!tooLong.ok);
  assert.match(tooLong.problems.join("\n"), /^status\.history_days: /m);
});
