/**
 * A fixed status record: two offerings (Harbor, Rancher with Keycloak groups), loops in every
 * state, an order in flight, changes and errors. The page snapshot, the route tests, the
 * metrics test and the render benchmark all read it.
 */
import { ManualClock } from "../../testing/manual_clock.ts";
import { StatusRecord } from "../../lib/status.ts";

const GIB = 1024 ** 3;
const MIB = 1024 ** 2;

/** Options of {@link fixtureStatus}. */
export interface FixtureOptions {
  /** Extra Harbor projects (`proj-00001`…), for paging and the benchmark. */
  harborProjects?: number;
  /** Extra Rancher projects and Keycloak child groups. */
  rancherProjects?: number;
  /** A Harbor project name to add verbatim (the escaping test). */
  hostileName?: string;
  /** Registered secret values; the record redacts them. */
  secrets?: string[];
}

/** Builds the record and its clock (which starts at 2026-11-15T12:00:00Z). */
export function fixtureStatus(
  options: FixtureOptions = {},
): { status: StatusRecord; clock: ManualClock } {
  const clock = new ManualClock({ autoAdvance: false });
  const secrets = options.secrets ?? [];
  const status = new StatusRecord({
    version: "0.1.0-test",
    configPath: "/etc/berth/config.yaml",
    offerings: [
      { name: "registry", backendType: "harbor", offeringUuid: "0b1c0000000000000000000000000001" },
      { name: "k8s", backendType: "rancher", offeringUuid: "0b1c0000000000000000000000000002" },
    ],
    now: () => clock.now(),
    monotonic: () => clock.monotonic(),
    redact: (text) => secrets.reduce((t, s) => t.split(s).join("[redacted]"), text),
  });
  status.addLoop("registry", "orders", 60_000);
  status.addLoop("registry", "membership", 300_000);
  status.addLoop("k8s", "orders", 60_000);
  status.addLoop("k8s", "usage", 1_800_000);

  status.loopStarted("registry", "orders");
  clock.advance(1_200);
  status.loopFinished("registry", "orders", "ok", "", 60_000);
  status.loopStarted("registry", "membership");
  clock.advance(3_400);
  status.loopFinished("registry", "membership", "ok", "", 300_000);
  status.loopStarted("k8s", "orders");
  clock.advance(800);
  status.loopFinished(
    "k8s",
    "orders",
    "partial",
    "order 7f3e: Rancher POST /v3/projects: HTTP 422 InvalidBodyContent\nthe project limit is below the namespace default",
    60_000,
  );
  status.loopStarted("k8s", "usage");
  clock.advance(500);

  status.publish("registry", {
    kind: "harbor",
    at: clock.now(),
    rows: [
      harborRow("acme-registry", "Acme registry", 100 * GIB, 42 * GIB, 12, true, []),
      harborRow("beta-images", "Beta images", 10 * GIB, 9.5 * GIB, 3, true, ["near quota"]),
      harborRow("gamma-ci", "Gamma CI", 5 * GIB, 6 * GIB, 40, false, ["over quota", "adopted"]),
      {
        ...harborRow("lost-project", "Lost", null, null, null, null, ["not found"]),
      },
      ...(options.hostileName
        ? [harborRow(options.hostileName, options.hostileName, GIB, 0, 0, true, [])]
        : []),
      ...Array.from({ length: options.harborProjects ?? 0 }, (_, i) => {
        const n = String(i + 1).padStart(5, "0");
        return harborRow(`proj-${n}`, `Project ${n}`, 20 * GIB, (i % 20) * GIB, i % 7, true, []);
      }),
    ],
  });
  const extra = Array.from({ length: options.rancherProjects ?? 0 }, (_, i) => i + 1);
  status.publish("k8s", {
    kind: "rancher",
    at: clock.now(),
    rows: [
      rancherRow("alpha-workloads", "c-m-7x2k9q4d:p-abcde", 1.25, 4, 3 * GIB, 8 * GIB, 20 * GIB, [
        "alpha-workloads",
      ], []),
      rancherRow("delta-ml", "c-m-7x2k9q4d:p-fghij", 9, 8, 30 * GIB, 32 * GIB, 0, [
        "delta-ml",
        "delta-ml-batch",
      ], ["cpu over quota"]),
      ...extra.map((i) => {
        const n = String(i).padStart(5, "0");
        return rancherRow(
          `rp-${n}`,
          `c-m-7x2k9q4d:p-${n}`,
          0.25,
          2,
          512 * MIB,
          4 * GIB,
          GIB,
          [`rp-${n}`],
          [],
        );
      }),
    ],
    groups: [
      groupRow("/c_cm7x2k9q/project_alpha_workloads-manage", 3, ["ann"], [], [], ""),
      groupRow("/c_cm7x2k9q/project_delta_workloads-manage", 2, [], ["bob"], ["ghost"], ""),
      groupRow(
        "/c_cm7x2k9q/project_omega_workloads-manage",
        null,
        [],
        [],
        [],
        "keycloak: POST /admin/realms/waldur/groups: connection refused",
      ),
      ...extra.map((i) =>
        groupRow(`/c_cm7x2k9q/project_rp-${String(i).padStart(5, "0")}`, i % 5, [], [], [], "")
      ),
    ],
  });
  // attention: a synced resource, an erred order, an erred resource (its row is marked)
  status.attention.synced("registry", ["res-acme-registry", "res-beta-images"]);
  status.attention.orderErred({
    offering: "registry",
    uuid: "b7c10000000000000000000000000004",
    type: "Update",
    resource: "res-beta-images",
    resourceName: "Beta images",
    message: "Harbor PUT /api/v2.0/quotas/12: HTTP 400 the hard limit is below the usage",
  });
  status.attention.resourcesListed(
    "k8s",
    [
      { uuid: "res-alpha-workloads", name: "alpha-workloads", state: "OK" },
      { uuid: "res-delta-ml", name: "delta-ml", state: "Erred" },
    ],
    false,
    new Map([["res-delta-ml", "Rancher PUT /v3/projects: HTTP 422 quota"]]),
  );
  status.orderPending({
    uuid: "7f3e0000000000000000000000000003",
    offering: "k8s",
    type: "Create",
    resourceName: "delta-ml",
    attempts: 2,
    lastError: "Rancher POST /v3/projects: HTTP 422 InvalidBodyContent",
    nextAttemptAt: clock.now() + 30_000,
  });
  status.orderFinished("a1", "Create", "done");
  status.orderFinished("a2", "Terminate", "done");
  status.orderFinished("a3", "Update", "erred");
  status.audit({
    at: clock.now() - 90_000,
    offering: "registry",
    system: "harbor",
    action: "create project",
    target: "acme-registry",
    result: "ok",
    detail: "quota 100 GiB",
  });
  status.audit({
    at: clock.now() - 30_000,
    offering: "k8s",
    system: "keycloak",
    action: "add member",
    target: "/c_cm7x2k9q/project_alpha_workloads-manage",
    result: "ok",
    detail: "ann",
  });
  status.httpExchange("waldur", "GET", 200);
  status.httpExchange("waldur", "GET", 200);
  status.httpExchange("rancher", "POST", 422);
  status.httpExchange("keycloak", "POST", 0);
  status.breaker({
    system: "keycloak",
    target: "https://sso.example.com",
    state: "open",
    failures: 5,
    opens: 2,
    since: clock.now() - 20_000,
    retryAt: clock.now() + 10_000,
    lastError: "connection refused",
  });
  for (const secret of secrets) status.error("registry", "orders", `login failed with ${secret}`);
  clock.advance(2_000);
  return { status, clock };
}

function harborRow(
  project: string,
  resourceName: string,
  quotaBytes: number | null,
  usedBytes: number | null,
  repositories: number | null,
  groupBound: boolean | null,
  flags: string[],
): Record<string, unknown> {
  return {
    project,
    resource: `res-${project}`,
    resourceName,
    quotaBytes,
    usedBytes,
    repositories,
    group: `harbor-${project}`,
    groupBound,
    flags,
  };
}

function rancherRow(
  project: string,
  projectId: string,
  cpuRequested: number,
  cpuLimit: number,
  memoryRequestedBytes: number,
  memoryLimitBytes: number,
  storageRequestedBytes: number,
  namespaces: string[],
  flags: string[],
): Record<string, unknown> {
  return {
    project,
    projectId,
    resource: `res-${project}`,
    resourceName: project,
    cluster: "c-m-7x2k9q4d",
    cpuRequested,
    cpuLimit,
    memoryRequestedBytes,
    memoryLimitBytes,
    storageRequestedBytes,
    namespaces,
    flags,
  };
}

function groupRow(
  path: string,
  members: number | null,
  added: string[],
  removed: string[],
  missing: string[],
  error: string,
): Record<string, unknown> {
  return { path, members, added, removed, missing, error };
}
