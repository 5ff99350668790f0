import assert from "node:assert/strict";
import { main, type World } from "../lib/cli.ts";
import { TeamRobotRow } from "../lib/harbor/present.ts";
import { PULL_TABLE, PullSecretRow } from "../lib/rancher/pull_present.ts";
import { StatusModel } from "../lib/status.ts";
import { realWorld } from "../lib/world.ts";
import { createApp } from "../routes/app.tsx";
import { waitFor } from "./support/agent_process.ts";

Deno.test("berth demo runs the seeded site on free ports: orders get done, both backends show, team robots reach every namespace, Ctrl-C stops it cleanly", async () => {
  const real = realWorld();
  const logs: string[] = [];
  const dirs: string[] = [];
  let stop = () => {};
  const world: World = {
    ...real,
    statusApp: createApp,
    writeLog: (line) => logs.push(line),
    onSignal: (handler) => {
      stop = handler;
      return () => {
        stop = () => {};
      };
    },
    makeTempDir: async (prefix) => {
      const dir = await real.makeTempDir(prefix);
      dirs.push(dir);
      return dir;
    },
  };
  const running = main(["demo", "--listen", "127.0.0.1:0"], world);
  try {
    const url = await waitFor("the status page", () =>
      Promise.resolve(
        logs.map((l) => /status on (http:\/\/[^\s"]+)/.exec(l)?.[1]).find((u) => u !== undefined),
      ));
    const model = await waitFor("the first orders to be done", async () => {
      const m = StatusModel.parse(await (await fetch(`${url}api/status`)).json());
      const done = m.events.filter((e) => e.action === "Create order done").length;
      return done >= 20 ? m : undefined;
    }, 30_000);
    const harbor = model.backends.find((b) => b.kind === "harbor");
    const rancher = model.backends.find((b) => b.kind === "rancher");
    assert.ok((harbor?.rows.length ?? 0) >= 10, "ten Harbor projects");
    assert.ok((rancher?.rows.length ?? 0) >= 10, "ten Rancher projects");
    assert.ok(harbor?.rows.some((r) => r.resourceName === "ml-models"));
    assert.ok(rancher?.rows.some((r) => r.resourceName === "genomics-pipelines"));
    assert.equal(model.configPath, "(embedded demo site)");
    assert.equal(model.orders.length, 0, "no order left in flight");
    const page = await fetch(url);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /Harbor projects/);
    const missing = await waitFor("the membership pass", async () => {
      const m = StatusModel.parse(await (await fetch(`${url}api/status`)).json());
      return m.backends.flatMap((b) => b.groups ?? []).find((g) =>
        Array.isArray(g.missing) && g.missing.includes("frank")
      );
    });
    assert.ok(missing, "the team member missing in Keycloak shows");
    // the two offerings are linked: each project's team robot is in its namespaces
    const linked = await waitFor("the team robots in every namespace", async () => {
      const m = StatusModel.parse(await (await fetch(`${url}api/status`)).json());
      const robots = TeamRobotRow.array().parse(
        m.backends.find((b) => b.kind === "harbor")?.tables?.robots ?? [],
      );
      const pulls = PullSecretRow.array().parse(
        m.backends.find((b) => b.kind === "rancher")?.tables?.[PULL_TABLE] ?? [],
      );
      const current = pulls.filter((r) => r.namespaces > 0 && r.current === r.namespaces);
      return robots.length >= 6 && current.length >= 6 ? { robots, pulls } : undefined;
    });
    assert.ok(linked.robots.some((r) => r.robot === "robot$berth-astro"));
    assert.ok(linked.pulls.every((r) => r.robot === `robot$berth-${r.project}`));
    const html = await (await fetch(url)).text();
    assert.match(html, /Team robots/);
    assert.match(html, /Image pull secrets/);
    assert.match(html, /robot\$berth-genomics/);
    assert.match(html, />1 of 1</);

    stop();
    assert.equal(await running, 0);
    assert.equal(dirs.length, 1);
    await assert.rejects(
      Deno.stat(dirs[0] ?? ""),
      Deno.errors.NotFound,
      "the temporary state is gone",
    );
  } finally {
    // a failed check still stops the demo (its servers, state file and directory)
    stop();
    await running.catch(() => undefined);
  }
});
