/**
 * A test site: the fake Waldur, the in-memory backend and the processors wired together with a
 * manual clock and an in-memory state file, with no socket.
 */
import { z } from "zod";
import { buildOfferings, type OfferingRuntime } from "../../lib/agent.ts";
import type { BackendPlugin } from "../../lib/backend.ts";
import type { RegistryAccess } from "../../lib/registry_access.ts";
import { ManualClock } from "../../testing/manual_clock.ts";
import { type Config, parseConfig } from "../../lib/config.ts";
import type { Fetch } from "../../lib/http.ts";
import { createLogger, Redactor } from "../../lib/log.ts";
import { MemoryBackend } from "../../testing/memory_backend.ts";
import { StatusRecord } from "../../lib/status.ts";
import { Store } from "../../lib/store.ts";
import { type FakeComponent, type FakeRabbitOptions, FakeWaldur } from "../../lib/waldur/fake.ts";

export interface Site<B = MemoryBackend> {
  clock: ManualClock;
  waldur: FakeWaldur;
  backend: B;
  store: Store;
  status: StatusRecord;
  offering: OfferingRuntime;
  offeringUuid: string;
  /** Every offering of the config, the first being {@link offering}. */
  offerings: OfferingRuntime[];
  config: Config;
  /** The config's YAML, as `berth` would read it from its file. */
  yaml: string;
  logs: string[];
  /** Wraps every request to a fake; replace to inject faults. */
  intercept: (request: Request, next: Fetch) => Promise<Response>;
  /**
   * A restart: every offering built again from the config (new backends, a new registry access
   * unless one was given: nothing the last ones kept in memory), on the same fakes, state store,
   * status record and log.
   */
  restart(): void;
  /** Closes the state store; closing again does nothing. */
  close(): void;
  /** {@link close}, for `using site = makeSite()`. */
  [Symbol.dispose](): void;
}

/** What a site is built from. */
export interface SiteOptions {
  backendType: string;
  /** The YAML of `backend_settings` (a flow mapping). */
  settings: string;
  plugins: readonly BackendPlugin<never>[];
  /** Fake servers by host name; `waldur.test` is always the fake Waldur. */
  hosts?: Record<string, { request: (r: Request) => Response | Promise<Response> }>;
  yamlExtra?: string;
  clock?: ManualClock;
  /** Files the settings name (a CA file), and the fetch that trusts a CA. */
  files?: Record<string, string>;
  tlsFetch?: (caPem: string, next: Fetch) => Fetch;
  /** The offering's components in Waldur and, as a YAML flow mapping, in backend_components. */
  components?: { waldur: FakeComponent[]; yaml: string };
  /** Registry access with providers registered beforehand (a stub Harbor's team robots). */
  registry?: RegistryAccess;
  /** The fake Waldur's RabbitMQ (event mode's tests). */
  rabbit?: FakeRabbitOptions;
  /** Further offerings of the same config, after the first (`registry`, the keys above). */
  more?: readonly SiteOffering[];
}

/** One more offering of a site's config: in the same fake Waldur, on the same fakes. */
export interface SiteOffering {
  name: string;
  backendType: string;
  /** The YAML of `backend_settings` (a flow mapping). */
  settings: string;
  components: { waldur: FakeComponent[]; yaml: string };
}

/** Builds a site: the fake Waldur, one offering of `backendType`, and the given fakes. */
export function buildSite(options: SiteOptions): Site<unknown> {
  const clock = options.clock ?? new ManualClock();
  const waldur = new FakeWaldur({
    now: () => clock.now(),
    ...(options.rabbit ? { rabbit: options.rabbit } : {}),
  });
  const components = options.components ?? {
    waldur: [{ type: "storage", name: "Storage", billing_type: "limit", measured_unit: "GB" }],
    yaml: "{storage: {measured_unit: GB, accounting_type: limit, label: Storage}}",
  };
  const first = { name: "registry", backendType: options.backendType, settings: options.settings };
  const all = [{ ...first, components }, ...options.more ?? []].map((o, i) => ({
    ...o,
    uuid: waldur.addOffering(i === 0 ? "Registry" : o.name, o.components.waldur),
  }));
  const offeringUuid = all[0]?.uuid ?? "";
  const schemas = Object.fromEntries(options.plugins.map((p) => [p.type, p.settings]));
  const offeringsYaml = all.map((o) =>
    `  - name: ${o.name}
    waldur_api_url: http://waldur.test/api/
    waldur_api_token: ${waldur.token}
    waldur_offering_uuid: ${o.uuid}
    backend_type: ${o.backendType}
    backend_settings: ${o.settings}
    backend_components: ${o.components.yaml}
`
  );
  const yaml = `
offerings:
${offeringsYaml.join("")}${options.yamlExtra ?? ""}`;
  const parsed = parseConfig(yaml, { env: () => undefined, readFile: () => "", schemas });
  if (!parsed.ok) throw new Error(parsed.problems.join("\n"));
  const config = parsed.config;
  const redactor = new Redactor();
  for (const s of config.secrets) redactor.add(s);
  for (const [user, password] of config.credentialPairs) redactor.addBasic(user, password);
  const logs: string[] = [];
  const log = createLogger({
    level: "debug",
    redactor,
    write: (line) => logs.push(line),
    now: () => clock.now(),
  });
  // closed if building the offering throws (an unreadable ca_file); handed to the site once built
  using opened = new DisposableStack();
  const store = opened.use(Store.open(":memory:"));
  const status = new StatusRecord({
    version: "test",
    configPath: "test.yaml",
    offerings: all.map((o) => ({
      name: o.name,
      backendType: o.backendType,
      offeringUuid: o.uuid,
    })),
    now: () => clock.now(),
    monotonic: () => clock.monotonic(),
    history: store.history,
  });
  const site: Site<unknown> = {
    clock,
    waldur,
    backend: undefined,
    store,
    status,
    offeringUuid,
    config,
    yaml,
    logs,
    intercept: (request, next) => next(request),
    offering: undefined as unknown as OfferingRuntime,
    offerings: [],
    restart: () => wire(),
    close: () => store.close(),
    [Symbol.dispose]: () => site.close(),
  };
  const hosts: Record<string, { request: (r: Request) => Response | Promise<Response> }> = {
    ...options.hosts,
    "waldur.test": waldur.app,
  };
  const direct: Fetch = async (request) => {
    const host = new URL(request.url).hostname;
    const server = hosts[host];
    if (!server) throw new TypeError(`fetch failed: no route to ${host}`);
    return await server.request(request);
  };
  const wire = (): void => {
    const offerings = buildOfferings({
      config,
      plugins: options.plugins,
      fetch: (request) => site.intercept(request, direct),
      ...(options.tlsFetch
        ? { tlsFetch: (pem: string) => options.tlsFetch!(pem, (r) => site.intercept(r, direct)) }
        : {}),
      readFile: (path) => {
        const f = options.files?.[path];
        if (f === undefined) throw new Deno.errors.NotFound(`no such file ${path}`);
        return f;
      },
      clock,
      log,
      store,
      status,
      redactor,
      version: "test",
      ...(options.registry ? { registry: options.registry } : {}),
    });
    const [offering] = offerings;
    if (!offering) throw new Error("no offering");
    site.offering = offering;
    site.offerings = offerings;
    site.backend = offering.backend;
  };
  wire();
  opened.move();
  return site;
}

/** Builds a site with one `memory` offering whose component is `storage` (limit, GB). */
export function makeSite(
  options: { yamlExtra?: string; clock?: ManualClock; rabbit?: FakeRabbitOptions } = {},
): Site {
  const backend = new MemoryBackend();
  const plugin: BackendPlugin<Record<string, never>> = {
    type: "memory",
    settings: z.object({}).strict(),
    create: () => backend,
  };
  const site = buildSite({
    backendType: "memory",
    settings: "{}",
    plugins: [plugin as BackendPlugin<never>],
    ...(options.yamlExtra ? { yamlExtra: options.yamlExtra } : {}),
    ...(options.clock ? { clock: options.clock } : {}),
    ...(options.rabbit ? { rabbit: options.rabbit } : {}),
  });
  site.backend = backend;
  return site as Site;
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
