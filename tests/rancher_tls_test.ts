/**
 * `ca_file` for Rancher through the whole backend: the file is read once, and every Rancher
 * request goes through the fetch that trusts it; a file that cannot be read is refused at start.
 */
import assert from "node:assert/strict";
import { processOrders } from "../lib/orders.ts";
import { makeRancherSite, orderProject } from "./support/rancher.ts";

Deno.test("rancher ca_file: every Rancher request goes through the fetch that trusts that CA", async () => {
  const seen: string[] = [];
  const pems: string[] = [];
  using site = makeRancherSite({
    settings: "ca_file: /etc/berth/rancher-ca.pem, verify_cert: false",
    files: { "/etc/berth/rancher-ca.pem": "-----BEGIN CERTIFICATE-----\nMIIB\n" },
    tlsFetch: (pem, next) => {
      pems.push(pem);
      return (r) => {
        seen.push(new URL(r.url).hostname);
        return next(r);
      };
    },
  });
  orderProject(site, "Analytics");
  const result = await processOrders(site.offering.context);
  assert.equal(result.outcome, "ok", result.error);
  assert.deepEqual(pems, ["-----BEGIN CERTIFICATE-----\nMIIB\n"]);
  // every request the fake Rancher answered came through that fetch
  assert.ok(seen.length >= 3 && seen.every((h) => h === "rancher.test"));
  assert.equal(seen.length, site.rancher.requests.length);
  assert.ok(site.logs.some((l) => l.includes("give Rancher's CA certificate with ca_file")));
  assert.throws(
    () => makeRancherSite({ settings: "ca_file: /nope.pem" }),
    /rancher: cannot read ca_file \/nope.pem/,
  );
});
