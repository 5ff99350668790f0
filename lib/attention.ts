/**
 * What needs attention: the entries of the status page's "Needs attention" list and
 * `/api/status`'s `attention`, the page's summary counts, and the ids and links that tie an entry
 * to its row. An entry is a condition someone must act on (an erred order, an open circuit, a
 * user missing in Keycloak, ...): what happened, since when, what to do next, where its row is.
 * Its `key` names the condition, so seeing it again keeps its `since`; `lib/attention_book.ts`
 * keeps the set (in the state file too) and clears an entry once its condition is gone.
 */
import { z } from "zod";

/**
 * The kinds Berth raises itself; a backend's presentation may raise its own (Harbor:
 * `identity-conflict`), so the schema takes any string.
 */
export const ATTENTION_KINDS = [
  "order-erred",
  "resource-erred",
  "termination-refused",
  "keycloak-user-missing",
  "identity-conflict",
  "circuit-open",
  "loop-failing",
  "loop-late",
] as const;

/** One condition someone must act on. */
export const AttentionEntry = z.object({
  /** One of {@link ATTENTION_KINDS}, or a backend's own. */
  kind: z.string(),
  /** The condition's stable identity: `<kind>:<offering>:<subject>` (an order, a target, a user). */
  key: z.string(),
  /** The offering it belongs to; "" for an upstream server shared by offerings. */
  offering: z.string(),
  /** The Waldur resource it is about, "" when none. */
  resource: z.string(),
  /** What happened, one line. */
  what: z.string(),
  /** When it was first seen (Unix ms); kept while the condition stays, across restarts. */
  since: z.number(),
  /** What to do next. */
  action: z.string(),
  /** Where its row is on the status page: `#loop-…`, or `?q=<uuid>#r-<uuid>` (the filter finds it). */
  link: z.string(),
});
/** One condition someone must act on. */
export type AttentionEntry = z.infer<typeof AttentionEntry>;

/** `/api/status`'s `summary`: counts per state, what the top of the page shows. */
export const AttentionSummary = z.object({
  /** In flight now; erred: erred orders still needing attention; done/erred since the start. */
  orders: z.object({
    inFlight: z.number(),
    erred: z.number(),
    doneSinceStart: z.number(),
    erredSinceStart: z.number(),
  }),
  /** Rows that stand for a Waldur resource: erred in Waldur, flagged by their backend, or fine. */
  resources: z.object({
    total: z.number(),
    ok: z.number(),
    erred: z.number(),
    flagged: z.number(),
  }),
  /** Keycloak groups: in sync, with team members missing in Keycloak, failed; identity conflicts. */
  groups: z.object({
    total: z.number(),
    inSync: z.number(),
    missingUsers: z.number(),
    failed: z.number(),
    conflicts: z.number(),
  }),
  /** Upstream servers by circuit state. */
  upstreams: z.object({ closed: z.number(), halfOpen: z.number(), open: z.number() }),
  /** Loops by the outcome of their last pass (`running` and `never` included in `other`). */
  loops: z.object({ ok: z.number(), failing: z.number(), late: z.number(), other: z.number() }),
});
/** `/api/status`'s `summary`. */
export type AttentionSummary = z.infer<typeof AttentionSummary>;

/**
 * An HTML id made of `prefix` and any text, safe in an attribute and a URL fragment: letters,
 * digits, `_` and `-` stay, every other UTF-16 unit becomes `.` and its hex code (so two texts
 * never share an id).
 */
export function anchorId(prefix: string, text: string): string {
  let out = `${prefix}-`;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    const keep = (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) ||
      c === 95 || c === 45;
    out += keep ? text[i] : `.${c.toString(16)}.`;
  }
  return out;
}

/** The ids of the page's rows, and the links to them: one place, so links and rows agree. */
export const anchors = {
  /** A backend row that stands for a Waldur resource. */
  resource: (uuid: string): string => anchorId("r", uuid),
  /** A loop's row. */
  loop: (offering: string, loop: string): string => anchorId("loop", `${offering}/${loop}`),
  /** An upstream server's row (its circuit). */
  breaker: (target: string): string => anchorId("b", target),
  /** A refused termination's row. */
  refusal: (offering: string, resource: string): string => anchorId("x", `${offering}/${resource}`),
  /** A Keycloak group's item. */
  group: (offering: string, path: string): string => anchorId("g", `${offering}/${path}`),
  /** A row of a backend's attention table. */
  row: (offering: string, kind: string, id: string): string =>
    anchorId("a", `${offering}/${kind}/${id}`),
  /** An entry of the attention list itself. */
  entry: (key: string): string => anchorId("n", key),
};

/** A link to a row that may be on another page of its table: the filter `q` brings it forward. */
export function filteredLink(q: string, id: string): string {
  return `?q=${encodeURIComponent(q)}#${id}`;
}

/**
 * A resource's own page (`/resources/<uuid>`): it shows a resource no table has a row for (an
 * erred Create's), with its changes.
 */
export function resourcePage(uuid: string): string {
  return `/resources/${encodeURIComponent(uuid)}`;
}

/** A name as an entry quotes it: at most 120 characters (a Waldur name can be 10 KB). */
export function named(name: string): string {
  return name.length > 120 ? `${name.slice(0, 119)}…` : name;
}

/** The first line of a text, at most 200 characters. */
export function oneLine(text: string): string {
  const i = text.indexOf("\n");
  const first = i === -1 ? text : text.slice(0, i);
  return first.length > 200 ? `${first.slice(0, 200)}…` : first;
}

/** Kinds in the order the list shows them: what stops work first, what one user meets last. */
const SEVERITY = new Map<string, number>([
  ["loop-failing", 0],
  ["loop-late", 1],
  ["circuit-open", 2],
  ["order-erred", 3],
  ["resource-erred", 4],
  ["termination-refused", 5],
  ["identity-conflict", 6],
  ["keycloak-user-missing", 7],
]);

/** Entries as the list shows them: by kind (see {@link SEVERITY}), then the oldest first. */
export function byAttention(a: AttentionEntry, b: AttentionEntry): number {
  const ka = SEVERITY.get(a.kind) ?? 6.5;
  const kb = SEVERITY.get(b.kind) ?? 6.5;
  return ka - kb || a.since - b.since || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
}
