import assert from "node:assert/strict";
import { billingPeriod, formatAmount } from "./usage.ts";

Deno.test("the billing period is the first of the month in the configured time zone", () => {
  // 23:30 UTC on 31 October is already November in Berlin (UTC+1 after the DST change).
  const t = Date.UTC(2026, 9, 31, 23, 30);
  assert.deepEqual(billingPeriod(t, "UTC"), {
    period: "2026-10-01",
    date: "2026-10-01T00:00:00+00:00",
  });
  assert.deepEqual(billingPeriod(t, "Europe/Berlin"), {
    period: "2026-11-01",
    date: "2026-11-01T00:00:00+01:00",
  });
  assert.deepEqual(billingPeriod(Date.UTC(2026, 6, 15), "Europe/Tallinn"), {
    period: "2026-07-01",
    date: "2026-07-01T00:00:00+03:00",
  });
  assert.deepEqual(billingPeriod(Date.UTC(2026, 0, 1, 3), "America/New_York"), {
    period: "2025-12-01",
    date: "2025-12-01T00:00:00-05:00",
  });
});

Deno.test("amounts have two decimals, rounded half up", () => {
  assert.equal(formatAmount(0), "0.00");
  assert.equal(formatAmount(1.005), "1.01");
  assert.equal(formatAmount(3.14159), "3.14");
  assert.equal(formatAmount(12), "12.00");
  assert.equal(formatAmount(0.999), "1.00");
  assert.match(formatAmount(123456789.126), /^-?\d{0,18}(?:\.\d{0,2})?$/);
});
