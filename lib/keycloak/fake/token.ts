/**
 * The fake Keycloak's OpenID token endpoint, `/realms/{realm}/protocol/openid-connect/token`:
 * the password grant (admin-cli only), client credentials and refresh; a bad client or
 * credentials 401, an inactive refresh token 400.
 */
import { Hono } from "hono";
import type { KeycloakState } from "./state.ts";

/** The token endpoint, to mount at the root. */
export function tokenApp(state: KeycloakState): Hono {
  const app = new Hono();
  app.post("/realms/:realm/protocol/openid-connect/token", async (c) => {
    const realmName = c.req.param("realm");
    const realm = state.realms.get(realmName);
    if (!realm) return c.json({ error: "Realm does not exist" }, 404);
    const form = await c.req.parseBody();
    const field = (k: string) => (typeof form[k] === "string" ? form[k] as string : "");
    const type = field("grant_type");
    let user = "";
    if (type === "password") {
      if (field("client_id") !== "admin-cli") {
        return c.json({ error: "unauthorized_client", error_description: "Invalid client" }, 401);
      }
      if (realm.passwords.get(field("username")) !== field("password")) {
        return c.json(
          { error: "invalid_grant", error_description: "Invalid user credentials" },
          401,
        );
      }
      user = field("username");
    } else if (type === "client_credentials") {
      if (realm.clients.get(field("client_id")) !== field("client_secret")) {
        return c.json({
          error: "unauthorized_client",
          error_description: "Invalid client or Invalid client credentials",
        }, 401);
      }
      user = `service-account-${field("client_id")}`;
    } else if (type === "refresh_token") {
      const holder = state.refreshTokenUser(realmName, field("refresh_token"));
      if (holder === undefined) {
        return c.json({ error: "invalid_grant", error_description: "Token is not active" }, 400);
      }
      user = holder;
    } else {
      return c.json({ error: "unsupported_grant_type" }, 400);
    }
    return c.json(state.issueToken(realmName, user, type));
  });
  return app;
}
