/** The backends Berth ships, by `backend_type`: a new backend adds its plugin to this list. */
import type { BackendPlugin } from "./backend.ts";
import { harborPlugin } from "./harbor/plugin.ts";
import { rancherPlugin } from "./rancher/plugin.ts";

/** Every built-in backend plugin. */
export const PLUGINS: readonly BackendPlugin<never>[] = [
  harborPlugin as BackendPlugin<never>,
  rancherPlugin as BackendPlugin<never>,
];
