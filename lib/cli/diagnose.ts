/** \`berth diagnose\`: reachability, credentials and permissions of every system. */
import type { MemberSync } from "../backend.ts";
import type { OfferingRuntime } from "../agent.ts";
import { errorMessage } from "../errors.ts";
import { memberWork } from "../membership.ts";
import { wire } from "./wire.ts";
import type { World } from "./world.ts";

/** `berth diagnose`: reports every check of Waldur and each backend; 1 when one failed. */
export async function diagnose(world: World, configPath: string): Promise<number> {
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
      const teams = o.backend.needsTeam ? await readTeams(o, report) : undefined;
      for (const check of await o.backend.diagnose(teams)) {
        report(check.name, check.ok, check.detail);
      }
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

/**
 * The Waldur teams of the offering's resources, for the backend's checks that need them; a
 * failure is reported, and those checks are left out.
 */
async function readTeams(
  o: OfferingRuntime,
  report: (name: string, ok: boolean, detail: string) => void,
): Promise<MemberSync[] | undefined> {
  try {
    const resources = await o.waldur.listResources(o.config.offeringUuid, ["OK", "Erred"]);
    const { work, failures } = await memberWork(
      o.waldur,
      resources.items.filter((r) => r.backend_id !== ""),
      o.config.concurrency,
    );
    for (const f of failures) report("waldur teams", false, f);
    return work;
  } catch (error) {
    report("waldur teams", false, errorMessage(error));
    return undefined;
  }
}
