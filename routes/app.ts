/**
 * The agent's HTTP app: probes and `/api/status`. It reads the status record and nothing else.
 */
import { Hono } from "hono";
import type { StatusRecord } from "../lib/status.ts";
import { livenessProblems, readinessProblems } from "./probes.ts";

/** Options of {@link createApp}. */
export interface AppOptions {
  status: StatusRecord;
  now: () => number;
}

/** Builds the Hono app. */
export function createApp(options: AppOptions): Hono {
  const app = new Hono();
  app.use("*", async (c, next) => {
    await next();
    c.header("x-content-type-options", "nosniff");
    c.header("cache-control", "no-store");
  });
  app.get("/healthz", (c) => {
    const problems = livenessProblems(options.status.loops(), options.now());
    return c.json({ ok: problems.length === 0, problems }, problems.length === 0 ? 200 : 503);
  });
  app.get("/readyz", (c) => {
    const problems = readinessProblems(options.status.loops());
    return c.json({ ok: problems.length === 0, problems }, problems.length === 0 ? 200 : 503);
  });
  app.get("/api/status", (c) => c.json(options.status.snapshot()));
  return app;
}
