import assert from "node:assert/strict";
import { compareIdentity, type HarborIdentity, oidcIssuer, type Verdict } from "./identities.ts";
import { HarborSettings } from "./settings.ts";

const ISS = "https://sso.example.com/realms/waldur";

Deno.test("harbor identities: Harbor's subiss is compared with Keycloak's sub followed by the issuer", () => {
  const cases: [string, HarborIdentity | null, Verdict][] = [
    ["the same sub and issuer", { userId: 7, subiss: `kc-1${ISS}` }, "match"],
    ["another sub of the same issuer", { userId: 7, subiss: `kc-0${ISS}` }, "stale"],
    ["no Harbor user of that name", null, "not onboarded"],
    ["a user with no OIDC identity", { userId: 1, subiss: null }, "not oidc"],
    ["an empty subiss (Harbor issue 15241)", { userId: 7, subiss: "" }, "not oidc"],
    [
      "another issuer",
      { userId: 7, subiss: "kc-1https://other.example.com/realms/waldur" },
      "other issuer",
    ],
    [
      "another realm",
      { userId: 7, subiss: "kc-0https://sso.example.com/realms/other" },
      "other issuer",
    ],
  ];
  for (const [what, held, verdict] of cases) {
    assert.equal(compareIdentity(held, { sub: "kc-1", issuer: ISS }), verdict, what);
  }
  assert.equal(
    compareIdentity({ userId: 7, subiss: `kc-0${ISS}` }, { sub: "kc-1", issuer: "" }),
    "other issuer",
    "with no issuer known nothing is stale",
  );
});

Deno.test("harbor identities: the issuer is keycloak_url's realm, with or without /auth and trailing slashes, or oidc_issuer", () => {
  const settings = (keycloakUrl: string, extra: Record<string, unknown> = {}) =>
    HarborSettings.parse({
      harbor_url: "https://harbor.example.com",
      robot_username: "robot$berth",
      robot_password: "secret",
      keycloak: {
        keycloak_url: keycloakUrl,
        keycloak_username: "admin",
        keycloak_password: "pw",
      },
      ...extra,
    });
  assert.equal(oidcIssuer(settings("https://sso.example.com")), ISS);
  assert.equal(oidcIssuer(settings("https://sso.example.com//")), ISS);
  assert.equal(
    oidcIssuer(settings("https://sso.example.com/auth/")),
    "https://sso.example.com/auth/realms/waldur",
  );
  assert.equal(
    oidcIssuer(settings("http://keycloak:8080", { oidc_issuer: ISS })),
    ISS,
    "Berth reaches Keycloak inside the cluster; users log in through the public URL",
  );
});
