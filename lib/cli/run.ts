/** \`berth run\`: the loops, the status server, and a clean stop on SIGINT/SIGTERM. */
import { loopSpecs, type OfferingRuntime, registerIdentities } from "../agent.ts";
import type { LoopName } from "../config.ts";
import { errorMessage } from "../errors.ts";
import { type EventMode, type EventOffering, startEventMode } from "../events/mode.ts";
import type { Logger } from "../log.ts";
import { type LoopDeps, LoopTrigger, runLoop, runPass, TRIGGER_DEBOUNCE_MS } from "../loop.ts";
import { openToNetworkWarning, ServerEventLog } from "../status_server.ts";
import { wire } from "./wire.ts";
import type { World } from "./world.ts";

/** Options of {@link run}, from the command line. */
export interface RunOptions {
  config: string;
  once: boolean;
  loops: readonly LoopName[];
  listen?: string;
  state?: string;
  /** Called with the status page's URL once it listens. */
  onListening?: (url: string) => void;
}

/** `berth run`: the selected loops and the status server until a signal (`once`: one pass each). */
export async function run(world: World, options: RunOptions): Promise<number> {
  const wired = wire(world, options.config, options.state);
  if (!wired) return 1;
  const { config, log, store, status, offerings } = wired;
  const deps: LoopDeps = { clock: world.clock, status, store, log };
  const specs = loopSpecs(offerings, config.intervals, options.loops);
  for (const s of specs) status.addLoop(s.offering, s.loop, s.intervalMs);
  const stop = new AbortController();
  let stops = 0;
  const unsubscribe = world.onSignal(() => {
    stops++;
    log.info(stops === 1 ? "stopping: finishing the items in flight" : "stopping now");
    stop.abort();
  });
  try {
    const identities = await registerIdentities(offerings, options.loops, {
      clock: world.clock,
      log,
      version: world.version,
    });
    if (options.once) {
      // Each offering's passes in order (orders, membership, usage: a resource created now gets
      // its members in the same run); offerings side by side, as the running agent's loops are.
      let failed = 0;
      const byOffering = Map.groupBy(specs, (s) => s.offering);
      await Promise.all([...byOffering.values()].map(async (passes) => {
        for (const spec of passes) {
          const result = await runPass(spec, deps, stop.signal);
          if (result.outcome !== "ok") failed++;
        }
      }));
      log.info(`--once: ${specs.length - failed} of ${specs.length} passes ok`);
      return failed === 0 ? 0 : 1;
    }
    const listen = options.listen ?? config.status.listen;
    const tokenRequired = config.status.token !== undefined;
    const exposed = openToNetworkWarning(listen, tokenRequired);
    if (exposed) log.warn(exposed);
    status.serving({ listen, tokenRequired, openToNetwork: exposed !== undefined });
    const app = world.statusApp({
      status,
      ...(config.status.token ? { token: config.status.token } : {}),
      ...(world.runtime ? { deno: world.runtime } : {}),
    });
    const events = new ServerEventLog(log, () => world.clock.monotonic());
    const server = await world.serve(listen, (request) => app.fetch(request), stop.signal, (e) => {
      status.serverEvent(e);
      events.record(e);
    });
    // handled from the start: a rejection nobody awaits yet would end the process
    const served = server.finished.catch((error) => {
      log.error(`status server: stopped: ${errorMessage(error)}`);
    });
    // event mode: the loops of its offerings take "run soon" requests (a burst shares a pass)
    const triggers = new Map<string, LoopTrigger>();
    const debounce = {
      debounceMs: TRIGGER_DEBOUNCE_MS,
      sleep: (ms: number, signal: AbortSignal) => world.clock.sleep(ms, signal),
    };
    for (const s of specs) {
      const o = offerings.find((o) => o.config.name === s.offering);
      if (o?.config.events) triggers.set(`${s.offering}/${s.loop}`, new LoopTrigger(debounce));
    }
    const eventMode = startEvents(
      world,
      log,
      status,
      eventOfferings(offerings, triggers, identities, {
        clock: world.clock,
        log,
        version: world.version,
      }),
    );
    log.info(`berth ${world.version} running: ${specs.length} loops, status on ${server.url}`);
    options.onListening?.(server.url);
    await Promise.all(
      specs.map((spec) =>
        runLoop(spec, deps, stop.signal, triggers.get(`${spec.offering}/${spec.loop}`))
      ),
    );
    // after the loops: the acknowledgements of the passes that finished are sent, and the
    // messages whose pass never ran go back to their queue as the connection closes
    await eventMode?.stop();
    await served;
    log.info("stopped");
    return 0;
  } finally {
    unsubscribe();
    store.close();
  }
}

/** The offerings in event mode, with their loops' triggers and their identities. */
function eventOfferings(
  offerings: readonly OfferingRuntime[],
  triggers: ReadonlyMap<string, LoopTrigger>,
  identities: ReadonlyMap<string, string>,
  deps: Parameters<typeof registerIdentities>[2],
): EventOffering[] {
  return offerings.filter((o) => o.config.events).map((runtime) => {
    const name = runtime.config.name;
    let known = identities.get(name);
    return {
      runtime,
      identity: async () =>
        known ??= await runtime.waldur.registerIdentity(
          runtime.config.offeringUuid,
          deps.version,
          ["event_process"],
          new Date(deps.clock.now()).toISOString(),
        ),
      triggers: {
        orders: triggers.get(`${name}/orders`),
        membership: triggers.get(`${name}/membership`),
      },
    };
  });
}

/** Starts event mode for `offerings`, if any and if the world can open a WebSocket. */
function startEvents(
  world: World,
  log: Logger,
  status: Parameters<typeof startEventMode>[1]["status"],
  offerings: EventOffering[],
): EventMode | undefined {
  if (offerings.length === 0) return undefined;
  if (!world.webSocket) {
    log.error("event mode: this runtime cannot open a WebSocket; polling only");
    return undefined;
  }
  log.info(`event mode: ${offerings.map((o) => o.runtime.config.name).join(", ")}`);
  return startEventMode(offerings, {
    status,
    log,
    clock: world.clock,
    webSocket: world.webSocket,
    random: world.random ?? (() => 0.5),
  });
}
