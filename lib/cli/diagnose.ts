/**
 * \`berth diagnose\`: reachability, credentials and permissions of every system. Every system is
 * checked whatever another answered; a failure names the URL and the cause. The report is the
 * only output: the log is collected, and its warnings are printed after the checks.
 */
import type { Check, MemberSync } from "../backend.ts";
import type { OfferingRuntime } from "../agent.ts";
import { createChecks, failureDetail } from "../checks.ts";
import { LOOP_NAMES, type LoopName } from "../config.ts";
import type { Fields, Level, Logger, Redactor } from "../log.ts";
import { memberWork } from "../membership.ts";
import { wire } from "./wire.ts";
import type { World } from "./world.ts";

/** How one check counts: a pass, a failure, a warning (no configured loop needs it), a note. */
type Verdict = "ok" | "fail" | "warn" | "skip" | "info";

const MARK: Record<Verdict, string> = {
  ok: "ok  ",
  fail: "FAIL",
  warn: "warn",
  skip: "skip",
  info: "info",
};

/**
 * `berth diagnose`: reports every check of Waldur and each backend. Exit 0 when every check that
 * a configured loop of its offering needs passed; a failure no configured loop needs warns only.
 */
export async function diagnose(world: World, configPath: string): Promise<number> {
  const log = new CollectedLog();
  const wired = wire(world, configPath, ":memory:", {
    log: (redactor) => log.logger(redactor),
    breakers: false,
  });
  if (!wired) {
    for (const line of log.lines()) world.stderr(line);
    return 1;
  }
  const count: Record<Verdict, number> = { ok: 0, fail: 0, warn: 0, skip: 0, info: 0 };
  for (const o of wired.offerings) {
    const loops = o.config.loops;
    const off = LOOP_NAMES.filter((l) => !loops[l]);
    world.stdout(
      `== ${o.config.name} (${o.config.backendType})${
        off.length ? `: ${off.join(", ")} loop${off.length === 1 ? "" : "s"} off` : ""
      }`,
    );
    const report = (check: Check) => {
      const verdict = judge(check, loops);
      count[verdict]++;
      const unneeded = verdict === "warn"
        ? ` (needed by the ${check.needs?.join(" and ")} loop only, which ${
          check.needs?.length === 1 ? "is" : "are"
        } off)`
        : "";
      world.stdout(
        `  ${MARK[verdict]} ${check.name.padEnd(28)} ${
          wired.redactor.redact(check.detail)
        }${unneeded}`,
      );
    };
    const waldurOk = await checkWaldur(o, report);
    const teams = o.backend.needsTeam ? await readTeams(o, waldurOk, report) : undefined;
    try {
      for (const check of await o.backend.diagnose(teams)) report(check);
    } catch (error) {
      report({ name: o.config.backendType, ok: false, detail: failureDetail(error) });
    }
  }
  wired.store.close();
  const notes = log.lines();
  if (notes.length > 0) {
    world.stdout("log while checking:");
    for (const line of notes) world.stdout(`  ${line}`);
  }
  const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? "" : "s"}`;
  const warned = count.warn > 0 ? `, ${plural(count.warn, "warning")}` : "";
  world.stdout(
    count.fail === 0
      ? `all checks passed${warned}`
      : `${plural(count.fail, "check")} failed${warned}`,
  );
  return count.fail === 0 ? 0 : 1;
}

/** A check's verdict for an offering whose configured loops are `loops`. */
function judge(check: Check, loops: Record<LoopName, boolean>): Verdict {
  if (check.note) return check.note;
  if (check.ok) return "ok";
  const needed = (check.needs ?? LOOP_NAMES).some((l) => loops[l]);
  return needed ? "fail" : "warn";
}

/** Waldur: the token's user, then the offering and its components; whether Waldur answered. */
async function checkWaldur(o: OfferingRuntime, report: (c: Check) => void): Promise<boolean> {
  const { checks, probe, skip } = createChecks();
  const authed = await probe("waldur credentials", async () => {
    const me = await o.waldur.me();
    return `token user ${me.username} at ${o.config.waldur.apiUrl}`;
  });
  if (!authed) skip("waldur offering", "not checked: the credentials check failed");
  else {
    let missing: string[] = [];
    await probe("waldur offering", async () => {
      const offering = await o.waldur.getOffering(o.config.offeringUuid);
      missing = Object.keys(o.config.components).filter((k) =>
        !offering.components.some((c) => c.type === k)
      );
      const n = offering.components.length;
      return `${offering.name} (${offering.state}), ${n} component${n === 1 ? "" : "s"}`;
    });
    if (missing.length > 0) {
      checks.push({
        name: "waldur components",
        ok: false,
        detail: `missing in Waldur: ${missing.join(", ")} (run berth load-components)`,
        needs: ["orders", "usage"],
      });
    }
  }
  checks.forEach(report);
  return authed;
}

/**
 * The Waldur teams of the offering's resources, for the backend's checks that need them; a
 * failure is reported, and those checks are left out.
 */
async function readTeams(
  o: OfferingRuntime,
  waldurOk: boolean,
  report: (c: Check) => void,
): Promise<MemberSync[] | undefined> {
  const { checks, probe, skip } = createChecks();
  let teams: MemberSync[] | undefined;
  if (!waldurOk) skip("waldur teams", "not checked: the Waldur credentials check failed");
  else {
    await probe("waldur teams", async () => {
      const resources = await o.waldur.listResources(o.config.offeringUuid, ["OK", "Erred"]);
      const { work, failures } = await memberWork(
        o.waldur,
        resources.items.filter((r) => r.backend_id !== ""),
        o.config.concurrency,
      );
      teams = work;
      // a team that could not be read is a failure of its own; the others are still checked
      for (const f of failures) checks.push({ name: "waldur teams", ok: false, detail: f });
      return `the teams of ${work.length} resource${work.length === 1 ? "" : "s"} read`;
    }, ["membership"]);
  }
  for (const c of checks) if (c.name === "waldur teams") c.needs = ["membership"];
  checks.forEach(report);
  return teams;
}

/**
 * The log of a diagnose run, kept instead of written: the report stays one readable block, and
 * what the log warned about (a setting that does nothing, a file that could not be opened) is
 * printed after it.
 */
class CollectedLog {
  #lines: string[] = [];

  /** A logger keeping warnings and errors, redacted; debug and info lines are dropped. */
  logger(redactor: Redactor, base: Fields = {}): Logger {
    const keep = (level: Level) => (message: string, fields?: Fields) => {
      const where = { ...base, ...fields }["offering"];
      const line = `${level} ${redactor.redact(message)}${
        typeof where === "string" ? ` (offering ${where})` : ""
      }`;
      if (!this.#lines.includes(line)) this.#lines.push(line);
    };
    return {
      debug: () => {},
      info: () => {},
      warn: keep("warn"),
      error: keep("error"),
      child: (fields) => this.logger(redactor, { ...base, ...fields }),
    };
  }

  /** What was kept, in order, each once. */
  lines(): string[] {
    return [...this.#lines];
  }
}
