/**
 * Conditions a pass sees again and again (a team member missing in Keycloak, a malformed order,
 * a read that keeps failing) are logged when they appear and when they clear, never every pass:
 * the appearance once at warn, the clearing once at info, with the words the caller gave when it
 * appeared. Each owner (one per offering and kind of condition) keeps its own {@link ConditionLog};
 * the memory is bounded: past `limit` active conditions the oldest is forgotten (it is logged
 * again if it is seen again, never lost silently while it lasts).
 */
import type { Logger } from "./log.ts";

/** A condition one pass saw: its key, and the words for when it appears and when it clears. */
export interface Condition {
  key: string;
  appeared: string;
  cleared: string;
}

/** Active conditions kept by default: beyond, the oldest is forgotten. */
export const CONDITIONS_LIMIT = 10_000;

/** The conditions of one kind that are active now, logged as they appear and clear. */
export class ConditionLog {
  readonly #log: Logger;
  readonly #limit: number;
  /** Active conditions, oldest first: key → the words for when it clears. */
  readonly #active = new Map<string, string>();

  /** `limit`: the most conditions kept active at once. */
  constructor(log: Logger, options: { limit?: number } = {}) {
    this.#log = log;
    this.#limit = Math.max(1, options.limit ?? CONDITIONS_LIMIT);
  }

  /** A condition seen now: logged at warn when it is new, silent while it stays. */
  seen(condition: Condition): void {
    if (this.#active.has(condition.key)) return;
    this.#log.warn(condition.appeared);
    this.#active.set(condition.key, condition.cleared);
    for (const key of this.#active.keys()) {
      if (this.#active.size <= this.#limit) break;
      this.#active.delete(key);
    }
  }

  /**
   * One pass's view of the conditions `covers` selects (all by default; a scoped pass, or one
   * that could not look at everything, covers only what it looked at): each of `seen` is
   * {@link seen}, and each active one it covers but did not see is logged at info as cleared.
   */
  report(seen: Iterable<Condition>, covers: (key: string) => boolean = () => true): void {
    const keys = new Set<string>();
    for (const condition of seen) {
      keys.add(condition.key);
      this.seen(condition);
    }
    for (const [key, cleared] of [...this.#active]) {
      if (keys.has(key) || !covers(key)) continue;
      this.#active.delete(key);
      this.#log.info(cleared);
    }
  }

  /** The keys of the active conditions, oldest first. */
  active(): string[] {
    return [...this.#active.keys()];
  }
}
