import assert from "node:assert/strict";
import { ConditionLog } from "./conditions.ts";
import { createLogger, type Level } from "./log.ts";

function collecting(): { lines: Array<{ level: Level; msg: string }>; log: ConditionLog } {
  const lines: Array<{ level: Level; msg: string }> = [];
  const logger = createLogger({
    level: "debug",
    write: (line, level) => lines.push({ level, msg: String(JSON.parse(line).msg) }),
  });
  return { lines, log: new ConditionLog(logger, { limit: 3 }) };
}

const c = (key: string) => ({ key, appeared: `${key} appeared`, cleared: `${key} cleared` });

Deno.test("a condition seen pass after pass is logged once at warn, and once at info when it clears", () => {
  const { lines, log } = collecting();
  log.report([c("a")]);
  log.report([c("a")]);
  log.report([c("a")]);
  assert.deepEqual(lines, [{ level: "warn", msg: "a appeared" }]);
  log.report([]);
  log.report([]);
  assert.deepEqual(lines, [
    { level: "warn", msg: "a appeared" },
    { level: "info", msg: "a cleared" },
  ]);
  log.report([c("a")]);
  assert.equal(lines.at(-1)?.msg, "a appeared", "a condition that comes back appears again");
});

Deno.test("a pass clears only the conditions it covers", () => {
  const { lines, log } = collecting();
  log.report([c("x/1"), c("y/1")]);
  log.report([], (key) => key.startsWith("x/"));
  assert.deepEqual(lines.map((l) => l.msg), ["x/1 appeared", "y/1 appeared", "x/1 cleared"]);
  assert.deepEqual(log.active(), ["y/1"]);
});

Deno.test("a condition seen outside a pass is logged once and cleared by the next pass", () => {
  const { lines, log } = collecting();
  log.seen(c("a"));
  log.report([c("a")]);
  log.report([]);
  assert.deepEqual(lines.map((l) => l.msg), ["a appeared", "a cleared"]);
});

Deno.test("past its limit the condition log forgets the oldest conditions", () => {
  const { log } = collecting();
  log.report([c("1"), c("2"), c("3"), c("4"), c("5")]);
  assert.deepEqual(log.active(), ["3", "4", "5"]);
});
