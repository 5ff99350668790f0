/**
 * The status page in a real browser: headless Debian Chromium (driven by playwright-core) loads
 * the page of a real agent process running against the loopback demo site, behind
 * `status.token`. It checks the tables (the linked offerings' team robots and pull secrets among
 * them), the refresh in place, the filter, the phone layout and that the CSP leaves the page's
 * own script working; it saves a screenshot in `tests/output/`.
 */
import assert from "node:assert/strict";
import { chromium } from "playwright-core";
import { startAgentOnDemoSite, waitFor } from "./support/agent_process.ts";

const CHROMIUM = Deno.env.get("BERTH_CHROMIUM") ?? "/usr/bin/chromium";
const TOKEN = "browser-test-status-token";
const OUTPUT = new URL("./output/", import.meta.url);

Deno.test({
  name:
    "browser: the status page of a running agent shows the site, refreshes in place and filters",
  ignore: Deno.env.get("BERTH_SKIP_BROWSER") === "1",
  async fn() {
    const { site, agent, stop } = await startAgentOnDemoSite({
      intervals: { orders: "1s", membership: "1s", usage: "2s" },
      token: TOKEN,
    });
    const auth = { authorization: `Bearer ${TOKEN}` };
    try {
      // closed (with its contexts) at the end of this block, before the agent stops
      await using browser = await chromium.launch({
        executablePath: CHROMIUM,
        args: [
          "--no-sandbox",
          "--disable-gpu",
          "--disable-quic",
          "--no-first-run",
          "--disable-background-networking",
          "--disable-component-update",
          "--disable-sync",
        ],
      });
      const unauthorized = await fetch(agent.url);
      await unauthorized.body?.cancel();
      assert.equal(unauthorized.status, 401, "the page needs the token");

      const context = await browser.newContext({
        httpCredentials: { username: "operator", password: TOKEN },
        viewport: { width: 1280, height: 900 },
      });
      const page = await context.newPage();
      const problems: string[] = [];
      page.on("console", (m) => {
        if (m.type() === "error") problems.push(m.text());
      });
      page.on("pageerror", (e) => problems.push(e.message));
      await Deno.mkdir(OUTPUT, { recursive: true });
      const response = await page.goto(`${agent.url}?refresh=1`);
      assert.equal(response?.status(), 200);
      await page.evaluate(() => Object.assign(globalThis, { berthMarker: "same page" }));

      // the tables the first passes filled (names as the agent made them, from Waldur)
      const backendId = (name: string) =>
        [...site.waldur.resources.values()].find((r) => r.name === name)?.backend_id ?? "?";
      // the offerings' main tables (each backend's further tables are sections of their own)
      const harbor = page.locator('section.harbor[data-table^="h"] tbody');
      const astro = harbor.locator("tr", { hasText: backendId("astro-images") });
      await astro.waitFor();
      assert.match(await astro.innerText(), /astro-images.*\s0 B \/ 20 GiB/s);
      const rancher = page.locator('section.rancher[data-table^="r"] tbody');
      const compute = rancher.locator("tr", { hasText: "astro-compute" });
      await compute.getByText("– / 4").or(compute.getByText("0 / 4")).first().waitFor();
      assert.match(await compute.innerText(), /\b8 GiB/, "memory limit");
      const tree = page.locator('section.keycloak[data-offering="kubernetes"]');
      await tree.getByText("project_astro_workloads-manage").waitFor();
      await tree.getByText("missing in Keycloak: frank").waitFor();
      const harborGroups = page.locator('section.keycloak[data-offering="registry"]');
      await harborGroups.getByText("waldur-astro").first().waitFor();
      assert.match(await harborGroups.innerText(), /top-level groups/);
      // the offerings are linked: each team's robot, and its pull secret in every namespace
      const robots = page.locator('section.harbor[data-table^="t"]');
      await robots.locator("tbody tr", { hasText: "robot$berth-astro" }).waitFor();
      assert.match(await robots.innerText(), /^Team robots/);
      // the page refreshes in place while the pass makes the robots one team after another
      await waitFor(
        "a robot per team",
        async () => (await robots.locator("tbody tr").count()) >= 6 ? true : undefined,
      );
      const pulls = page.locator('section.rancher[data-table^="s"]');
      const astroPulls = pulls.locator("tbody tr", { hasText: "robot$berth-astro" });
      await astroPulls.getByText("2 of 2").waitFor({ timeout: 15_000 });
      assert.match(await pulls.innerText(), /^Image pull secrets/);
      await waitFor(
        "a pull secret row per team",
        async () => (await pulls.locator("tbody tr").count()) >= 6 ? true : undefined,
      );
      // attention first: the summary, the attention list and the loops on the first screen,
      // long sections folded below them (the demo's 20 changes, its 11 Harbor projects)
      await page.locator("#attention li", { hasText: "frank" }).first().waitFor();
      assert.match(await page.locator("#summary").innerText(), /Loops[\s\S]*Upstreams/);
      assert.match(await page.locator("#attention").innerText(), /Next:/);
      for (const id of ["#summary", "#attention", "#loops"]) {
        const box = await page.locator(id).boundingBox();
        assert.ok(box && box.y < 900, `${id} starts on the first screen (at ${box?.y} px)`);
      }
      await page.locator("#fold-events:not([open])").waitFor({ state: "attached" });
      assert.equal(await page.locator("#events tbody tr").first().isVisible(), false, "folded");
      // history as pictures: the charts, and a sparkline per project row once usage is in
      assert.ok((await page.locator("#history svg").count()) >= 4, "the history charts");
      await page.locator('section.harbor[data-table^="h"] td.spark svg').first().waitFor({
        state: "attached",
        timeout: 15_000,
      });
      await page.screenshot({ path: new URL("status-page-top.png", OUTPUT).pathname });

      // an entry's link leads to its row
      const link = page.locator("#attention li", { hasText: "frank" }).first().locator("a");
      await link.click();
      await page.waitForURL(/#/);
      const target = page.locator(":target");
      await target.waitFor();
      assert.match(await target.innerText(), /frank/, "the row the entry names");
      await page.goto(`${agent.url}?refresh=1`);
      await page.evaluate(() => Object.assign(globalThis, { berthMarker: "same page" }));

      // long sections fold into a <details>: open them (the refresh keeps them open)
      for (const fold of await page.locator("details.fold:not([open]) > summary").all()) {
        await fold.click();
      }
      await page.locator("#events tbody tr").first().waitFor();
      // a pass may be running at the moment the page refreshes: wait for an "ok" one
      await waitFor(
        "the loops table",
        async () =>
          /kubernetes\s+membership\s+ok/.test(await page.locator("#loops").innerText())
            ? true
            : undefined,
      );

      // the site changes; the page follows without a reload
      site.harbor.push(backendId("astro-images"), "astro/pipeline", 19 * 1024 ** 3);
      const namespace = site.rancher.namespacesOf(backendId("astro-compute"))[0] ?? "?";
      site.rancher.addPod(site.cluster, namespace, "notebook", {
        containers: [{ requests: { cpu: "500m", memory: "1Gi" } }],
      });
      site.waldur.orderCreate(site.harborOffering, {
        name: "browser-registry",
        limits: { storage: 5 },
        project: "genomics",
        customer: "uni-tartu",
      });
      await harbor.getByText("browser-registry").first().waitFor({ timeout: 15_000 });
      await astro.getByText("near quota").waitFor({ timeout: 15_000 });
      assert.match(await astro.innerText(), /19 GiB \/ 20 GiB\s*95 %/);
      await compute.getByText("500m / 4").waitFor({ timeout: 15_000 });
      assert.match(await compute.innerText(), /1 GiB \/ 8 GiB/, "memory requested / limit");
      assert.equal(
        await page.evaluate(() => Reflect.get(globalThis, "berthMarker")),
        "same page",
        "refreshed in place, not reloaded",
      );
      assert.ok(Number(await page.locator("body").getAttribute("data-refreshes")) >= 1);

      // the filter narrows every table as one types, and pages start over
      await page.locator("#filter input[name=q]").fill("genomics");
      await waitFor(
        "the filter",
        async () => (await harbor.innerText()).includes("astro-images") ? undefined : true,
      );
      assert.match(await harbor.innerText(), /browser-registry/);
      assert.match(page.url(), /[?&]q=genomics/);
      await page.locator("#filter input[name=q]").fill("");
      await harbor.getByText("astro-images").first().waitFor();

      await page.screenshot({ path: new URL("status-page.png", OUTPUT).pathname, fullPage: true });

      // a project's page: its usage against its quota, its changes, its members
      const resourcePage = await context.newPage();
      const uuid = [...site.waldur.resources.values()].find((r) => r.name === "astro-images")
        ?.uuid;
      const detail = await resourcePage.goto(`${agent.url}resources/${uuid}`);
      assert.equal(detail?.status(), 200);
      assert.match(await resourcePage.locator("#resource").innerText(), /astro-images/);
      await resourcePage.locator("#usage svg").first().waitFor({ state: "attached" });
      assert.match(await resourcePage.locator("#audit").innerText(), /create project/);
      assert.match(await resourcePage.locator("#members").innerText(), /members?/);
      await resourcePage.screenshot({
        path: new URL("resource-page.png", OUTPUT).pathname,
        fullPage: true,
      });
      await resourcePage.close();

      // a phone: the page fits the width; wide tables scroll inside their box
      await page.setViewportSize({ width: 390, height: 844 });
      const overflow = Number(
        await page.evaluate("document.documentElement.scrollWidth - innerWidth"),
      );
      assert.ok(overflow <= 1, `the page is ${overflow}px wider than a phone`);
      for (const id of ["#summary", "#attention", "#history svg"]) {
        assert.ok(await page.locator(id).first().isVisible(), `${id} shows on a phone`);
      }
      await page.screenshot({ path: new URL("status-page-phone.png", OUTPUT).pathname });

      assert.deepEqual(problems, [], "no script error and no CSP violation");
      await context.close();

      const api = await fetch(`${agent.url}api/status`, { headers: auth });
      assert.equal(api.status, 200);
      await api.body?.cancel();
    } finally {
      const code = await stop();
      assert.equal(code, 0, `the agent stops cleanly on SIGTERM:\n${agent.lines.join("\n")}`);
    }
  },
});
