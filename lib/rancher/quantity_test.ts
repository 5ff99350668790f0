import assert from "node:assert/strict";
import { cpuQuantity, memoryQuantity, parseQuantity } from "./quantity.ts";

Deno.test("kubernetes quantities: the whole grammar", () => {
  const table: [string, number][] = [
    ["0", 0],
    ["2", 2],
    ["250m", 0.25],
    ["1500m", 1.5],
    ["1.5", 1.5],
    [".5", 0.5],
    ["5.", 5],
    ["+3", 3],
    ["-1", -1],
    ["1k", 1e3],
    ["1M", 1e6],
    ["1G", 1e9],
    ["2T", 2e12],
    ["1P", 1e15],
    ["1E", 1e18],
    ["1Ki", 1024],
    ["1536Mi", 1536 * 1024 ** 2],
    ["1.5Gi", 1.5 * 1024 ** 3],
    ["1Ti", 1024 ** 4],
    ["1Pi", 1024 ** 5],
    ["1Ei", 1024 ** 6],
    ["1e3", 1000],
    ["1E3", 1000],
    ["12e-3", 0.012],
    ["1.5e+2", 150],
    ["65442364Ki", 65442364 * 1024],
    ["1073741824", 1073741824],
  ];
  for (const [text, value] of table) {
    assert.ok(Math.abs(parseQuantity(text) - value) <= Math.abs(value) * 1e-12, `${text}`);
  }
  for (const bad of ["", "lots", "1.2.3", "1 Gi", "1gi", "1Gib", "Gi", "1e", "1e3m", "--1", " 1"]) {
    assert.throws(() => parseQuantity(bad), /not a Kubernetes quantity/, JSON.stringify(bad));
  }
  assert.equal(cpuQuantity(4), "4000m");
  assert.equal(cpuQuantity(0.5), "500m");
  assert.equal(memoryQuantity(8), "8192Mi");
  assert.equal(memoryQuantity(0.5), "512Mi");
});
