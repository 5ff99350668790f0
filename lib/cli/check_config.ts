/** \`berth check-config\`: validates the file and lists every problem. */
import { LOOP_NAMES } from "../config.ts";
import { openToNetworkWarning } from "../status_server.ts";
import { loadConfig } from "./wire.ts";
import type { World } from "./world.ts";

/** `berth check-config`: prints the warnings and each offering's loops; 1 when the file is bad. */
export function checkConfig(world: World, path: string): number {
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
