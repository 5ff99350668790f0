import assert from "node:assert/strict";
import { createLogger, Redactor } from "./log.ts";

Deno.test("the logger redacts registered secrets and secret-looking keys, in JSON and pretty lines", () => {
  const redactor = new Redactor();
  redactor.add("s3cr3t-token");
  for (const format of ["json", "pretty"] as const) {
    const lines: string[] = [];
    const log = createLogger({ format, redactor, write: (l) => lines.push(l), now: () => 0 });
    log.info("login with s3cr3t-token failed", {
      password: "hunter2",
      nested: { api_token: "abc", note: "x s3cr3t-token y" },
    });
    log.child({ authorization: "Token zzz" }).warn("child");
    const out = lines.join("\n");
    assert.ok(!out.includes("s3cr3t-token"), out);
    assert.ok(!out.includes("hunter2"), out);
    assert.ok(!out.includes("abc"), out);
    assert.ok(!out.includes("zzz"), out);
    assert.match(out, /\[redacted\]/);
  }
});

Deno.test("JSON lines carry time, level, message and fields; levels below the minimum are dropped", () => {
  const lines: string[] = [];
  const log = createLogger({
    level: "info",
    write: (l) => lines.push(l),
    now: () => Date.UTC(2026, 0, 2),
  });
  log.debug("hidden");
  log.info("shown", { offering: "registry" });
  assert.equal(lines.length, 1);
  assert.deepEqual(JSON.parse(lines[0] ?? ""), {
    time: "2026-01-02T00:00:00.000Z",
    level: "info",
    msg: "shown",
    offering: "registry",
  });
});
