import assert from "node:assert/strict";
import { customerMessage, explainRefusal, HttpError, WITHHELD } from "./errors.ts";

function refused(body: string): unknown {
  const error = new HttpError("harbor: POST /api/v2.0/projects: HTTP 403", {
    system: "harbor",
    method: "POST",
    path: "/api/v2.0/projects",
    status: 403,
    bodyExcerpt: body,
  });
  return explainRefusal(error, "create project acme", "harbor", { 403: "the robot lacks it" });
}

Deno.test("a refusal withheld from the customer leaves no 'the server said' stub", () => {
  const message = customerMessage(refused('{"errors":[{"code":"FORBIDDEN"}]}'), false);
  assert.equal(message, "harbor: cannot create project acme: the robot lacks it");
});

Deno.test("a refusal shown to the customer keeps a short excerpt of the server's words", () => {
  const body = `{"errors":[{"code":"FORBIDDEN","message":"${"x".repeat(200)}"}]}`;
  const message = customerMessage(refused(body), true);
  assert.match(
    message,
    /^harbor: cannot create project acme: the robot lacks it; the server said: \{"errors"/,
  );
  assert.ok(message.endsWith("…"));
  assert.ok(message.length < 200);
});

Deno.test("an upstream body inside another message is replaced, not shown, when withheld", () => {
  const error = new HttpError('harbor: GET /x: HTTP 500 {"secret":"internal"}', {
    system: "harbor",
    method: "GET",
    path: "/x",
    status: 500,
    bodyExcerpt: '{"secret":"internal"}',
  });
  assert.equal(customerMessage(error, false), `harbor: GET /x: HTTP 500 ${WITHHELD}`);
});
