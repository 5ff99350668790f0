import assert from "node:assert/strict";
import { ManualClock } from "../testing/manual_clock.ts";
import { ATTENTION_KINDS, type AttentionEntry } from "./attention.ts";
import { attentionKeep } from "./attention_store.ts";
import type { BreakerStatus } from "./breaker.ts";
import { publishRefusals } from "./processor.ts";
import { StatusRecord } from "./status.ts";
import { Store } from "./store.ts";

const OFFERINGS = [
  { name: "registry", backendType: "harbor", offeringUuid: "o1" },
  { name: "k8s", backendType: "rancher", offeringUuid: "o2" },
];

function record(clock: ManualClock, store?: Store): StatusRecord {
  const status = new StatusRecord({
    version: "test",
    configPath: "c.yaml",
    offerings: OFFERINGS,
    now: () => clock.now(),
    monotonic: () => clock.monotonic(),
  });
  if (store) status.attention.persistIn(attentionKeep(store));
  status.addLoop("registry", "orders", 60_000);
  status.addLoop("registry", "membership", 300_000);
  status.addLoop("k8s", "orders", 60_000);
  status.addLoop("k8s", "membership", 300_000);
  return status;
}

function breaker(state: BreakerStatus["state"], since: number): BreakerStatus {
  return {
    system: "keycloak",
    target: "https://sso.example.com",
    state,
    failures: state === "closed" ? 0 : 5,
    opens: 1,
    since,
    retryAt: null,
    lastError: "connection refused",
  };
}

const conflict = {
  username: "alice",
  projects: ["p1"],
  harborUserId: 7,
  harbor: "old-sub",
  keycloak: "new-sub",
};

/** Publishes the two offerings' snapshots: groups with `missing`, identity conflicts. */
function publish(status: StatusRecord, at: number, missing: string[], conflicts: boolean): void {
  status.publish("registry", {
    kind: "harbor",
    at,
    rows: [],
    tables: { identities: conflicts ? [conflict] : [] },
  });
  status.publish("k8s", {
    kind: "rancher",
    at,
    rows: [],
    groups: [{ path: "/c/p1", members: 1, added: [], removed: [], missing, error: "" }],
  });
}

const REFUSAL = {
  offering: "registry",
  resource: "res-1",
  resourceName: "one",
  order: "ord-t",
  message: "Harbor project waldur-one still holds 3 repositories; it was not deleted",
  at: Date.UTC(2026, 10, 15, 12, 0, 0) - 1_000,
};

/** Every condition at once: a loop failing, one late, a circuit open, a refusal, and the rest. */
function raiseAll(status: StatusRecord, clock: ManualClock): void {
  status.loopStarted("registry", "orders");
  status.loopFinished("registry", "orders", "failed", "Harbor: HTTP 401 unauthorized", 60_000);
  status.loopStarted("registry", "membership");
  status.loopFinished("registry", "membership", "ok", "", 300_000);
  status.loopStarted("k8s", "membership");
  status.loopFinished("k8s", "membership", "ok", "", 300_000);
  status.breaker(breaker("open", clock.now() - 5_000));
  status.refused("registry", [{ ...REFUSAL, at: clock.now() - 1_000 }]);
  publish(status, clock.now(), ["ghost"], true);
  status.attention.orderErred({
    offering: "registry",
    uuid: "ord-1",
    type: "Create",
    resource: "res-2",
    resourceName: "two",
    message: "ensure failed",
  });
  status.attention.resourcesListed(
    "k8s",
    [{ uuid: "res-3", name: "three", state: "Erred" }],
    false,
    new Map(),
  );
  // k8s/orders never ran: a minute and more past its start, it is late
  clock.advance(61_000);
}

function byKind(status: StatusRecord): Map<string, AttentionEntry> {
  return new Map(status.snapshot().attention.map((e) => [e.kind, e]));
}

Deno.test("each kind of attention entry says what happened, since when, what to do and where its row is", () => {
  const clock = new ManualClock({ autoAdvance: false });
  const status = record(clock);
  const start = clock.now();
  raiseAll(status, clock);
  const entries = byKind(status);
  assert.deepEqual([...entries.keys()].sort(), [...ATTENTION_KINDS].sort());
  for (const e of entries.values()) {
    assert.ok(e.what.length > 10, `${e.kind}: what`);
    assert.ok(e.action.length > 20, `${e.kind}: action`);
    // a row of the page, or (erred orders and resources: a resource may have no row) its page
    assert.match(
      e.link,
      /^((\?q=[^#]+)?#[A-Za-z0-9_.-]+|\/resources\/[A-Za-z0-9%._-]+)$/,
      `${e.kind}: link`,
    );
    assert.ok(e.since >= start - 5_000 && e.since <= clock.now(), `${e.kind}: since`);
  }
  assert.match(entries.get("loop-failing")?.what ?? "", /HTTP 401 unauthorized/);
  assert.equal(entries.get("loop-failing")?.link, "#loop-registry.2f.orders");
  assert.equal(entries.get("circuit-open")?.since, start - 5_000, "since the circuit opened");
  assert.equal(entries.get("order-erred")?.link, "/resources/res-2");
  assert.match(entries.get("order-erred")?.action ?? "", /ord-1\/set_state_executing/);
  assert.match(entries.get("identity-conflict")?.action ?? "", /berth repair-oidc-user alice/);
  assert.equal(entries.get("loop-late")?.link, "#loop-k8s.2f.orders");
  assert.match(entries.get("keycloak-user-missing")?.what ?? "", /ghost/);
  const summary = status.snapshot().summary;
  assert.deepEqual(summary.upstreams, { closed: 0, halfOpen: 0, open: 1 });
  assert.equal(summary.orders.erred, 1);
  assert.equal(summary.resources.erred, 1);
  assert.deepEqual(summary.groups, {
    total: 1,
    inSync: 0,
    missingUsers: 1,
    failed: 0,
    conflicts: 1,
  });
  assert.equal(summary.loops.late, 1);
});

Deno.test("an attention entry goes when its condition clears", () => {
  const clock = new ManualClock({ autoAdvance: false });
  const status = record(clock);
  raiseAll(status, clock);
  assert.equal(status.snapshot().attention.length, ATTENTION_KINDS.length);
  status.loopStarted("registry", "orders");
  status.loopFinished("registry", "orders", "ok", "", 60_000);
  status.loopStarted("k8s", "orders");
  status.loopFinished("k8s", "orders", "ok", "", 60_000);
  status.breaker(breaker("closed", clock.now()));
  status.refused("registry", []);
  publish(status, clock.now(), [], false);
  status.attention.orderDone("ord-x", "registry", "res-2", false);
  status.attention.resourcesListed(
    "k8s",
    [{ uuid: "res-3", name: "three", state: "OK" }],
    false,
    new Map(),
  );
  assert.deepEqual(status.snapshot().attention, []);
  assert.equal(status.snapshot().lastSync.registry?.["res-2"], clock.now(), "the order synced it");
});

Deno.test("a whole membership pass that no longer lists a resource clears its entries; a scoped one does not", () => {
  const clock = new ManualClock({ autoAdvance: false });
  const status = record(clock);
  status.attention.orderErred({
    offering: "k8s",
    uuid: "ord-9",
    type: "Update",
    resource: "res-9",
    resourceName: "nine",
    message: "quota refused",
  });
  status.attention.resourcesListed(
    "k8s",
    [{ uuid: "res-9", name: "nine", state: "Erred" }],
    true,
    new Map(),
  );
  status.attention.resourcesListed("k8s", [], false, new Map());
  assert.equal(status.snapshot().attention.length, 2, "a scoped pass saw nothing of it");
  status.attention.resourcesListed("k8s", [], true, new Map());
  assert.deepEqual(status.snapshot().attention, [], "terminated: nothing left to do");
});

Deno.test("an entry keeps its first since while the condition stays, pass after pass", () => {
  const clock = new ManualClock({ autoAdvance: false });
  const status = record(clock);
  status.loopStarted("registry", "orders");
  status.loopFinished("registry", "orders", "failed", "HTTP 503", 60_000);
  const first = status.snapshot().attention[0];
  assert.equal(first?.since, clock.now());
  clock.advance(60_000);
  status.loopStarted("registry", "orders");
  status.loopFinished("registry", "orders", "partial", "HTTP 422 on one", 60_000);
  const again = status.snapshot().attention[0];
  assert.equal(again?.key, first?.key);
  assert.equal(again?.since, first?.since, "since stays");
  assert.match(again?.what ?? "", /HTTP 422 on one/, "what says what happens now");
});

Deno.test("attention entries and last syncs survive a restart in the state file, until their source is seen again", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/berth.db`;
    const clock = new ManualClock({ autoAdvance: false });
    const before = (() => {
      using store = Store.open(path);
      const status = record(clock, store);
      raiseAll(status, clock);
      store.saveRefusal({ ...REFUSAL, resourceUuid: REFUSAL.resource, orderUuid: REFUSAL.order });
      status.attention.synced("k8s", ["res-4"]);
      return status.snapshot();
    })();
    assert.equal(before.attention.length, ATTENTION_KINDS.length);
    clock.advance(3_600_000);
    using store = Store.open(path);
    const status = record(clock, store);
    publishRefusals({ store, status }, "registry"); // as the agent does when it starts
    // nothing ran since the restart: no circuit known, no snapshot, no pass; all still there
    const after = status.snapshot();
    assert.deepEqual(
      after.attention.map((e) => [e.key, e.since, e.what]).sort(),
      before.attention.map((e) => [e.key, e.since, e.what]).sort(),
    );
    assert.equal(after.lastSync.k8s?.["res-4"], before.lastSync.k8s?.["res-4"]);
    // the registry's orders loop runs fine, the rest is not seen yet: only its entry goes
    status.loopStarted("registry", "orders");
    status.loopFinished("registry", "orders", "ok", "", 60_000);
    const kinds = status.snapshot().attention.map((e) => e.kind);
    assert.ok(!kinds.includes("loop-failing"));
    assert.ok(kinds.includes("circuit-open") && kinds.includes("keycloak-user-missing"));
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("an erred order that names no resource goes when that order is done", () => {
  const clock = new ManualClock({ autoAdvance: false });
  const status = record(clock);
  const erred = {
    offering: "k8s",
    uuid: "ord-7",
    type: "Update",
    resource: "",
    resourceName: "",
    message: "order ord-7 names no resource",
  };
  status.attention.orderErred(erred);
  const [entry] = status.snapshot().attention;
  assert.equal(entry?.link, "#n-order-erred.3a.k8s.3a.ord-7", "its own entry, no row to go to");
  status.attention.orderDone("ord-8", "k8s", "", false);
  assert.equal(status.snapshot().attention.length, 1, "another order says nothing of it");
  status.attention.orderDone("ord-7", "k8s", "", false);
  assert.deepEqual(status.snapshot().attention, []);
});

Deno.test("a pass's attention entry reaches the state file at the end of the pass, with no page read", () => {
  using store = Store.open(":memory:");
  const clock = new ManualClock({ autoAdvance: false });
  const first = record(clock, store);
  first.loopStarted("k8s", "orders");
  first.loopFinished("k8s", "orders", "failed", "Rancher: HTTP 401", 60_000);
  const since = clock.now();
  clock.advance(60_000);
  const restarted = record(clock, store);
  const [entry] = restarted.snapshot().attention;
  assert.equal(entry?.key, "loop-failing:k8s:orders");
  assert.equal(entry?.since, since);
});

Deno.test("a user missing in Keycloak is attended from the pass that saw it, not from the first page read", () => {
  using store = Store.open(":memory:");
  const clock = new ManualClock({ autoAdvance: false });
  const status = record(clock, store);
  status.publish("k8s", {
    kind: "rancher",
    at: clock.now(),
    rows: [],
    groups: [{
      path: "/c_1/project_x",
      members: 1,
      added: [],
      removed: [],
      missing: ["frank"],
      error: "",
    }],
  });
  status.loopStarted("k8s", "membership");
  status.loopFinished("k8s", "membership", "ok", "", 300_000);
  const seen = clock.now();
  clock.advance(180_000); // nobody reads the page for three minutes
  const entry = status.snapshot().attention.find((e) => e.kind === "keycloak-user-missing");
  assert.equal(entry?.since, seen, "since the pass that saw it");
  // and the state file had it before anyone looked: a restart keeps that time
  const restarted = record(clock, store);
  const kept = restarted.snapshot().attention.find((e) => e.kind === "keycloak-user-missing");
  assert.equal(kept?.since, seen);
});

Deno.test("a whole membership pass forgets the last sync of resources it no longer lists; a scoped one keeps it", () => {
  using store = Store.open(":memory:");
  const clock = new ManualClock({ autoAdvance: false });
  const status = record(clock, store);
  status.attention.synced("k8s", ["kept", "gone"]);
  const listed = [{ uuid: "kept", name: "kept", state: "OK" }];
  status.attention.resourcesListed("k8s", listed, false, new Map());
  assert.deepEqual(Object.keys(status.snapshot().lastSync.k8s ?? {}).sort(), ["gone", "kept"]);
  status.attention.resourcesListed("k8s", listed, true, new Map());
  assert.deepEqual(Object.keys(status.snapshot().lastSync.k8s ?? {}), ["kept"]);
  // and the state file forgot it too
  assert.deepEqual(Object.keys(record(clock, store).snapshot().lastSync.k8s ?? {}), ["kept"]);
});

Deno.test("an entry quotes a 10 KB name cut to 120 characters", () => {
  const clock = new ManualClock({ autoAdvance: false });
  const status = record(clock);
  const long = "n".repeat(10_240);
  status.attention.resourcesListed(
    "k8s",
    [{ uuid: "res-long", name: long, state: "Erred" }],
    false,
    new Map(),
  );
  const entry = status.snapshot().attention.find((e) => e.kind === "resource-erred");
  assert.ok(entry && entry.what.length < 200, `${entry?.what.length} characters`);
  assert.match(entry?.what ?? "", /^Waldur resource n{119}… is Erred$/);
});
