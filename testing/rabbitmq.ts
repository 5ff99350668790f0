/**
 * A private RabbitMQ node for tests (Debian's `rabbitmq-server`, 3.10 on bookworm, with the
 * `rabbitmq_management` and `rabbitmq_web_stomp` plugins): its own node name, data, log and
 * home folders in one temporary folder, its own epmd on a free loopback port (`ERL_EPMD_PORT`,
 * never the system's 4369), and every listener (AMQP, STOMP, web-STOMP, management,
 * distribution) on 127.0.0.1. It never reads /etc/rabbitmq nor writes /var/lib/rabbitmq.
 *
 * Started straight from /usr/lib/rabbitmq/bin (the /usr/sbin wrapper would `su rabbitmq` when
 * run as root, as CI is; the node itself runs as root or as any user): the process Berth
 * starts is the Erlang VM itself (`RABBITMQ_ALLOW_INPUT` makes the script `exec erl`, `-noinput`
 * is given back), so a SIGTERM stops the node as `rabbitmqctl stop` would (Erlang's
 * `init:stop`: listeners closed, message stores and Mnesia flushed) without the second Erlang VM
 * `rabbitmqctl` costs, and SIGKILL is a last resort that reaches it. `-shutdown_time` ends the
 * management plugin's five-second wait at shutdown once RabbitMQ's stores are closed.
 *
 * The admin user is the node's `default_user` (a random password, the administrator tag, every
 * permission on `/`): no `rabbitmqctl` call is needed, and `guest` is not created.
 */
import { join } from "node:path";

/** Where Debian's package puts the server script (the /usr/sbin one is a `su` wrapper). */
export const RABBITMQ_SERVER = "/usr/lib/rabbitmq/bin/rabbitmq-server";
const EPMD = "/usr/bin/epmd";

/** A running private node; `await using` stops it and removes its folder. */
export interface RabbitNode extends AsyncDisposable {
  /** The Erlang node name, `berth-<random>@localhost`. */
  readonly nodeName: string;
  /** The AMQP 0-9-1 port (the broker needs one; tests may leave it unused). */
  readonly amqpPort: number;
  /** The web-STOMP port: STOMP over WebSocket at `ws://127.0.0.1:<port>/ws`. */
  readonly stompWsPort: number;
  /** The plain STOMP port (the web-STOMP plugin depends on the STOMP plugin). */
  readonly stompPort: number;
  /** The management HTTP API's port. */
  readonly managementPort: number;
  /** The private epmd's port, the node's `ERL_EPMD_PORT`. */
  readonly epmdPort: number;
  /** The Erlang distribution port. */
  readonly distPort: number;
  /** The administrator's name. */
  readonly adminUser: string;
  /** The administrator's password. */
  readonly adminPass: string;
  /** The temporary folder: config, Mnesia, logs, home. */
  readonly dir: string;
  /** How long the last start took, until the management API and web-STOMP answered (ms). */
  readonly startMs: number;
  /** How long the last stop took (ms; 0 before the first). */
  readonly stopMs: number;
  /** `http://127.0.0.1:<managementPort>`. */
  managementUrl(): string;
  /** `ws://127.0.0.1:<stompWsPort>/ws`. */
  stompWsUrl(): string;
  /** The `Authorization` header value of the administrator. */
  adminAuth(): string;
  /** Stops the node and its epmd (the folder stays, for `restart`); no-op when stopped. */
  stop(): Promise<void>;
  /** Stops and starts again on the same ports and data: durable queues and messages stay. */
  restart(): Promise<void>;
  /** The node's log, to explain a failure. */
  log(): Promise<string>;
}

/** Options of {@linkcode startRabbit}. */
export interface StartRabbitOptions {
  /** How long a start may take before it fails (default 60 s). */
  timeoutMs?: number;
}

/** Whether Debian's `rabbitmq-server` is installed (`.ci/run` installs it). */
export function rabbitInstalled(): boolean {
  try {
    return Deno.statSync(RABBITMQ_SERVER).isFile && Deno.statSync(EPMD).isFile;
  } catch {
    return false;
  }
}

/** Starts a private node on free loopback ports; resolves once it serves (see the module doc). */
export async function startRabbit(options: StartRabbitOptions = {}): Promise<RabbitNode> {
  const dir = await Deno.makeTempDir({ prefix: "berth-rabbit-" });
  try {
    const ports = freePorts(6);
    const node = new Node(dir, {
      amqp: ports[0]!,
      management: ports[1]!,
      stompWs: ports[2]!,
      stomp: ports[3]!,
      epmd: ports[4]!,
      dist: ports[5]!,
    }, options.timeoutMs ?? 60_000);
    await node.writeConfig();
    await node.start();
    return node;
  } catch (e) {
    await Deno.remove(dir, { recursive: true }).catch(() => {});
    throw e;
  }
}

interface Ports {
  amqp: number;
  management: number;
  stompWs: number;
  stomp: number;
  epmd: number;
  dist: number;
}

/**
 * `n` distinct ports free on 127.0.0.1 now, below Linux's ephemeral range (32768 and up): a port
 * there could be taken meanwhile as the source port of an outgoing connection (Deno's own, or
 * the node's to its epmd), and the node binds its listeners without SO_REUSEADDR.
 */
function freePorts(n: number): number[] {
  const out: number[] = [];
  while (out.length < n) {
    const port = 20_000 + Math.floor(Math.random() * 12_000);
    if (out.includes(port)) continue;
    try {
      Deno.listen({ hostname: "127.0.0.1", port }).close();
      out.push(port);
    } catch {
      // taken: draw another
    }
  }
  return out;
}

function randomHex(bytes: number): string {
  return [...crypto.getRandomValues(new Uint8Array(bytes))]
    .map((b) => b.toString(16).padStart(2, "0")).join("");
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

class Node implements RabbitNode {
  readonly nodeName = `berth-${randomHex(6)}@localhost`;
  readonly adminUser = "berth-admin";
  readonly adminPass = randomHex(16);
  startMs = 0;
  stopMs = 0;
  #server: Deno.ChildProcess | undefined;
  #epmd: Deno.ChildProcess | undefined;
  #exited: Promise<Deno.CommandStatus> | undefined;

  constructor(readonly dir: string, readonly ports: Ports, readonly timeoutMs: number) {}

  get amqpPort(): number {
    return this.ports.amqp;
  }
  get stompWsPort(): number {
    return this.ports.stompWs;
  }
  get stompPort(): number {
    return this.ports.stomp;
  }
  get managementPort(): number {
    return this.ports.management;
  }
  get epmdPort(): number {
    return this.ports.epmd;
  }
  get distPort(): number {
    return this.ports.dist;
  }

  managementUrl(): string {
    return `http://127.0.0.1:${this.ports.management}`;
  }

  stompWsUrl(): string {
    return `ws://127.0.0.1:${this.ports.stompWs}/ws`;
  }

  adminAuth(): string {
    return `Basic ${btoa(`${this.adminUser}:${this.adminPass}`)}`;
  }

  async writeConfig(): Promise<void> {
    const p = this.ports;
    const conf = [
      `listeners.tcp.1 = 127.0.0.1:${p.amqp}`,
      `stomp.listeners.tcp.1 = 127.0.0.1:${p.stomp}`,
      `web_stomp.tcp.ip = 127.0.0.1`,
      `web_stomp.tcp.port = ${p.stompWs}`,
      `management.tcp.ip = 127.0.0.1`,
      `management.tcp.port = ${p.management}`,
      // the management API's queue statistics are not needed (tests read messages with /get),
      // and their collector slows every start and stop
      `management_agent.disable_metrics_collector = true`,
      `loopback_users = none`,
      `default_vhost = /`,
      `default_user = ${this.adminUser}`,
      `default_pass = ${this.adminPass}`,
      `default_user_tags.administrator = true`,
      `default_permissions.configure = .*`,
      `default_permissions.read = .*`,
      `default_permissions.write = .*`,
      `log.console = false`,
      `log.file.level = info`,
      "",
    ].join("\n");
    await Deno.writeTextFile(join(this.dir, "rabbitmq.conf"), conf);
    await Deno.writeTextFile(
      join(this.dir, "enabled_plugins"),
      "[rabbitmq_management,rabbitmq_web_stomp].\n",
    );
    await Deno.writeTextFile(join(this.dir, "rabbitmq-env.conf"), "");
    for (const d of ["home", "mnesia", "log"]) await Deno.mkdir(join(this.dir, d));
  }

  #env(): Record<string, string> {
    const d = this.dir;
    return {
      PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
      LANG: "C.UTF-8",
      LC_ALL: "C.UTF-8",
      // the Erlang cookie is made in $HOME: the node's own, not root's
      HOME: join(d, "home"),
      ERL_EPMD_PORT: String(this.ports.epmd),
      ERL_EPMD_ADDRESS: "127.0.0.1",
      RABBITMQ_NODENAME: this.nodeName,
      RABBITMQ_CONF_ENV_FILE: join(d, "rabbitmq-env.conf"),
      RABBITMQ_CONFIG_FILE: join(d, "rabbitmq.conf"),
      RABBITMQ_ADVANCED_CONFIG_FILE: join(d, "advanced.config"),
      RABBITMQ_ENABLED_PLUGINS_FILE: join(d, "enabled_plugins"),
      RABBITMQ_MNESIA_BASE: join(d, "mnesia"),
      RABBITMQ_LOG_BASE: join(d, "log"),
      RABBITMQ_PID_FILE: join(d, "rabbitmq.pid"),
      RABBITMQ_DIST_PORT: String(this.ports.dist),
      RABBITMQ_ALLOW_INPUT: "1",
      RABBITMQ_SERVER_ADDITIONAL_ERL_ARGS:
        "-noinput -kernel inet_dist_use_interface {127,0,0,1} -shutdown_time 2000",
    };
  }

  async start(): Promise<void> {
    if (this.#server) return;
    const began = performance.now();
    const deadline = began + this.timeoutMs;
    this.#epmd = new Deno.Command(EPMD, {
      args: ["-port", String(this.ports.epmd), "-address", "127.0.0.1"],
      clearEnv: true,
      env: { PATH: "/usr/bin:/bin" },
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    await this.#until(deadline, "its epmd to listen", () => this.#listening(this.ports.epmd));
    this.#server = new Deno.Command(RABBITMQ_SERVER, {
      clearEnv: true,
      env: this.#env(),
      cwd: this.dir,
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).spawn();
    this.#exited = this.#server.status;
    try {
      await this.#until(
        deadline,
        "the management API and web-STOMP to answer",
        () => this.#ready(),
      );
    } catch (e) {
      await this.stop();
      throw e;
    }
    this.startMs = Math.round(performance.now() - began);
  }

  async #listening(port: number): Promise<boolean> {
    try {
      (await Deno.connect({ hostname: "127.0.0.1", port })).close();
      return true;
    } catch {
      return false;
    }
  }

  /** The management API answers, and the web-STOMP and AMQP listeners accept connections. */
  async #ready(): Promise<boolean> {
    const exited = await Promise.race([this.#exited, sleep(0).then(() => undefined)]);
    if (exited) {
      const tail = (await this.log()).split("\n").filter((l) => /error|fail/i.test(l)).slice(-8);
      throw new Error(
        `RabbitMQ node ${this.nodeName} exited (code ${exited.code}) while starting:\n` +
          tail.join("\n"),
      );
    }
    try {
      const res = await fetch(`${this.managementUrl()}/api/overview`, {
        headers: { authorization: this.adminAuth() },
      });
      await res.body?.cancel();
      if (!res.ok) return false;
    } catch {
      return false;
    }
    return await this.#listening(this.ports.stompWs) && await this.#listening(this.ports.amqp);
  }

  async #until(deadline: number, what: string, ok: () => Promise<boolean>): Promise<void> {
    let wait = 50;
    while (!await ok()) {
      if (performance.now() > deadline) {
        const tail = (await this.log()).split("\n").slice(-15).join("\n");
        throw new Error(
          `RabbitMQ node ${this.nodeName}: timed out after ${this.timeoutMs} ms waiting for ` +
            `${what}; the log ends:\n${tail}`,
        );
      }
      await sleep(wait);
      wait = Math.min(250, wait * 2);
    }
  }

  async stop(): Promise<void> {
    const began = performance.now();
    const server = this.#server;
    if (server) {
      this.#server = undefined;
      await terminate(server, this.#exited ?? server.status, 20_000);
      this.#exited = undefined;
    }
    const epmd = this.#epmd;
    if (epmd) {
      this.#epmd = undefined;
      await terminate(epmd, epmd.status, 5_000);
    }
    if (server) this.stopMs = Math.round(performance.now() - began);
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async log(): Promise<string> {
    try {
      return await Deno.readTextFile(join(this.dir, "log", `${this.nodeName}.log`));
    } catch {
      return "(no log yet)";
    }
  }

  async [Symbol.asyncDispose](): Promise<void> {
    try {
      await this.stop();
    } finally {
      await Deno.remove(this.dir, { recursive: true }).catch(() => {});
    }
  }
}

/** SIGTERM, then SIGKILL if it is still there after `graceMs`; resolves once it has exited. */
async function terminate(
  child: Deno.ChildProcess,
  status: Promise<Deno.CommandStatus>,
  graceMs: number,
): Promise<void> {
  try {
    child.kill("SIGTERM");
  } catch {
    // already gone
  }
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<"late">((resolve) => timer = setTimeout(() => resolve("late"), graceMs));
  const outcome = await Promise.race([status, late]);
  clearTimeout(timer);
  if (outcome === "late") {
    try {
      child.kill("SIGKILL");
    } catch {
      // gone meanwhile
    }
    await status;
  }
}
