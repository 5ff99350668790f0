import assert from "node:assert/strict";
import { projectNameProblem } from "./schemas.ts";

Deno.test("Harbor's project-name rule", () => {
  for (const ok of ["a", "waldur-team-1", "a.b_c-d", "x".repeat(255)]) {
    assert.equal(projectNameProblem(ok), undefined, ok);
  }
  for (const bad of ["", "A", "-a", "a-", "a--b", "a b", "ä", "x".repeat(256)]) {
    assert.ok(projectNameProblem(bad), bad);
  }
});
