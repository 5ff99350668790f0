/** \`berth diagnose\`: reachability, credentials and permissions of every system. */
import { errorMessage } from "../errors.ts";
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
