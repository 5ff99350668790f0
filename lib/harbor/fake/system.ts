/**
 * The fake Harbor's system paths: `/health`, `/ping` and `/systeminfo` (open, no auth) and
 * `/users/current/permissions` (the robot's system-level permissions).
 */
import { Hono } from "hono";
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
