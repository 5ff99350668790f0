/**
 * The outer Hono app every fake server starts from: the request log (`fake_recorder.ts`), then
 * the faults (`fault.ts`), in front of every path, so both see each request the fake's sub-apps
 * (mounted on it with `app.route()`) answer.
 */
import { Hono } from "hono";
import type { Faults } from "./fault.ts";
import { type RecordedRequest, recordRequests } from "./fake_recorder.ts";

/** What a fake keeps for its outer app: where requests are logged, which faults apply. */
export interface FakeLog {
  readonly requests: RecordedRequest[];
  readonly faults: Faults;
}

/** The fake's outer app, under `basePath` when given; `bodies` records JSON bodies too. */
export function fakeApp(
  fake: FakeLog,
  options: { basePath?: string; bodies?: boolean } = {},
): Hono {
  const app = options.basePath === undefined ? new Hono() : new Hono().basePath(options.basePath);
  app.use("*", recordRequests(fake.requests, { bodies: options.bodies ?? false }));
  app.use("*", fake.faults.middleware());
  return app;
}
