import assert from "node:assert/strict";
import { BerthError } from "./errors.ts";
import { Store } from "./store.ts";

Deno.test("the store keeps the order journal, usage reports and audit across reopen", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/berth.db`;
    using a = Store.open(path);
    a.saveOrder({
      orderUuid: "o1",
      offering: "r",
      type: "Create",
      attempts: 2,
      lastError: "HTTP 503",
      nextAttemptAt: 99,
      finalState: "",
      updatedAt: 1,
    });
    a.saveUsage("res", "2026-11-01", { storage: "1.50" }, 5);
    a.audit({
      at: 1,
      offering: "r",
      system: "harbor",
      action: "create project",
      target: "waldur-x",
      result: "ok",
    });
    a.recordRun({ offering: "r", loop: "orders", startedAt: 1, finishedAt: 2, outcome: "ok" });
    a.close();
    using b = Store.open(path);
    assert.equal(b.order("o1")?.attempts, 2);
    assert.deepEqual(b.lastUsage("res", "2026-11-01"), { storage: "1.50" });
    assert.equal(b.recentAudit()[0]?.target, "waldur-x");
    assert.equal(b.lastRun("r", "orders")?.outcome, "ok");
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a second agent on the same state file gets a clear 'locked' error", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/berth.db`;
    using first = Store.open(path);
    assert.throws(
      () => Store.open(path),
      (e) => e instanceof BerthError && /locked: another Berth process is using it/.test(e.message),
    );
    first.close();
    Store.open(path).close();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("a corrupt state file gives a clear error, not a stack trace", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/berth.db`;
    Deno.writeTextFileSync(path, "this is not sqlite ".repeat(200));
    assert.throws(
      () => Store.open(path),
      (e) => e instanceof BerthError && /not a valid SQLite database/.test(e.message),
    );
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("disposing a store closes it (the lock is released); disposing or closing again is safe", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/berth.db`;
    {
      using store = Store.open(path);
      store.recordRun({
        offering: "r",
        loop: "orders",
        startedAt: 1,
        finishedAt: 2,
        outcome: "ok",
      });
    }
    using again = Store.open(path); // the exclusive lock went with the disposed store
    assert.equal(again.lastRun("r", "orders")?.outcome, "ok");
    again[Symbol.dispose]();
    assert.throws(() => again.lastRun("r", "orders"), "a disposed store is closed");
    again[Symbol.dispose]();
    again.close();
    Store.open(path)[Symbol.dispose]();
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});
