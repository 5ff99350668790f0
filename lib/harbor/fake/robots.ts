/**
 * The fake Harbor's `/robots` paths, system-level robots as Harbor 2.15 keeps them: list
 * (`q=name=` exact or `~` fuzzy, on the name without the prefix), create (the name rule, a
 * duration of −1 or more days, permissions Harbor lets a robot hold, no access the creating robot
 * lacks itself (403), 409 on a taken name, 404 on an unknown project; the secret generated, only
 * in the answer), read, update (the whole robot; name and level unchanged; a new duration counts
 * from creation), refresh the secret (generated, or set and not echoed) and delete.
 */
import { type Context, Hono } from "hono";
import { error, harborQuery, json, matches, need, page } from "./api.ts";
import {
  type FakeAccess,
  type FakeRobot,
  type FakeRobotPermission,
  type HarborState,
  robotExpiry,
  robotSecret,
} from "./state.ts";

const NAME = /^[a-z0-9]+(?:[._-][a-z0-9]+)*$/;

/**
 * What Harbor lets a robot hold (`rbac.GetPermissionProvider`, the part the fake knows): no
 * `robot update` since 2.12, no `configuration` ever.
 */
const GRANTABLE: Record<"system" | "project", ReadonlySet<string>> = {
  system: new Set([
    "audit-log:list",
    "project:list",
    "project:create",
    "quota:read",
    "quota:list",
    "quota:update",
    ...["create", "read", "list", "delete"].map((a) => `robot:${a}`),
    ...["create", "read", "update", "list", "delete"].map((a) => `user:${a}`),
    ...["create", "read", "update", "list", "delete"].map((a) => `user-group:${a}`),
  ]),
  project: new Set([
    "project:read",
    "project:update",
    "project:delete",
    ...["read", "update", "delete", "list", "pull", "push"].map((a) => `repository:${a}`),
    ...["read", "create", "list", "delete"].map((a) => `artifact:${a}`),
    ...["create", "list", "delete"].map((a) => `tag:${a}`),
    ...["create", "read", "update", "list", "delete"].map((a) => `member:${a}`),
    ...["create", "read", "list", "delete"].map((a) => `robot:${a}`),
    "quota:read",
  ]),
};

/** The robot paths, to mount on the `/api/v2.0` app. */
export function robotsApp(state: HarborState): Hono {
  const app = new Hono();
  const bad = (c: Context, message: string) => error(c, 400, "BAD_REQUEST", message);
  const find = (c: Context) => state.robots.get(Number(c.req.param("robot_id")));
  const notFound = (c: Context) =>
    error(c, 404, "NOT_FOUND", `robot ${c.req.param("robot_id")} not found`);

  app.get("/robots", need(state, "robot:list"), (c) => {
    const clauses = harborQuery(c, ["name", "Level"]);
    if (typeof clauses === "string") return bad(c, clauses);
    let list = [...state.robots.values()];
    for (const clause of clauses) {
      if (clause.key === "name") list = list.filter((r) => matches(clause, r.name));
      else if (clause.value !== "system") list = [];
    }
    return page(c, list.map((r) => robotJson(state, r)));
  });

  app.post("/robots", need(state, "robot:create"), async (c) => {
    const body = await json(c);
    const name = body?.name;
    if (typeof name !== "string" || !NAME.test(name)) {
      return bad(c, "robot name is not in lower case or contains illegal characters");
    }
    const checked = checkRobot(body ?? {}, 0);
    if (typeof checked === "string") return bad(c, checked);
    const held = new Set(state.granted());
    const missing = checked.access.find((a) => !held.has(a));
    if (missing) {
      return error(
        c,
        403,
        "DENIED",
        "permission scope is invalid. It must be equal to or more restrictive than the " +
          `creator robot's permissions: ${state.username} (${missing})`,
      );
    }
    if (state.robotNamed(name)) {
      return error(c, 409, "CONFLICT", `robot account 0:${name} already exists`);
    }
    const permissions = resolve(state, checked.permissions);
    if (typeof permissions === "string") return error(c, 404, "NOT_FOUND", permissions);
    // Harbor 2.15 ignores a `secret` in the body: it always generates one.
    const r = state.addRobot({
      name,
      duration: checked.duration,
      permissions,
      description: typeof body?.description === "string" ? body.description : "",
    });
    c.header("location", `/api/v2.0/robots/${r.id}`);
    return c.json({
      id: r.id,
      name: state.robotPrefix + r.name,
      secret: r.secret,
      creation_time: new Date(r.created).toISOString(),
      expires_at: r.expiresAt,
    }, 201);
  });

  app.get("/robots/:robot_id", need(state, "robot:read"), (c) => {
    const r = find(c);
    return r ? c.json(robotJson(state, r)) : notFound(c);
  });

  app.put("/robots/:robot_id", need(state, "robot:update"), async (c) => {
    const r = find(c);
    if (!r) return notFound(c);
    const body = await json(c) ?? {};
    const checked = checkRobot(body, r.duration);
    if (typeof checked === "string") return bad(c, checked);
    if (body.level !== "system" || body.name !== state.robotPrefix + r.name) {
      return bad(c, "cannot update the level or name of robot");
    }
    const permissions = resolve(state, checked.permissions);
    if (typeof permissions === "string") return error(c, 404, "NOT_FOUND", permissions);
    if (checked.duration !== r.duration) {
      r.duration = checked.duration;
      r.expiresAt = robotExpiry(r.created, r.duration);
    }
    // Go's zero values: a field left out clears the description and enables the robot.
    r.description = typeof body.description === "string" ? body.description : "";
    r.disable = body.disable === true;
    r.permissions = permissions;
    r.updated = state.now();
    return c.body(null, 200);
  });

  app.patch("/robots/:robot_id", need(state, "robot:update"), async (c) => {
    const r = find(c);
    if (!r) return notFound(c);
    const given = (await json(c))?.secret;
    if (typeof given === "string" && given !== "") {
      if (!/^(?=.*[a-z])(?=.*[A-Z])(?=.*[0-9]).{8,128}$/.test(given)) {
        return bad(
          c,
          "the secret must be 8-128, inclusively, characters long with at least 1 uppercase " +
            "letter, 1 lowercase letter and 1 number",
        );
      }
      r.secret = given;
      r.updated = state.now();
      return c.json({});
    }
    r.secret = robotSecret();
    r.updated = state.now();
    return c.json({ secret: r.secret });
  });

  app.delete("/robots/:robot_id", need(state, "robot:delete"), (c) => {
    const r = find(c);
    if (!r) return notFound(c);
    state.robots.delete(r.id);
    return c.body(null, 200);
  });
  return app;
}

/** A permission of a request body before its namespace is resolved. */
interface BodyPermission {
  kind: "system" | "project";
  namespace: string;
  access: FakeAccess[];
}

/**
 * Harbor's checks of a create or update body (400s): duration (absent: `current`), level,
 * permissions, and every access one a robot may hold. Gives the permissions and every access as
 * `resource:action`.
 */
function checkRobot(
  body: Record<string, unknown>,
  current: number,
): { duration: number; permissions: BodyPermission[]; access: string[] } | string {
  const duration = body.duration ?? current;
  if (!Number.isInteger(duration) || (duration !== -1 && (duration as number) <= 0)) {
    return `bad request error duration input: ${String(duration)}, duration must be either ` +
      "-1(Never) or a positive integer";
  }
  if (body.level !== "system") {
    return body.level === "project"
      ? "the fake serves system-level robots only"
      : `bad request error level input: ${String(body.level)}`;
  }
  const raw = Array.isArray(body.permissions) ? body.permissions : [];
  if (raw.length === 0) return "bad request empty permission";
  const permissions: BodyPermission[] = [];
  const access: string[] = [];
  for (const p of raw as Record<string, unknown>[]) {
    const accesses = Array.isArray(p?.access) ? p.access as Record<string, unknown>[] : [];
    if (accesses.length === 0) return "bad request empty access";
    const kind = p.kind;
    if (kind !== "system" && kind !== "project") return `bad request permission level: ${kind}`;
    if (typeof p.namespace !== "string") return "bad request permission namespace";
    for (const a of accesses) {
      const key = `${a?.resource}:${a?.action}`;
      if (!GRANTABLE[kind].has(key)) return `bad request permission: ${key}`;
      access.push(key);
    }
    permissions.push({
      kind,
      namespace: p.namespace,
      access: accesses.map((a) => ({
        resource: String(a.resource),
        action: String(a.action),
        ...(typeof a.effect === "string" ? { effect: a.effect } : {}),
      })),
    });
  }
  return { duration: duration as number, permissions, access };
}

/** The namespaces as Harbor stores them (project ids); a string names what is missing. */
function resolve(
  state: HarborState,
  permissions: BodyPermission[],
): FakeRobotPermission[] | string {
  const out: FakeRobotPermission[] = [];
  for (const p of permissions) {
    if (p.kind === "system") {
      if (p.namespace !== "/") return "unknown namespace";
      out.push({ kind: "system", namespace: "/", access: p.access });
    } else if (p.namespace === "*") {
      out.push({ kind: "project", namespace: "*", access: p.access });
    } else {
      const project = state.project(p.namespace);
      if (!project) return `project ${p.namespace} not found`;
      out.push({ kind: "project", namespace: project.id, access: p.access });
    }
  }
  return out;
}

/** A robot as Harbor shows it: the prefixed name, no secret, permissions on live projects only. */
function robotJson(state: HarborState, r: FakeRobot) {
  const permissions = r.permissions.flatMap((p) => {
    const name = typeof p.namespace === "number"
      ? state.projects.get(p.namespace)?.name
      : p.namespace;
    return name === undefined ? [] : [{ kind: p.kind, namespace: name, access: p.access }];
  });
  return {
    id: r.id,
    name: state.robotPrefix + r.name,
    description: r.description,
    level: "system",
    duration: r.duration,
    editable: true,
    disable: r.disable,
    expires_at: r.expiresAt,
    permissions,
    creator_type: "robot",
    creator_ref: 0,
    creation_time: new Date(r.created).toISOString(),
    update_time: new Date(r.updated).toISOString(),
  };
}
