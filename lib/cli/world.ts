/**
 * The outside world as the commands see it: environment, files, fetch, the clock, signals, the
 * HTTP server, the status app and where output goes. \`lib/world.ts\` builds the real one; tests
 * build their own, so every command runs under test.
 */
import type { BackendPlugin } from "../backend.ts";
import type { WebSocketFactory } from "../events/connection.ts";
import type { Clock } from "../clock.ts";
import type { Fetch } from "../http.ts";
import type { StatusRecord } from "../status.ts";
import type { ServeEvent } from "../status_server.ts";

/** What the status server serves (\`routes/app.tsx\`'s \`createApp\`, wired in by \`main.ts\`). */
export type StatusApp = (options: {
  status: StatusRecord;
  token?: string;
  deno?: string;
}) => { fetch: (request: Request) => Response | Promise<Response> };

/** The outside world as the commands see it. */
export interface World {
  env: (name: string) => string | undefined;
  readFile: (path: string) => string;
  /**
   * Whether this process may write `path` (its permissions: the compiled binary may write only
   * its state directory and /tmp); absent: it may write anywhere.
   */
  mayWrite?: (path: string) => boolean;
  fetch: Fetch;
  /** A fetch that also trusts these CA certificates (PEM); defaults to `fetch`. */
  tlsFetch?: (caPem: string) => Fetch;
  clock: Clock;
  /** True when stderr is a terminal (readable logs instead of JSON lines). */
  isTerminal: boolean;
  /** Calls `handler` on SIGINT/SIGTERM; returns the unsubscribe function. */
  onSignal: (handler: () => void) => () => void;
  /**
   * Serves `handler` until `signal` aborts; resolves with the address once listening. A failure
   * after that (an accept that fails for want of file descriptors, a handler that throws) never
   * rejects: the server closes its connections, listens again and tells `onEvent`. `finished`
   * resolves once `signal` has aborted and the server closed.
   */
  serve: (
    listen: string,
    handler: (request: Request) => Response | Promise<Response>,
    signal: AbortSignal,
    onEvent?: (event: ServeEvent) => void,
  ) => Promise<{ url: string; finished: Promise<void> }>;
  /** Makes a fresh temporary directory (the demo's state). */
  makeTempDir: (prefix: string) => Promise<string>;
  /** Removes a directory and what it holds. */
  removeDir: (path: string) => Promise<void>;
  plugins: readonly BackendPlugin<never>[];
  version: string;
  /** The runtime's version, for `berth_build_info` (`Deno.version.deno`). */
  runtime?: string;
  /** Opens a WebSocket (event mode); without it, event mode is not started (an error says so). */
  webSocket?: WebSocketFactory;
  /** Random numbers in [0, 1) (event mode's reconnect jitter); defaults to 0.5. */
  random?: () => number;
  /** Where log lines go (tests collect them); defaults to stderr. */
  writeLog?: (line: string) => void;
  /** A command's output (plans, reports, JSON), one call per line or block. */
  stdout: (text: string) => void;
  /** A command's error report (usage errors, a bad config) before a logger exists. */
  stderr: (text: string) => void;
  /** The status page, API, metrics and probes (`routes/`), given by `main.ts`: lib never imports routes. */
  statusApp: StatusApp;
}
