/** A status record of one Harbor offering (`registry`, storage in GB) over a state file's history. */
import { StatusRecord } from "../../lib/status.ts";
import type { Store } from "../../lib/store.ts";
import type { ManualClock } from "../../testing/manual_clock.ts";

/** The `registry` offering's status record, reading `store`'s history on `clock`'s time. */
export function registryRecord(store: Store, clock: ManualClock): StatusRecord {
  return new StatusRecord({
    version: "t",
    configPath: "c.yaml",
    offerings: [{
      name: "registry",
      backendType: "harbor",
      offeringUuid: "0b1c",
      units: { storage: "GB" },
    }],
    now: () => clock.now(),
    history: store.history,
  });
}
