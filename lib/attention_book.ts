/**
 * The kept set of attention entries and each resource's last successful sync, held by the status
 * record and written through to the state file (`lib/attention_store.ts`), so both survive a
 * restart. Entries come two ways: raised and cleared by events (an order erred, a membership pass
 * listed the resources' states), or derived from the record on every read and reconciled here:
 * a derived entry seen again keeps its `since`, and one no longer derived is removed only once its
 * source has been seen since the start (a loop that has not run since a restart clears nothing).
 */
import { z } from "zod";
import {
  anchors,
  type AttentionEntry,
  type AttentionSummary,
  byAttention,
  named,
  oneLine,
  resourcePage,
} from "./attention.ts";
import {
  type Candidate,
  type Observed,
  observedSince,
  recordCandidates,
  snapshotFacts,
  type Source,
  summarize,
} from "./attention_derive.ts";

/** {@link Source} as the state file keeps it. */
export const SourceSchema: z.ZodType<Source> = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("event") }),
  z.object({ kind: z.literal("loop"), offering: z.string(), loop: z.string() }),
  z.object({ kind: z.literal("breaker"), target: z.string() }),
  z.object({ kind: z.literal("refusals") }),
  z.object({ kind: z.literal("backend"), offering: z.string() }),
]);

/** An entry and what may clear it, as kept. */
export interface Kept {
  entry: AttentionEntry;
  source: Source;
}

/** Where the book keeps what must survive a restart (the state file). */
export interface AttentionKeep {
  load(): { entries: Kept[]; syncs: { offering: string; resource: string; at: number }[] };
  put(kept: Kept): void;
  drop(key: string): void;
  /** Records one sync time for many resources of an offering (one write). */
  putSyncs(offering: string, resources: readonly string[], at: number): void;
  dropSync(offering: string, resource: string): void;
}

/** A Waldur resource as a membership pass listed it. */
export interface ListedResource {
  uuid: string;
  name: string;
  state: string;
}

/** The kept attention entries and last syncs. */
export class AttentionBook {
  #kept = new Map<string, Kept>();
  #syncs = new Map<string, Map<string, number>>();
  #keep: AttentionKeep | undefined;
  #now: () => number;
  #redact: (text: string) => string;
  #onError: (message: string) => void;

  constructor(options: {
    now: () => number;
    redact: (text: string) => string;
    /** A write to the state file failed (the entry is kept in memory). */
    onError: (message: string) => void;
  }) {
    this.#now = options.now;
    this.#redact = options.redact;
    this.#onError = options.onError;
  }

  /**
   * Keeps the book in `keep` from now on: what it holds is read in (an entry already here stays
   * as it is), and what is here already is written out.
   */
  persistIn(keep: AttentionKeep): void {
    if (this.#keep === keep) return;
    this.#keep = keep;
    const loaded = this.#guard(() => keep.load());
    for (const k of loaded?.entries ?? []) {
      if (!this.#kept.has(k.entry.key)) this.#kept.set(k.entry.key, k);
    }
    for (const s of loaded?.syncs ?? []) {
      const map = this.#syncs.get(s.offering) ?? new Map<string, number>();
      if (!map.has(s.resource)) map.set(s.resource, s.at);
      this.#syncs.set(s.offering, map);
    }
    for (const k of this.#kept.values()) this.#guard(() => keep.put(k));
  }

  #guard<T>(write: () => T): T | undefined {
    try {
      return write();
    } catch (error) {
      this.#onError(`attention: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  }

  /** Adds or refreshes an entry; an entry already kept keeps its `since`. */
  #upsert(candidate: Candidate): void {
    const old = this.#kept.get(candidate.entry.key);
    const entry: AttentionEntry = {
      ...candidate.entry,
      what: this.#redact(candidate.entry.what),
      action: this.#redact(candidate.entry.action),
      since: old?.entry.since ?? candidate.entry.since ?? this.#now(),
    };
    if (
      old && old.entry.what === entry.what && old.entry.action === entry.action &&
      old.entry.link === entry.link && old.entry.resource === entry.resource
    ) return;
    const kept = { entry, source: candidate.source };
    this.#kept.set(entry.key, kept);
    this.#guard(() => this.#keep?.put(kept));
  }

  #remove(key: string): void {
    if (!this.#kept.delete(key)) return;
    this.#guard(() => this.#keep?.drop(key));
  }

  /**
   * The derived entries seen now (`candidates`) reconciled with the kept ones: each kept or
   * refreshed; a kept derived entry not among them removed once `seen(source)`; any entry of an
   * offering no longer configured removed. Returns every kept entry.
   */
  reconcile(
    candidates: readonly Candidate[],
    seen: (source: Source) => boolean,
    offerings: readonly string[],
  ): AttentionEntry[] {
    const now = new Set<string>();
    for (const c of candidates) {
      now.add(c.entry.key);
      this.#upsert(c);
    }
    const configured = new Set(offerings);
    for (const [key, k] of [...this.#kept]) {
      if (now.has(key)) continue;
      const gone = k.entry.offering !== "" && !configured.has(k.entry.offering);
      if (gone || (k.source.kind !== "event" && seen(k.source))) this.#remove(key);
    }
    return [...this.#kept.values()].map((k) => k.entry);
  }

  /** An order went to erred (a Terminate's refusal is its own entry). */
  orderErred(order: {
    offering: string;
    uuid: string;
    type: string;
    resource: string;
    resourceName: string;
    message: string;
  }): void {
    this.#upsert({
      source: { kind: "event" },
      entry: {
        kind: "order-erred",
        key: `order-erred:${order.offering}:${order.uuid}`,
        offering: order.offering,
        resource: order.resource,
        what: `${order.type} order of ${named(order.resourceName || order.resource)} erred: ${
          oneLine(order.message)
        }`,
        action: "Fix what the message names, then re-run the order: as the service provider, " +
          `POST /api/marketplace-orders/${order.uuid}/set_state_executing/ to Waldur and the ` +
          "next orders pass runs it again (or order it anew); the entry goes when an order of " +
          "the resource is done.",
        link: order.resource
          ? resourcePage(order.resource)
          : `#${anchors.entry(`order-erred:${order.offering}:${order.uuid}`)}`,
      },
    });
  }

  /**
   * `order` of `resource` is done: it and the resource's erred orders need nothing more, and the
   * resource synced now (a Terminate: it is gone, its last sync forgotten).
   */
  orderDone(order: string, offering: string, resource: string, terminated: boolean): void {
    this.#remove(`order-erred:${offering}:${order}`);
    for (const [key, k] of [...this.#kept]) {
      if (k.entry.kind === "order-erred" && k.entry.offering === offering) {
        if (resource !== "" && k.entry.resource === resource) this.#remove(key);
      }
    }
    if (resource === "") return;
    if (terminated) this.#forgetSync(offering, resource);
    else this.synced(offering, [resource]);
  }

  /**
   * What a membership pass listed: its Erred resources are entries, the others listed are not;
   * a `whole` pass (not scoped to some projects) listed every resource of the offering, so the
   * entries of resources it did not list (terminated) go, erred orders included.
   */
  resourcesListed(
    offering: string,
    listed: readonly ListedResource[],
    whole: boolean,
    why: ReadonlyMap<string, string>,
  ): void {
    const byUuid = new Map(listed.map((r) => [r.uuid, r]));
    for (const r of listed) {
      const key = `resource-erred:${offering}:${r.uuid}`;
      if (r.state === "") continue; // an order's now: what was listed says nothing
      if (r.state !== "Erred") {
        this.#remove(key);
        continue;
      }
      const reason = why.get(r.uuid);
      this.#upsert({
        source: { kind: "event" },
        entry: {
          kind: "resource-erred",
          key,
          offering,
          resource: r.uuid,
          what: `Waldur resource ${named(r.name || r.uuid)} is Erred${
            reason ? `: ${oneLine(reason)}` : ""
          }`,
          action: "Fix what its last error names; the membership pass sets it OK once it syncs " +
            "(a resource never created needs its Create order re-run).",
          link: resourcePage(r.uuid),
        },
      });
    }
    if (!whole) return;
    for (const [key, k] of [...this.#kept]) {
      const e = k.entry;
      if (e.offering !== offering || e.resource === "" || byUuid.has(e.resource)) continue;
      if (e.kind === "resource-erred" || e.kind === "order-erred") this.#remove(key);
    }
    // and their last syncs: a resource terminated elsewhere, or of a site that is no more
    for (const resource of [...this.#syncs.get(offering)?.keys() ?? []]) {
      if (!byUuid.has(resource)) this.#forgetSync(offering, resource);
    }
  }

  /** These resources of `offering` synced successfully now. */
  synced(offering: string, resources: readonly string[]): void {
    if (resources.length === 0) return;
    const at = this.#now();
    const map = this.#syncs.get(offering) ?? new Map<string, number>();
    for (const r of resources) map.set(r, at);
    this.#syncs.set(offering, map);
    this.#guard(() => this.#keep?.putSyncs(offering, resources, at));
  }

  #forgetSync(offering: string, resource: string): void {
    if (!this.#syncs.get(offering)?.delete(resource)) return;
    this.#guard(() => this.#keep?.dropSync(offering, resource));
  }

  /** Each offering's resources → the time of their last successful sync. */
  lastSync(): Record<string, Record<string, number>> {
    const out: Record<string, Record<string, number>> = {};
    for (const [offering, map] of this.#syncs) out[offering] = Object.fromEntries(map);
    return out;
  }
}

/**
 * The status record's attention now: the entries derived from `observed` reconciled with the
 * book, and the summary. `orders` are the record's order counters (`type\0outcome` → count).
 */
export function attend(
  book: AttentionBook,
  observed: Observed,
  record: { offerings: readonly string[]; orders: ReadonlyMap<string, number>; inFlight: number },
): { attention: AttentionEntry[]; summary: AttentionSummary } {
  const facts = observed.backends.map(snapshotFacts);
  const attention = book.reconcile(
    [...recordCandidates(observed), ...facts.flatMap((f) => f.candidates)],
    (source) => observedSince(source, observed),
    record.offerings,
  ).sort(byAttention);
  let done = 0;
  let erred = 0;
  for (const [key, n] of record.orders) {
    if (key.endsWith("\u0000done")) done += n;
    else if (key.endsWith("\u0000erred")) erred += n;
  }
  const summary = summarize(observed, facts, attention, {
    inFlight: record.inFlight,
    doneSinceStart: done,
    erredSinceStart: erred,
  });
  return { attention, summary };
}
