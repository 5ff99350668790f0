/**
 * `berth repair-oidc-user USER [--yes]`: in every Harbor offering with `backend_settings.keycloak`,
 * compares USER's Keycloak identity with the one Harbor onboarded, says what it finds and, with
 * `--yes`, removes a Harbor user holding an older identity (`DELETE /users/{id}`) so that USER's
 * next login onboards them again. A user whose identity matches, or who is not onboarded, is
 * never removed.
 */
import { errorMessage } from "../errors.ts";
import { HarborBackend } from "../harbor/backend.ts";
import type { Inspection } from "../harbor/identities.ts";
import { wire } from "./wire.ts";
import type { World } from "./world.ts";

/** What `berth repair-oidc-user` is asked. */
export interface RepairOptions {
  config: string;
  /** The Harbor username (the Keycloak username). */
  username: string;
  /** Delete; without it, only say what would be done. */
  yes: boolean;
}

/**
 * Runs `berth repair-oidc-user`: 0 when it deleted a stale user (or, without `--yes`, when it
 * could look), 1 when it refused, found nothing to repair with `--yes`, or could not read.
 */
export async function repairOidcUser(world: World, options: RepairOptions): Promise<number> {
  const wired = wire(world, options.config, ":memory:");
  if (!wired) return 1;
  const say = (text: string) => world.stdout(wired.redactor.redact(text));
  const offerings = wired.offerings.flatMap((o) =>
    o.backend instanceof HarborBackend && o.backend.identities
      ? [{ name: o.config.name, identities: o.backend.identities }]
      : []
  );
  if (offerings.length === 0) {
    say(
      `no Harbor offering in ${options.config} has backend_settings.keycloak: nothing to compare`,
    );
    wired.store.close();
    return 1;
  }
  let failed = false;
  let repaired = false;
  for (const { name, identities } of offerings) {
    say(`== ${name} (harbor)`);
    try {
      const shown = await identities.inspect(options.username);
      for (const line of describe(shown)) say(`  ${line}`);
      if (shown.verdict !== "stale") {
        say(`  nothing to repair: ${refusal(shown)}`);
        continue;
      }
      if (!options.yes) {
        say(
          `  would delete Harbor user ${shown.held?.userId} (${shown.username}); run again with --yes`,
        );
        continue;
      }
      const { now, deleted } = await identities.repair(shown);
      if (deleted) {
        repaired = true;
        say(
          `  deleted Harbor user ${now.held?.userId} (${now.username}): the next login onboards ` +
            `${now.username} again`,
        );
      } else {
        say(`  not deleted: it changed since it was read (${refusal(now)})`);
      }
    } catch (error) {
      failed = true;
      say(`  cannot repair: ${errorMessage(error)}`);
    }
  }
  wired.store.close();
  if (failed) return 1;
  return options.yes && !repaired ? 1 : 0;
}

/** What was found, in words. */
function describe(i: Inspection): string[] {
  const harbor = i.held === null
    ? "Harbor has no user of that name (not onboarded yet)"
    : `Harbor user ${i.held.userId} holds ${i.held.subiss ?? "no OIDC identity"}`;
  const keycloak = i.keycloak === null
    ? "Keycloak has no user of that name"
    : `Keycloak: ${i.keycloak}`;
  return [`${i.username}: ${harbor}`, keycloak];
}

/** Why a user is not removed. */
function refusal(i: Inspection): string {
  switch (i.verdict) {
    case "stale":
      return "Harbor holds an older identity";
    case "match":
      return "the identities match; the user is left alone";
    case "not onboarded":
      return "not onboarded: the next login onboards the user";
    case "not in keycloak":
      return "the Keycloak realm has no such user; nothing to compare";
    case "not oidc":
      return "the Harbor user has no OIDC identity (a local or admin account); left alone";
    case "other issuer":
      return "Harbor's identity comes from another issuer; set oidc_issuer if users log in " +
        "through it; left alone";
  }
}
