/**
 * Berth's entry point: parses the command line and runs the command against the real world.
 * Everything else lives in `lib/` (see ARCHITECTURE.md).
 */
import { main } from "./lib/cli.ts";
import { realWorld } from "./lib/world.ts";
import { createApp } from "./routes/app.tsx";

if (import.meta.main) {
  Deno.exit(await main(Deno.args, { ...realWorld(), statusApp: createApp }));
}
