/** The team robots plan: made, kept, given their team's projects, replaced, deleted, refused. */
import assert from "node:assert/strict";
import { type ObservedRobot, planRobots, robotDescription, robotProject } from "./robots.ts";

const OFFERING = "0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f0f";
const P1 = "11111111111111111111111111111111";
const P2 = "22222222222222222222222222222222";
const NOW = 1_800_000_000;
const DAY = 86_400;

function robot(id: number, slug: string, project: string, extra: Partial<ObservedRobot> = {}) {
  return {
    id,
    name: `berth-${slug}`,
    description: robotDescription(OFFERING, project),
    disabled: false,
    expiresAt: NOW + 60 * DAY,
    pulls: ["waldur-a"],
    more: false,
    ...extra,
  };
}

const options = { offeringUuid: OFFERING, now: NOW, rotateBeforeDays: 14 };

Deno.test("team robots: a robot in line plans nothing; each drift plans its one repair", () => {
  const want = { projectUuid: P1, projectSlug: "alpha", projects: ["waldur-a"] };
  const kinds = (observed: ObservedRobot[], w = [want]) =>
    planRobots(w, observed, options).actions.map((a) => `${a.kind} ${a.name}`);
  assert.deepEqual(kinds([robot(1, "alpha", P1)]), []);
  assert.deepEqual(kinds([]), ["create-robot berth-alpha"]);
  assert.deepEqual(
    kinds([robot(1, "alpha", P1)], [{ ...want, projects: ["waldur-a", "waldur-b"] }]),
    ["recreate-robot berth-alpha"],
    "a new Harbor project of the team joins its robot (made again: Harbor lets no robot update one)",
  );
  assert.deepEqual(kinds([robot(1, "alpha", P1, { more: true })]), [
    "recreate-robot berth-alpha",
  ], "anything beyond pull on its projects is taken away");
  assert.deepEqual(kinds([robot(1, "alpha", P1, { disabled: true })]), [
    "recreate-robot berth-alpha",
  ]);
  assert.deepEqual(kinds([robot(1, "alpha", P1, { expiresAt: NOW + 10 * DAY })]), [
    "recreate-robot berth-alpha",
  ], "within rotate_before_days of its end");
  assert.deepEqual(kinds([robot(1, "alpha", P1, { expiresAt: NOW + 15 * DAY })]), []);
  assert.deepEqual(kinds([robot(1, "alpha", P1, { expiresAt: -1 })]), [], "never expires");
  assert.deepEqual(kinds([robot(1, "alpha", P1)], []), ["delete-robot berth-alpha"]);
});

Deno.test("team robots: only Berth's robots of this offering are touched", () => {
  const theirs = robot(7, "alpha", P1, { description: "made by hand" });
  const other = robot(8, "beta", P2, { description: robotDescription("a".repeat(32), P2) });
  const plan = planRobots(
    [{ projectUuid: P1, projectSlug: "alpha", projects: ["waldur-a"] }],
    [theirs, other],
    options,
  );
  assert.deepEqual(plan.actions, [], "neither the hand-made one nor another offering's");
  assert.match(plan.problems.get(P1) ?? "", /exists and is not Berth's/);
  assert.equal(robotProject(theirs.description, OFFERING), undefined);
  assert.equal(robotProject(robotDescription(OFFERING, P2), OFFERING), P2);
});

Deno.test("team robots: two Waldur projects with one slug get none, and keep what they have", () => {
  const plan = planRobots(
    [
      { projectUuid: P1, projectSlug: "same", projects: ["waldur-a"] },
      { projectUuid: P2, projectSlug: "same", projects: ["waldur-b"] },
    ],
    [robot(1, "same", P1)],
    options,
  );
  assert.deepEqual(plan.actions, []);
  assert.deepEqual([...plan.problems.keys()], [P1, P2]);
});

Deno.test("team robots: a Waldur project an order is changing keeps its robot as it is", () => {
  const busy = { ...options, busy: new Set([P1]) };
  assert.deepEqual(planRobots([], [robot(1, "alpha", P1)], busy).actions, []);
  assert.deepEqual(
    planRobots([{ projectUuid: P1, projectSlug: "alpha", projects: [] }], [
      robot(1, "alpha", P1, { disabled: true }),
    ], busy).actions,
    [],
  );
});
