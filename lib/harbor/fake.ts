/**
 * A fake Harbor 2.15: a Hono app serving the v2.0 paths Berth uses, the way the real server
 * answers them. Basic auth (401), robot permissions that can be narrowed (403), projects with
 * Harbor's name rule (400) and duplicate check (409), quotas in bytes (−1 unlimited; 0 and
 * other negatives refused, a missing or 0 `storage_limit` replaced by the system default),
 * OIDC user groups (409 on a duplicate), project members, repositories, a delete that
 * answers 412 while repositories remain, system-level robot accounts (Harbor's checks, expiry on
 * the fake's clock, and `canPull`: what the registry would let a robot pull) and users (OIDC
 * `subiss`). Lists page with a default page size of 10 (at most
 * 100), `X-Total-Count` and `Link`. Its methods are the control API tests and the demo use to
 * push images and change things behind Berth's back.
 *
 * This module assembles the server: the request log, the faults and basic auth in front of
 * every path, then one sub-app per API group (`fake/system.ts`, `projects.ts`, `members.ts`,
 * `repositories.ts`, `usergroups.ts`, `quotas.ts`, `robots.ts`, `users.ts`) over the state in
 * `fake/state.ts`.
 */
import type { Hono, MiddlewareHandler } from "hono";
import { fakeApp } from "../fake_app.ts";
import { basicAuth } from "../http.ts";
import { error } from "./fake/api.ts";
import { membersApp } from "./fake/members.ts";
import { projectsApp } from "./fake/projects.ts";
import { quotasApp } from "./fake/quotas.ts";
import { repositoriesApp } from "./fake/repositories.ts";
import { robotsApp } from "./fake/robots.ts";
import { HarborState } from "./fake/state.ts";
import { systemApp } from "./fake/system.ts";
import { usergroupsApp } from "./fake/usergroups.ts";
import { usersApp } from "./fake/users.ts";

/** The fake Harbor server. `app` is a Hono app: serve it, or call `app.request` directly. */
export class FakeHarbor extends HarborState {
  /** The server: every path under `/api/v2.0`. */
  readonly app: Hono = harborApp(this);
}

function harborApp(state: HarborState): Hono {
  const app = fakeApp(state, { basePath: "/api/v2.0", bodies: true });
  app.use("*", robotAuth(state));
  app.route("/", systemApp(state));
  app.route("/", projectsApp(state));
  app.route("/", membersApp(state));
  app.route("/", repositoriesApp(state));
  app.route("/", usergroupsApp(state));
  app.route("/", quotasApp(state));
  app.route("/", robotsApp(state));
  app.route("/", usersApp(state));

  app.notFound((c) => error(c, 404, "NOT_FOUND", "not found"));
  return app;
}

/** The robot's basic auth (401), on every path but the open health, ping and systeminfo. */
function robotAuth(state: HarborState): MiddlewareHandler {
  const open = new Set(["/api/v2.0/health", "/api/v2.0/ping", "/api/v2.0/systeminfo"]);
  return async (c, next) => {
    if (open.has(new URL(c.req.url).pathname)) return await next();
    const header = c.req.header("authorization") ?? "";
    const expected = basicAuth(state.username, state.password);
    if (header !== expected) return error(c, 401, "UNAUTHORIZED", "unauthorized");
    await next();
  };
}

// The robot's permissions and the types of the fake's state and options (`fake/state.ts`).
export {
  ADMIN_PERMISSIONS,
  ALL_PERMISSIONS,
  type FakeAccess,
  type FakeGroup,
  type FakeHarborOptions,
  type FakeMember,
  type FakeProject,
  type FakeRepository,
  type FakeRobot,
  type FakeRobotPermission,
  type FakeUser,
  type HarborPermission,
  type RobotRefusal,
} from "./fake/state.ts";
