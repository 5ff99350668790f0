/**
 * "Did you mean" for a misspelt key: the keys the schema knows where an unknown key was found,
 * and the nearest of them. `check-config` says `backend_setings: unknown key; did you mean
 * \`backend_settings\`?` instead of leaving the operator to compare spellings.
 */
import { z } from "zod";

/**
 * The keys the object schema at `path` of `value` knows (an offering's depend on its
 * `backend_type`), or none when the path leads to no object schema.
 */
export function knownKeysAt(
  schema: z.core.$ZodType,
  path: readonly PropertyKey[],
  value: unknown,
): string[] {
  let here: z.core.$ZodType | undefined = schema;
  let at: unknown = value;
  for (let i = 0; i <= path.length; i++) {
    here = objectOf(here, at);
    if (i === path.length) break;
    const step = path[i];
    at = at !== null && typeof at === "object"
      ? Object.getOwnPropertyDescriptor(at, step as PropertyKey)?.value
      : undefined;
    if (here instanceof z.ZodObject && typeof step === "string") here = here.shape[step];
    else if (here instanceof z.ZodArray && typeof step === "number") here = here.element;
    else if (here instanceof z.ZodRecord) here = here.valueType;
    else return [];
  }
  return here instanceof z.ZodObject ? Object.keys(here.shape) : [];
}

/** `schema` without its wrappers, the union's option that `value` selects. */
function objectOf(
  schema: z.core.$ZodType | undefined,
  value: unknown,
): z.core.$ZodType | undefined {
  let here = schema;
  for (let depth = 0; here !== undefined && depth < 16; depth++) {
    if (
      here instanceof z.ZodOptional || here instanceof z.ZodDefault ||
      here instanceof z.ZodNullable
    ) {
      here = here.unwrap();
    } else if (here instanceof z.ZodPipe) here = here.in;
    else if (here instanceof z.ZodUnion) {
      const options: readonly z.core.$ZodType[] = here.options;
      here = options.find((o) => z.safeParse(o, value).success) ?? options.find((o) =>
        o instanceof z.ZodObject && Object.entries(o.shape).some(([key, s]) =>
          s instanceof z.ZodLiteral && value !== null && typeof value === "object" &&
          s.values.has(Object.getOwnPropertyDescriptor(value, key)?.value)
        )
      ) ?? options[0];
    } else return here;
  }
  return here;
}

/** The known key nearest to `key` (two edits at most, one for short keys), if any. */
export function nearestKey(key: string, known: readonly string[]): string | undefined {
  const most = key.length <= 4 ? 1 : 2;
  let best: string | undefined;
  let bestDistance = most + 1;
  for (const k of known) {
    const d = editDistance(key.toLowerCase(), k.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [k, d];
  }
  return best;
}

/** Edits (insert, delete, replace, swap two neighbours) from `a` to `b`. */
export function editDistance(a: string, b: string): number {
  const rows = Array.from({ length: a.length + 1 }, (_, i) => [i, ...Array(b.length).fill(0)]);
  for (let j = 0; j <= b.length; j++) rows[0]![j] = j;
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let d = Math.min(rows[i - 1]![j]! + 1, rows[i]![j - 1]! + 1, rows[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        d = Math.min(d, rows[i - 2]![j - 2]! + 1);
      }
      rows[i]![j] = d;
    }
  }
  return rows[a.length]![b.length]!;
}
