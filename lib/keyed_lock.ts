/**
 * One at a time per key: work for a key waits for the work before it on that key, different
 * keys run side by side. Two Creates whose projects would have one name are told apart this way
 * (the second sees the first's record), not by how their answers happen to interleave.
 */
export class KeyedLock {
  #tails = new Map<string, Promise<void>>();

  /** Runs `work` once the work queued before it on `key` has settled. */
  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.#tails.get(key) ?? Promise.resolve();
    let release = () => {};
    const mine = new Promise<void>((r) => release = r);
    const tail = before.then(() => mine);
    this.#tails.set(key, tail);
    try {
      await before;
      return await work();
    } finally {
      release();
      if (this.#tails.get(key) === tail) this.#tails.delete(key);
    }
  }
}
