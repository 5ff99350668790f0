/**
 * The attention book's place in the state file: the `attention` table (each entry and its source
 * as JSON, read back through their zod schemas) and `last_sync` (one row per offering and
 * resource). A membership pass's syncs are one transaction, so 10,000 resources cost one write.
 */
import { AttentionEntry } from "./attention.ts";
import { type AttentionKeep, type Kept, SourceSchema } from "./attention_book.ts";
import type { Store } from "./store.ts";

/** Parses one kept entry's JSON; undefined for a row this Berth cannot read. */
function parseKept(entry: unknown, source: unknown): Kept | undefined {
  try {
    const e = AttentionEntry.safeParse(JSON.parse(String(entry)));
    const s = SourceSchema.safeParse(JSON.parse(String(source)));
    return e.success && s.success ? { entry: e.data, source: s.data } : undefined;
  } catch {
    return undefined;
  }
}

/** The attention book kept in `store`. */
export function attentionKeep(store: Store): AttentionKeep {
  return {
    load: () => ({
      entries: store.select("SELECT entry, source FROM attention ORDER BY key")
        .map((r) => parseKept(r.entry, r.source))
        .filter((k): k is Kept => k !== undefined),
      syncs: store.select("SELECT offering, resource_uuid, at FROM last_sync").map((r) => ({
        offering: String(r.offering),
        resource: String(r.resource_uuid),
        at: Number(r.at),
      })),
    }),
    put: (kept) =>
      store.execute(
        `INSERT INTO attention (key, entry, source) VALUES (?, ?, ?)
         ON CONFLICT (key) DO UPDATE SET entry = excluded.entry, source = excluded.source`,
        kept.entry.key,
        JSON.stringify(kept.entry),
        JSON.stringify(kept.source),
      ),
    drop: (key) => store.execute("DELETE FROM attention WHERE key = ?", key),
    putSyncs: (offering, resources, at) =>
      store.transaction(() => {
        for (const resource of resources) {
          store.execute(
            `INSERT INTO last_sync (offering, resource_uuid, at) VALUES (?, ?, ?)
             ON CONFLICT (offering, resource_uuid) DO UPDATE SET at = excluded.at`,
            offering,
            resource,
            at,
          );
        }
      }),
    dropSync: (offering, resource) =>
      store.execute(
        "DELETE FROM last_sync WHERE offering = ? AND resource_uuid = ?",
        offering,
        resource,
      ),
  };
}
