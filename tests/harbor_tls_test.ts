/**
 * `ca_file` for a self-signed registry, with real TLS on loopback: a CA and a server
 * certificate made by openssl, the fake Harbor served by Deno.serve over HTTPS, and the real
 * world's `tlsFetch`. Without the CA the same request fails.
 */
import assert from "node:assert/strict";
import { ManualClock } from "../lib/clock.ts";
import { createHarborClient } from "../lib/harbor/client.ts";
import { FakeHarbor } from "../lib/harbor/fake.ts";
import { realWorld } from "../lib/world.ts";

async function openssl(dir: string, ...args: string[]): Promise<void> {
  const out = await new Deno.Command("openssl", { args, cwd: dir, stdout: "null", stderr: "piped" })
    .output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

Deno.test("ca_file: a registry signed by its own CA is trusted with it, refused without", async () => {
  const dir = await Deno.makeTempDir();
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
    const stop = new AbortController();
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
    await assert.rejects(client(world.fetch).health(), /connection failed/);
    stop.abort();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
