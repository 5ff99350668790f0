/**
 * Runs `work` over `items` with at most `limit` in flight. Once `signal` aborts no new item
 * starts; the items in flight finish. `work` must not throw: each item handles its own errors.
 */
export async function forEachLimit<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  let next = 0;
  async function worker(): Promise<void> {
    while (next < items.length && !signal?.aborted) {
      const item = items[next++] as T;
      await work(item);
    }
  }
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, items.length)) }, worker));
}

/**
 * Runs `work` over `items` in order within each key (`keyOf`) and with at most `limit` keys in
 * flight: the actions on one project or group stay in sequence, different ones run side by side.
 */
export async function forEachKeyed<T>(
  items: readonly T[],
  keyOf: (item: T) => string,
  limit: number,
  work: (item: T) => Promise<void>,
  signal?: AbortSignal,
): Promise<void> {
  const byKey = new Map<string, T[]>();
  for (const item of items) {
    const key = keyOf(item);
    const list = byKey.get(key);
    if (list) list.push(item);
    else byKey.set(key, [item]);
  }
  await forEachLimit([...byKey.values()], limit, async (list) => {
    for (const item of list) {
      if (signal?.aborted) return;
      await work(item);
    }
  }, signal);
}
