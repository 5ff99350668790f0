/** \`berth load-components\`: creates or updates the offering's components in Waldur. */
import { errorMessage } from "../errors.ts";
import { wire } from "./wire.ts";
import type { World } from "./world.ts";

/** `berth load-components`: the configured components into each Waldur offering; 1 on a failure. */
export async function loadComponents(world: World, configPath: string): Promise<number> {
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
