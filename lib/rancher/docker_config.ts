/**
 * The image pull Secret Berth writes for a team robot, and how it knows one of its own: type
 * `kubernetes.io/dockerconfigjson`, `.dockerconfigjson` = `{"auths":{"<registry>":{"username",
 * "password","auth"}}}` (base64), the label `app.kubernetes.io/managed-by: berth`, and
 * annotations naming the offering, the Waldur project, the robot, its registry, its expiry and
 * the digest of its secret (never the secret). Pure: the credential passes through here only
 * where a Secret is built from it or read back into it.
 */
import { z } from "zod";
import { type RobotCredential, secretDigest, type TeamRobot } from "../registry_access.ts";
import type { SecretBody } from "./objects_client.ts";
import { ANNOTATIONS } from "./naming.ts";
import type { Secret, SecretMeta } from "./schemas.ts";

/** The label on every Secret Berth writes. */
export const MANAGED_BY = "app.kubernetes.io/managed-by";
/** The label selector of Berth's Secrets (one cluster-wide list, metadata only). */
export const BERTH_SECRETS = `${MANAGED_BY}=berth`;
/** The selector of the Secrets Berth did not write (a name clash, read without data). */
export const OTHER_SECRETS = `${MANAGED_BY}!=berth`;
/** The Secret type of an image pull secret. */
export const DOCKER_CONFIG_TYPE = "kubernetes.io/dockerconfigjson";
/** The data key of a `kubernetes.io/dockerconfigjson` Secret. */
export const DOCKER_CONFIG_KEY = ".dockerconfigjson";

/** The annotations on Berth's pull secrets. */
export const PULL_ANNOTATIONS = {
  offering: "waldur/offering-uuid",
  project: ANNOTATIONS.project,
  robot: "berth/robot",
  registry: "berth/registry",
  digest: "berth/secret-digest",
  expires: "berth/robot-expires-at",
} as const;

/** One of Berth's pull secrets as a metadata-only list shows it (no data). */
export interface PullCopy {
  namespace: string;
  name: string;
  resourceVersion: string;
  /** The offering uuid that wrote it (another Rancher offering's copy is not this one's). */
  offering: string | undefined;
  /** The Waldur project whose robot it holds. */
  project: string | undefined;
  robot: string | undefined;
  registry: string | undefined;
  digest: string | undefined;
  /** The robot's expiry (unix seconds, `-1` never) as written. */
  expiresAt: string | undefined;
}

/** A listed Secret as one of Berth's copies; null without Berth's label. */
export function pullCopyOf(s: SecretMeta): PullCopy | null {
  if (s.metadata.labels?.[MANAGED_BY] !== "berth") return null;
  const a = s.metadata.annotations ?? {};
  return {
    namespace: s.metadata.namespace ?? "",
    name: s.metadata.name,
    resourceVersion: s.metadata.resourceVersion ?? "",
    offering: a[PULL_ANNOTATIONS.offering],
    project: a[PULL_ANNOTATIONS.project],
    robot: a[PULL_ANNOTATIONS.robot],
    registry: a[PULL_ANNOTATIONS.registry],
    digest: a[PULL_ANNOTATIONS.digest],
    expiresAt: a[PULL_ANNOTATIONS.expires],
  };
}

/**
 * True when a copy holds the team's robot as it is now: this offering's, for this Waldur
 * project, the robot's name, registry and expiry, and the secret of `digest`.
 */
export function isCurrentCopy(
  copy: PullCopy,
  want: { offering: string; project: string; robot: TeamRobot; digest: string | undefined },
): boolean {
  return want.digest !== undefined && copy.offering === want.offering &&
    copy.project === want.project && copy.robot === want.robot.username &&
    copy.registry === want.robot.registry && copy.digest === want.digest &&
    copy.expiresAt === String(want.robot.expiresAt);
}

/** The Secret Berth writes at `ref` for a credential of `offering`. */
export function pullSecretBody(
  credential: RobotCredential,
  ref: { namespace: string; name: string },
  offering: string,
): SecretBody {
  const { username, password, registry } = credential;
  const config = {
    auths: { [registry]: { username, password, auth: base64(`${username}:${password}`) } },
  };
  return {
    ...ref,
    labels: { [MANAGED_BY]: "berth" },
    annotations: {
      [PULL_ANNOTATIONS.offering]: offering,
      [PULL_ANNOTATIONS.project]: credential.projectUuid,
      [PULL_ANNOTATIONS.robot]: username,
      [PULL_ANNOTATIONS.registry]: registry,
      [PULL_ANNOTATIONS.digest]: credential.digest,
      [PULL_ANNOTATIONS.expires]: String(credential.expiresAt),
    },
    type: DOCKER_CONFIG_TYPE,
    data: { [DOCKER_CONFIG_KEY]: base64(JSON.stringify(config)) },
  };
}

const DockerConfig = z.object({
  auths: z.record(
    z.string(),
    z.object({
      username: z.string().optional(),
      password: z.string().optional(),
      auth: z.string().optional(),
    }),
  ),
});

/**
 * The robot's credential in a Secret Berth wrote, when it is the robot's (its registry entry,
 * its username) and its secret is the one of `digest`; null otherwise. Says nothing about why:
 * a message must not quote what it read.
 */
export function credentialOf(
  secret: Secret,
  robot: TeamRobot,
  digest: string,
): RobotCredential | null {
  const encoded = secret.data?.[DOCKER_CONFIG_KEY];
  if (secret.type !== DOCKER_CONFIG_TYPE || encoded === undefined) return null;
  let entry;
  try {
    entry = DockerConfig.parse(JSON.parse(unbase64(encoded))).auths[robot.registry];
  } catch {
    return null;
  }
  if (!entry) return null;
  let { username, password } = entry;
  if ((username === undefined || password === undefined) && entry.auth !== undefined) {
    try {
      const pair = unbase64(entry.auth);
      const colon = pair.indexOf(":");
      username ??= pair.slice(0, colon);
      password ??= pair.slice(colon + 1);
    } catch {
      return null;
    }
  }
  if (username !== robot.username || password === undefined || password === "") return null;
  if (secretDigest(password) !== digest) return null;
  return { ...robot, password, digest };
}

/**
 * Every form the credential takes in a Secret Berth writes (the password, the `auth` pair, the
 * encoded config), to cut out of an error message that may have echoed one.
 */
export function credentialForms(credential: RobotCredential): string[] {
  const { username, password } = credential;
  const body = pullSecretBody(credential, { namespace: "", name: "" }, "");
  return [password, base64(`${username}:${password}`), ...Object.values(body.data)]
    .filter((s) => s.length > 0);
}

/** UTF-8 text as base64. */
function base64(text: string): string {
  let binary = "";
  for (const byte of new TextEncoder().encode(text)) binary += String.fromCharCode(byte);
  return btoa(binary);
}

/** base64 as UTF-8 text (throws on bad base64 or UTF-8). */
function unbase64(value: string): string {
  return new TextDecoder("utf-8", { fatal: true }).decode(
    Uint8Array.from(atob(value), (ch) => ch.charCodeAt(0)),
  );
}
