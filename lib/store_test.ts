import assert from "node:assert/strict";
import { existsSync } from "node:fs";
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

/** The permission bits of `path`. */
function modeOf(path: string): number {
  return (Deno.statSync(path).mode ?? 0) & 0o777;
}

Deno.test("a new state file is private: 0600 in a 0700 directory Berth creates, its -wal 0600 too", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/state/berth/berth.db`;
    using store = Store.open(path);
    store.recordRun({ offering: "r", loop: "orders", startedAt: 1, finishedAt: 2, outcome: "ok" });
    assert.deepEqual(store.warnings, []);
    assert.equal(modeOf(path), 0o600);
    assert.equal(modeOf(`${dir}/state/berth`), 0o700, "the directory Berth made");
    assert.equal(modeOf(`${dir}/state`), 0o700, "and its parent, made on the way");
    const companions = ["-wal", "-shm", "-journal"].filter((s) => existsSync(`${path}${s}`));
    assert.ok(companions.includes("-wal"), "WAL mode keeps a -wal file while open");
    for (const suffix of companions) assert.equal(modeOf(`${path}${suffix}`), 0o600, suffix);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("an existing directory keeps its mode: Berth only sets the mode of what it creates", () => {
  const dir = Deno.makeTempDirSync();
  try {
    Deno.chmodSync(dir, 0o755);
    using store = Store.open(`${dir}/berth.db`);
    assert.deepEqual(store.warnings, []);
    assert.equal(modeOf(dir), 0o755);
    assert.equal(modeOf(`${dir}/berth.db`), 0o600);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("an existing state file others can read is warned about with the chmod to run; SQLite's files next to it stay private", () => {
  const dir = Deno.makeTempDirSync();
  try {
    const path = `${dir}/berth.db`;
    Store.open(path).close();
    Deno.chmodSync(path, 0o644); // as `touch` or a copy under the usual umask leaves it
    using shared = Store.open(path);
    shared.recordRun({ offering: "r", loop: "orders", startedAt: 1, finishedAt: 2, outcome: "ok" });
    assert.equal(shared.warnings.length, 1);
    assert.match(
      shared.warnings[0] ?? "",
      /^state file \S+berth\.db can be read or written by other users \(mode 0644\)/,
    );
    assert.ok(shared.warnings[0]?.endsWith(`run chmod 600 ${path}`), shared.warnings[0]);
    assert.equal(modeOf(path), 0o644, "the operator's file is left as it is");
    // SQLite gives its -wal the database's mode (0644 here); Berth takes the group and other bits off
    assert.equal(modeOf(`${path}-wal`), 0o600);
    shared.close();

    Deno.chmodSync(path, 0o660);
    using writable = Store.open(path);
    assert.match(writable.warnings[0] ?? "", /mode 0660/, "writable by the group is warned too");
    writable.close();

    Deno.chmodSync(path, 0o600);
    using private_ = Store.open(path);
    assert.deepEqual(private_.warnings, []);
  } finally {
    Deno.removeSync(dir, { recursive: true });
  }
});

Deno.test("an in-memory store touches no file", () => {
  using store = Store.open(":memory:");
  assert.deepEqual(store.warnings, []);
  assert.equal(existsSync(":memory:"), false);
});
