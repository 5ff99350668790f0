/**
 * `berth diagnose` as an operator reads it, against the fakes on loopback ports (real sockets,
 * real TLS): every system checked whatever failed before it, each failure with its URL and
 * cause, fallbacks that pass counted as passes, no log line inside the report, and an exit
 * status of 0 only when everything the configured loops need works.
 */
import assert from "node:assert/strict";
import { DiagnoseSite, makeCerts } from "./support/diagnose_site.ts";

/** backend_settings lines giving a Harbor offering Keycloak at `url`. */
const harborKeycloak = (url: string) =>
  `\n      keycloak:\n        keycloak_url: ${url}/\n        keycloak_username: admin` +
  "\n        keycloak_password: admin-secret";

Deno.test("diagnose: every check passing prints one report and exits 0", async (t) => {
  await using site = new DiagnoseSite();
  const { waldur, harbor, rancher, keycloak } = site.serveAll();
  const w = site.world([
    site.harborOffering(waldur, harbor, harborKeycloak(keycloak)),
    site.rancherOffering(waldur, rancher, keycloak),
  ]);
  await t.assertSnapshot(await site.diagnose(w));
  assert.deepEqual(site.logs, [], "nothing written to the log");
});

Deno.test("diagnose: Harbor without /users/current/permissions is probed instead, and passing probes pass", async (t) => {
  await using site = new DiagnoseSite();
  const { waldur, keycloak } = site.serveAll();
  // a Harbor that predates the endpoint answers it as any unknown path
  const harbor = site.serve(
    "old-harbor",
    (r) =>
      new URL(r.url).pathname === "/api/v2.0/users/current/permissions"
        ? Response.json({ errors: [{ code: "NOT_FOUND", message: "not found" }] }, { status: 404 })
        : site.harbor.app.fetch(r),
  );
  const w = site.world([site.harborOffering(waldur, harbor, harborKeycloak(keycloak))]);
  const report = await site.diagnose(w);
  await t.assertSnapshot(report);
  assert.match(report, /\(exit 0\)\n$/);
});

Deno.test("diagnose: Rancher refusing connections still checks Waldur and Keycloak, and exits 1", async (t) => {
  await using site = new DiagnoseSite();
  const { waldur, keycloak } = site.serveAll();
  const w = site.world([site.rancherOffering(waldur, site.refused("rancher"), keycloak)]);
  await t.assertSnapshot(await site.diagnose(w));
  assert.deepEqual(site.logs, [], "no circuit-breaker line, in the report or the log");
});

Deno.test("diagnose: Harbor refusing the robot (401) and a permission (403) shows Harbor's own words", async (t) => {
  await using site = new DiagnoseSite();
  const { waldur, harbor } = site.serveAll();
  const wrongPassword = site.world([
    site.harborOffering(waldur, harbor).replace(
      `robot_password: ${site.harbor.password}`,
      "robot_password: not-the-password",
    ),
  ]);
  const refused = await site.diagnose(wrongPassword);
  site.harbor.revoke("quota:list");
  const denied = await site.diagnose(site.world([site.harborOffering(waldur, harbor)]));
  await t.assertSnapshot(refused + denied);
  assert.doesNotMatch(refused + denied, /not-the-password/);
});

Deno.test("diagnose: names that do not resolve are named, and the other systems are checked", async (t) => {
  await using site = new DiagnoseSite();
  const { harbor, rancher } = site.serveAll();
  const w = site.world([
    site.harborOffering("http://waldur.invalid", harbor, harborKeycloak("http://keycloak.invalid")),
    site.rancherOffering("http://waldur.invalid", rancher, "http://keycloak.invalid"),
  ]);
  await t.assertSnapshot(await site.diagnose(w));
  assert.deepEqual(site.logs, []);
});

Deno.test("diagnose: TLS failures name the problem: unknown CA, hostname mismatch, expired", async (t) => {
  const certs = await makeCerts();
  await using site = new DiagnoseSite();
  const { waldur } = site.serveAll();
  const harbor = (name: string, tls: { cert: string; key: string }) =>
    site.serve(name, (r) => site.harbor.app.fetch(r), tls);
  site.files.set("ca.pem", certs.ca);
  const withCa = "\n      ca_file: ca.pem";
  const reports = [
    await site.diagnose(site.world([site.harborOffering(waldur, harbor("tls", certs.good))])),
    await site.diagnose(
      site.world([site.harborOffering(waldur, harbor("tls-other-name", certs.otherName), withCa)]),
    ),
    await site.diagnose(
      site.world([site.harborOffering(waldur, harbor("tls-expired", certs.expired), withCa)]),
    ),
    await site.diagnose(
      site.world([site.harborOffering(waldur, harbor("tls-trusted", certs.good), withCa)]),
    ),
  ];
  await t.assertSnapshot(reports.join(""));
});

Deno.test("diagnose: a failure no configured loop needs warns and exits 0; with that loop on it fails", async (t) => {
  await using site = new DiagnoseSite();
  const { waldur, rancher, keycloak } = site.serveAll();
  site.rancher.faults.add({ kind: "status", status: 403, path: /\/pods$/ });
  const usageOff = site.world([
    site.rancherOffering(waldur, rancher, keycloak).replace(
      "backend_type: rancher",
      'backend_type: rancher\n    reporting_backend: ""',
    ),
  ]);
  const off = await site.diagnose(usageOff);
  const on = await site.diagnose(site.world([site.rancherOffering(waldur, rancher, keycloak)]));
  await t.assertSnapshot(off + on);
  assert.match(off, /\(exit 0\)\n$/);
  assert.match(on, /\(exit 1\)\n$/);
});

Deno.test("diagnose: what the log warns about is printed after the checks, never among them", async () => {
  await using site = new DiagnoseSite();
  const { waldur, rancher, keycloak } = site.serveAll();
  const w = site.world([
    site.rancherOffering(waldur, rancher, keycloak, "\n        keycloak_ssl_verify: false")
      .replace("cluster_id:", "verify_cert: false\n      cluster_id:"),
  ]);
  const report = await site.diagnose(w);
  const lines = report.split("\n");
  const logAt = lines.indexOf("log while checking:");
  assert.ok(logAt > 0, report);
  assert.ok(lines.slice(logAt + 1).some((l) => /^ {2}warn verify_cert: false/.test(l)), report);
  assert.ok(lines.slice(logAt + 1).some((l) => /^ {2}warn keycloak_ssl_verify: false/.test(l)));
  assert.ok(lines.slice(0, logAt).every((l) => !l.includes("verify")), "none among the checks");
  assert.match(report, /\(exit 0\)\n$/, "a warning in the log is not a failed check");
  assert.deepEqual(site.logs, [], "and none on stderr");
});
