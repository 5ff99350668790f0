import assert from "node:assert/strict";
import { BerthError } from "./errors.ts";
import { announcedCount, listTooLong, MAX_LIST_ITEMS } from "./list_limit.ts";

Deno.test("a count header past MAX_LIST_ITEMS is a terminal error; one that is no count is ignored", () => {
  assert.equal(MAX_LIST_ITEMS, 100_000);
  assert.equal(announcedCount("waldur", "list orders", "750"), 750);
  assert.equal(announcedCount("waldur", "list orders", "100000"), 100_000);
  for (const none of [null, "", " ", "many", "-1", "2.5"]) {
    assert.equal(announcedCount("waldur", "list orders", none), undefined, String(none));
  }
  for (const absurd of ["100001", "1e12", "Infinity"]) {
    assert.throws(
      () => announcedCount("harbor", "list projects", absurd),
      (e) => e instanceof BerthError && !e.transient && /announces .* items/.test(e.message),
    );
  }
  assert.equal(
    listTooLong("harbor", "list projects", { announced: 1e12 }).message,
    "harbor: cannot list projects: the server announces 1,000,000,000,000 items, " +
      "more than Berth reads (100,000); refusing",
  );
  assert.equal(
    listTooLong("keycloak", "list members").message,
    "keycloak: cannot list members: the list is still full after 100,000 items; refusing",
  );
  assert.match(listTooLong("rancher", "list", { pages: 200 }).message, /after 200 pages/);
});
