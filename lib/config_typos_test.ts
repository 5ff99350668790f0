import assert from "node:assert/strict";
import { harborPlugin } from "./harbor/plugin.ts";
import { rancherPlugin } from "./rancher/plugin.ts";
import { parseConfig } from "./config.ts";
import { editDistance, nearestKey } from "./config_typos.ts";

const schemas = {
  harbor: harborPlugin.settings,
  rancher: rancherPlugin.settings,
};

function problems(text: string): string[] {
  const r = parseConfig(text, { env: () => "t", readFile: () => "r", schemas });
  assert.ok(!r.ok, "the config is refused");
  return r.problems;
}

const offering = (type: string, settings: string, extra = "") => `
offerings:
  - name: one
    waldur_api_url: https://waldur.example.com/api/
    waldur_api_token: t
    waldur_offering_uuid: 0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e
    backend_type: ${type}
    backend_settings: ${settings}
${extra}`;

Deno.test("a misspelt key gets the key it was meant to be, at every level", () => {
  const harbor =
    '{harbor_url: "https://h.example.com", robot_username: "robot$berth", robot_password: p}';
  assert.deepEqual(
    problems(offering("harbor", harbor, "    backend_setings: {}\nlog_levle: INFO\n")),
    [
      "offerings[0].backend_setings: unknown key; did you mean `backend_settings`?",
      "log_levle: unknown key; did you mean `log_level`?",
    ],
  );
  assert.deepEqual(
    problems(offering("harbor", harbor, "status: {histroy_days: 7}\n")),
    ["status.histroy_days: unknown key; did you mean `history_days`?"],
  );
  // a backend's own settings: the keys of the offering's backend_type
  assert.deepEqual(
    problems(
      offering(
        "harbor",
        '{harbor_url: "https://h.example.com", robot_username: "robot$berth", robot_pasword: p}',
      ),
    ),
    ["offerings[0].backend_settings.robot_pasword: unknown key; did you mean `robot_password`?"],
  );
});

Deno.test("a key near none of the known ones stays a plain unknown key", () => {
  const harbor =
    '{harbor_url: "https://h.example.com", robot_username: "robot$berth", robot_password: p}';
  assert.deepEqual(problems(offering("harbor", harbor, "surprise: 1\n")), [
    "(root): unknown key surprise",
  ]);
});

Deno.test("edit distance counts a swap of neighbours as one edit; short keys allow one", () => {
  assert.equal(editDistance("histroy", "history"), 1);
  assert.equal(editDistance("abc", "abc"), 0);
  assert.equal(editDistance("", "abc"), 3);
  assert.equal(nearestKey("tken", ["token", "listen"]), "token");
  assert.equal(nearestKey("tkn", ["token"]), undefined, "two edits are too many for 3 letters");
});

const HARBOR =
  '{harbor_url: "https://h.example.com", robot_username: "robot$berth", robot_password: p}';
const RANCHER =
  '{backend_url: "https://r.example.com", username: u, password: p, cluster_id: c-m-1234abcd}';
/** Loads with every `${VAR}` set and the interval variables unset. */
const load = (text: string) =>
  parseConfig(text, {
    env: (name) => name.startsWith("WALDUR_SITE_AGENT_") ? undefined : "t",
    readFile: () => "r",
    schemas,
  });
const storage = (keys: string) =>
  `    backend_components:\n      storage: {measured_unit: GB, accounting_type: limit, label: S${keys}}\n`;

Deno.test("a component's misspelt key is a problem, not a key silently left out", () => {
  const r = load(offering("harbor", HARBOR, storage(", unit_factr: 1000")));
  assert.ok(!r.ok, "not loaded with unit_factor left at 1");
  assert.deepEqual(r.problems, [
    "offerings[0].backend_components.storage.unit_factr: unknown key; did you mean `unit_factor`?",
  ]);
  const rancher = load(offering(
    "rancher",
    RANCHER,
    `
    backend_components:
      cpu: {tpye: cpu, measured_unit: cores, accounting_type: limit, label: CPU}
`,
  ));
  assert.ok(!rancher.ok, "not loaded with the component's type left at its name");
  assert.deepEqual(rancher.problems, [
    "offerings[0].backend_components.cpu.tpye: unknown key; did you mean `type`?",
  ]);
});

Deno.test("a component's misspelt required key is named once, with the key it was meant to be", () => {
  const text = offering(
    "harbor",
    HARBOR,
    `
    backend_components:
      storage: {measurd_unit: GB, acounting_type: limit, label: S}
`,
  );
  assert.deepEqual(problems(text), [
    "offerings[0].backend_components.storage.measurd_unit: unknown key; did you mean `measured_unit`?",
    "offerings[0].backend_components.storage.acounting_type: unknown key; did you mean `accounting_type`?",
  ]);
});

Deno.test("a component key far from any Berth reads loads, with a warning that it has no effect", () => {
  const r = load(offering("harbor", HARBOR, storage(", colour: blue")));
  assert.ok(r.ok, JSON.stringify(r));
  assert.deepEqual(r.config.warnings, [
    "offerings[0].backend_components.storage.colour: has no effect; Berth does not read this key (the README lists the keys it reads, per component)",
  ]);
  assert.equal(r.config.offerings[0]?.components.storage?.unit_factor, 1);
});
