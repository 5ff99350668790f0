/**
 * A fake Keycloak 26: realms with users and a group tree, the OpenID token endpoint (password,
 * client-credentials and refresh grants) issuing short-lived tokens so refresh is exercised,
 * and the admin paths Berth uses, answering as Keycloak does: 401 for a missing or expired
 * token, 409 for a duplicate group name, 201 with `Location` on create, 204 on membership
 * changes, `first`/`max` paging (children and members are never inlined).
 *
 * This module assembles the server: the request log and the faults in front of every path,
 * the token endpoint (`fake/token.ts`), and the admin API under `/admin/realms` behind its
 * bearer-token check: the realm itself, `fake/groups.ts` and `fake/users.ts` (sharing
 * `fake/admin.ts`), over the state in `fake/state.ts`.
 */
import { Hono, type MiddlewareHandler } from "hono";
import { fakeApp } from "../fake_app.ts";
import { noRealm, realmOf } from "./fake/admin.ts";
import { groupsApp } from "./fake/groups.ts";
import { KeycloakState } from "./fake/state.ts";
import { tokenApp } from "./fake/token.ts";
import { usersApp } from "./fake/users.ts";

/** The fake Keycloak server. */
export class FakeKeycloak extends KeycloakState {
  /** The server: the token endpoint and the admin API. */
  readonly app: Hono = keycloakApp(this);
}

function keycloakApp(state: KeycloakState): Hono {
  const app = fakeApp(state);
  app.route("/", tokenApp(state));

  const admin = new Hono();
  admin.use("*", bearerAuth(state));
  admin.get("/:realm", (c) => {
    const realm = realmOf(state, c);
    return realm
      ? c.json({ id: c.req.param("realm"), realm: c.req.param("realm"), enabled: true })
      : noRealm(c);
  });
  admin.route("/", groupsApp(state));
  admin.route("/", usersApp(state));

  app.route("/admin/realms", admin);
  app.notFound((c) => c.json({ error: "Unable to find matching target resource method" }, 404));
  return app;
}

/** The admin API's bearer token check: 401 for a token not issued or expired. */
function bearerAuth(state: KeycloakState): MiddlewareHandler {
  return async (c, next) => {
    const auth = c.req.header("authorization") ?? "";
    if (!state.accessTokenActive(auth.replace(/^Bearer /, ""))) {
      return c.json({ error: "HTTP 401 Unauthorized" }, 401);
    }
    await next();
  };
}

// The types of the fake's state and options (`fake/state.ts`), for tests and the demo.
export type { FakeKcGroup, FakeKcUser, FakeKeycloakOptions } from "./fake/state.ts";
