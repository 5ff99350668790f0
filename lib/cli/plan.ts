/** \`berth plan\`: the orders waiting and what a membership pass would change; changes nothing. */
import type { MemberSync } from "../backend.ts";
import { errorMessage } from "../errors.ts";
import { teamUsernames } from "../membership.ts";
import { parseLimits, toSpec } from "../resource_spec.ts";
import { wire } from "./wire.ts";
import type { World } from "./world.ts";

/** `berth plan`: prints the orders waiting and each backend's membership actions; changes nothing. */
export async function plan(world: World, configPath: string): Promise<number> {
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
