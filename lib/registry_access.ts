/**
 * Registry access between offerings of one config: a Harbor offering with team robots provides
 * each Waldur project's robot; a Rancher offering with `image_pull_secret` consumes it, writing
 * the robot's credential into the team's namespaces. The credential passes through here only
 * when it is made (a robot created, recreated or its secret refreshed) and is never kept: what
 * stays is who the robot is, when it expires and a digest of its secret, so copies can be told
 * current or stale without reading them.
 */
import { createHash } from "node:crypto";

/** A team robot as a consumer sees it, without its secret. */
export interface TeamRobot {
  /** The Waldur project whose team the robot serves. */
  projectUuid: string;
  /** The robot's full name as Harbor shows it (`robot$berth-<slug>`): the registry username. */
  username: string;
  /** The registry host (`harbor.example.com[:port]`), the key of `auths` in a pull secret. */
  registry: string;
  /** Unix seconds, or -1 for never. */
  expiresAt: number;
  /** {@link secretDigest} of its current secret, when this process made or refreshed it. */
  digest: string | undefined;
}

/** A team robot with its secret, as it passes from Harbor to the namespaces once. */
export interface RobotCredential extends TeamRobot {
  password: string;
  digest: string;
}

/** The Harbor side: what it knows of each team's robot, and a fresh secret on demand. */
export interface RobotProvider {
  /**
   * True once it has read Harbor's robots: before, `robot()` knows nothing, and an answer of
   * "no robot" would make consumers remove every copy.
   */
  known(): boolean;
  /**
   * Reads Harbor's robots now unless a pass has (`berth plan`, which runs no pass): read-only,
   * and `known()` after. Rejects when Harbor cannot be read.
   */
  read(): Promise<void>;
  robot(projectUuid: string): TeamRobot | undefined;
  /**
   * A new secret for the team's robot (Harbor refreshes it, so every copy must be rewritten),
   * or null when the team has no robot.
   */
  refresh(projectUuid: string): Promise<RobotCredential | null>;
}

/** The Rancher side: told when a credential is made and when a team's robot is gone. */
export interface RobotConsumer {
  delivered(credential: RobotCredential): Promise<void>;
  revoked(projectUuid: string): Promise<void>;
}

/** A SHA-256 digest of a secret, to compare copies without reading them (not reversible). */
export function secretDigest(secret: string): string {
  return createHash("sha256").update(secret, "utf8").digest("hex").slice(0, 32);
}

/** The providers and consumers of one config, by the Harbor offering's name. */
export class RegistryAccess {
  readonly #providers = new Map<string, RobotProvider>();
  readonly #consumers = new Map<string, RobotConsumer[]>();

  /** Registers the Harbor offering `offering`'s robots. */
  provide(offering: string, provider: RobotProvider): void {
    this.#providers.set(offering, provider);
  }

  /** Registers a consumer of the Harbor offering `offering`'s robots. */
  consume(offering: string, consumer: RobotConsumer): void {
    this.#consumers.set(offering, [...this.#consumers.get(offering) ?? [], consumer]);
  }

  /** The Harbor offerings consumers name that provide no robots: a configuration error. */
  unprovided(): string[] {
    return [...this.#consumers.keys()].filter((name) => !this.#providers.has(name));
  }

  /** True when a consumer uses the Harbor offering's robots (else the provider keeps none). */
  consumed(offering: string): boolean {
    return (this.#consumers.get(offering)?.length ?? 0) > 0;
  }

  /** True once the Harbor offering has read its robots (a consumer waits until then). */
  known(offering: string): boolean {
    return this.#providers.get(offering)?.known() ?? false;
  }

  /** Has the Harbor offering read its robots now unless it has (`berth plan`: read-only). */
  async read(offering: string): Promise<void> {
    await this.#providers.get(offering)?.read();
  }

  /** The team's robot of a Harbor offering, without its secret. */
  robot(offering: string, projectUuid: string): TeamRobot | undefined {
    return this.#providers.get(offering)?.robot(projectUuid);
  }

  /** A fresh secret for the team's robot, or null when there is none. */
  async refresh(offering: string, projectUuid: string): Promise<RobotCredential | null> {
    return await this.#providers.get(offering)?.refresh(projectUuid) ?? null;
  }

  /**
   * Hands a new credential to every consumer at once (their copies are rewritten now); a
   * consumer that fails is told again at its next pass, when it finds its copies stale.
   */
  async deliver(offering: string, credential: RobotCredential): Promise<unknown[]> {
    return await settleAll(this.#consumers.get(offering), (c) => c.delivered(credential));
  }

  /** Tells every consumer a team's robot is gone: their copies are removed. */
  async revoke(offering: string, projectUuid: string): Promise<unknown[]> {
    return await settleAll(this.#consumers.get(offering), (c) => c.revoked(projectUuid));
  }
}

/** Runs `work` for each consumer; resolves the errors (none is lost, none stops the others). */
async function settleAll(
  consumers: readonly RobotConsumer[] | undefined,
  work: (c: RobotConsumer) => Promise<void>,
): Promise<unknown[]> {
  const settled = await Promise.allSettled((consumers ?? []).map(work));
  return settled.flatMap((s) => s.status === "rejected" ? [s.reason] : []);
}
