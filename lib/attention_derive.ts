/**
 * The conditions the status record shows by itself, derived (pure) from its parts: failing and
 * late loops, open circuits, refused terminations, and from the backends' snapshots the team
 * members missing in Keycloak and the rows of attention tables (identity conflicts); and the
 * summary's counts. A snapshot's facts are computed once per publish (O(rows)) and cached.
 */
import type { BackendSnapshot } from "./backend.ts";
import type { BreakerStatus } from "./breaker.ts";
import { GroupRow } from "./keycloak/group_row.ts";
import { PLUGINS } from "./plugins.ts";
import { type Presentation, rowsOf } from "./presentation.ts";
import {
  anchors,
  type AttentionEntry,
  type AttentionSummary,
  filteredLink,
  named,
  oneLine,
} from "./attention.ts";

/**
 * What can clear an entry: only an event (`event`: an order or a pass says so), or seeing its
 * source again: a loop's pass, a breaker, the refusals (always known), a backend's snapshot.
 */
export type Source =
  | { kind: "event" }
  | { kind: "loop"; offering: string; loop: string }
  | { kind: "breaker"; target: string }
  | { kind: "refusals" }
  | { kind: "backend"; offering: string };

/** A condition seen now, with what may clear it; `since` when the condition knows it. */
export interface Candidate {
  entry: Omit<AttentionEntry, "since"> & { since?: number };
  source: Source;
}

/** A loop as the derivation reads it (the status record's `LoopStatus`). */
export interface LoopView {
  offering: string;
  loop: string;
  state: string;
  runs: number;
  intervalMs: number;
  lastError: string;
}

/** A loop's signs of life (the status record's `LoopLiveness`). */
export interface LateView {
  offering: string;
  loop: string;
  running: boolean;
  silentMs: number;
  lateMs: number;
}

/** A refused termination (the status record's `RefusalStatus`). */
export interface RefusalView {
  offering: string;
  resource: string;
  resourceName: string;
  message: string;
  at: number;
}

/** Everything the derivation reads, from one moment of the status record. */
export interface Observed {
  loops: readonly LoopView[];
  liveness: readonly LateView[];
  breakers: readonly BreakerStatus[];
  refusals: readonly RefusalView[];
  backends: readonly (BackendSnapshot & { offering: string })[];
}

/** A loop is late once its pass is overdue (or silent) by its interval, and at least a minute. */
export function lateAfterMs(intervalMs: number): number {
  return Math.max(intervalMs, 60_000);
}

/** The conditions of loops, circuits and refusals: a handful, computed on every read. */
export function recordCandidates(observed: Observed): Candidate[] {
  const out: Candidate[] = [];
  for (const l of observed.loops) {
    if (l.state !== "failed" && l.state !== "partial") continue;
    out.push({
      source: { kind: "loop", offering: l.offering, loop: l.loop },
      entry: {
        kind: "loop-failing",
        key: `loop-failing:${l.offering}:${l.loop}`,
        offering: l.offering,
        resource: "",
        what: `The ${l.loop} pass ${l.state === "failed" ? "failed" : "left items failing"}: ${
          oneLine(l.lastError)
        }`,
        action: "Fix what the error names (credentials, reachability, a refused object; the " +
          "last errors below have the rest); the entry goes when a pass of this loop succeeds.",
        link: `#${anchors.loop(l.offering, l.loop)}`,
      },
    });
  }
  for (const l of observed.liveness) {
    const loop = observed.loops.find((x) => x.offering === l.offering && x.loop === l.loop);
    // a loop without a schedule (a pass run by hand) is never late
    if (!loop || loop.intervalMs <= 0) continue;
    const limit = lateAfterMs(loop.intervalMs);
    if (!(l.running ? l.silentMs > limit : l.lateMs > limit)) continue;
    out.push({
      source: { kind: "loop", offering: l.offering, loop: l.loop },
      entry: {
        kind: "loop-late",
        key: `loop-late:${l.offering}:${l.loop}`,
        offering: l.offering,
        resource: "",
        what: l.running
          ? `The ${l.loop} pass in flight has shown no progress for over an interval`
          : `The ${l.loop} pass did not start when it was due`,
        action: "Look at the log for a pass waiting on an upstream and at the host's load; " +
          "/healthz fails after 10 minutes of this (restart Berth then).",
        link: `#${anchors.loop(l.offering, l.loop)}`,
      },
    });
  }
  for (const b of observed.breakers) {
    if (b.state === "closed") continue;
    out.push({
      source: { kind: "breaker", target: b.target },
      entry: {
        kind: "circuit-open",
        key: `circuit-open::${b.target}`,
        offering: "",
        resource: "",
        what: `${b.system} at ${b.target}: circuit ${b.state} (${oneLine(b.lastError)})`,
        action: `Check that ${b.target} is up and reachable from this host (berth diagnose -c ` +
          "<config>); Berth probes it by itself and closes the circuit on the first good answer.",
        link: `#${anchors.breaker(b.target)}`,
        since: b.since,
      },
    });
  }
  for (const r of observed.refusals) {
    out.push({
      source: { kind: "refusals" },
      entry: {
        kind: "termination-refused",
        key: `termination-refused:${r.offering}:${r.resource}`,
        offering: r.offering,
        resource: r.resource,
        what: `Termination of ${named(r.resourceName || r.resource)} refused: ${
          oneLine(r.message)
        }`,
        action: "Remove what blocks it (or set termination: purge), then order the termination " +
          "again in Waldur; the entry goes once the blocker is gone or an order of the resource " +
          "is done.",
        link: `#${anchors.refusal(r.offering, r.resource)}`,
        since: r.at,
      },
    });
  }
  return out;
}

/** What one backend snapshot says, computed once per publish. */
export interface SnapshotFacts {
  /** Its rows that stand for a Waldur resource: the uuid, and whether the row has flags. */
  resources: { uuid: string; flagged: boolean }[];
  /** Users missing in Keycloak and the rows of attention tables. */
  candidates: Candidate[];
  groups: { total: number; inSync: number; missingUsers: number; failed: number };
  /** Rows of its attention tables. */
  conflicts: number;
}

const FACTS = new WeakMap<object, SnapshotFacts>();

/** The presentations of a snapshot's kind (the plugins', `routes/view.ts` reads the same). */
function presentationsOf(kind: string): readonly Presentation[] {
  return PLUGINS.find((p) => p.type === kind)?.presentations ?? [];
}

/** A snapshot's facts, cached on the snapshot object (the status record keeps one per publish). */
export function snapshotFacts(backend: BackendSnapshot & { offering: string }): SnapshotFacts {
  const cached = FACTS.get(backend);
  if (cached) return cached;
  const facts: SnapshotFacts = {
    resources: [],
    candidates: [],
    groups: { total: 0, inSync: 0, missingUsers: 0, failed: 0 },
    conflicts: 0,
  };
  const offering = backend.offering;
  const source: Source = { kind: "backend", offering };
  for (const p of presentationsOf(backend.kind)) {
    if (!p.resourceOf && !p.attention) continue;
    for (const raw of rowsOf(backend, p)) {
      const parsed = p.schema.safeParse(raw);
      if (!parsed.success) continue;
      const row = parsed.data;
      if (p.resourceOf) {
        const flagged = p.section.cells(row).some((c) => c.kind === "flags" && c.flags.length > 0);
        facts.resources.push({ uuid: p.resourceOf(row), flagged });
      }
      const attend = p.attention ? p.attend?.(row) : undefined;
      if (p.attention) facts.conflicts++;
      if (!attend) continue;
      facts.candidates.push({
        source,
        entry: {
          kind: attend.kind,
          key: `${attend.kind}:${offering}:${attend.id}`,
          offering,
          resource: "",
          what: oneLine(attend.what),
          action: attend.action,
          link: filteredLink(attend.id, anchors.row(offering, attend.kind, attend.id)),
        },
      });
    }
  }
  const missing = new Map<string, string[]>();
  for (const raw of backend.groups ?? []) {
    const parsed = GroupRow.safeParse(raw);
    if (!parsed.success) continue;
    const g = parsed.data;
    facts.groups.total++;
    if (g.error) facts.groups.failed++;
    if (g.missing.length > 0) facts.groups.missingUsers++;
    if (!g.error && g.missing.length === 0 && g.members !== null) facts.groups.inSync++;
    for (const user of g.missing) missing.set(user, [...missing.get(user) ?? [], g.path]);
  }
  for (const [user, paths] of missing) {
    const first = paths[0] ?? "";
    facts.candidates.push({
      source,
      entry: {
        kind: "keycloak-user-missing",
        key: `keycloak-user-missing:${offering}:${user}`,
        offering,
        resource: "",
        what: `${named(user)} is in the team of ${named(first)}${
          paths.length > 1 ? ` and ${paths.length - 1} more groups` : ""
        } but Keycloak has no such user`,
        action: "Create the user in Keycloak, or have them log in once through the identity " +
          "provider; the next membership pass adds them to their groups.",
        link: filteredLink(user, anchors.group(offering, first)),
      },
    });
  }
  FACTS.set(backend, facts);
  return facts;
}

/**
 * Whether `source` has been seen since the start, so that an entry of it that is no longer
 * derived is gone (and not merely unobserved since a restart): a loop that ran, a breaker that
 * was called (or every loop ran without calling it), a backend whose membership pass ran (any
 * loop of it, when it has none).
 */
export function observedSince(
  source: Source,
  observed: Pick<Observed, "loops" | "breakers" | "backends">,
): boolean {
  switch (source.kind) {
    case "event":
      return false;
    case "refusals":
      return true;
    case "loop": {
      const l = observed.loops.find((x) =>
        x.offering === source.offering && x.loop === source.loop
      );
      return l === undefined || l.runs > 0;
    }
    case "breaker":
      return observed.breakers.some((b) => b.target === source.target) ||
        (observed.loops.length > 0 && observed.loops.every((l) => l.runs > 0));
    case "backend": {
      if (!observed.backends.some((b) => b.offering === source.offering)) return false;
      const loops = observed.loops.filter((l) => l.offering === source.offering);
      const membership = loops.find((l) => l.loop === "membership");
      return membership ? membership.runs > 0 : loops.some((l) => l.runs > 0);
    }
  }
}

/** The summary's counts from the record's parts, the snapshots' facts and the kept entries. */
export function summarize(
  observed: Observed,
  facts: readonly SnapshotFacts[],
  entries: readonly AttentionEntry[],
  orders: { inFlight: number; doneSinceStart: number; erredSinceStart: number },
): AttentionSummary {
  const erred = new Set(
    entries.filter((e) => e.kind === "resource-erred").map((e) => e.resource),
  );
  const resources = { total: 0, ok: 0, erred: erred.size, flagged: 0 };
  const groups = { total: 0, inSync: 0, missingUsers: 0, failed: 0, conflicts: 0 };
  for (const f of facts) {
    for (const r of f.resources) {
      resources.total++;
      if (r.flagged) resources.flagged++;
      if (!r.flagged && !erred.has(r.uuid)) resources.ok++;
    }
    groups.total += f.groups.total;
    groups.inSync += f.groups.inSync;
    groups.missingUsers += f.groups.missingUsers;
    groups.failed += f.groups.failed;
    groups.conflicts += f.conflicts;
  }
  const late = new Set(entries.filter((e) => e.kind === "loop-late").map((e) => e.key));
  const loops = { ok: 0, failing: 0, late: 0, other: 0 };
  for (const l of observed.loops) {
    if (late.has(`loop-late:${l.offering}:${l.loop}`)) loops.late++;
    else if (l.state === "failed" || l.state === "partial") loops.failing++;
    else if (l.state === "ok") loops.ok++;
    else loops.other++;
  }
  const count = (state: string) => observed.breakers.filter((b) => b.state === state).length;
  return {
    orders: {
      inFlight: orders.inFlight,
      erred: entries.filter((e) => e.kind === "order-erred").length,
      doneSinceStart: orders.doneSinceStart,
      erredSinceStart: orders.erredSinceStart,
    },
    resources,
    groups,
    upstreams: { closed: count("closed"), halfOpen: count("half-open"), open: count("open") },
    loops,
  };
}
