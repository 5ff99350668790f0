/**
 * The wiring module: the real outside world (environment, files, fetch, the system clock,
 * signals, the HTTP server). Only this module and `main.ts` touch `Deno.*`, `Date.now` and
 * timers.
 */
import type { World } from "./cli/world.ts";
import type { Clock } from "./clock.ts";
import { errorMessage } from "./errors.ts";
import { createLogger, print, printError } from "./log.ts";
import { PLUGINS } from "./plugins.ts";
import { parseListen, type ServeEvent, ServerEventLog } from "./status_server.ts";
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

/** First wait before listening again after the listener failed; it doubles up to the maximum. */
const RELISTEN_FIRST_MS = 500;
const RELISTEN_MAX_MS = 30_000;
/** A listener that stayed up this long starts the waits over. */
const RELISTEN_RESET_MS = 60_000;

/**
 * `Deno.serve` that survives its listener. Deno ends a server's accept loop at the first failed
 * accept (out of file descriptors: `Too many open files`) and rejects its `finished` promise; left
 * unhandled, that rejection exits the process. Here every server's `finished` is awaited: on a
 * failure, the server is aborted (its connections closed, which frees their descriptors), the
 * failure reported, and the same address listened on again after a wait that doubles from 0.5 s
 * to 30 s. A handler that throws answers 500 and is reported.
 *
 * Deno offers no bound on open connections (`Deno.serve` has only `tcpBacklog`, which bounds
 * connections not yet accepted), so the process's file-descriptor limit is the bound.
 */
function serveSurviving(
  listen: string,
  handler: (request: Request) => Response | Promise<Response>,
  signal: AbortSignal,
  onEvent: (event: ServeEvent) => void,
): { url: string; finished: Promise<void> } {
  const { hostname, port: wanted } = parseListen(listen);
  const tell = (event: ServeEvent) => {
    try {
      onEvent(event);
    } catch {
      // a report that fails must not stop the server (an onError that throws would)
    }
  };
  const onError = (error: unknown): Response => {
    tell({ kind: "handler", message: errorMessage(error) });
    return new Response("500 Internal Server Error\n", {
      status: 500,
      headers: { "content-type": "text/plain; charset=utf-8" },
    });
  };
  const start = (port: number) => {
    // each listener has its own abort, so a failed one can be closed while `signal` lives on
    const own = new AbortController();
    const stop = () => own.abort();
    signal.addEventListener("abort", stop, { once: true });
    try {
      const server = Deno.serve(
        { hostname, port, signal: own.signal, onListen: () => {}, onError },
        handler,
      );
      return { server, own, release: () => signal.removeEventListener("abort", stop) };
    } catch (error) {
      signal.removeEventListener("abort", stop);
      throw error;
    }
  };
  // the first listen throws to the caller (AddrInUse, a bad address); later ones are retried
  let current = start(wanted);
  const port = current.server.addr.port;
  const host = current.server.addr.hostname;
  const url = `http://${host.includes(":") ? `[${host}]` : host}:${port}/`;
  const finished = (async () => {
    let waitMs = RELISTEN_FIRST_MS;
    for (;;) {
      const since = performance.now();
      let failure: unknown = new Error("the listener closed");
      try {
        await current.server.finished;
      } catch (error) {
        failure = error;
      }
      current.release();
      if (signal.aborted) return;
      // close what the failed listener still holds, and free its resource
      current.own.abort();
      current.server.shutdown().catch(() => {});
      if (performance.now() - since >= RELISTEN_RESET_MS) waitMs = RELISTEN_FIRST_MS;
      // Deno wraps the OS error: "Http: Error: Too many open files (os error 24)"
      const message = errorMessage(failure).replace(/^Error: /, "");
      tell({ kind: "accept", message, retryInMs: waitMs });
      for (;;) {
        await systemClock.sleep(waitMs, signal);
        if (signal.aborted) return;
        waitMs = Math.min(waitMs * 2, RELISTEN_MAX_MS);
        try {
          current = start(port);
          break;
        } catch (error) {
          tell({ kind: "listen", message: errorMessage(error), retryInMs: waitMs });
        }
      }
      tell({ kind: "listening", url });
    }
  })();
  return { url, finished };
}

/** Reports the events of a server nobody asked about (the demo's fakes) on stderr. */
function defaultServeEvents(): (event: ServeEvent) => void {
  const log = new ServerEventLog(createLogger({ format: "pretty" }), () => performance.now());
  return (event) => log.record(event);
}

/** The real world. */
/** The real world, but for the status app, which `main.ts` adds (lib never imports routes). */
export function realWorld(): Omit<World, "statusApp"> {
  return {
    env: (name) => Deno.env.get(name),
    readFile: (path) => Deno.readTextFileSync(path),
    mayWrite: (path) => Deno.permissions.querySync({ name: "write", path }).state === "granted",
    fetch: (request) => fetch(request),
    webSocket: (url, protocols) => new WebSocket(url, protocols),
    random: () => Math.random(),
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
    serve: (listen, handler, signal, onEvent) => {
      try {
        return Promise.resolve(
          serveSurviving(listen, handler, signal, onEvent ?? defaultServeEvents()),
        );
      } catch (error) {
        return Promise.reject(error);
      }
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
