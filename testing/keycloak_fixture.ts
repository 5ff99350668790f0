/** A Keycloak client against a fresh fake Keycloak (realm `waldur`), on a manual clock. */
import {
  createKeycloakClient,
  type KeycloakClient,
  KeycloakSettings,
} from "../lib/keycloak/client.ts";
import { FakeKeycloak } from "../lib/keycloak/fake.ts";
import { ManualClock } from "./manual_clock.ts";

/** Stands between the client and the fake: answers itself, or passes the request on (`next`). */
export type Intercept = (
  request: Request,
  next: (request: Request) => Promise<Response>,
) => Promise<Response>;

/** What {@linkcode keycloakFixture} made, and the requests the client sent (`sent`). */
export interface KeycloakFixture {
  clock: ManualClock;
  fake: FakeKeycloak;
  client: KeycloakClient;
  sent: { method: string; url: URL }[];
}

/** The client logs in as admin; `extra` adds or overrides settings keys. */
export function keycloakFixture(
  extra: Record<string, unknown> = {},
  intercept?: Intercept,
): KeycloakFixture {
  const clock = new ManualClock({ start: Date.parse("2026-11-15T12:00:00Z") });
  const fake = new FakeKeycloak({ now: () => clock.now(), tokenTtl: 60 });
  fake.addRealm("waldur");
  const sent: { method: string; url: URL }[] = [];
  const toFake = async (request: Request) => await fake.app.request(request);
  const settings = KeycloakSettings.parse({
    keycloak_url: "http://keycloak.test/",
    keycloak_username: "admin",
    keycloak_password: "admin-secret",
    ...extra,
  });
  const client = createKeycloakClient({
    settings,
    clock,
    fetch: async (request) => {
      sent.push({ method: request.method, url: new URL(request.url) });
      return intercept ? await intercept(request, toFake) : await toFake(request);
    },
  });
  return { clock, fake, client, sent };
}
