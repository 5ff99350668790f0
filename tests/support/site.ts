/**
 * A test site: the fake Waldur, the in-memory backend and the processors wired together with a
 * manual clock and an in-memory state file, with no socket.
 */
import { z } from "zod";
import { buildOfferings, type OfferingRuntime } from "../../lib/agent.ts";
import type { BackendPlugin } from "../../lib/backend.ts";
import { ManualClock } from "../../lib/clock.ts";
import { type Config, parseConfig } from "../../lib/config.ts";
import type { Fetch } from "../../lib/http.ts";
import { createLogger, Redactor } from "../../lib/log.ts";
import { MemoryBackend } from "../../lib/memory/backend.ts";
import { StatusRecord } from "../../lib/status.ts";
import { Store } from "../../lib/store.ts";
import { FakeWaldur } from "../../lib/waldur/fake.ts";

export interface Site {
  clock: ManualClock;
  waldur: FakeWaldur;
  backend: MemoryBackend;
  store: Store;
  status: StatusRecord;
  offering: OfferingRuntime;
  offeringUuid: string;
  config: Config;
  logs: string[];
  /** Wraps every request to the fake; replace to inject faults. */
  intercept: (request: Request, next: Fetch) => Promise<Response>;
  close(): void;
}

/** Builds a site with one `memory` offering whose component is `storage` (limit, GB). */
export function makeSite(options: { yamlExtra?: string } = {}): Site {
  const clock = new ManualClock();
  const waldur = new FakeWaldur({ now: () => clock.now() });
  const offeringUuid = waldur.addOffering("Registry", [
    { type: "storage", name: "Storage", billing_type: "limit", measured_unit: "GB" },
  ]);
  const backend = new MemoryBackend();
  const plugin: BackendPlugin<Record<string, never>> = {
    type: "memory",
    settings: z.object({}).strict(),
    create: () => backend,
  };
  const parsed = parseConfig(
    `
offerings:
  - name: registry
    waldur_api_url: http://waldur.test/api/
    waldur_api_token: ${waldur.token}
    waldur_offering_uuid: ${offeringUuid}
    backend_type: memory
    backend_settings: {}
    backend_components:
      storage: {measured_unit: GB, accounting_type: limit, label: Storage}
${options.yamlExtra ?? ""}`,
    { env: () => undefined, readFile: () => "", schemas: { memory: plugin.settings } },
  );
  if (!parsed.ok) throw new Error(parsed.problems.join("\n"));
  const config = parsed.config;
  const redactor = new Redactor();
  for (const s of config.secrets) redactor.add(s);
  const logs: string[] = [];
  const log = createLogger({
    level: "debug",
    redactor,
    write: (line) => logs.push(line),
    now: () => clock.now(),
  });
  const store = Store.open(":memory:");
  const status = new StatusRecord({
    version: "test",
    configPath: "test.yaml",
    offerings: [{ name: "registry", backendType: "memory", offeringUuid }],
    now: () => clock.now(),
  });
  const site: Site = {
    clock,
    waldur,
    backend,
    store,
    status,
    offeringUuid,
    config,
    logs,
    intercept: (request, next) => next(request),
    offering: undefined as unknown as OfferingRuntime,
    close: () => store.close(),
  };
  const direct: Fetch = (request) => Promise.resolve(waldur.app.request(request));
  const [offering] = buildOfferings({
    config,
    plugins: [plugin as BackendPlugin<never>],
    fetch: (request) => site.intercept(request, direct),
    clock,
    log,
    store,
    status,
    redactor,
    version: "test",
  });
  if (!offering) throw new Error("no offering");
  site.offering = offering;
  return site;
}

/** Orders a resource in project `proj` of customer `acme`. */
export function orderCreate(
  site: Site,
  name: string,
  limits: Record<string, unknown> = { storage: 20 },
): { order: string; resource: string } {
  return site.waldur.orderCreate(site.offeringUuid, {
    name,
    limits,
    project: "proj",
    customer: "acme",
  });
}
