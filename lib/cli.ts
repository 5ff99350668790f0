/**
 * The command line: `run`, `plan`, `diagnose`, `check-config`, `config-schema`,
 * `load-components`, `demo`, and the Python agent's `-m MODE -c FILE` spelling. Everything from
 * the outside world comes in through {@link World}, so every command runs under test.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import {
  buildOfferings,
  loopSpecs,
  type OfferingRuntime,
  registerIdentities,
  scopeConflicts,
} from "./agent.ts";
import type { BackendPlugin, MemberSync } from "./backend.ts";
import type { Clock } from "./clock.ts";
import { type Config, configSchema, LOOP_NAMES, type LoopName, parseConfig } from "./config.ts";
import { errorMessage } from "./errors.ts";
import type { Fetch } from "./http.ts";
import { createLogger, type Logger, Redactor } from "./log.ts";
import { type LoopDeps, runLoop, runPass } from "./loop.ts";
import { teamUsernames } from "./membership.ts";
import { parseLimits, toSpec } from "./resource_spec.ts";
import { StatusRecord } from "./status.ts";
import { openToNetworkWarning, type ServeEvent, ServerEventLog } from "./status_server.ts";
import { Store } from "./store.ts";
import { createApp } from "../routes/app.tsx";
import { runDemo } from "./demo/command.ts";

/** The outside world as the commands see it. */
export interface World {
  env: (name: string) => string | undefined;
  readFile: (path: string) => string;
  fetch: Fetch;
  /** A fetch that also trusts these CA certificates (PEM); defaults to `fetch`. */
  tlsFetch?: (caPem: string) => Fetch;
  clock: Clock;
  /** True when stderr is a terminal (readable logs instead of JSON lines). */
  isTerminal: boolean;
  /** Calls `handler` on SIGINT/SIGTERM; returns the unsubscribe function. */
  onSignal: (handler: () => void) => () => void;
  /**
   * Serves `handler` until `signal` aborts; resolves with the address once listening. A failure
   * after that (an accept that fails for want of file descriptors, a handler that throws) never
   * rejects: the server closes its connections, listens again and tells `onEvent`. `finished`
   * resolves once `signal` has aborted and the server closed.
   */
  serve: (
    listen: string,
    handler: (request: Request) => Response | Promise<Response>,
    signal: AbortSignal,
    onEvent?: (event: ServeEvent) => void,
  ) => Promise<{ url: string; finished: Promise<void> }>;
  /** Makes a fresh temporary directory (the demo's state). */
  makeTempDir: (prefix: string) => Promise<string>;
  /** Removes a directory and what it holds. */
  removeDir: (path: string) => Promise<void>;
  plugins: readonly BackendPlugin<never>[];
  version: string;
  /** The runtime's version, for `berth_build_info` (`Deno.version.deno`). */
  runtime?: string;
  /** Where log lines go (tests collect them); defaults to stderr. */
  writeLog?: (line: string) => void;
  /** A command's output (plans, reports, JSON), one call per line or block. */
  stdout: (text: string) => void;
  /** A command's error report (usage errors, a bad config) before a logger exists. */
  stderr: (text: string) => void;
}

const USAGE: Record<string, string> = {
  main: `berth — keeps Harbor, Rancher and Keycloak in line with Waldur orders

Usage:
  berth run -c config.yaml [--once] [--mode orders|membership|usage|all] [--listen host:port] [--state PATH]
  berth plan -c config.yaml          what a pass would change, per offering; changes nothing
  berth diagnose -c config.yaml      reachability, credentials and permissions of every system
  berth check-config -c config.yaml  validate the file and list every problem
  berth config-schema                the JSON Schema of the file, for editors
  berth load-components -c config.yaml   push backend_components to the Waldur offering
  berth demo                         the embedded demo site
  berth probe [URL]                  exit 0 when URL (default: the local /healthz) answers 2xx
  berth -m order_process|membership_sync|report -c config.yaml   the Python agent's spelling

Run 'berth COMMAND --help' for a command's options. 'berth --version' prints the version.`,
  run:
    `berth run -c FILE [--once] [--mode orders|membership|usage|all] [--listen host:port] [--state PATH]

  -c, --config FILE   configuration (default: waldur-site-agent-config.yaml)
  --once              one pass of each selected loop, then exit (non-zero if a pass failed)
  --mode MODE         which loops run: orders, membership, usage or all (default: all)
  --listen HOST:PORT  status page and probes (default: status.listen, 127.0.0.1:8080)
  --state PATH        SQLite state file (default: state_file, ./berth.db)`,
  plan:
    `berth plan -c FILE\n\n  Prints, per offering, the orders waiting and what a membership pass would change.`,
  diagnose:
    `berth diagnose -c FILE\n\n  Checks Waldur and each backend: reachability, credentials, permissions.`,
  "check-config":
    `berth check-config -c FILE\n\n  Validates the file; exits 1 listing every problem.`,
  "config-schema": `berth config-schema\n\n  Prints the JSON Schema of the configuration file.`,
  "load-components":
    `berth load-components -c FILE\n\n  Creates or updates the offering's components in Waldur from backend_components.`,
  probe: `berth probe [URL]

  GETs URL (default http://127.0.0.1:8080/healthz) and exits 0 on a 2xx answer, 1 otherwise:
  a container HEALTHCHECK for images that have no curl.`,
  demo: `berth demo [--listen host:port] [--state PATH]

  The embedded demo site: fake Waldur, Harbor, Rancher and Keycloak on loopback ports, seeded
  with two offerings and twenty orders, a timeline that keeps ordering, pushing images and
  changing teams, and the agent running against them. Status page on 127.0.0.1:8080.

  --listen HOST:PORT  status page (default 127.0.0.1:8080)
  --state PATH        keep the state file here (default: a temporary directory, removed at exit)`,
};

const CONFIG_OPTIONS = {
  config: { type: "string", short: "c", default: "waldur-site-agent-config.yaml" },
  help: { type: "boolean", short: "h" },
} as const;

const PYTHON_MODES: Record<string, LoopName> = {
  order_process: "orders",
  membership_sync: "membership",
  report: "usage",
};

/** Runs the command line; resolves with the exit code. */
export async function main(args: readonly string[], world: World): Promise<number> {
  try {
    return await dispatch([...args], world);
  } catch (error) {
    if (
      error instanceof TypeError && "code" in error &&
      String(error.code).startsWith("ERR_PARSE_ARGS")
    ) {
      world.stderr(`berth: ${error.message}\n\n${USAGE.main}`);
      return 2;
    }
    world.stderr(`berth: ${errorMessage(error)}`);
    return 1;
  }
}

async function dispatch(args: string[], world: World): Promise<number> {
  const first = args[0];
  if (first === undefined || first.startsWith("-")) {
    const { values } = parseArgs({
      args,
      options: {
        ...CONFIG_OPTIONS,
        "config-file": { type: "string" },
        mode: { type: "string", short: "m" },
        version: { type: "boolean", short: "V" },
      },
      strict: true,
    });
    if (values.version) {
      world.stdout(`berth ${world.version}`);
      return 0;
    }
    if (values.help || values.mode === undefined) {
      world.stdout(USAGE.main ?? "");
      return values.help ? 0 : 2;
    }
    const mode = PYTHON_MODES[values.mode];
    if (!mode) {
      world.stderr(
        `berth: mode ${values.mode} is not supported (use order_process, membership_sync or report)`,
      );
      return 2;
    }
    return await run(world, {
      config: values["config-file"] ?? values.config,
      once: false,
      loops: [mode],
    });
  }
  const command = first;
  const rest = args.slice(1);
  switch (command) {
    case "run": {
      const { values } = parseArgs({
        args: rest,
        options: {
          ...CONFIG_OPTIONS,
          once: { type: "boolean" },
          mode: { type: "string", default: "all" },
          listen: { type: "string" },
          state: { type: "string" },
        },
        strict: true,
      });
      if (values.help) return help(world, command);
      const loops = values.mode === "all" ? LOOP_NAMES : [PYTHON_MODES[values.mode] ?? values.mode];
      if (!loops.every((l): l is LoopName => (LOOP_NAMES as readonly string[]).includes(l))) {
        world.stderr(`berth run: --mode must be orders, membership, usage or all\n\n${USAGE.run}`);
        return 2;
      }
      return await run(world, {
        config: values.config,
        once: values.once ?? false,
        loops,
        ...(values.listen ? { listen: values.listen } : {}),
        ...(values.state ? { state: values.state } : {}),
      });
    }
    case "plan":
    case "diagnose":
    case "check-config":
    case "load-components": {
      const { values } = parseArgs({ args: rest, options: CONFIG_OPTIONS, strict: true });
      if (values.help) return help(world, command);
      if (command === "check-config") return checkConfig(world, values.config);
      if (command === "plan") return await plan(world, values.config);
      if (command === "diagnose") return await diagnose(world, values.config);
      return await loadComponents(world, values.config);
    }
    case "config-schema": {
      const { values } = parseArgs({
        args: rest,
        options: { help: CONFIG_OPTIONS.help },
        strict: true,
      });
      if (values.help) return help(world, command);
      const schemas = Object.fromEntries(world.plugins.map((p) => [p.type, p.settings]));
      world.stdout(
        JSON.stringify(
          z.toJSONSchema(configSchema(schemas), { io: "input", unrepresentable: "any" }),
          null,
          2,
        ),
      );
      return 0;
    }
    case "demo": {
      const { values } = parseArgs({
        args: rest,
        options: {
          help: CONFIG_OPTIONS.help,
          listen: { type: "string" },
          state: { type: "string" },
        },
        strict: true,
      });
      if (values.help) return help(world, command);
      return await runDemo(world, {
        ...(values.listen ? { listen: values.listen } : {}),
        ...(values.state ? { state: values.state } : {}),
      }, (w, o) => run(w, { ...o, once: false, loops: LOOP_NAMES }));
    }
    case "probe": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { help: CONFIG_OPTIONS.help },
        allowPositionals: true,
        strict: true,
      });
      if (values.help) return help(world, command);
      return await probe(world, positionals[0] ?? "http://127.0.0.1:8080/healthz");
    }
    case "help":
      world.stdout(USAGE[rest[0] ?? "main"] ?? USAGE.main ?? "");
      return 0;
    default:
      world.stderr(`berth: unknown command ${command}\n\n${USAGE.main}`);
      return 2;
  }
}

/** `berth probe URL`: a health check for images without curl; exit 0 on a 2xx answer. */
async function probe(world: World, url: string): Promise<number> {
  try {
    const res = await world.fetch(new Request(url, { signal: AbortSignal.timeout(5000) }));
    const body = (await res.text()).slice(0, 200);
    (res.ok ? world.stdout : world.stderr)(`${res.status} ${body}`);
    return res.ok ? 0 : 1;
  } catch (error) {
    world.stderr(`berth probe: ${url}: ${errorMessage(error)}`);
    return 1;
  }
}

function help(world: World, command: string): number {
  world.stdout(USAGE[command] ?? USAGE.main ?? "");
  return 0;
}

/** Reads and validates the configuration; prints every problem when it is bad. */
function loadConfig(world: World, path: string): Config | undefined {
  let text: string;
  try {
    text = world.readFile(path);
  } catch (error) {
    world.stderr(
      `berth: cannot read configuration ${path}: ${error instanceof Error ? error.name : "error"}`,
    );
    return undefined;
  }
  const schemas = Object.fromEntries(world.plugins.map((p) => [p.type, p.settings]));
  const parsed = parseConfig(text, { env: world.env, readFile: world.readFile, schemas });
  const conflicts = parsed.ok ? scopeConflicts(parsed.config, world.plugins) : [];
  const result = conflicts.length > 0 ? { ok: false as const, problems: conflicts } : parsed;
  if (!result.ok) {
    world.stderr(
      `berth: ${path} has ${result.problems.length} problem${
        result.problems.length === 1 ? "" : "s"
      }:`,
    );
    for (const p of result.problems) world.stderr(`  ${p}`);
    return undefined;
  }
  return result.config;
}

function checkConfig(world: World, path: string): number {
  const config = loadConfig(world, path);
  if (!config) return 1;
  for (const w of config.warnings) world.stdout(`warning: ${w}`);
  const exposed = openToNetworkWarning(config.status.listen, config.status.token !== undefined);
  if (exposed) world.stdout(`warning: ${exposed}`);
  world.stdout(
    `${path}: ok, ${config.offerings.length} offering${config.offerings.length === 1 ? "" : "s"}`,
  );
  for (const o of config.offerings) {
    const loops = LOOP_NAMES.filter((l) => o.loops[l]).join(", ") || "none";
    world.stdout(`  ${o.name}: ${o.backendType}, offering ${o.offeringUuid}, loops: ${loops}`);
  }
  return 0;
}

interface Wired {
  config: Config;
  log: Logger;
  store: Store;
  status: StatusRecord;
  offerings: OfferingRuntime[];
  redactor: Redactor;
}

function wire(world: World, configPath: string, statePath?: string): Wired | undefined {
  const config = loadConfig(world, configPath);
  if (!config) return undefined;
  const redactor = new Redactor();
  for (const secret of config.secrets) redactor.add(secret);
  for (const [user, password] of config.credentialPairs) redactor.addBasic(user, password);
  const format = config.logFormat === "auto"
    ? (world.isTerminal ? "pretty" : "json")
    : config.logFormat;
  const log = createLogger({
    level: config.logLevel,
    format,
    redactor,
    now: () => world.clock.now(),
    ...(world.writeLog ? { write: world.writeLog } : {}),
  });
  for (const w of config.warnings) log.warn(w);
  let store: Store;
  try {
    store = Store.open(statePath ?? config.stateFile);
  } catch (error) {
    log.error(errorMessage(error));
    return undefined;
  }
  for (const w of store.warnings) log.warn(w);
  const status = new StatusRecord({
    version: world.version,
    configPath,
    offerings: config.offerings.map((o) => ({
      name: o.name,
      backendType: o.backendType,
      offeringUuid: o.offeringUuid,
    })),
    now: () => world.clock.now(),
    monotonic: () => world.clock.monotonic(),
    redact: (text) => redactor.redact(text),
  });
  const offerings = buildOfferings({
    config,
    plugins: world.plugins,
    fetch: world.fetch,
    ...(world.tlsFetch ? { tlsFetch: world.tlsFetch } : {}),
    readFile: world.readFile,
    clock: world.clock,
    log,
    store,
    status,
    redactor,
    version: world.version,
  });
  return { config, log, store, status, offerings, redactor };
}

interface RunOptions {
  config: string;
  once: boolean;
  loops: readonly LoopName[];
  listen?: string;
  state?: string;
  /** Called with the status page's URL once it listens. */
  onListening?: (url: string) => void;
}

async function run(world: World, options: RunOptions): Promise<number> {
  const wired = wire(world, options.config, options.state);
  if (!wired) return 1;
  const { config, log, store, status, offerings } = wired;
  const deps: LoopDeps = { clock: world.clock, status, store, log };
  const specs = loopSpecs(offerings, config.intervals, options.loops);
  for (const s of specs) status.addLoop(s.offering, s.loop, s.intervalMs);
  const stop = new AbortController();
  let stops = 0;
  const unsubscribe = world.onSignal(() => {
    stops++;
    log.info(stops === 1 ? "stopping: finishing the items in flight" : "stopping now");
    stop.abort();
  });
  try {
    await registerIdentities(offerings, options.loops, {
      clock: world.clock,
      log,
      version: world.version,
    });
    if (options.once) {
      // Each offering's passes in order (orders, membership, usage: a resource created now gets
      // its members in the same run); offerings side by side, as the running agent's loops are.
      let failed = 0;
      const byOffering = Map.groupBy(specs, (s) => s.offering);
      await Promise.all([...byOffering.values()].map(async (passes) => {
        for (const spec of passes) {
          const result = await runPass(spec, deps, stop.signal);
          if (result.outcome !== "ok") failed++;
        }
      }));
      log.info(`--once: ${specs.length - failed} of ${specs.length} passes ok`);
      return failed === 0 ? 0 : 1;
    }
    const listen = options.listen ?? config.status.listen;
    const tokenRequired = config.status.token !== undefined;
    const exposed = openToNetworkWarning(listen, tokenRequired);
    if (exposed) log.warn(exposed);
    status.serving({ listen, tokenRequired, openToNetwork: exposed !== undefined });
    const app = createApp({
      status,
      ...(config.status.token ? { token: config.status.token } : {}),
      ...(world.runtime ? { deno: world.runtime } : {}),
    });
    const events = new ServerEventLog(log, () => world.clock.monotonic());
    const server = await world.serve(listen, (request) => app.fetch(request), stop.signal, (e) => {
      status.serverEvent(e);
      events.record(e);
    });
    // handled from the start: a rejection nobody awaits yet would end the process
    const served = server.finished.catch((error) => {
      log.error(`status server: stopped: ${errorMessage(error)}`);
    });
    log.info(`berth ${world.version} running: ${specs.length} loops, status on ${server.url}`);
    options.onListening?.(server.url);
    await Promise.all(specs.map((spec) => runLoop(spec, deps, stop.signal)));
    await served;
    log.info("stopped");
    return 0;
  } finally {
    unsubscribe();
    store.close();
  }
}

async function plan(world: World, configPath: string): Promise<number> {
  const wired = wire(world, configPath, ":memory:");
  if (!wired) return 1;
  let failed = false;
  for (const o of wired.offerings) {
    world.stdout(`== ${o.config.name} (${o.config.backendType})`);
    try {
      const orders = await o.waldur.listOrders(o.config.offeringUuid, [
        "pending-provider",
        "executing",
      ]);
      for (const order of orders.items) {
        world.stdout(`  order  ${order.type.padEnd(9)} ${order.resource_name} (${order.state})`);
      }
      const resources = await o.waldur.listResources(o.config.offeringUuid, ["OK", "Erred"]);
      const teams = new Map<string, string[]>();
      const items: MemberSync[] = [];
      for (const r of resources.items.filter((r) => r.backend_id !== "")) {
        let usernames = teams.get(r.project_uuid);
        if (!usernames) {
          teams.set(r.project_uuid, usernames = teamUsernames(await o.waldur.getTeam(r.uuid)));
        }
        items.push({ resource: toSpec(r, parseLimits(r.limits, "resource limits")), usernames });
      }
      const actions = await o.backend.plan(items);
      for (const a of actions) world.stdout(`  ${a.action.padEnd(22)} ${a.target}  ${a.detail}`);
      if (actions.length === 0 && orders.items.length === 0) world.stdout("  nothing to change");
    } catch (error) {
      failed = true;
      world.stdout(`  cannot plan: ${wired.redactor.redact(errorMessage(error))}`);
    }
  }
  wired.store.close();
  return failed ? 1 : 0;
}

async function diagnose(world: World, configPath: string): Promise<number> {
  const wired = wire(world, configPath, ":memory:");
  if (!wired) return 1;
  let failed = 0;
  const report = (name: string, ok: boolean, detail: string) => {
    if (!ok) failed++;
    world.stdout(`  ${ok ? "ok  " : "FAIL"} ${name.padEnd(28)} ${wired.redactor.redact(detail)}`);
  };
  for (const o of wired.offerings) {
    world.stdout(`== ${o.config.name} (${o.config.backendType})`);
    try {
      const me = await o.waldur.me();
      report("waldur credentials", true, `token user ${me.username}`);
      const offering = await o.waldur.getOffering(o.config.offeringUuid);
      report(
        "waldur offering",
        true,
        `${offering.name} (${offering.state}), ${offering.components.length} components`,
      );
      const missing = Object.keys(o.config.components).filter((k) =>
        !offering.components.some((c) => c.type === k)
      );
      if (missing.length > 0) {
        report(
          "waldur components",
          false,
          `missing in Waldur: ${missing.join(", ")} (run berth load-components)`,
        );
      }
    } catch (error) {
      report("waldur", false, errorMessage(error));
    }
    try {
      for (const check of await o.backend.diagnose()) report(check.name, check.ok, check.detail);
    } catch (error) {
      report(o.config.backendType, false, errorMessage(error));
    }
  }
  wired.store.close();
  world.stdout(
    failed === 0 ? "all checks passed" : `${failed} check${failed === 1 ? "" : "s"} failed`,
  );
  return failed === 0 ? 0 : 1;
}

async function loadComponents(world: World, configPath: string): Promise<number> {
  const wired = wire(world, configPath, ":memory:");
  if (!wired) return 1;
  let failed = false;
  for (const o of wired.offerings) {
    try {
      const offering = await o.waldur.getOffering(o.config.offeringUuid);
      for (const [type, c] of Object.entries(o.config.components)) {
        const body: Record<string, unknown> = {
          type,
          name: c.label,
          billing_type: c.accounting_type,
          measured_unit: c.measured_unit,
          ...(c.limit === undefined ? {} : { limit_amount: Math.round(c.limit) }),
          ...(c.description === undefined ? {} : { description: c.description }),
          ...(c.min_value === undefined ? {} : { min_value: c.min_value }),
          ...(c.max_value === undefined ? {} : { max_value: c.max_value }),
          ...(c.max_available_limit === undefined
            ? {}
            : { max_available_limit: c.max_available_limit }),
          ...(c.default_limit === undefined ? {} : { default_limit: c.default_limit }),
          ...(c.limit_period === undefined ? {} : { limit_period: c.limit_period }),
          ...(c.article_code === undefined ? {} : { article_code: c.article_code }),
          ...(c.is_boolean === undefined ? {} : { is_boolean: c.is_boolean }),
          ...(c.accounting_type === "one" ? { is_prepaid: true } : {}),
        };
        const existing = offering.components.find((k) => k.type === type);
        if (existing) {
          await o.waldur.updateOfferingComponent(o.config.offeringUuid, {
            ...body,
            uuid: existing.uuid,
          });
        } else await o.waldur.createOfferingComponent(o.config.offeringUuid, body);
        world.stdout(`${o.config.name}: ${existing ? "updated" : "created"} component ${type}`);
      }
    } catch (error) {
      failed = true;
      world.stderr(`${o.config.name}: ${wired.redactor.redact(errorMessage(error))}`);
    }
  }
  wired.store.close();
  return failed ? 1 : 0;
}
