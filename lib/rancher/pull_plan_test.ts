import assert from "node:assert/strict";
import type { TeamRobot } from "../registry_access.ts";
import type { PullCopy } from "./docker_config.ts";
import {
  type AccountState,
  planPullSecrets,
  type PullAction,
  type PullObserved,
} from "./pull_plan.ts";

const OFFERING = "off-1";
const robot = (project: string, known = true): TeamRobot => ({
  projectUuid: project,
  username: `robot$${project}`,
  registry: "h.test",
  expiresAt: 100,
  digest: known ? "d1" : undefined,
});
const copy = (namespace: string, project: string, over: Partial<PullCopy> = {}): PullCopy => ({
  namespace,
  name: "harbor-pull",
  resourceVersion: `rv-${namespace}`,
  offering: OFFERING,
  project,
  robot: `robot$${project}`,
  registry: "h.test",
  digest: "d1",
  expiresAt: "100",
  ...over,
});
const sa = (names: string[] = []): AccountState => ({ resourceVersion: "sa-1", names });

interface Case {
  name: string;
  targets?: Record<string, string[]>;
  owners?: Record<string, string>;
  copies?: PullCopy[];
  accounts?: Record<string, AccountState>;
  foreign?: string[];
  robots?: Record<string, TeamRobot | undefined>;
  busy?: string[];
  serviceAccount?: string;
  /** `kind namespace[/detail]` of each action. */
  actions: string[];
  team?: { current?: string[]; sources?: string[]; conflicts?: string[]; digest?: string };
}

function brief(a: PullAction): string {
  switch (a.kind) {
    case "write-secret":
      return `write ${a.namespace}${a.resourceVersion ? ` (${a.resourceVersion})` : ""}`;
    case "add-pull-secret":
    case "remove-pull-secret":
      return `${a.kind} ${a.namespace} [${a.imagePullSecrets.join(",")}]`;
    case "delete-secret":
      return `delete ${a.namespace}/${a.name}: ${a.why}`;
  }
}

const P = "p1";
const CASES: Case[] = [
  {
    name: "a team without copies gets one per namespace, listed by the ServiceAccount",
    targets: { [P]: ["b", "a"] },
    accounts: { a: sa(["theirs"]), b: sa() },
    robots: { [P]: robot(P) },
    actions: [
      "write a",
      "add-pull-secret a [theirs,harbor-pull]",
      "write b",
      "add-pull-secret b [harbor-pull]",
    ],
    team: { current: [], sources: [], digest: "d1" },
  },
  {
    name: "current copies listed by the ServiceAccount: nothing to do",
    targets: { [P]: ["a"] },
    owners: { a: P },
    copies: [copy("a", P)],
    accounts: { a: sa(["harbor-pull"]) },
    robots: { [P]: robot(P) },
    actions: [],
    team: { current: ["a"], sources: ["a"] },
  },
  {
    name:
      "a stale digest or expiry is replaced at the version read; only current secrets are sources",
    targets: { [P]: ["a", "b", "c"] },
    copies: [copy("a", P, { digest: "d0" }), copy("b", P, { expiresAt: "50" }), copy("c", P)],
    accounts: { a: sa(["harbor-pull"]), b: sa(["harbor-pull"]), c: sa(["harbor-pull"]) },
    robots: { [P]: robot(P) },
    actions: ["write a (rv-a)", "write b (rv-b)"],
    team: { current: ["c"], sources: ["b", "c"] },
  },
  {
    name: "after a restart, copies that share one digest are current",
    targets: { [P]: ["a", "b"] },
    copies: [copy("a", P, { digest: "dx" }), copy("b", P, { digest: "dx" })],
    serviceAccount: "",
    robots: { [P]: robot(P, false) },
    actions: [],
    team: { current: ["a", "b"], digest: "dx" },
  },
  {
    name: "after a restart, copies that disagree leave no digest: all written, no source",
    targets: { [P]: ["a", "b", "c"] },
    copies: [copy("a", P, { digest: "dx" }), copy("b", P, { digest: "dy" })],
    serviceAccount: "",
    robots: { [P]: robot(P, false) },
    actions: ["write a (rv-a)", "write b (rv-b)", "write c"],
    team: { current: [], sources: [] },
  },
  {
    // a robot replaced while its copies could not be written, then a restart: the copies hold
    // the old robot's (dead) secret and agree on its digest
    name:
      "after a restart, copies of an older robot of the name (another expiry) vouch for nothing",
    targets: { [P]: ["a", "b"] },
    copies: [
      copy("a", P, { digest: "dx", expiresAt: "50" }),
      copy("b", P, { digest: "dx", expiresAt: "50" }),
    ],
    serviceAccount: "",
    robots: { [P]: robot(P, false) },
    actions: ["write a (rv-a)", "write b (rv-b)"],
    team: { current: [], sources: [] },
  },
  {
    name:
      "after a restart, copies of the robot as it is now vouch for it; an older one's is rewritten",
    targets: { [P]: ["a", "b"] },
    copies: [copy("a", P, { digest: "dx" }), copy("b", P, { digest: "d0", expiresAt: "50" })],
    serviceAccount: "",
    robots: { [P]: robot(P, false) },
    actions: ["write b (rv-b)"],
    team: { current: ["a"], sources: ["a"], digest: "dx" },
  },
  {
    name: "a Secret of the name Berth did not write, or another offering's, is a conflict",
    targets: { [P]: ["a", "b", "c"] },
    copies: [copy("b", P, { offering: "off-2" })],
    foreign: ["a"],
    accounts: { a: sa(), b: sa(), c: sa() },
    robots: { [P]: robot(P) },
    actions: ["write c", "add-pull-secret c [harbor-pull]"],
    team: { conflicts: ["a", "b"] },
  },
  {
    name: "a team without a robot: the ServiceAccount lets go, then the copy goes",
    targets: { [P]: ["a"] },
    owners: { a: P },
    copies: [copy("a", P)],
    accounts: { a: sa(["theirs", "harbor-pull"]) },
    robots: { [P]: undefined },
    actions: [
      "remove-pull-secret a [theirs]",
      "delete a/harbor-pull: project p1 has no robot",
    ],
  },
  {
    name:
      "a namespace moved to another team is rewritten for it; one in no Waldur project is cleared",
    targets: { p2: ["a"] },
    owners: { a: "p2" },
    copies: [copy("a", P), copy("z", P)],
    accounts: { a: sa(["harbor-pull"]) },
    robots: { [P]: robot(P), p2: robot("p2") },
    actions: ["write a (rv-a)", "delete z/harbor-pull: its namespace belongs to no Waldur project"],
  },
  {
    name:
      "a copy in a namespace of another team outside the pass is removed; its own team's is kept",
    owners: { a: "p2", b: P },
    copies: [copy("a", P), copy("b", P)],
    serviceAccount: "",
    robots: { [P]: robot(P), p2: robot("p2") },
    actions: ["delete a/harbor-pull: its namespace belongs to project p2"],
  },
  {
    name: "busy teams are left alone, writes and removals",
    targets: { [P]: ["a", "b"] },
    owners: { a: P, b: P, c: "p2" },
    copies: [copy("b", P, { digest: "d0" }), copy("c", P)],
    robots: { [P]: undefined, p2: undefined },
    busy: [P],
    actions: [],
  },
  {
    name: "a copy of an old name goes, and with it the ServiceAccount's entry",
    targets: { [P]: ["a"] },
    owners: { a: P },
    copies: [copy("a", P), copy("a", P, { name: "old-pull", resourceVersion: "rv-old" })],
    accounts: { a: sa(["old-pull", "harbor-pull"]) },
    robots: { [P]: robot(P) },
    actions: [
      "remove-pull-secret a [harbor-pull]",
      "delete a/old-pull: not named harbor-pull any more",
    ],
  },
  {
    name: "a namespace without the ServiceAccount is said, not made",
    targets: { [P]: ["a"] },
    copies: [copy("a", P)],
    robots: { [P]: robot(P) },
    actions: [],
    team: { current: ["a"] },
  },
];

for (const c of CASES) {
  Deno.test(`pull plan: ${c.name}`, () => {
    const observed: PullObserved = {
      targets: new Map(Object.entries(c.targets ?? {})),
      owners: new Map(Object.entries(c.owners ?? {})),
      copies: c.copies ?? [],
      accounts: new Map(Object.entries(c.accounts ?? {})),
      foreign: new Set(c.foreign ?? []),
    };
    const plan = planPullSecrets(observed, new Map(Object.entries(c.robots ?? {})), {
      offeringUuid: OFFERING,
      secretName: "harbor-pull",
      serviceAccount: c.serviceAccount ?? "default",
      busy: new Set(c.busy ?? []),
    });
    assert.deepEqual(plan.actions.map(brief), c.actions);
    const team = plan.teams[0];
    if (c.team?.current) assert.deepEqual(team?.current, c.team.current);
    if (c.team?.sources) assert.deepEqual(team?.sources, c.team.sources);
    if (c.team?.conflicts) assert.deepEqual(team?.conflicts, c.team.conflicts);
    if (c.team?.digest) assert.equal(team?.digest, c.team.digest);
  });
}

Deno.test("pull plan: a namespace without the ServiceAccount is noted on its team", () => {
  const plan = planPullSecrets(
    {
      targets: new Map([[P, ["a"]]]),
      owners: new Map(),
      copies: [],
      accounts: new Map(),
      foreign: new Set(),
    },
    new Map([[P, robot(P)]]),
    { offeringUuid: OFFERING, secretName: "harbor-pull", serviceAccount: "ci", busy: new Set() },
  );
  assert.deepEqual(plan.teams[0]?.noAccount, ["a"]);
  assert.deepEqual(plan.actions.map(brief), ["write a"]);
});
