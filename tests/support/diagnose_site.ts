/**
 * `berth diagnose` against the fakes served on loopback ports (real sockets, the real fetch, real
 * TLS), so the report shows what an operator sees: refused connections, DNS and TLS failures,
 * and the servers' own error bodies. Ports are replaced by fixed tokens before snapshotting.
 */
import { main, type World } from "../../lib/cli.ts";
import { FakeHarbor } from "../../lib/harbor/fake.ts";
import { FakeKeycloak } from "../../lib/keycloak/fake.ts";
import { FakeRancher } from "../../lib/rancher/fake.ts";
import { FakeWaldur } from "../../lib/waldur/fake.ts";
import { realWorld } from "../../lib/world.ts";
import { ManualClock } from "../../testing/manual_clock.ts";

/** A fake served on a loopback port. */
export interface Served {
  /** `http://127.0.0.1:PORT` (or https). */
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Serves `handler` on a free loopback port, over TLS when `tls` is given. */
export function serveLoopback(
  handler: (request: Request) => Response | Promise<Response>,
  tls?: { cert: string; key: string },
): Served {
  const server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {}, ...(tls ?? {}) },
    handler,
  );
  return {
    url: `${tls ? "https" : "http"}://127.0.0.1:${server.addr.port}`,
    port: server.addr.port,
    close: () => server.shutdown(),
  };
}

/** A loopback port nothing listens on (connections to it are refused). */
export function closedPort(): number {
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = listener.addr.port;
  listener.close();
  return port;
}

/** The four fakes, a Rancher cluster with a project, a Keycloak realm, a Waldur offering. */
export class DiagnoseSite {
  readonly clock = new ManualClock();
  readonly waldur = new FakeWaldur({ now: () => this.clock.now() });
  readonly harbor = new FakeHarbor({ now: () => this.clock.now() });
  readonly rancher = new FakeRancher();
  readonly keycloak = new FakeKeycloak();
  readonly offering: string;
  /** The loopback servers, by the token their port is shown as. */
  readonly #served = new Map<string, Served>();
  /** Ports to show as a token (a closed port, a TLS server). */
  readonly #ports = new Map<number, string>();
  readonly files = new Map<string, string>();
  readonly out: string[] = [];
  readonly logs: string[] = [];

  constructor() {
    this.offering = this.waldur.addOffering("Registry", [
      { type: "storage", name: "Storage", billing_type: "limit", measured_unit: "GB" },
      { type: "cpu", name: "CPU", billing_type: "limit", measured_unit: "cores" },
      { type: "ram", name: "RAM", billing_type: "limit", measured_unit: "GB" },
    ]);
    this.keycloak.addRealm("waldur");
  }

  /** Serves `handler` on loopback; its port is shown as `<name>`. */
  serve(
    name: string,
    handler: (request: Request) => Response | Promise<Response>,
    tls?: { cert: string; key: string },
  ): string {
    const served = serveLoopback(handler, tls);
    this.#served.set(name, served);
    this.#ports.set(served.port, name);
    return served.url;
  }

  /** The URL of a loopback port nothing listens on, its port shown as `<name>`. */
  refused(name: string): string {
    const port = closedPort();
    this.#ports.set(port, name);
    return `http://127.0.0.1:${port}`;
  }

  /** The four fakes served: Waldur, Harbor, Rancher, Keycloak; their URLs. */
  serveAll(): { waldur: string; harbor: string; rancher: string; keycloak: string } {
    return {
      waldur: this.serve("waldur", (r) => this.waldur.app.fetch(r)),
      harbor: this.serve("harbor", (r) => this.harbor.app.fetch(r)),
      rancher: this.serve("rancher", (r) => this.rancher.app.fetch(r)),
      keycloak: this.serve("keycloak", (r) => this.keycloak.app.fetch(r)),
    };
  }

  /** A Harbor offering's YAML entry. */
  harborOffering(waldur: string, harbor: string, extra = ""): string {
    return `
  - name: registry
    waldur_api_url: ${waldur}/api/
    waldur_api_token: ${this.waldur.token}
    waldur_offering_uuid: ${this.offering}
    backend_type: harbor
    backend_settings:
      harbor_url: ${harbor}
      robot_username: ${this.harbor.username}
      robot_password: ${this.harbor.password}${extra}
    backend_components:
      storage: {measured_unit: GB, accounting_type: limit, label: Storage}`;
  }

  /** A Rancher offering's YAML entry, with Keycloak. */
  rancherOffering(waldur: string, rancher: string, keycloak: string, extra = ""): string {
    return `
  - name: rancher-projects
    waldur_api_url: ${waldur}/api/
    waldur_api_token: ${this.waldur.token}
    waldur_offering_uuid: ${this.offering}
    backend_type: rancher
    backend_settings:
      backend_url: ${rancher}
      username: ${this.rancher.accessKey}
      password: ${this.rancher.secretKey}
      cluster_id: c-m-7x2k9q4d
      project_prefix: rancher-
      keycloak_enabled: true
      keycloak:
        keycloak_url: ${keycloak}/
        keycloak_realm: waldur
        keycloak_user_realm: master
        keycloak_username: admin
        keycloak_password: admin-secret${extra}
    backend_components:
      cpu: {measured_unit: cores, accounting_type: limit, label: CPU}
      ram: {measured_unit: GB, accounting_type: limit, label: RAM}`;
  }

  /** The world `berth diagnose` runs in: the real fetch and TLS, this config, collected output. */
  world(offerings: string[], more = ""): World {
    const yaml = `offerings:${offerings.join("")}\nstate_file: ":memory:"\n${more}`;
    const real = realWorld();
    return {
      ...real,
      env: () => undefined,
      clock: this.clock,
      isTerminal: false,
      readFile: (path) => {
        if (path === "berth.yaml") return yaml;
        const file = this.files.get(path);
        if (file === undefined) throw new Deno.errors.NotFound(path);
        return file;
      },
      onSignal: () => () => {},
      stdout: (text) => this.out.push(text),
      stderr: (text) => this.out.push(`stderr: ${text}`),
      writeLog: (line) => this.logs.push(line),
      statusApp: () => ({ fetch: () => new Response(null, { status: 404 }) }),
    };
  }

  /** `berth diagnose`'s report and exit code, ports shown as their tokens and uuids as <uuid>. */
  async diagnose(world: World): Promise<string> {
    this.out.length = 0;
    const code = await main(["diagnose", "-c", "berth.yaml"], world);
    let text = this.out.join("\n");
    for (const [port, name] of this.#ports) text = text.replaceAll(`:${port}`, `:<${name}>`);
    text = text.replace(/\b[0-9a-f]{32}\b/g, "<uuid>");
    return `$ berth diagnose -c berth.yaml\n${text}\n(exit ${code})\n`;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    for (const s of this.#served.values()) await s.close();
  }
}

/** A certificate and its key (PEM). */
export interface KeyPair {
  cert: string;
  key: string;
}

/** Test certificates for 127.0.0.1, made by openssl: a CA, and servers signed by it. */
export interface TestCerts {
  /** The CA's certificate (PEM), for ca_file. */
  ca: string;
  /** Valid for 127.0.0.1. */
  good: KeyPair;
  /** Valid for other.test only. */
  otherName: KeyPair;
  /** Valid for 127.0.0.1, expired on 2020-01-02. */
  expired: KeyPair;
}

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

/** `openssl ca`'s configuration: a throw-away CA database, SANs from the section named. */
const CA_CONFIG = `[ ca ]
default_ca = berth_test
[ berth_test ]
database = index.txt
unique_subject = no
serial = serial
new_certs_dir = .
default_md = sha256
policy = any
[ any ]
commonName = supplied
[ loopback ]
subjectAltName = IP:127.0.0.1
[ other ]
subjectAltName = DNS:other.test
`;

/** Makes {@link TestCerts} in a fresh temporary directory, removed afterwards. */
export async function makeCerts(): Promise<TestCerts> {
  const dir = await Deno.makeTempDir();
  try {
    const read = (name: string) => Deno.readTextFileSync(`${dir}/${name}`);
    Deno.writeTextFileSync(`${dir}/ca.cnf`, CA_CONFIG);
    Deno.writeTextFileSync(`${dir}/index.txt`, "");
    Deno.writeTextFileSync(`${dir}/serial`, "01\n");
    await openssl(
      dir,
      ..."req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out ca.pem -days 2".split(" "),
      ...["-subj", "/CN=Berth Test CA"],
    );
    await openssl(
      dir,
      ..."req -newkey rsa:2048 -nodes -keyout server.key -out server.csr".split(" "),
      ...["-subj", "/CN=127.0.0.1"],
    );
    const sign = async (out: string, extensions: string, dates: string[]) => {
      await openssl(
        dir,
        ..."ca -batch -config ca.cnf -cert ca.pem -keyfile ca.key -in server.csr".split(" "),
        ...["-out", out, "-extensions", extensions, ...dates],
      );
      return { cert: read(out), key: read("server.key") };
    };
    return {
      ca: read("ca.pem"),
      good: await sign("good.pem", "loopback", ["-days", "2"]),
      otherName: await sign("other.pem", "other", ["-days", "2"]),
      expired: await sign("expired.pem", "loopback", [
        ..."-startdate 20200101000000Z -enddate 20200102000000Z".split(" "),
      ]),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}
