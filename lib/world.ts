/**
 * The wiring module: the real outside world (environment, files, fetch, the system clock,
 * signals, the HTTP server). Only this module and `main.ts` touch `Deno.*`, `Date.now` and
 * timers.
 */
import type { World } from "./cli.ts";
import type { Clock } from "./clock.ts";
import { print, printError } from "./log.ts";
import { PLUGINS } from "./plugins.ts";
import { VERSION } from "./version.ts";

/** The system clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  sleep: (ms, signal) =>
    new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const timer = setTimeout(() => {
        signal?.removeEventListener("abort", onAbort);
        resolve();
      }, ms);
      function onAbort(): void {
        clearTimeout(timer);
        resolve();
      }
      signal?.addEventListener("abort", onAbort, { once: true });
    }),
};

/** Splits `host:port` (or `[v6]:port`). */
export function parseListen(listen: string): { hostname: string; port: number } {
  const m = /^\[?([^\]]*)\]?:(\d+)$/.exec(listen);
  if (!m) throw new Error(`listen address ${listen} is not host:port`);
  return { hostname: m[1] || "127.0.0.1", port: Number(m[2]) };
}

/** The real world. */
export function realWorld(): World {
  return {
    env: (name) => Deno.env.get(name),
    readFile: (path) => Deno.readTextFileSync(path),
    fetch: (request) => fetch(request),
    tlsFetch: (caPem) => {
      const client = Deno.createHttpClient({ caCerts: [caPem] });
      return (request) => fetch(request, { client });
    },
    clock: systemClock,
    isTerminal: Deno.stderr.isTerminal(),
    onSignal: (handler) => {
      const signals: Deno.Signal[] = ["SIGINT", "SIGTERM"];
      for (const s of signals) Deno.addSignalListener(s, handler);
      return () => {
        for (const s of signals) Deno.removeSignalListener(s, handler);
      };
    },
    serve: (listen, handler, signal) => {
      const { hostname, port } = parseListen(listen);
      return new Promise((resolve, reject) => {
        try {
          // onListen may run before Deno.serve returns, so the address is read from the server
          const server = Deno.serve({ hostname, port, signal, onListen: () => {} }, handler);
          const addr = server.addr;
          const host = addr.hostname.includes(":") ? `[${addr.hostname}]` : addr.hostname;
          resolve({ url: `http://${host}:${addr.port}/`, finished: server.finished });
        } catch (error) {
          reject(error);
        }
      });
    },
    makeTempDir: (prefix) => Deno.makeTempDir({ prefix }),
    removeDir: (path) => Deno.remove(path, { recursive: true }),
    plugins: PLUGINS,
    version: VERSION,
    runtime: Deno.version.deno,
    stdout: print,
    stderr: printError,
  };
}
