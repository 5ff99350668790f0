/** The pure Keycloak group plan: under a parent group (Rancher's) and at the top of the realm (Harbor's). */
import assert from "node:assert/strict";
import { type GroupsObserved, planGroups, wantsOf } from "./group_plan.ts";

const layout = { parent: "c_x" };

Deno.test("keycloak group plan table: create, add, remove, missing, unreadable, orphans", async (t) => {
  const want = (group: string, usernames: string[], projectUuid = "p1") => ({
    group,
    projectUuid,
    resources: [`r-${group}`],
    usernames,
  });
  const observed: GroupsObserved = {
    parent: { id: "parent", managed: true },
    groups: new Map([
      ["g-ok", { id: "1", managed: true, projectUuid: "p1" }],
      ["g-broken", { id: "2", managed: true, projectUuid: "p2" }],
      ["g-orphan", { id: "3", managed: true, projectUuid: "p9" }],
      ["g-foreign", { id: "4", managed: false, projectUuid: "" }],
      ["g-bound", { id: "5", managed: true, projectUuid: "p8" }],
    ]),
    members: new Map<string, { id: string; username: string }[] | Error>([
      ["g-ok", [{ id: "u-ann", username: "ann" }, { id: "u-eve", username: "eve" }]],
      ["g-broken", new Error("HTTP 500")],
    ]),
    users: new Map([["u-bob", { id: "u-bob", username: "bob" }], ["ghost", null]]),
  };
  const plan = planGroups(
    layout,
    [
      want("g-ok", ["u-ann", "u-bob", "ghost"]),
      want("g-broken", ["u-bob"], "p2"),
      want("g-new", [], "p3"),
    ],
    observed,
    { byId: true, prune: { inUse: new Set(["g-bound"]), liveProjects: new Set() } },
  );
  await t.assertSnapshot(plan.actions.map((a) => `${a.kind} ${a.group}`));
  assert.deepEqual([...plan.missing], [["g-ok", ["ghost"]]]);
  assert.deepEqual([...plan.problems], [["g-broken", { message: "HTTP 500", terminal: false }]]);
  const steady = planGroups(layout, [want("g-ok", ["u-ann", "u-eve"])], {
    ...observed,
    groups: new Map([["g-ok", { id: "1", managed: true, projectUuid: "p1" }]]),
  }, { byId: true, prune: { inUse: new Set(), liveProjects: new Set() } });
  assert.deepEqual(steady.actions, [], "a group in line plans nothing");
  // a wanted user whose lookup failed: members that look unwanted may be that user, so stay
  const flaky = planGroups(layout, [want("g-ok", ["u-ann", "u-flaky", "u-bob"])], {
    ...observed,
    groups: new Map([["g-ok", { id: "1", managed: true, projectUuid: "p1" }]]),
    users: new Map<string, { id: string; username: string } | Error>([
      ["u-flaky", new Error("HTTP 503")],
      ["u-bob", { id: "u-bob", username: "bob" }],
    ]),
  }, { byId: true, prune: { inUse: new Set(), liveProjects: new Set() } });
  assert.deepEqual(
    flaky.actions.map((a) => `${a.kind} ${a.group} ${"user" in a ? a.user.username : ""}`),
    ["add-member g-ok bob"],
    "eve is not removed while a wanted user could not be looked up",
  );
  assert.deepEqual([...flaky.problems], [["g-ok", { message: "HTTP 503", terminal: false }]]);
});

Deno.test("keycloak top-level groups: created, adopted, a conflict refused, never pruned", () => {
  const want = (group: string, projectUuid: string) => ({
    group,
    projectUuid,
    resources: [`r-${group}`],
    usernames: [],
  });
  const plan = planGroups({ parent: null }, [
    want("new", "p1"),
    want("old", "p2"),
    want("theirs", "p3"),
  ], {
    parent: null,
    groups: new Map([
      ["old", { id: "2", managed: false, projectUuid: "" }],
      ["theirs", { id: "3", managed: true, projectUuid: "p9" }],
      ["unrelated", { id: "4", managed: true, projectUuid: "p7" }],
    ]),
    members: new Map([["old", []], ["theirs", []]]),
    users: new Map(),
  }, { byId: false, prune: { inUse: new Set(), liveProjects: new Set() } });
  assert.deepEqual(plan.actions.map((a) => `${a.kind} ${a.group}`), [
    "create-group new",
    "adopt-group old",
  ]);
  assert.match(plan.problems.get("theirs")?.message ?? "", /\/theirs belongs to Waldur project p9/);
  assert.equal(plan.problems.get("theirs")?.terminal, true);
});

Deno.test("keycloak wants: one group per name with the union of teams; two projects sharing one are refused", () => {
  const { wants, shared } = wantsOf([
    { group: "g", resource: "r1", projectUuid: "p1", usernames: ["Ann", "bob"] },
    { group: "g", resource: "r2", projectUuid: "p1", usernames: ["ann"] },
    { group: "h", resource: "r3", projectUuid: "p2", usernames: [] },
    { group: "h", resource: "r4", projectUuid: "p3", usernames: [] },
  ]);
  assert.deepEqual(wants, [{
    group: "g",
    projectUuid: "p1",
    resources: ["r1", "r2"],
    usernames: ["ann", "bob"],
  }]);
  assert.deepEqual([...shared.keys()], ["r3", "r4"]);
  assert.match(shared.get("r3") ?? "", /would hold the teams of 2 Waldur projects/);
});
