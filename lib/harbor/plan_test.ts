/** The pure Harbor planner: what each observed state plans, and a second plan plans nothing. */
import assert from "node:assert/strict";
import type { ResourceSpec } from "../backend.ts";
import { resourceSpec } from "../../testing/resource_spec.ts";
import { describeAction, type Naming, type Observed, planHarbor } from "./plan.ts";

const GIB = 1024 ** 3;

const naming: Naming = {
  allocationPrefix: "waldur-",
  oidcGroupPrefix: "waldur-",
  defaultStorageGb: 10,
  roleId: 2,
};

Deno.test("plan table: what each observed state plans", () => {
  const desired = [
    resourceSpec("in-line", "p1", { storage: 1 }),
    resourceSpec("drifted", "p1", { storage: 2 }),
    resourceSpec("nolimit", "p2", {}),
    resourceSpec("unbound", "p2", { storage: 1 }),
    resourceSpec("wrong-role", "p3", { storage: 1 }),
    resourceSpec("missing", "p3", { storage: 1 }),
    resourceSpec("unreadable", "p1", { storage: 1 }),
  ];
  const projects = new Map(
    ["in-line", "drifted", "nolimit", "unbound", "wrong-role", "unreadable"].map((s, i) => [
      `waldur-${s}`,
      { id: i + 1, repoCount: 0 },
    ]),
  );
  const quotas = new Map([
    [1, { id: 11, hard: GIB, used: 0 }],
    [2, { id: 12, hard: 10 * GIB, used: 0 }],
    [3, { id: 13, hard: 10 * GIB, used: 0 }],
    [4, { id: 14, hard: GIB, used: 0 }],
    [5, { id: 15, hard: GIB, used: 0 }],
    [6, { id: 16, hard: GIB, used: 0 }],
  ]);
  const bound = (
    group: string,
    roleId = 2,
  ) => [{ memberId: 9, groupId: 1, groupName: group, roleId }];
  const observed: Observed = {
    projects,
    quotas,
    groups: new Map([["waldur-p1", 1], ["waldur-p2", 2]]),
    members: new Map<number, ReturnType<typeof bound> | Error>([
      [1, bound("waldur-p1")],
      [2, bound("waldur-p1")],
      [3, bound("waldur-p2")],
      [4, []],
      [5, bound("waldur-p3", 1)],
      [6, new Error("HTTP 500")],
    ]),
  };
  const { actions, problems } = planHarbor(desired.map(keep), observed, naming);
  const table = actions.map((a) => {
    switch (a.kind) {
      case "set-quota":
        return `${a.kind} ${a.project} ${a.fromBytes / GIB}→${a.toBytes / GIB}`;
      case "create-group":
        return `${a.kind} ${a.group}`;
      case "add-member":
        return `${a.kind} ${a.project} ${a.group} ${a.roleId}`;
      case "set-role":
        return `${a.kind} ${a.project} ${a.group} ${a.fromRole}→${a.toRole}`;
      default:
        return a.kind;
    }
  });
  assert.deepEqual(table, [
    "create-group waldur-p3",
    "set-quota waldur-drifted 10→2",
    "add-member waldur-unbound waldur-p2 2",
    "set-role waldur-wrong-role waldur-p3 1→2",
  ]);
  assert.deepEqual([...problems.entries()], [
    ["u-missing", "Harbor project waldur-missing not found"],
    ["u-unreadable", "members of waldur-unreadable not read: HTTP 500"],
  ]);
  // A second plan over the state the first one produces is empty.
  assert.deepEqual(
    planHarbor(desired.slice(0, 3).map(keep), {
      ...observed,
      members: new Map([[1, bound("waldur-p1")], [2, bound("waldur-p1")], [3, bound("waldur-p2")]]),
      quotas: new Map([...quotas, [2, { id: 12, hard: 2 * GIB, used: 0 }]]),
    }, naming).actions,
    [],
  );
});

function keep(resource: ResourceSpec) {
  return { resource, goal: "keep" as const };
}

Deno.test("berth plan says storage quotas in GiB, the unit of the bytes it sets", () => {
  const quota = (fromBytes: number, toBytes: number) =>
    describeAction({
      kind: "set-quota",
      resources: ["r"],
      project: "waldur-a",
      projectId: 1,
      quotaId: 1,
      fromBytes,
      toBytes,
      usedBytes: null,
      repair: false,
    }).detail;
  assert.equal(quota(5 * GIB, 2 * GIB), "storage quota 5 GiB → 2 GiB");
  assert.equal(quota(GIB, 1.5 * GIB), "storage quota 1 GiB → 1.5 GiB");
  const made = describeAction({
    kind: "create-project",
    resources: ["r"],
    project: "waldur-a",
    bytes: GIB / 2,
  });
  assert.equal(made.detail, "storage quota 512 MiB");
});
