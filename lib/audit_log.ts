/**
 * The audit log in the state file (the `audit` table): every change made to an external system,
 * written by `Store.audit`, read by `Store.recentAudit` (the page's last changes, a resource's
 * Changes list). Its size is bounded three ways:
 *
 * - `report usage` events (their amounts are in the usage history too) keep the last
 *   {@link USAGE_EVENTS_KEPT} per resource, trimmed as each is written;
 * - every event older than the history's retention (`status.history_days`) goes at the hourly prune;
 * - at most {@link AUDIT_MAX_ROWS} rows in all, the newest kept.
 */
import type { StatementSync } from "node:sqlite";
import { z } from "zod";

/** A change made to an external system, as the audit log and the status record keep it. */
export const AuditEvent = z.object({
  at: z.number(),
  offering: z.string(),
  /** `waldur`, `harbor`, `rancher`, `keycloak`. */
  system: z.string(),
  action: z.string(),
  target: z.string(),
  result: z.enum(["ok", "failed"]),
  detail: z.string().optional(),
  /** The Waldur resource the change was made for, when it was made for one. */
  resource: z.string().optional(),
});
/** A change made to an external system. */
export type AuditEvent = z.infer<typeof AuditEvent>;

/** Which audit events to read: the newest `limit` (50 by default), of one resource's only. */
export interface AuditQuery {
  limit?: number;
  resource?: string;
}

/** The most audit rows kept, the newest; the age bound (the retention) usually comes first. */
export const AUDIT_MAX_ROWS = 200_000;
/** The `report usage` events kept per resource (their amounts are in the usage history). */
export const USAGE_EVENTS_KEPT = 10;
/** The action of a usage report (lib/usage.ts). */
export const REPORT_USAGE = "report usage";

/**
 * The actions whose target is the Waldur resource's uuid: the rows written before the audit table
 * had its `resource_uuid` column are linked to their resource by {@link AUDIT_BACKFILL_MIGRATION}.
 * Order events name the order, not its resource, and stay unlinked.
 */
export const RESOURCE_TARGET_ACTIONS = [
  "set backend_id",
  "set limits",
  REPORT_USAGE,
  "mark resource OK",
  "mark resource erred",
] as const;

/** The migration that links the older audit rows to their resource (appended to the store's). */
export const AUDIT_BACKFILL_MIGRATION = `
  UPDATE audit SET resource_uuid = target WHERE resource_uuid IS NULL AND action IN (${
  RESOURCE_TARGET_ACTIONS.map((a) => `'${a}'`).join(", ")
});`;

/** The audit log over the store's cached prepared statements. */
export class AuditLog {
  #prepare: (sql: string) => StatementSync;

  constructor(prepare: (sql: string) => StatementSync) {
    this.#prepare = prepare;
  }

  /** Writes an event; a `report usage` event drops its resource's older ones past the last few. */
  write(event: AuditEvent): void {
    this.#prepare(
      `INSERT INTO audit (at, offering, system, action, target, result, detail, resource_uuid)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
    ).run(
      event.at,
      event.offering,
      event.system,
      event.action,
      event.target,
      event.result,
      event.detail ?? null,
      event.resource ?? null,
    );
    if (event.action !== REPORT_USAGE || event.resource === undefined) return;
    this.#prepare(
      `DELETE FROM audit WHERE resource_uuid = ?1 AND action = ?2 AND id <= (
         SELECT id FROM audit WHERE resource_uuid = ?1 AND action = ?2
         ORDER BY id DESC LIMIT 1 OFFSET ?3)`,
    ).run(event.resource, REPORT_USAGE, USAGE_EVENTS_KEPT);
  }

  /** The newest events (of one resource with `resource`), newest first. */
  recent(query: AuditQuery = {}): AuditEvent[] {
    const limit = query.limit ?? 50;
    const columns = "at, offering, system, action, target, result, detail, resource_uuid";
    const rows = query.resource === undefined
      ? this.#prepare(`SELECT ${columns} FROM audit ORDER BY id DESC LIMIT ?`).all(limit)
      : this.#prepare(
        `SELECT ${columns} FROM audit WHERE resource_uuid = ? ORDER BY id DESC LIMIT ?`,
      ).all(query.resource, limit);
    return rows.map((r) => ({
      at: Number(r.at),
      offering: String(r.offering),
      system: String(r.system),
      action: String(r.action),
      target: String(r.target),
      result: r.result === "ok" ? "ok" : "failed",
      ...(r.detail === null ? {} : { detail: String(r.detail) }),
      ...(r.resource_uuid === null ? {} : { resource: String(r.resource_uuid) }),
    }));
  }

  /** Drops the rows past {@link AUDIT_MAX_ROWS} (cheap: by id; run after every pass). */
  trimRows(): void {
    this.#prepare(`DELETE FROM audit WHERE id <= (SELECT max(id) FROM audit) - ${AUDIT_MAX_ROWS}`)
      .run();
  }

  /** Drops the events older than `cutoff` (the retention, at the history's hourly prune). */
  trimBefore(cutoff: number): void {
    this.#prepare("DELETE FROM audit WHERE at < ?").run(cutoff);
  }
}
