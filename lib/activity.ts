/**
 * Which resources an order is acting on right now, and when an order last started or ended on
 * each. The orders loop marks a resource for as long as it handles one of its orders. The
 * membership and usage loops take a {@link ResourceActivity.mark} before they list resources,
 * leave alone every resource an order touched since, and write a resource's state (OK, erred)
 * only if still no order touched it: a pass never acts or writes from a read that an order has
 * since invalidated (a Terminate that deleted the project while the list was in flight).
 */
export class ResourceActivity {
  #busy = new Map<string, number>();
  /** The tick of each resource's last start or end of an order. */
  #touched = new Map<string, number>();
  #tick = 0;

  /** An order starts acting on `uuid`. */
  begin(uuid: string): void {
    this.#busy.set(uuid, (this.#busy.get(uuid) ?? 0) + 1);
    this.#touched.set(uuid, ++this.#tick);
  }

  /** An order stopped acting on `uuid`. */
  end(uuid: string): void {
    const left = (this.#busy.get(uuid) ?? 1) - 1;
    if (left > 0) this.#busy.set(uuid, left);
    else this.#busy.delete(uuid);
    this.#touched.set(uuid, ++this.#tick);
  }

  /** A point in time to compare with: take it before reading resources. */
  mark(): number {
    return this.#tick;
  }

  /** True when an order acts on `uuid` now, or started or ended on it after `mark`. */
  touchedSince(uuid: string, mark: number): boolean {
    return this.#busy.has(uuid) || (this.#touched.get(uuid) ?? 0) > mark;
  }
}
