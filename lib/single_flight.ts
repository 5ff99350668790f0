/**
 * Single-flight: concurrent callers asking for the same key share one call. A group, a token or
 * a lookup that several orders of one pass need at once is made once, not once per order (and
 * never twice, so no 409 in the normal flow). Nothing is kept once the call settles; callers that
 * want a cache keep one themselves.
 */
export class SingleFlight<V> {
  #flights = new Map<string, Promise<V>>();

  /** `work()` for the first caller of `key`; the same promise for callers while it runs. */
  run(key: string, work: () => Promise<V>): Promise<V> {
    const flying = this.#flights.get(key);
    if (flying) return flying;
    const flight = work().finally(() => this.#flights.delete(key));
    this.#flights.set(key, flight);
    return flight;
  }
}
