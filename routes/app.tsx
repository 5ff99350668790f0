/**
 * The agent's HTTP app: the status page, `/api/status`, `/metrics` and the probes. It reads the
 * status record and nothing else.
 */
import { Hono } from "hono";
import { secureHeaders } from "hono/secure-headers";
import type { StatusRecord } from "../lib/status.ts";
import { SCRIPT, STYLE } from "./assets.ts";
import { requireToken } from "./auth.ts";
import { METRICS_CONTENT_TYPE, renderMetrics } from "./metrics.ts";
import { StatusPage } from "./page.tsx";
import type { RowHistory } from "./page/history.tsx";
import { historyRoutes } from "./resource.tsx";
import type { PageQuery } from "./page/parts.tsx";
import { livenessProblems, readinessProblems } from "./probes.ts";
import { MAX_PAGE_SIZE, PAGE_SIZE } from "./view.ts";

/** Options of {@link createApp}. */
export interface AppOptions {
  status: StatusRecord;
  /** `status.token`: when set, everything but the probes needs it. */
  token?: string;
  /** The runtime's version, for `berth_build_info`. */
  deno?: string;
}

function intParam(value: string | undefined, fallback: number, min: number, max: number): number {
  const n = Number.parseInt(value ?? "", 10);
  return Number.isFinite(n) ? Math.min(Math.max(n, min), max) : fallback;
}

/** The page's query from the URL: `q`, `n` (rows per page), `p.<table>`, `refresh`. */
export function pageQuery(url: URL): PageQuery {
  const pages: Record<string, number> = {};
  for (const [key, value] of url.searchParams) {
    if (/^p\.[a-z]\d{1,3}$/.test(key)) pages[key.slice(2)] = intParam(value, 1, 1, 1e9);
  }
  return {
    q: (url.searchParams.get("q") ?? "").slice(0, 200),
    size: intParam(url.searchParams.get("n") ?? undefined, PAGE_SIZE, 1, MAX_PAGE_SIZE),
    pages,
    refreshSeconds: intParam(url.searchParams.get("refresh") ?? undefined, 5, 1, 300),
    params: url.searchParams,
  };
}

/** The rows' usage read of the page (one query per table page), with a state file's history. */
function rowHistory(status: StatusRecord, now: number): RowHistory | undefined {
  const history = status.history;
  if (!history) return undefined;
  return {
    to: now,
    maxMs: history.retentionMs,
    bucketMs: history.usageBucketMs,
    beganAt: history.beganAt() ?? status.startedAt,
    usageOf: (r) => history.usageOf(r, now),
    units: Object.fromEntries(status.offerings.map((o) => [o.name, o.units ?? {}])),
  };
}

/** Builds the Hono app. */
export function createApp(options: AppOptions): Hono {
  const app = new Hono();
  // hono's secure headers: nosniff, no referrer, no framing, and a CSP with no inline script or
  // style (the page's assets come from /assets/); HSTS is left to the TLS proxy in front
  app.use(
    "*",
    secureHeaders({
      contentSecurityPolicy: {
        defaultSrc: ["'none'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'"],
        imgSrc: ["'self'", "data:"],
        connectSrc: ["'self'"],
        formAction: ["'self'"],
        baseUri: ["'none'"],
        frameAncestors: ["'none'"],
      },
      xFrameOptions: "DENY",
      strictTransportSecurity: false,
    }),
  );
  app.use("*", async (c, next) => {
    await next();
    if (!c.res.headers.has("cache-control")) c.header("cache-control", "no-store");
  });
  app.use("*", requireToken(options.token));
  app.get("/healthz", (c) => {
    const problems = livenessProblems(options.status.liveness());
    return c.json({ ok: problems.length === 0, problems }, problems.length === 0 ? 200 : 503);
  });
  app.get("/readyz", (c) => {
    const problems = readinessProblems(options.status.loops());
    return c.json({ ok: problems.length === 0, problems }, problems.length === 0 ? 200 : 503);
  });
  app.get("/api/status", (c) => c.json(options.status.snapshot({ history: true })));
  app.get(
    "/metrics",
    (c) =>
      c.body(renderMetrics(options.status, { deno: options.deno ?? "unknown" }), 200, {
        "content-type": METRICS_CONTENT_TYPE,
      }),
  );
  app.get("/", (c) => {
    const query = pageQuery(new URL(c.req.url));
    const model = options.status.snapshot({ history: true });
    const history = rowHistory(options.status, model.now);
    const html = `<!doctype html>${
      (<StatusPage model={model} query={query} {...(history ? { history } : {})} />).toString()
    }`;
    return c.html(html);
  });
  app.get("/assets/berth.css", (c) =>
    c.body(STYLE, 200, {
      "content-type": "text/css; charset=utf-8",
      "cache-control": "max-age=300",
    }));
  app.get("/assets/berth.js", (c) =>
    c.body(SCRIPT, 200, {
      "content-type": "text/javascript; charset=utf-8",
      "cache-control": "max-age=300",
    }));
  historyRoutes(app, options.status);
  app.notFound((c) => c.text("404 Not Found\n", 404));
  return app;
}
