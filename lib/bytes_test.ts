import assert from "node:assert/strict";
import { formatBytes, GIB } from "./bytes.ts";

Deno.test("formatBytes says GiB for 1024³ bytes, never GB", () => {
  assert.equal(formatBytes(10 * GIB), "10 GiB");
  assert.equal(formatBytes(10.5 * GIB), "10.5 GiB");
  assert.equal(formatBytes(1.6313 * GIB), "1.63 GiB");
  assert.equal(formatBytes(100 * GIB), "100 GiB");
});

Deno.test("formatBytes picks the largest binary unit that keeps the number at or above 1", () => {
  assert.equal(formatBytes(0), "0 B");
  assert.equal(formatBytes(1), "1 B");
  assert.equal(formatBytes(1023), "1023 B");
  assert.equal(formatBytes(1024), "1 KiB");
  assert.equal(formatBytes(512 * 1024 ** 2), "512 MiB");
  assert.equal(formatBytes(32 * 1024 ** 2), "32 MiB");
  assert.equal(formatBytes(2 * 1024 * GIB), "2 TiB");
  // just under 1 TiB rounds to 1024.00 GiB: said as 1 TiB
  assert.equal(formatBytes(1024 * GIB - 1), "1 TiB");
});

Deno.test("formatBytes says unlimited for a negative count and – for one not known", () => {
  assert.equal(formatBytes(-1), "unlimited");
  assert.equal(formatBytes(null), "–");
});
