/**
 * The one bound of every upstream list ({@link MAX_LIST_ITEMS}) and the error of a list past it:
 * a list is read whole or refused, never truncated.
 */
import { BerthError, type System } from "./errors.ts";

/**
 * The most items Berth reads from one upstream list, and the most a count header may announce:
 * ten times the largest site benchmarked (10,000 resources). Past it a list is an error, never a
 * truncation: a partial list could make a membership pass remove people.
 */
export const MAX_LIST_ITEMS = 100_000;

/**
 * The terminal error of a list past {@link MAX_LIST_ITEMS}: the server announced more
 * (`announced`, from a count header), its pages did not end within the reads that many items
 * take (`pages`, for lists whose pages may come back short or empty), or its pages were still
 * full at the bound (neither).
 */
export function listTooLong(
  system: System,
  action: string,
  at: { announced?: number; pages?: number } = {},
): BerthError {
  const bound = MAX_LIST_ITEMS.toLocaleString("en");
  const why = at.announced !== undefined
    ? `the server announces ${formatCount(at.announced)} items, more than Berth reads (${bound})`
    : at.pages !== undefined
    ? `the list did not end after ${
      formatCount(at.pages)
    } pages (Berth reads ${bound} items at most)`
    : `the list is still full after ${bound} items`;
  return new BerthError(`${system}: cannot ${action}: ${why}; refusing`, {
    system,
    transient: false,
  });
}

/**
 * The number a count header (`x-result-count`, `X-Total-Count`) announces, or undefined when it
 * is absent or not a count; a count past {@link MAX_LIST_ITEMS} is {@link listTooLong}.
 */
export function announcedCount(
  system: System,
  action: string,
  value: string | null,
): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const count = Number(value);
  if (Number.isNaN(count) || count < 0) return undefined;
  if (count > MAX_LIST_ITEMS) throw listTooLong(system, action, { announced: count });
  return Number.isInteger(count) ? count : undefined;
}

function formatCount(count: number): string {
  return Number.isSafeInteger(count) ? count.toLocaleString("en") : String(count);
}
