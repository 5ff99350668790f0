/**
 * `berth demo`: the four fakes on loopback, seeded, the scripted timeline acting on them, and the
 * agent running against them exactly as `berth run` does (over HTTP, from a generated config),
 * with the status page on 127.0.0.1:8080. State goes to a temporary directory unless `--state`
 * is given; Ctrl-C stops everything.
 */
import type { World } from "../cli/world.ts";
import { startDemoSite } from "./site.ts";
import { runTimeline } from "./timeline.ts";

/** The config path the status page shows for the demo. */
export const DEMO_CONFIG_PATH = "(embedded demo site)";

/** What `berth run` needs from the demo. */
export interface DemoRunOptions {
  config: string;
  listen: string;
  state: string;
  onListening: (url: string) => void;
}

/** Options of {@link runDemo}. */
export interface DemoOptions {
  listen?: string;
  state?: string;
  /** Loop intervals (the demo's default: orders 3 s, membership and usage 5 s). */
  intervals?: { orders?: string; membership?: string; usage?: string };
}

/** Runs the demo until a signal; `run` is `berth run` (passed in to keep the import one-way). */
export async function runDemo(
  world: World,
  options: DemoOptions,
  run: (world: World, options: DemoRunOptions) => Promise<number>,
): Promise<number> {
  const site = await startDemoSite(world.serve, { now: () => world.clock.now() });
  const dir = options.state ? undefined : await world.makeTempDir("berth-demo-");
  const state = options.state ?? `${dir}/berth.db`;
  const listen = options.listen ?? "127.0.0.1:8080";
  const yaml = site.config({
    listen,
    stateFile: state,
    ...(options.intervals ? { intervals: options.intervals } : {}),
  });
  const stopTimeline = new AbortController();
  const demoWorld: World = {
    ...world,
    readFile: (path) => (path === DEMO_CONFIG_PATH ? yaml : world.readFile(path)),
    onSignal: (handler) =>
      world.onSignal(() => {
        stopTimeline.abort();
        handler();
      }),
  };
  world.stdout(
    `berth demo: fake Waldur ${site.urls.waldur}, Harbor ${site.urls.harbor}, ` +
      `Rancher ${site.urls.rancher}, Keycloak ${site.urls.keycloak}`,
  );
  world.stdout(`berth demo: state in ${state}`);
  const timeline = runTimeline(site, {
    clock: world.clock,
    signal: stopTimeline.signal,
    note: (text) => world.stdout(`berth demo: ${text}`),
  });
  let code: number;
  try {
    code = await run(demoWorld, {
      config: DEMO_CONFIG_PATH,
      listen,
      state,
      onListening: (url) => world.stdout(`berth demo: status page on ${url} (Ctrl-C stops)`),
    });
  } finally {
    stopTimeline.abort();
    await timeline;
    await site.close();
    if (dir) await world.removeDir(dir);
  }
  return code;
}
