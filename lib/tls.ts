/**
 * The fetch a backend reaches its server with: the injected one, or one that also trusts the CA
 * file named in its settings. Deno cannot switch certificate checks off for one connection, so
 * `verify_cert: false` only warns and points to `ca_file`.
 */
import type { BackendContext } from "./backend.ts";
import { BerthError, errorMessage } from "./errors.ts";
import type { Fetch } from "./http.ts";

/** Options of {@link backendFetch}. */
export interface BackendFetchOptions {
  /** "Harbor", "Rancher": named in the warning and the error. */
  server: string;
  verifyCert: boolean;
  caFile: string | undefined;
}

/** Warns about `verify_cert: false`, reads `ca_file` and builds the fetch that trusts it. */
export function backendFetch(
  context: BackendContext<unknown>,
  options: BackendFetchOptions,
): Fetch {
  if (!options.verifyCert) {
    context.log.warn(
      "verify_cert: false cannot switch off certificate checks for one connection in Berth; " +
        `give ${options.server}'s CA certificate with ca_file instead (see the README, TLS)`,
    );
  }
  if (!options.caFile) return context.fetch;
  let pem: string;
  try {
    pem = context.readFile(options.caFile);
  } catch (error) {
    throw new BerthError(
      `${options.server.toLowerCase()}: cannot read ca_file ${options.caFile}: ${
        errorMessage(error)
      }`,
      { system: "config", transient: false },
    );
  }
  return context.tlsFetch(pem);
}

/** Warns that `keycloak_ssl_verify: false` cannot be honoured. */
export function warnKeycloakVerify(
  context: Pick<BackendContext<unknown>, "log">,
  verify: boolean,
): void {
  if (verify) return;
  context.log.warn(
    "keycloak_ssl_verify: false cannot switch off certificate checks for one connection; " +
      "see the README, TLS",
  );
}
