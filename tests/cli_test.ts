import assert from "node:assert/strict";
import { z } from "zod";
import type { BackendPlugin } from "../lib/backend.ts";
import { main, type World } from "../lib/cli.ts";
import { ManualClock } from "../testing/manual_clock.ts";
import { MemoryBackend } from "../testing/memory_backend.ts";
import type { ServeEvent } from "../lib/status_server.ts";
import { FakeWaldur } from "../lib/waldur/fake.ts";
import { createApp } from "../routes/app.tsx";

interface TestWorld extends World {
  clock: ManualClock;
  /** What commands printed to stdout and stderr. */
  out: string[];
  err: string[];
  waldur: FakeWaldur;
  backend: MemoryBackend;
  offeringUuid: string;
  logs: string[];
  signal: () => void;
  /** What `serve` was asked to serve, and where the server would report what it survived. */
  served: {
    listen: string;
    handler: (r: Request) => Response | Promise<Response>;
    onEvent?: (event: ServeEvent) => void;
  }[];
}

function world(configFor: (w: { token: string; offering: string }) => string): TestWorld {
  // Time moves only when a test advances it: no loop's sleep can push another loop past its
  // schedule (an auto-advancing clock shared by three loops made /healthz report them late).
  const clock = new ManualClock({ autoAdvance: false });
  const waldur = new FakeWaldur({ now: () => clock.now() });
  const offeringUuid = waldur.addOffering("Registry", [
    { type: "storage", name: "Old name", billing_type: "limit", measured_unit: "GB" },
  ]);
  const backend = new MemoryBackend();
  const plugin: BackendPlugin<Record<string, never>> = {
    type: "memory",
    settings: z.object({}).strict(),
    create: () => backend,
  };
  let handler = () => {};
  const files: Record<string, string> = {
    "berth.yaml": configFor({ token: waldur.token, offering: offeringUuid }),
  };
  const logs: string[] = [];
  const out: string[] = [];
  const err: string[] = [];
  const served: TestWorld["served"] = [];
  return {
    statusApp: createApp,
    out,
    err,
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    served,
    waldur,
    backend,
    offeringUuid,
    logs,
    signal: () => handler(),
    env: () => undefined,
    readFile: (p) => {
      const f = files[p];
      if (f === undefined) throw new Deno.errors.NotFound(p);
      return f;
    },
    fetch: (r) => Promise.resolve(waldur.app.request(r)),
    clock,
    isTerminal: false,
    onSignal: (h) => {
      handler = h;
      return () => handler = () => {};
    },
    serve: (listen, handler, signal, onEvent) => {
      served.push({ listen, handler, ...(onEvent ? { onEvent } : {}) });
      return Promise.resolve({
        url: "http://test/",
        finished: new Promise<void>((r) => signal.addEventListener("abort", () => r())),
      });
    },
    makeTempDir: () => Promise.reject(new Error("no temporary directories in this test")),
    removeDir: () => Promise.resolve(),
    plugins: [plugin as BackendPlugin<never>],
    version: "9.9.9",
    writeLog: (line) => logs.push(line),
  };
}

/** What `main(args)` printed to stdout (uuids and Rancher ids made stable), and its exit code. */
async function printed(w: TestWorld, args: string[]): Promise<string> {
  w.out.length = 0;
  const code = await main(args, w);
  const text = w.out.join("\n")
    .replace(/\b[0-9a-f]{32}\b/g, "<uuid>")
    .replace(/\bp-[a-z0-9]{5}\b/g, "p-<id>");
  return `$ berth ${args.join(" ")}\n${text}\n(exit ${code})\n`;
}

const config = ({ token, offering }: { token: string; offering: string }) => `
offerings:
  - name: registry
    waldur_api_url: http://waldur.test/api/
    waldur_api_token: ${token}
    waldur_offering_uuid: ${offering}
    backend_type: memory
    backend_settings: {}
    backend_components:
      storage: {measured_unit: GB, accounting_type: limit, label: Storage}
state_file: ":memory:"
`;

Deno.test("berth run --once processes orders and exits 0; the identity is registered once", async () => {
  const w = world(config);
  const { order } = w.waldur.orderCreate(w.offeringUuid, {
    name: "one",
    limits: { storage: 1 },
    project: "p",
    customer: "c",
  });
  assert.equal(await main(["run", "--once", "-c", "berth.yaml"], w), 0);
  assert.equal(w.waldur.order(order).state, "done");
  assert.equal(w.waldur.identities.size, 1);
  assert.deepEqual([...w.waldur.identities.values()][0]?.services.sort(), [
    "membership_sync",
    "order_process",
    "report",
  ]);
  assert.equal(w.waldur.requests.filter((r) => r.path.includes("site-agent-identities")).length, 5);
});

Deno.test("berth run --once works the offerings side by side, each offering's passes in order", async () => {
  const w = world(config);
  const first = w.offeringUuid;
  const second = w.waldur.addOffering("Second", []);
  const yaml = `${config({ token: w.waldur.token, offering: first })}`.replace(
    "state_file:",
    `  - name: second
    waldur_api_url: http://waldur.test/api/
    waldur_api_token: ${w.waldur.token}
    waldur_offering_uuid: ${second}
    backend_type: memory
    backend_settings: {}
    backend_components:
      storage: {measured_unit: GB, accounting_type: limit, label: Storage}
state_file:`,
  );
  w.readFile = (p) => {
    if (p !== "berth.yaml") throw new Deno.errors.NotFound(p);
    return yaml;
  };
  // The first offering's orders list is held until the second offering asks for anything (or 2 s
  // pass): one after the other, the second would never ask while the first is held.
  const lists: string[] = [];
  let holding = false;
  let secondWhileHeld = false;
  const firstWhileHeld: string[] = [];
  let release = () => {};
  const inner = w.fetch;
  w.fetch = async (request) => {
    const url = new URL(request.url);
    const offering = url.searchParams.get("offering_uuid");
    if (offering) lists.push(`${offering === first ? "first" : "second"} ${url.pathname}`);
    if (offering === first && holding) firstWhileHeld.push(url.pathname);
    if (offering === second && holding) {
      secondWhileHeld = true;
      release();
    }
    if (offering === first && url.pathname.endsWith("/marketplace-orders/") && !secondWhileHeld) {
      holding = true;
      let timer: ReturnType<typeof setTimeout> | undefined;
      await new Promise<void>((r) => {
        release = r;
        timer = setTimeout(r, 2_000);
      });
      clearTimeout(timer);
      holding = false;
    }
    return await inner(request);
  };
  assert.equal(await main(["run", "--once", "-c", "berth.yaml"], w), 0, w.logs.join("\n"));
  assert.ok(secondWhileHeld, "the second offering's passes ran while the first was held");
  assert.deepEqual(
    firstWhileHeld,
    [],
    "no other pass of the first offering started while its orders pass waited",
  );
  for (const o of ["first", "second"]) {
    const mine = lists.filter((l) => l.startsWith(`${o} `)).map((l) => l.split("/").at(-2));
    assert.equal(mine[0], "marketplace-orders", `${o}: the orders pass first (${mine})`);
    assert.ok(mine.includes("marketplace-provider-resources"), `${o}: membership and usage ran`);
  }
});

Deno.test("berth run serves on status.listen (127.0.0.1:8080 by default) or --listen, behind status.token", async () => {
  const token = "status-token-0123456789";
  const w = world((c) => `${config(c)}status: {token: ${token}}\n`);
  let running = main(["run", "-c", "berth.yaml"], w);
  for (let i = 0; i < 50 && w.served.length === 0; i++) await new Promise((r) => setTimeout(r, 5));
  const served = w.served[0];
  assert.ok(served);
  assert.equal(served.listen, "127.0.0.1:8080");
  const get = async (path: string, headers: Record<string, string> = {}) => {
    const res = await served.handler(new Request(`http://test${path}`, { headers }));
    await res.body?.cancel();
    return res.status;
  };
  assert.equal(await get("/api/status"), 401);
  assert.equal(await get("/"), 401);
  assert.equal(await get("/api/status", { authorization: `Bearer ${token}` }), 200);
  assert.equal(await get("/healthz"), 200, "the liveness probe needs no token");
  for (let i = 0; i < 50 && w.clock.sleeping < 3; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(w.clock.sleeping, 3, "the three loops finished their first pass");
  assert.equal(await get("/readyz"), 200);
  w.clock.stepWall(60 * 60_000);
  assert.equal(await get("/healthz"), 200, "the wall clock an hour ahead wedges nothing");
  w.clock.stepWall(-2 * 60 * 60_000);
  assert.equal(await get("/healthz"), 200, "nor an hour behind");
  w.clock.advance(60_000);
  for (let i = 0; i < 50 && w.clock.sleeping < 3; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(await get("/healthz"), 200, "the orders loop ran again on schedule");
  w.signal();
  assert.equal(await running, 0);
  assert.ok(!w.logs.join("\n").includes(token), "the token is never logged");

  running = main(["run", "-c", "berth.yaml", "--listen", "0.0.0.0:9191"], w);
  for (let i = 0; i < 50 && w.served.length < 2; i++) await new Promise((r) => setTimeout(r, 5));
  assert.equal(w.served[1]?.listen, "0.0.0.0:9191");
  w.signal();
  assert.equal(await running, 0);
});

/** Starts `berth run` with `args`; resolves once it serves, with what it serves and its stop. */
async function serving(w: TestWorld, args: string[]) {
  const count = w.served.length;
  const running = main(["run", "-c", "berth.yaml", ...args], w);
  for (let i = 0; i < 50 && w.served.length === count; i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  const served = w.served[count];
  assert.ok(served, "the status server was started");
  const page = async () => await (await served.handler(new Request("http://test/"))).text();
  const stop = async () => {
    w.signal();
    assert.equal(await running, 0);
  };
  return { served, page, stop };
}

const OPEN_WARNING = /is reachable from the network and status\.token is not set/;

Deno.test("berth run warns when the status server reaches the network without status.token, and the page shows a banner", async () => {
  for (
    const [extra, args, open] of [
      ["", ["--listen", "0.0.0.0:9191"], true],
      ['status: {listen: "[::]:8080"}\n', [], true],
      ['status: {listen: "10.1.2.3:8080"}\n', [], true],
      ["", [], false], // 127.0.0.1:8080
      ['status: {listen: "localhost:8080"}\n', [], false],
      ['status: {listen: "[::1]:8080"}\n', [], false],
      ['status: {listen: "127.8.9.10:8080"}\n', [], false],
      ['status: {listen: "0.0.0.0:8080", token: status-token-0123456789}\n', [], false],
    ] as const
  ) {
    const w = world((c) => `${config(c)}${extra}`);
    const { page, stop } = await serving(w, [...args]);
    const warnings = w.logs.filter((l) => l.includes('"level":"warn"') && OPEN_WARNING.test(l));
    const html = await page();
    await stop();
    const what = `${extra.trim() || "default"} ${args.join(" ")}`;
    assert.equal(warnings.length, open ? 1 : 0, what);
    assert.equal(/id="exposure"/.test(html), open, `${what}: the banner`);
    if (open) {
      assert.match(warnings[0] ?? "", /set status\.token \(16\+ characters/, what);
      assert.match(html, /This page is open to the network without a token/, what);
    }
  }
});

Deno.test("berth check-config prints a warning: line for a status server open to the network without a token", async () => {
  const open = world((c) => `${config(c)}status: {listen: "0.0.0.0:8080"}\n`);
  assert.equal(
    await main(["check-config", "-c", "berth.yaml"], open),
    0,
    "a warning, not an error",
  );
  const lines = open.out.filter((l) => l.startsWith("warning: "));
  assert.equal(lines.length, 1, open.out.join("\n"));
  assert.match(
    lines[0] ?? "",
    /^warning: status\.listen 0\.0\.0\.0:8080 is reachable from the network/,
  );
  for (
    const extra of [
      "",
      'status: {listen: "0.0.0.0:8080", token: status-token-0123456789}\n',
      'status: {listen: "127.0.0.1:9000"}\n',
    ]
  ) {
    const w = world((c) => `${config(c)}${extra}`);
    assert.equal(await main(["check-config", "-c", "berth.yaml"], w), 0);
    assert.deepEqual(w.out.filter((l) => l.startsWith("warning: ")), [], extra || "default");
  }
});

Deno.test("what the status server survives is logged at most once a minute per kind, and counted", async () => {
  const w = world(config);
  const { served, stop } = await serving(w, []);
  const onEvent = served.onEvent;
  assert.ok(onEvent, "berth run listens for the server's events");
  const accept: ServeEvent = {
    kind: "accept",
    message: "Too many open files (os error 24)",
    retryInMs: 500,
  };
  const lines = () => w.logs.filter((l) => l.includes("status server: cannot accept connections"));
  onEvent(accept);
  onEvent({ kind: "listening", url: "http://127.0.0.1:8080/" });
  for (let i = 0; i < 5; i++) onEvent({ ...accept, retryInMs: 1000 });
  assert.equal(lines().length, 1, "six failures within a minute: one line");
  assert.match(
    lines()[0] ?? "",
    /"level":"warn".*Too many open files \(os error 24\); its open connections were closed and it listens again in 0\.5 s"/,
  );
  w.clock.advance(60_000);
  onEvent(accept);
  assert.equal(lines().length, 2);
  assert.match(lines()[1] ?? "", /\(5 more since the last such line, 60 s ago\)/);
  const res = await served.handler(new Request("http://test/api/status"));
  assert.equal((await res.json()).server.acceptFailures, 7);
  await stop();
});

Deno.test("berth run logs a warning naming a state file others can read, with the chmod to run", async () => {
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/berth.db`;
    await Deno.writeFile(path, new Uint8Array());
    await Deno.chmod(path, 0o644);
    const w = world(config);
    assert.equal(await main(["run", "--once", "--state", path, "-c", "berth.yaml"], w), 0);
    const warning = w.logs.find((l) => l.includes(`state file ${path} can be read or written`));
    assert.ok(warning, w.logs.join("\n"));
    assert.match(warning, /"level":"warn".*mode 0644.*run chmod 600 /);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("berth run --once exits non-zero when a pass fails", async () => {
  const w = world((c) => config({ ...c, token: "wrong-token" }));
  assert.equal(await main(["run", "--once", "--mode", "orders", "-c", "berth.yaml"], w), 1);
  assert.match(w.logs.join("\n"), /HTTP 401/);
  assert.ok(!w.logs.join("\n").includes("wrong-token"), "the token is redacted");
});

Deno.test("the Python spelling -m order_process -c FILE runs the orders loop until SIGTERM, then exits 0", async () => {
  const w = world(config);
  const { order } = w.waldur.orderCreate(w.offeringUuid, {
    name: "two",
    project: "p",
    customer: "c",
  });
  const running = main(["-m", "order_process", "-c", "berth.yaml"], w);
  for (let i = 0; i < 50 && w.waldur.order(order).state !== "done"; i++) {
    await new Promise((r) => setTimeout(r, 5));
  }
  assert.equal(w.waldur.order(order).state, "done");
  w.signal();
  assert.equal(await running, 0);
  assert.match(w.logs.join("\n"), /stopping: finishing the items in flight/);
});

Deno.test("a Python mode (run -m report) says in one line that one Berth runs all three modes; -m event_process points to stomp_enabled", async () => {
  const w = world(config);
  assert.equal(await main(["run", "-m", "report", "--once", "-c", "berth.yaml"], w), 0);
  assert.deepEqual(w.err.filter((l) => l.includes("mode report")), [
    "berth: mode report runs the usage loop only; Berth runs all three modes in one process: replace one unit per mode with one `berth run -c FILE` (a second Berth on the same state file does not start)",
  ]);
  w.err.length = 0;
  assert.equal(await main(["run", "--mode", "usage", "--once", "-c", "berth.yaml"], w), 0);
  assert.deepEqual(w.err, [], "Berth's own mode names need no note");
  assert.equal(await main(["-m", "event_process", "-c", "berth.yaml"], w), 2);
  assert.match(
    w.err.join("\n"),
    /event mode runs inside `berth run` for offerings with `stomp_enabled: true`/,
  );
});

Deno.test("unknown flags and commands exit 2; a bad config exits 1", async () => {
  const w = world(config);
  assert.equal(await main(["run", "--frobnicate"], w), 2);
  assert.equal(await main(["launch"], w), 2);
  assert.equal(await main(["-m", "event_process"], w), 2);
  assert.equal(await main(["check-config", "-c", "missing.yaml"], w), 1);
  const bad = world(() => "offerings:\n  - name: x\n    backend_type: memory\n");
  assert.equal(await main(["check-config", "-c", "berth.yaml"], bad), 1);
  assert.equal(await main(["check-config", "-c", "berth.yaml"], w), 0);
  assert.equal(await main(["--version"], w), 0);
  assert.equal(await main(["run", "--help"], w), 0);
});

Deno.test("berth load-components updates existing components from backend_components", async () => {
  const w = world(config);
  assert.equal(await main(["load-components", "-c", "berth.yaml"], w), 0);
  const offering = w.waldur.offerings.get(w.offeringUuid);
  assert.deepEqual(
    offering?.components.map((c) => [c.type, c.name, c.billing_type, c.measured_unit]),
    [
      ["storage", "Storage", "limit", "GB"],
    ],
  );
  assert.equal(await main(["load-components", "-c", "berth.yaml"], w), 0);
  assert.equal(offering?.components.length, 1);
  assert.ok(
    w.waldur.requests.some((r) =>
      r.path.endsWith("/update_offering_component/") && r.status === 200
    ),
  );
});

Deno.test("berth diagnose checks Waldur and the backend and fails on bad credentials", async (t) => {
  const ok = world(config);
  assert.equal(await main(["load-components", "-c", "berth.yaml"], ok), 0);
  const bad = world((c) => config({ ...c, token: "nope-nope-nope" }));
  await t.assertSnapshot(
    (await printed(ok, ["diagnose", "-c", "berth.yaml"])) +
      (await printed(bad, ["diagnose", "-c", "berth.yaml"])),
  );
  assert.ok(!bad.out.join("\n").includes("nope-nope-nope"), "the token is redacted");
});

Deno.test("berth plan prints the orders waiting and changes nothing", async (t) => {
  const w = world(config);
  w.waldur.orderCreate(w.offeringUuid, { name: "planned", project: "p", customer: "c" });
  await t.assertSnapshot(await printed(w, ["plan", "-c", "berth.yaml"]));
  assert.deepEqual(w.waldur.writes(), []);
  assert.equal(w.backend.writes.length, 0);
});

Deno.test("berth run --once with the shipped plugins drives a Harbor offering from YAML; plan and diagnose print what they see", async (t) => {
  const { PLUGINS } = await import("../lib/plugins.ts");
  const { FakeHarbor } = await import("../lib/harbor/fake.ts");
  const harbor = new FakeHarbor();
  const w = world(({ token, offering }) => `
offerings:
  - name: registry
    waldur_api_url: http://waldur.test/api/
    waldur_api_token: ${token}
    waldur_offering_uuid: ${offering}
    backend_type: harbor
    backend_settings:
      harbor_url: http://harbor.test
      robot_username: ${harbor.username}
      robot_password: ${harbor.password}
    backend_components:
      storage: {measured_unit: GB, accounting_type: limit, label: Storage}
state_file: ":memory:"
`);
  w.plugins = PLUGINS;
  w.fetch = async (r) =>
    await (new URL(r.url).hostname === "harbor.test" ? harbor.app : w.waldur.app).request(r);
  const { order } = w.waldur.orderCreate(w.offeringUuid, {
    name: "from-yaml",
    limits: { storage: 2 },
    project: "p",
    customer: "c",
  });
  assert.equal(await main(["run", "--once", "-c", "berth.yaml"], w), 0);
  assert.equal(w.waldur.order(order).state, "done");
  assert.equal(harbor.project("waldur-from-yaml")?.hard, 2 * 1024 ** 3);
  // what plan must show: a new order, a quota changed by hand, the group unbound by hand
  w.waldur.orderCreate(w.offeringUuid, {
    name: "next",
    limits: { storage: 1 },
    project: "p",
    customer: "c",
  });
  harbor.setHard("waldur-from-yaml", 5 * 1024 ** 3);
  harbor.removeGroupMember("waldur-from-yaml", "waldur-p");
  const writes = harbor.writes().length;
  await t.assertSnapshot(
    (await printed(w, ["plan", "-c", "berth.yaml"])) +
      (await printed(w, ["diagnose", "-c", "berth.yaml"])),
  );
  assert.equal(harbor.writes().length, writes, "plan and diagnose change nothing");
  assert.ok(!w.logs.join("\n").includes(harbor.password));
});

Deno.test("berth run --once drives a Rancher offering with Keycloak from the Python agent's YAML; plan and diagnose print what they see", async (t) => {
  const { PLUGINS } = await import("../lib/plugins.ts");
  const { FakeRancher } = await import("../lib/rancher/fake.ts");
  const { FakeKeycloak } = await import("../lib/keycloak/fake.ts");
  const rancher = new FakeRancher();
  const keycloak = new FakeKeycloak();
  keycloak.addRealm("waldur");
  const ann = keycloak.addUser("waldur", "ann");
  const w = world(({ token, offering }) => `
offerings:
  - name: "rancher-projects"
    waldur_api_url: "http://waldur.test/"
    waldur_api_token: "${token}"
    waldur_offering_uuid: "${offering}"
    backend_type: "rancher"
    order_processing_backend: "rancher"
    membership_sync_backend: "rancher"
    reporting_backend: "rancher"
    backend_settings:
      backend_url: "http://rancher.test"
      username: "${rancher.accessKey}"
      password: "${rancher.secretKey}"
      cluster_id: "c-m-7x2k9q4d"
      verify_cert: true
      project_prefix: "waldur-"
      default_role: "workloads-manage"
      keycloak_enabled: true
      keycloak_use_user_id: true
      keycloak:
        keycloak_url: "http://keycloak.test/"
        keycloak_realm: "waldur"
        keycloak_user_realm: "master"
        keycloak_username: "admin"
        keycloak_password: "admin-secret"
        keycloak_ssl_verify: true
    backend_components:
      cpu: {type: "cpu", measured_unit: "cores", accounting_type: "limit", label: "CPU Cores", unit_factor: 1}
      memory: {type: "ram", measured_unit: "GB", accounting_type: "limit", label: "Memory (GB)", unit_factor: 1}
state_file: ":memory:"
`);
  w.plugins = PLUGINS;
  const hosts: Record<string, { request: (r: Request) => Response | Promise<Response> }> = {
    "rancher.test": rancher.app,
    "keycloak.test": keycloak.app,
    "waldur.test": w.waldur.app,
  };
  w.fetch = async (r) => await hosts[new URL(r.url).hostname]!.request(r);
  const { order } = w.waldur.orderCreate(w.offeringUuid, {
    name: "from-yaml",
    limits: { cpu: 2, memory: 4 },
    project: "p",
    customer: "c",
  });
  w.waldur.setTeam("p", [{ username: ann }]);
  assert.equal(await main(["load-components", "-c", "berth.yaml"], w), 0);
  assert.equal(await main(["run", "--once", "-c", "berth.yaml"], w), 0, w.logs.join("\n"));
  assert.equal(w.waldur.order(order).state, "done");
  const [project] = rancher.projectsNamed("waldur-from-yaml");
  assert.deepEqual(project?.resourceQuota, {
    limit: { limitsCpu: "2000m", limitsMemory: "4096Mi" },
  });
  const changes = () =>
    rancher.writes().length +
    keycloak.requests.filter((r) => r.method !== "GET" && !r.path.includes("/token")).length;
  const before = changes();
  assert.ok(before > 0);
  // what plan must show: a new team member, a quota changed by hand
  const bob = keycloak.addUser("waldur", "bob");
  w.waldur.setTeam("p", [{ username: ann }, { username: bob }]);
  project.resourceQuota = { limit: { limitsCpu: "64", limitsMemory: "1Ti" } };
  await t.assertSnapshot(
    ((await printed(w, ["plan", "-c", "berth.yaml"])) +
      (await printed(w, ["diagnose", "-c", "berth.yaml"])))
      .replaceAll(ann, "<ann's id>").replaceAll(bob, "<bob's id>"),
  );
  assert.equal(changes(), before, "plan and diagnose change nothing");
  assert.equal(keycloak.group("waldur", "c_cm7x2k9q") !== undefined, true);
  assert.ok(!w.logs.join("\n").includes(rancher.secretKey));
  assert.ok(!w.logs.join("\n").includes("admin-secret"));
});

Deno.test("berth repair-oidc-user shows what it would do, deletes only with --yes a user holding an older identity, and refuses a matching one", async () => {
  const { PLUGINS } = await import("../lib/plugins.ts");
  const { FakeHarbor } = await import("../lib/harbor/fake.ts");
  const { FakeKeycloak } = await import("../lib/keycloak/fake.ts");
  const harbor = new FakeHarbor();
  const keycloak = new FakeKeycloak();
  keycloak.addRealm("waldur");
  keycloak.addUser("waldur", "alice", { id: "alice-new" });
  keycloak.addUser("waldur", "bob", { id: "bob-id" });
  keycloak.addUser("waldur", "carol", { id: "carol-id" });
  const issuer = "http://keycloak.test/auth/realms/waldur";
  const alice = harbor.addUser({
    username: "alice",
    subiss: `alice-old${issuer}`,
    cliSecret: "cli-secret-of-alice",
  });
  const bob = harbor.addUser({
    username: "bob",
    subiss: `bob-id${issuer}`,
    cliSecret: "cli-secret-of-bob",
  });
  const w = world(({ token, offering }) => `
offerings:
  - name: registry
    waldur_api_url: http://waldur.test/api/
    waldur_api_token: ${token}
    waldur_offering_uuid: ${offering}
    backend_type: harbor
    backend_settings:
      harbor_url: http://harbor.test
      robot_username: ${harbor.username}
      robot_password: ${harbor.password}
      keycloak:
        keycloak_url: http://keycloak.test/auth/
        keycloak_username: admin
        keycloak_password: admin-secret
    backend_components:
      storage: {measured_unit: GB, accounting_type: limit, label: Storage}
state_file: ":memory:"
`);
  w.plugins = PLUGINS;
  const hosts: Record<string, { request: (r: Request) => Response | Promise<Response> }> = {
    "harbor.test": harbor.app,
    // the realm paths under /auth, as a Keycloak before 17 (or with --http-relative-path) serves them
    "keycloak.test": {
      request: (r) => {
        const url = new URL(r.url);
        url.pathname = url.pathname.replace(/^\/auth/, "");
        return keycloak.app.request(new Request(url, r));
      },
    },
    "waldur.test": w.waldur.app,
  };
  w.fetch = async (r) => await hosts[new URL(r.url).hostname]!.request(r);
  const { order } = w.waldur.orderCreate(w.offeringUuid, {
    name: "reg",
    limits: { storage: 1 },
    project: "p",
    customer: "c",
  });
  w.waldur.setTeam("p", [{ username: "alice" }, { username: "bob" }, { username: "carol" }]);
  assert.equal(await main(["run", "--once", "-c", "berth.yaml"], w), 0, w.logs.join("\n"));
  assert.equal(w.waldur.order(order).state, "done");
  const deletes = () => harbor.requests.filter((r) => r.method === "DELETE").length;

  let out = await printed(w, ["diagnose", "-c", "berth.yaml"]);
  assert.match(
    out,
    /FAIL oidc identity +alice: Harbor holds an older identity; they cannot log in until it is removed; run `berth repair-oidc-user alice`/,
  );
  assert.doesNotMatch(out, /oidc identity +(bob|carol)/);

  out = await printed(w, ["repair-oidc-user", "alice", "-c", "berth.yaml"]);
  assert.match(out, new RegExp(`Harbor user ${alice.id} holds alice-old${issuer}`));
  assert.match(out, new RegExp(`Keycloak: alice-new${issuer}`));
  assert.match(
    out,
    new RegExp(`would delete Harbor user ${alice.id} \\(alice\\); run again with --yes`),
  );
  assert.match(out, /\(exit 0\)/);
  assert.equal(deletes(), 0, "a dry run deletes nothing");

  out = await printed(w, ["repair-oidc-user", "bob", "--yes", "-c", "berth.yaml"]);
  assert.match(out, /nothing to repair: the identities match; the user is left alone/);
  assert.match(out, /\(exit 1\)/);
  out = await printed(w, ["repair-oidc-user", "carol", "--yes", "-c", "berth.yaml"]);
  assert.match(out, /nothing to repair: not onboarded/);
  assert.match(out, /\(exit 1\)/);
  assert.equal(deletes(), 0);
  assert.equal(harbor.users.get(bob.id)?.deleted, false);

  out = await printed(w, ["repair-oidc-user", "alice", "--yes", "-c", "berth.yaml"]);
  assert.match(
    out,
    new RegExp(`deleted Harbor user ${alice.id} \\(alice\\): the next login onboards alice again`),
  );
  assert.match(out, /\(exit 0\)/);
  assert.equal(harbor.users.get(alice.id)?.deleted, true);
  assert.equal(deletes(), 1);

  out = await printed(w, ["diagnose", "-c", "berth.yaml"]);
  assert.match(
    out,
    /ok {3}oidc identities +1 team member\(s\) match Harbor's identity, 2 not onboarded yet/,
  );
  assert.match(w.logs.join("\n"), /harbor: delete user alice/, "the deletion is audited");
  const everything = [...w.out, ...w.err, ...w.logs].join("\n");
  assert.doesNotMatch(everything, /cli-secret-of/, "Harbor's CLI secrets are never printed");
  assert.equal(await main(["repair-oidc-user", "-c", "berth.yaml"], w), 2, "USER is required");
});

Deno.test("berth probe exits 0 on a 2xx answer and 1 on a 503 or no answer", async () => {
  const w = world(config);
  const answering = (status: number): World => ({
    ...w,
    fetch: (r) => Promise.resolve(new Response(`${new URL(r.url).pathname}`, { status })),
  });
  assert.equal(await main(["probe"], answering(200)), 0);
  assert.equal(await main(["probe", "http://127.0.0.1:9/healthz"], answering(503)), 1);
  const down: World = { ...w, fetch: () => Promise.reject(new TypeError("connection refused")) };
  assert.equal(await main(["probe", "http://127.0.0.1:9/healthz"], down), 1);
});
