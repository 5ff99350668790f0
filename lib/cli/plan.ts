/**
 * `berth plan`: per offering, what each waiting order would change and what a membership pass
 * would change, in the same words (the backends' own plans, from one observation each);
 * changes nothing.
 */
import type { PlannedAction } from "../backend.ts";
import { errorMessage } from "../errors.ts";
import { memberWork } from "../membership.ts";
import { orderSpec, resourceUuid } from "../orders.ts";
import { wire } from "./wire.ts";
import type { World } from "./world.ts";

/** Runs `berth plan`; exit code 1 when an offering could not be planned. */
export async function plan(world: World, configPath: string): Promise<number> {
  const wired = wire(world, configPath, ":memory:");
  if (!wired) return 1;
  let failed = false;
  const print = (actions: readonly PlannedAction[], indent: string) => {
    for (const a of actions) {
      world.stdout(`${indent}${a.action.padEnd(22)} ${a.target}  ${a.detail}`);
    }
  };
  for (const o of wired.offerings) {
    world.stdout(`== ${o.config.name} (${o.config.backendType})`);
    try {
      const orders = await o.waldur.listOrders(o.config.offeringUuid, [
        "pending-provider",
        "executing",
      ]);
      for (const order of orders.items) {
        world.stdout(`  order  ${order.type.padEnd(9)} ${order.resource_name} (${order.state})`);
        try {
          const resource = await o.waldur.getResource(resourceUuid(order));
          const spec = orderSpec(order, resource);
          const type = order.type === "Restore" ? "Create" : order.type;
          print(await o.backend.planOrder(type, spec), "    ");
        } catch (error) {
          world.stdout(`    cannot plan: ${wired.redactor.redact(errorMessage(error))}`);
        }
      }
      const resources = await o.waldur.listResources(o.config.offeringUuid, ["OK", "Erred"]);
      const { work, failures } = await memberWork(
        o.waldur,
        resources.items.filter((r) => r.backend_id !== ""),
        o.config.concurrency,
      );
      for (const f of failures) world.stdout(`  cannot plan: ${wired.redactor.redact(f)}`);
      const actions = await o.backend.plan(work);
      print(actions, "  ");
      if (actions.length === 0 && orders.items.length === 0) world.stdout("  nothing to change");
    } catch (error) {
      failed = true;
      world.stdout(`  cannot plan: ${wired.redactor.redact(errorMessage(error))}`);
    }
  }
  wired.store.close();
  return failed ? 1 : 0;
}
