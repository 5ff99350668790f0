import assert from "node:assert/strict";
import YAML from "yaml";
import { z } from "zod";
import { StatusRecord } from "../lib/status.ts";
import { openToNetworkWarning } from "../lib/status_server.ts";
import { V8_FLAGS_ARG } from "../lib/v8_flags.ts";
import { VERSION } from "../lib/version.ts";
import { createApp } from "../routes/app.tsx";
import { compileArgs, TARGETS } from "../scripts/compile.ts";
import { parse, schemaKeys } from "./support/config_keys.ts";

const root = new URL("../", import.meta.url);
const read = (path: string) => Deno.readTextFileSync(new URL(path, root));
const K8sContainer = z.object({
  args: z.array(z.string()),
  ports: z.array(z.object({ name: z.string(), containerPort: z.number() })),
  livenessProbe: z.object({ httpGet: z.object({ path: z.string(), port: z.string() }) }),
  readinessProbe: z.object({ httpGet: z.object({ path: z.string(), port: z.string() }) }),
  resources: z.object({
    requests: z.object({ cpu: z.string(), memory: z.string() }),
    limits: z.object({ cpu: z.string(), memory: z.string() }),
  }),
  securityContext: z.object({
    allowPrivilegeEscalation: z.literal(false),
    readOnlyRootFilesystem: z.literal(true),
    capabilities: z.object({ drop: z.array(z.string()) }),
  }),
  volumeMounts: z.array(z.object({ name: z.string(), mountPath: z.string() })),
});

function manifests(): Record<string, unknown>[] {
  const docs: Record<string, unknown>[] = [];
  for (const entry of Deno.readDirSync(new URL("deploy/kubernetes/", root))) {
    if (!entry.name.endsWith(".yaml")) continue;
    for (const doc of YAML.parseAllDocuments(read(`deploy/kubernetes/${entry.name}`))) {
      assert.equal(doc.errors.length, 0, `${entry.name}: ${doc.errors.join("; ")}`);
      docs.push(z.record(z.string(), z.unknown()).parse(doc.toJS()));
    }
  }
  return docs;
}

function ofKind(kind: string, name?: string) {
  return manifests().filter((d) =>
    d.kind === kind &&
    (name === undefined || z.object({ name: z.string() }).parse(d.metadata).name === name)
  );
}

/** The probe answers of a fresh app: a probe path must exist (200 or 503, never 404). */
async function answers(path: string): Promise<number> {
  const status = new StatusRecord({ version: "t", configPath: "c", offerings: [], now: () => 0 });
  const res = await createApp({ status }).request(path);
  await res.body?.cancel();
  return res.status;
}

Deno.test("the sample config validates and explains every key the schema has", () => {
  const text = read("deploy/config.sample.yaml");
  const parsed = parse(text);
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.problems.join("\n"));
  const missing = [...schemaKeys()].filter((k) => !new RegExp(`\\b${k}\\b`).test(text));
  assert.deepEqual(missing, [], "keys the sample does not mention");
});

Deno.test("kubernetes: probes hit /healthz and /readyz on the port the config listens on", async () => {
  const [deployment] = ofKind("Deployment");
  assert.ok(deployment);
  const spec = z.object({
    spec: z.object({
      replicas: z.literal(1),
      strategy: z.object({ type: z.literal("Recreate") }),
      template: z.object({
        spec: z.object({
          securityContext: z.object({ runAsNonRoot: z.literal(true) }),
          containers: z.array(K8sContainer).length(1),
          volumes: z.array(z.record(z.string(), z.unknown())),
        }),
      }),
    }),
  }).parse(deployment).spec.template.spec;
  const container = spec.containers[0];
  assert.ok(container);
  assert.equal(container.livenessProbe.httpGet.path, "/healthz");
  assert.equal(container.readinessProbe.httpGet.path, "/readyz");
  assert.equal(await answers("/healthz"), 200);
  assert.equal(await answers("/readyz"), 503, "no loop has run: not ready, but the route exists");
  const port = container.ports.find((p) => p.name === container.livenessProbe.httpGet.port);
  assert.equal(port?.containerPort, 8080);

  const [secret] = ofKind("Secret", "berth-config");
  const configText = z.object({ stringData: z.object({ "config.yaml": z.string() }) }).parse(
    secret,
  ).stringData["config.yaml"];
  const parsed = parse(configText);
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.problems.join("\n"));
  assert.equal(parsed.config.status.listen, `0.0.0.0:${port?.containerPort}`);
  assert.ok(parsed.config.status.token, "the status page is behind a token");

  const stateArg = container.args[container.args.indexOf("--state") + 1] ?? "";
  const stateMount = container.volumeMounts.find((m) => m.name === "state")?.mountPath ?? "?";
  assert.ok(stateArg.startsWith(`${stateMount}/`), "the state file is on the PVC");
  assert.equal(parsed.config.stateFile, stateArg);
  assert.ok(stateArg.startsWith("/var/lib/berth/"), "where the binary may write");
  const configMount = container.volumeMounts.find((m) => m.name === "config")?.mountPath;
  assert.equal(container.args[container.args.indexOf("-c") + 1], `${configMount}/config.yaml`);
  assert.ok(JSON.stringify(spec.volumes).includes('"claimName":"berth-state"'));
  assert.equal(ofKind("PersistentVolumeClaim", "berth-state").length, 1);

  const [service] = ofKind("Service");
  const ports =
    z.object({ spec: z.object({ ports: z.array(z.object({ targetPort: z.string() })) }) })
      .parse(service).spec.ports;
  assert.equal(ports[0]?.targetPort, port?.name);
});

Deno.test("the status token comes from a Secret: the manifests' config and the sample read ${BERTH_STATUS_TOKEN}, the Deployment sets it from the Secret", () => {
  const TokenFromEnv = z.object({
    status: z.object({ token: z.literal("${BERTH_STATUS_TOKEN}") }),
  });
  const [config] = ofKind("Secret", "berth-config");
  const configText = z.object({ stringData: z.object({ "config.yaml": z.string() }) }).parse(
    config,
  ).stringData["config.yaml"];
  TokenFromEnv.parse(YAML.parse(configText));
  TokenFromEnv.parse(YAML.parse(read("deploy/config.sample.yaml")));
  const parsed = parse(configText);
  assert.ok(parsed.ok, parsed.ok ? "" : parsed.problems.join("\n"));
  assert.equal(
    openToNetworkWarning(parsed.config.status.listen, parsed.config.status.token !== undefined),
    undefined,
    "0.0.0.0 behind a token: nothing to warn about",
  );

  const [deployment] = ofKind("Deployment");
  const env = z.object({
    spec: z.object({
      template: z.object({
        spec: z.object({
          containers: z.array(z.object({
            env: z.array(z.object({
              name: z.string(),
              valueFrom: z.object({
                secretKeyRef: z.object({
                  name: z.string(),
                  key: z.string(),
                  optional: z.literal(false),
                }),
              }).optional(),
            })),
          })).length(1),
        }),
      }),
    }),
  }).parse(deployment).spec.template.spec.containers[0]?.env ?? [];
  const ref = env.find((e) => e.name === "BERTH_STATUS_TOKEN")?.valueFrom?.secretKeyRef;
  assert.ok(ref, "the Deployment sets BERTH_STATUS_TOKEN from a Secret");
  const [secret] = ofKind("Secret", ref.name);
  const token = z.object({ stringData: z.record(z.string(), z.string()) }).parse(secret)
    .stringData[ref.key];
  assert.ok(token !== undefined && token.length >= 16, "the Secret holds a 16+ character token");
  const kustomization = z.object({ resources: z.array(z.string()) }).parse(
    ofKind("Kustomization")[0],
  );
  assert.ok(kustomization.resources.includes("secret.yaml"), "kubectl apply -k applies it");
});

Deno.test("kubernetes: the kubelet leaves the state file's mode alone (fsGroupChangePolicy: OnRootMismatch)", () => {
  const [deployment] = ofKind("Deployment");
  z.object({
    spec: z.object({
      template: z.object({
        spec: z.object({
          securityContext: z.object({ fsGroupChangePolicy: z.literal("OnRootMismatch") }),
        }),
      }),
    }),
  }).parse(deployment);
});

Deno.test("Dockerfile: two stages, non-root, HEALTHCHECK on /healthz of the port it listens on", () => {
  const text = read("deploy/Dockerfile");
  assert.equal(text.match(/^FROM /gm)?.length, 2, "multi-stage");
  assert.match(text, /^FROM denoland\/deno:2\.9\.6 AS build$/m);
  assert.match(text, /^USER 65532:65532$/m);
  const expose = /^EXPOSE (\d+)$/m.exec(text)?.[1];
  const health =
    /^\s+CMD \["\/usr\/local\/bin\/berth", "probe", "http:\/\/127\.0\.0\.1:(\d+)(\/\w+)"\]/m
      .exec(text);
  assert.equal(health?.[2], "/healthz");
  assert.equal(health?.[1], expose);
  const listen = /"--listen", "0\.0\.0\.0:(\d+)"/.exec(text)?.[1];
  assert.equal(listen, expose);
  assert.match(text, /--allow-write=\/var\/lib\/berth,\/tmp/, "the same narrow writes as compile");
  assert.ok(text.includes(` ${V8_FLAGS_ARG} `), "the same V8 flags as compile");
  assert.match(text, /^WORKDIR \/var\/lib\/berth$/m);
});

Deno.test("systemd unit: DynamicUser, StateDirectory, ProtectSystem=strict, NoNewPrivileges, Restart=on-failure, LimitNOFILE, the status token in its environment file", () => {
  const text = read("deploy/berth.service");
  const directives = new Map(
    text.split("\n").filter((l) => /^[A-Z]\w+=/.test(l)).map((l) => {
      const i = l.indexOf("=");
      return [l.slice(0, i), l.slice(i + 1)];
    }),
  );
  for (
    const [k, v] of [
      ["DynamicUser", "yes"],
      ["StateDirectory", "berth"],
      ["ProtectSystem", "strict"],
      ["NoNewPrivileges", "yes"],
      ["Restart", "on-failure"],
      ["PrivateTmp", "yes"],
      ["ProtectHome", "yes"],
    ]
  ) assert.equal(directives.get(k ?? ""), v, k);
  assert.match(directives.get("ExecStart") ?? "", /--state \/var\/lib\/berth\/berth\.db/);
  assert.equal(directives.get("UMask"), "0077");
  assert.equal(directives.get("StateDirectoryMode"), "0700");
  assert.match(directives.get("LimitNOFILE") ?? "", /^\d+$/, "a bound on open descriptors");
  assert.match(
    text,
    /^#.*BERTH_STATUS_TOKEN=.*>> \/etc\/berth\/berth\.env/m,
    "the install steps put the status token in the environment file",
  );
  assert.match(text, /status\.token: \$\{BERTH_STATUS_TOKEN\}/, "and says what reads it");
  assert.ok(!directives.has("MemoryDenyWriteExecute"), "V8 needs W^X off");
});

Deno.test("deno task compile: both linux targets, narrow permissions, the version in the name", () => {
  assert.deepEqual([...TARGETS], ["x86_64-unknown-linux-gnu", "aarch64-unknown-linux-gnu"]);
  const args = compileArgs("aarch64-unknown-linux-gnu", {
    stateDir: "/var/lib/berth",
    tmpDir: "/tmp",
    outDir: "dist",
    envFile: "dist/berth.env",
  });
  assert.ok(!args.some((a) => a === "-A" || a.startsWith("--allow-all")));
  assert.ok(!args.some((a) => a.startsWith("--allow-run") || a.startsWith("--allow-ffi")));
  assert.ok(args.includes("--allow-write=/var/lib/berth,/tmp"));
  assert.ok(args.includes("--frozen"));
  assert.ok(args.includes("--env-file=dist/berth.env"), "the binary carries its state directory");
  assert.ok(args.includes(V8_FLAGS_ARG), "the binary carries Berth's V8 flags");
  assert.equal(
    args[args.indexOf("--output") + 1],
    `dist/berth-${VERSION}-aarch64-unknown-linux-gnu`,
  );
  const denoJson = z.object({ version: z.string() }).parse(JSON.parse(read("deno.json")));
  assert.equal(VERSION, denoJson.version, "lib/version.ts follows deno.json");
});

Deno.test("deno task start, demo and bench run with Berth's V8 flags", () => {
  const tasks = z.object({ tasks: z.record(z.string(), z.string()) }).parse(
    JSON.parse(read("deno.json")),
  ).tasks;
  for (const task of ["start", "demo"]) {
    assert.ok(tasks[task]?.startsWith(`deno run ${V8_FLAGS_ARG} `), task);
  }
  // the in-process benchmarks measure the same heap as shipped (scale.ts spawns agents with them)
  for (const run of tasks.bench?.split(" && ") ?? []) {
    if (!run.endsWith("bench/scale.ts")) assert.ok(run.includes(` ${V8_FLAGS_ARG} `), run);
  }
});

Deno.test("berth --version prints the version", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    // with Berth's V8 flags: deno exits 1 on a flag V8 does not know
    args: ["run", V8_FLAGS_ARG, new URL("main.ts", root).pathname, "--version"],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.equal(out.code, 0);
  assert.equal(new TextDecoder().decode(out.stdout).trim(), `berth ${VERSION}`);
});
