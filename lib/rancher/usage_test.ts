import assert from "node:assert/strict";
import { podRequest, requestsByNamespace } from "./usage.ts";

Deno.test("a pod's effective request: init containers, sidecars, overhead, pod-level resources", () => {
  const pod = (spec: Record<string, unknown>) => ({
    metadata: { name: "p", namespace: "n" },
    spec: { containers: [], ...spec },
  });
  const r = (cpu: string) => ({ name: "c", resources: { requests: { cpu } } });
  assert.equal(podRequest(pod({ containers: [r("1"), r("500m")] }), "cpu"), 1.5);
  assert.equal(podRequest(pod({ containers: [r("1")], initContainers: [r("3")] }), "cpu"), 3);
  assert.equal(
    podRequest(
      pod({ containers: [r("1")], initContainers: [{ ...r("1"), restartPolicy: "Always" }] }),
      "cpu",
    ),
    2,
    "a sidecar adds to the regular containers",
  );
  assert.equal(podRequest(pod({ containers: [r("1")], overhead: { cpu: "250m" } }), "cpu"), 1.25);
  assert.equal(
    podRequest(pod({ containers: [r("8")], resources: { requests: { cpu: "2" } } }), "cpu"),
    2,
  );
  assert.equal(
    podRequest(pod({ containers: [{ name: "c", resources: { limits: { cpu: "2" } } }] }), "cpu"),
    2,
    "requests default to limits",
  );
});

Deno.test("usage counts the pods that hold quota: Failed and Succeeded pods are not counted", () => {
  const pod = (name: string, cpu: string, phase?: string) => ({
    metadata: { name, namespace: "n" },
    spec: { containers: [{ name: "c", resources: { requests: { cpu, memory: "1Gi" } } }] },
    ...(phase ? { status: { phase } } : {}),
  });
  const used = requestsByNamespace([
    pod("running", "1", "Running"),
    pod("pending", "250m", "Pending"),
    pod("unknown", "500m"),
    pod("failed", "16", "Failed"),
    pod("done", "32", "Succeeded"),
  ], []);
  assert.deepEqual(used.get("n"), { cpuCores: 1.75, memoryBytes: 3 * 1024 ** 3, storageBytes: 0 });
});
