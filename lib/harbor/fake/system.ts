/**
 * The fake Harbor's system paths: `/health`, `/ping` and `/systeminfo` (open, no auth; no robot
 * name prefix there, as in Harbor), `/users/current/permissions` (the robot's system-level
 * permissions) and `/configurations` (the robot name prefix; admin-only: 403 to a robot).
 */
import { Hono } from "hono";
import { need } from "./api.ts";
import type { HarborState } from "./state.ts";

/** The system paths, to mount on the `/api/v2.0` app. */
export function systemApp(state: HarborState): Hono {
  const app = new Hono();
  app.get("/health", (c) =>
    c.json({
      status: "healthy",
      components: ["core", "database", "jobservice", "portal", "redis", "registry"].map((
        name,
      ) => ({ name, status: "healthy" })),
    }));
  app.get("/ping", (c) => c.text("Pong"));
  app.get(
    "/systeminfo",
    (c) => c.json({ harbor_version: "v2.15.2-fake", auth_mode: "oidc_auth", with_notary: false }),
  );

  app.get("/configurations", need(state, "configuration:read"), (c) =>
    c.json({
      auth_mode: { value: "oidc_auth", editable: false },
      robot_name_prefix: { value: state.robotPrefix, editable: true },
    }));

  app.get("/users/current/permissions", (c) => {
    const scope = c.req.query("scope") ?? "";
    if (scope !== "" && scope !== "/system") return c.json([]);
    return c.json(
      state.granted().map((p) => {
        const [resource, action] = p.split(":");
        return { resource, action };
      }),
    );
  });
  return app;
}
