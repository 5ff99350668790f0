/**
 * `ca_file` for a self-signed registry, with real TLS on loopback: a CA and a server
 * certificate made by openssl, the fake Harbor served by Deno.serve over HTTPS, and the real
 * world's `tlsFetch`. Without the CA the same request fails.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../testing/manual_clock.ts";
import { createHarborClient } from "../lib/harbor/client.ts";
import { FakeHarbor } from "../lib/harbor/fake.ts";
import { realWorld } from "../lib/world.ts";

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

Deno.test("ca_file: a registry signed by its own CA is trusted with it, refused without; HTTP_PROXY applies", async () => {
  const dir = await Deno.makeTempDir();
  const stop = new AbortController(); // stops the HTTPS server, after its checks or if they fail
  try {
    await openssl(
      dir,
      "req",
      "-x509",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "ca.key",
      "-out",
      "ca.pem",
      "-subj",
      "/CN=Berth Test CA",
      "-days",
      "2",
    );
    await openssl(
      dir,
      "req",
      "-newkey",
      "rsa:2048",
      "-nodes",
      "-keyout",
      "server.key",
      "-out",
      "server.csr",
      "-subj",
      "/CN=127.0.0.1",
    );
    await Deno.writeTextFile(`${dir}/ext.cnf`, "subjectAltName=IP:127.0.0.1\n");
    await openssl(
      dir,
      "x509",
      "-req",
      "-in",
      "server.csr",
      "-CA",
      "ca.pem",
      "-CAkey",
      "ca.key",
      "-CAcreateserial",
      "-out",
      "server.pem",
      "-days",
      "2",
      "-extfile",
      "ext.cnf",
    );
    const harbor = new FakeHarbor();
    const addr = await new Promise<Deno.NetAddr>((resolve) => {
      Deno.serve({
        hostname: "127.0.0.1",
        port: 0,
        cert: Deno.readTextFileSync(`${dir}/server.pem`),
        key: Deno.readTextFileSync(`${dir}/server.key`),
        signal: stop.signal,
        onListen: resolve,
      }, (request) => harbor.app.fetch(request));
    });
    const world = realWorld();
    const client = (fetch: typeof world.fetch) =>
      createHarborClient({
        url: `https://127.0.0.1:${addr.port}`,
        username: harbor.username,
        password: harbor.password,
        fetch,
        clock: new ManualClock(),
      });
    const trusted = client(world.tlsFetch!(Deno.readTextFileSync(`${dir}/ca.pem`)));
    assert.equal((await trusted.health()).status, "healthy");
    await trusted.createProject("over-tls", 1024);
    assert.ok(harbor.project("over-tls"));
    await assert.rejects(
      client(world.fetch).health(),
      /TLS failure with https:\/\/127\.0\.0\.1:\d+: the certificate is signed by an unknown certificate authority/,
    );
    stop.abort();

    // HTTP_PROXY is honoured by the client a ca_file builds.
    const proxied: string[] = [];
    const proxy = new AbortController();
    const proxyAddr = await new Promise<Deno.NetAddr>((resolve) => {
      Deno.serve(
        { hostname: "127.0.0.1", port: 0, signal: proxy.signal, onListen: resolve },
        (r) => {
          proxied.push(r.url);
          return harbor.app.fetch(r);
        },
      );
    });
    Deno.env.set("HTTP_PROXY", `http://127.0.0.1:${proxyAddr.port}`);
    try {
      const viaProxy = createHarborClient({
        url: "http://harbor.behind-proxy.invalid",
        username: harbor.username,
        password: harbor.password,
        fetch: world.tlsFetch!(Deno.readTextFileSync(`${dir}/ca.pem`)),
        clock: new ManualClock(),
      });
      assert.equal((await viaProxy.health()).status, "healthy");
      assert.deepEqual(proxied, ["http://harbor.behind-proxy.invalid/api/v2.0/health"]);
    } finally {
      Deno.env.delete("HTTP_PROXY");
      proxy.abort();
    }
  } finally {
    stop.abort();
    await Deno.remove(dir, { recursive: true });
  }
});
