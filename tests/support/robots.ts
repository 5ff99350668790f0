/**
 * A stub of the Harbor side of registry access: team robots by Waldur project, a secret per
 * robot, refreshes counted. It provides robots to a RegistryAccess as a Harbor offering would.
 */
import {
  type RobotCredential,
  type RobotProvider,
  secretDigest,
  type TeamRobot,
} from "../../lib/registry_access.ts";

export const REGISTRY = "harbor.test:8443";

/** The stub provider: `set` a robot, `forget` the digests (a restart), count `refreshes`. */
export class StubRobots implements RobotProvider {
  readonly #robots = new Map<string, { username: string; password: string; known: boolean }>();
  refreshes = 0;
  expiresAt = 1_900_000_000;
  /** False: like a Harbor offering that has not read its robots yet. */
  observed = true;
  #n = 0;

  /** Whether it has read its robots (see {@link observed}). */
  known(): boolean {
    return this.observed;
  }

  /** Reads nothing: the stub's robots are what the test set. */
  read(): Promise<void> {
    return Promise.resolve();
  }

  /** The team's robot with `password`; its digest known (made by this process) unless told. */
  set(projectUuid: string, username: string, password: string, known = true): RobotCredential {
    this.#robots.set(projectUuid, { username, password, known });
    return this.credential(projectUuid);
  }

  /** The robot's credential as Harbor would hand it out. */
  credential(projectUuid: string): RobotCredential {
    const r = this.#robots.get(projectUuid);
    if (!r) throw new Error(`no robot for ${projectUuid}`);
    return {
      ...this.#robot(projectUuid, r),
      password: r.password,
      digest: secretDigest(r.password),
    };
  }

  /** A restart: the robots are known, their digests are not. */
  forgetDigests(): void {
    for (const r of this.#robots.values()) r.known = false;
  }

  delete(projectUuid: string): void {
    this.#robots.delete(projectUuid);
  }

  robot(projectUuid: string): TeamRobot | undefined {
    const r = this.#robots.get(projectUuid);
    return r && this.#robot(projectUuid, r);
  }

  refresh(projectUuid: string): Promise<RobotCredential | null> {
    const r = this.#robots.get(projectUuid);
    if (!r) return Promise.resolve(null);
    this.refreshes++;
    r.password = `refreshed-secret-${++this.#n}-${crypto.randomUUID()}`;
    r.known = true;
    return Promise.resolve(this.credential(projectUuid));
  }

  #robot(projectUuid: string, r: { username: string; password: string; known: boolean }) {
    return {
      projectUuid,
      username: r.username,
      registry: REGISTRY,
      expiresAt: this.expiresAt,
      digest: r.known ? secretDigest(r.password) : undefined,
    };
  }
}
