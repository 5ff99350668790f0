/** Loading the configuration and wiring one agent: logger, state file, status record, offerings. */
import { buildOfferings, type OfferingRuntime, scopeConflicts } from "../agent.ts";
import { type Config, parseConfig } from "../config.ts";
import { errorMessage } from "../errors.ts";
import { createLogger, type Logger, Redactor } from "../log.ts";
import { StatusRecord } from "../status.ts";
import { Store } from "../store.ts";
import type { World } from "./world.ts";

/** The compiled binary's state directory (scripts/compile.ts), unless BERTH_STATE_DIR names another. */
export const DEFAULT_STATE_DIR = "/var/lib/berth";

/**
 * The state file when neither `--state` nor `state_file` names one: `$BERTH_STATE_DIR/berth.db`;
 * without BERTH_STATE_DIR, `./berth.db` when Berth may write there (`deno task start`), else
 * `/var/lib/berth/berth.db` (the compiled binary, which may write only there and in /tmp).
 */
export function defaultStateFile(world: Pick<World, "env" | "mayWrite">): string {
  const dir = world.env("BERTH_STATE_DIR");
  if (dir) return `${dir.replace(/\/+$/, "")}/berth.db`;
  if (world.mayWrite?.("berth.db") ?? true) return "./berth.db";
  return `${DEFAULT_STATE_DIR}/berth.db`;
}

/** What the OS says when a state file or its directory cannot be made (a directory to create). */
const CANNOT_CREATE = new Set(["EACCES", "EPERM", "EROFS", "ENOENT", "ENOTDIR"]);

/**
 * The one line for a state file that could not be opened: when it could not be created, which
 * directory to create or which setting to point elsewhere; otherwise the store's own reason.
 */
export function stateFileProblem(path: string, error: unknown): string {
  const cause = error instanceof Error ? error.cause : undefined;
  const dir = path.includes("/") ? path.slice(0, path.lastIndexOf("/")) || "/" : ".";
  const point = "point BERTH_STATE_DIR, state_file or --state at";
  if (cause instanceof Error && cause.name === "NotCapable") {
    return `state file ${path}: this Berth may not write in ${dir}: the compiled binary writes ` +
      `only to the state directory it was built for (BERTH_STATE_DIR when \`deno task compile\` ` +
      `ran, else ${DEFAULT_STATE_DIR}; it is the binary's default) and /tmp; ` +
      `unset BERTH_STATE_DIR, state_file and --state to use it, or ${point} a path inside it`;
  }
  const code = cause instanceof Error && "code" in cause && typeof cause.code === "string"
    ? cause.code
    : "";
  if (CANNOT_CREATE.has(code) && cause instanceof Error) {
    return `state file ${path}: cannot create it (${cause.message}): create ${dir} for the ` +
      `user Berth runs as (sudo install -d -m 0700 -o $(id -un) ${dir}), or ${point} a ` +
      "directory it may write";
  }
  return errorMessage(error);
}

/** Reads and validates the configuration; prints every problem when it is bad. */
export function loadConfig(world: World, path: string): Config | undefined {
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
  const components = Object.fromEntries(
    world.plugins.flatMap((p) => p.components ? [[p.type, p.components]] : []),
  );
  const parsed = parseConfig(text, {
    env: world.env,
    readFile: world.readFile,
    schemas,
    components,
  });
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

/** One wired agent: the config and the parts built from it, for a command to use and close. */
export interface Wired {
  config: Config;
  log: Logger;
  store: Store;
  status: StatusRecord;
  offerings: OfferingRuntime[];
  redactor: Redactor;
}

/** What a command changes in the wiring (`berth diagnose`: its own logger, no breakers). */
export interface WireOptions {
  /** The logger to use instead of one writing to `world.writeLog` or stderr. */
  log?: (redactor: Redactor) => Logger;
  /** False: no circuit breakers around the clients' fetch. */
  breakers?: boolean;
}

/** Loads the config and builds logger, state file, status record and offerings; undefined if bad. */
export function wire(
  world: World,
  configPath: string,
  statePath?: string,
  options: WireOptions = {},
): Wired | undefined {
  const config = loadConfig(world, configPath);
  if (!config) return undefined;
  const redactor = new Redactor();
  for (const secret of config.secrets) redactor.add(secret);
  for (const [user, password] of config.credentialPairs) redactor.addBasic(user, password);
  const format = config.logFormat === "auto"
    ? (world.isTerminal ? "pretty" : "json")
    : config.logFormat;
  const log = options.log?.(redactor) ?? createLogger({
    level: config.logLevel,
    format,
    redactor,
    now: () => world.clock.now(),
    ...(world.writeLog ? { write: world.writeLog } : {}),
  });
  for (const w of config.warnings) log.warn(w);
  const path = statePath ?? config.stateFile ?? defaultStateFile(world);
  let store: Store;
  try {
    store = Store.open(path, {
      historyDays: config.status.historyDays,
      monotonic: () => world.clock.monotonic(),
      log,
    });
  } catch (error) {
    log.error(stateFileProblem(path, error));
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
      units: Object.fromEntries(
        Object.entries(o.components).map(([type, c]) => [type, c.measured_unit]),
      ),
    })),
    now: () => world.clock.now(),
    monotonic: () => world.clock.monotonic(),
    redact: (text) => redactor.redact(text),
    history: store.history,
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
    ...(options.breakers === false ? { breakers: false } : {}),
  });
  return { config, log, store, status, offerings, redactor };
}
