/**
 * The command line: parses arguments and dispatches to the commands in `lib/cli/` (`run`, `plan`,
 * `diagnose`, `check-config`, `load-components`, `probe`, `repair-oidc-user`), `config-schema`,
 * `demo`, and the
 * Python agent's `-m MODE -c FILE` spelling. Everything from the outside world comes in through
 * {@link World}, so every command runs under test.
 */
import { parseArgs } from "node:util";
import { z } from "zod";
import { LOOP_NAMES, type LoopName } from "./config.ts";
import { configSchema } from "./config_schema.ts";
import { errorMessage } from "./errors.ts";
import { checkConfig } from "./cli/check_config.ts";
import { diagnose } from "./cli/diagnose.ts";
import { loadComponents } from "./cli/load_components.ts";
import { plan } from "./cli/plan.ts";
import { probe } from "./cli/probe.ts";
import { repairOidcUser } from "./cli/repair_oidc_user.ts";
import { run } from "./cli/run.ts";
import type { World } from "./cli/world.ts";
import { runDemo } from "./demo/command.ts";

export type { StatusApp, World } from "./cli/world.ts";

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
  berth repair-oidc-user USER [--yes] -c config.yaml   remove a Harbor user holding an older OIDC identity
  berth -m order_process|membership_sync|report -c config.yaml   the Python agent's spelling

Run 'berth COMMAND --help' for a command's options. 'berth --version' prints the version.`,
  run:
    `berth run -c FILE [--once] [--mode orders|membership|usage|all] [--listen host:port] [--state PATH]

  -c, --config FILE   configuration (default: waldur-site-agent-config.yaml)
  --once              one pass of each selected loop, then exit (non-zero if a pass failed)
  -m, --mode MODE     which loops run: orders, membership, usage or all (default: all); one
                      process runs them all, so one Berth replaces the Python agent's units
  --listen HOST:PORT  status page and probes (default: status.listen, 127.0.0.1:8080)
  --state PATH        SQLite state file (default: state_file; without it $BERTH_STATE_DIR/berth.db,
                      else ./berth.db where Berth may write, else /var/lib/berth/berth.db)`,
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
  "repair-oidc-user": `berth repair-oidc-user USER [--yes] -c FILE

  In each Harbor offering with backend_settings.keycloak, compares USER's Keycloak identity
  (sub + issuer) with the one Harbor onboarded (oidc_user_meta.subiss). When Harbor holds an
  older one, USER cannot log in ("the user with same username or email has been onboarded"):
  with --yes the Harbor user is deleted (DELETE /users/{id}), after reading both sides again,
  and the next login onboards USER again. A user whose identity matches, or who is not
  onboarded, is never deleted.

  USER                the Harbor username (Keycloak's preferred_username)
  -c, --config FILE   configuration (default: waldur-site-agent-config.yaml)
  --yes               delete; without it, print what would be done and change nothing

  Exit 0: deleted (or, without --yes, looked); 1: refused, nothing to repair with --yes, or an
  error.`,
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

/** The one line a Python mode prints: Berth runs every mode in one process. */
function oneProcessNote(mode: string): string {
  return `berth: mode ${mode} runs the ${PYTHON_MODES[mode]} loop only; Berth runs all three ` +
    "modes in one process: replace one unit per mode with one `berth run -c FILE` (a second " +
    "Berth on the same state file does not start)";
}

const EVENT_MODE_NOTE = "berth: mode event_process: Berth's event mode runs inside `berth run` " +
  "for offerings with `stomp_enabled: true` (see the README, Event mode)";

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
        values.mode === "event_process"
          ? EVENT_MODE_NOTE
          : `berth: mode ${values.mode} is not supported (use order_process, membership_sync or report)`,
      );
      return 2;
    }
    world.stderr(oneProcessNote(values.mode));
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
          mode: { type: "string", short: "m", default: "all" },
          listen: { type: "string" },
          state: { type: "string" },
        },
        strict: true,
      });
      if (values.help) return help(world, command);
      const loops = values.mode === "all" ? LOOP_NAMES : [PYTHON_MODES[values.mode] ?? values.mode];
      if (values.mode === "event_process") {
        world.stderr(EVENT_MODE_NOTE);
        return 2;
      }
      if (PYTHON_MODES[values.mode]) world.stderr(oneProcessNote(values.mode));
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
    case "repair-oidc-user": {
      const { values, positionals } = parseArgs({
        args: rest,
        options: { ...CONFIG_OPTIONS, yes: { type: "boolean" } },
        allowPositionals: true,
        strict: true,
      });
      if (values.help) return help(world, command);
      const [username, ...extra] = positionals;
      if (username === undefined || extra.length > 0) {
        world.stderr(`berth repair-oidc-user: give one USER\n\n${USAGE[command]}`);
        return 2;
      }
      return await repairOidcUser(world, { config: values.config, username, yes: !!values.yes });
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

function help(world: World, command: string): number {
  world.stdout(USAGE[command] ?? USAGE.main ?? "");
  return 0;
}
