/**
 * Liveness and readiness. `/healthz` fails only when a loop is wedged (its pass has shown no
 * sign of life past the deadline, or the scheduler missed its start by as much): a failing
 * Waldur, backend or Keycloak never restarts the pod. Both deadlines are elapsed
 * monotonic time, so a wall-clock step (NTP, a resumed VM) never fails the probe either.
 * `/readyz` is ready once every loop has finished a first pass.
 */
import type { LoopLiveness, LoopStatus } from "../lib/status.ts";

/** A pass that shows no sign of life for this long is wedged. */
export const WEDGE_MS = 10 * 60_000;

/** Why the process is not live, or [] when it is. */
export function livenessProblems(loops: readonly LoopLiveness[]): string[] {
  const problems: string[] = [];
  for (const l of loops) {
    if (l.running && l.silentMs > WEDGE_MS) {
      problems.push(`${l.offering}/${l.loop}: pass silent for ${Math.round(l.silentMs / 1000)} s`);
    } else if (!l.running && l.lateMs > WEDGE_MS) {
      problems.push(`${l.offering}/${l.loop}: scheduler ${Math.round(l.lateMs / 1000)} s late`);
    }
  }
  return problems;
}

/** Why the agent is not ready, or [] when it is. */
export function readinessProblems(loops: readonly LoopStatus[]): string[] {
  if (loops.length === 0) return ["no loop is configured"];
  return loops.filter((l) => l.runs === 0).map((l) =>
    `${l.offering}/${l.loop}: first pass not finished`
  );
}
