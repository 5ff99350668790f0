/**
 * The fake Rancher's v3 project role template bindings: list, create (an existing project and
 * role template, exactly one subject: a user or a group; 409 on a duplicate name), read, update
 * (422 for any change to an immutable field, which all of them are) and delete.
 */
import { Hono } from "hono";
import { json } from "./body.ts";
import { collection, normanError, notFound, originOf } from "./norman.ts";
import type { FakePrtb, Json, RancherState } from "./state.ts";

const SUBJECTS = ["userId", "userPrincipalId", "groupId", "groupPrincipalId"] as const;

/** Stored fields whose JSON value is the stored one (the JSON adds fields, never changes these). */
const PRTB_KEYS = new Set([
  "id",
  "projectId",
  "roleTemplateId",
  "groupPrincipalId",
  "userId",
  "userPrincipalId",
  "groupId",
]);

/** The `/v3/projectroletemplatebindings` paths, to mount at the root. */
export function bindingsApp(state: RancherState): Hono {
  const app = new Hono();
  app.get("/v3/projectroletemplatebindings", (c) =>
    collection(c, [...state.prtbs.values()], {
      stored: PRTB_KEYS,
      toJson: prtbJson,
      defaultLimit: state.defaultLimit,
    }));
  app.post("/v3/projectroletemplatebindings", async (c) => {
    const body = await json(c);
    if (!body) return c.json(normanError(422, "InvalidBodyContent", "body is not JSON"), 422);
    const projectId = typeof body.projectId === "string" ? body.projectId : "";
    const project = state.projects.get(projectId);
    if (!projectId) {
      return c.json(
        normanError(422, "MissingRequired", "projectId is required", "projectId"),
        422,
      );
    }
    if (!project) {
      return c.json(
        normanError(422, "InvalidReference", `project ${projectId} not found`, "projectId"),
        422,
      );
    }
    const role = typeof body.roleTemplateId === "string" ? body.roleTemplateId : "";
    if (!role) {
      return c.json(
        normanError(422, "MissingRequired", "roleTemplateId is required", "roleTemplateId"),
        422,
      );
    }
    if (!state.roleTemplates.has(role)) {
      return c.json(
        normanError(422, "InvalidReference", `roleTemplate ${role} not found`, "roleTemplateId"),
        422,
      );
    }
    const given = SUBJECTS.filter((k) => typeof body[k] === "string" && body[k] !== "");
    if (given.length !== 1) {
      return c.json(
        normanError(
          422,
          "InvalidBodyContent",
          "Binding must target either a user [userId]/[userPrincipalId] OR a group [groupId]/[groupPrincipalId]",
        ),
        422,
      );
    }
    const name = typeof body.name === "string" && body.name ? body.name : `prtb-${state.suffix()}`;
    const b: FakePrtb = {
      id: `${projectId.split(":")[1]}:${name}`,
      projectId,
      roleTemplateId: role,
      groupPrincipalId: null,
      userId: null,
      userPrincipalId: null,
      groupId: null,
    };
    for (const k of SUBJECTS) {
      if (typeof body[k] === "string" && body[k]) b[k] = body[k] as string;
    }
    if (state.prtbs.has(b.id)) {
      return c.json(normanError(409, "AlreadyExists", `${b.id} already exists`), 409);
    }
    state.prtbs.set(b.id, b);
    return c.json(prtbJson(b, originOf(c)), 201);
  });
  app.get("/v3/projectroletemplatebindings/:id", (c) => {
    const b = state.prtbs.get(c.req.param("id"));
    return b
      ? c.json(prtbJson(b, originOf(c)))
      : notFound(c, "projectroletemplatebindings", c.req.param("id"));
  });
  app.put("/v3/projectroletemplatebindings/:id", async (c) => {
    const b = state.prtbs.get(c.req.param("id"));
    if (!b) return notFound(c, "projectroletemplatebindings", c.req.param("id"));
    const body = await json(c) ?? {};
    for (const k of ["projectId", "roleTemplateId", ...SUBJECTS] as const) {
      if (k in body && body[k] !== b[k]) {
        return c.json(normanError(422, "InvalidBodyContent", `${k} is not updatable`, k), 422);
      }
    }
    return c.json(prtbJson(b, originOf(c)));
  });
  app.delete("/v3/projectroletemplatebindings/:id", (c) => {
    const b = state.prtbs.get(c.req.param("id"));
    if (!b) return notFound(c, "projectroletemplatebindings", c.req.param("id"));
    state.prtbs.delete(b.id);
    return c.json(prtbJson(b, originOf(c)));
  });
  return app;
}

function prtbJson(b: FakePrtb, origin: string): Json {
  const self = `${origin}/v3/projectroletemplatebindings/${b.id}`;
  return {
    ...b,
    type: "projectRoleTemplateBinding",
    baseType: "projectRoleTemplateBinding",
    name: b.id.split(":")[1],
    namespaceId: b.id.split(":")[0],
    serviceAccount: "",
    created: "2026-11-01T00:00:00Z",
    links: { self, remove: self },
  };
}
