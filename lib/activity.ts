/**
 * Which resources an order is acting on right now. The orders loop marks a resource for as long
 * as it handles one of its orders; every start and end bumps the resource's generation. The
 * membership and usage loops leave a busy resource alone, and write a resource's state (OK,
 * erred) only when its generation is the one they read it under: a pass never writes from a
 * read that an order has since invalidated (a Terminate that deleted the project under it).
 */
export class ResourceActivity {
  #busy = new Map<string, number>();
  #generations = new Map<string, number>();

  /** An order starts acting on `uuid`. */
  begin(uuid: string): void {
    this.#busy.set(uuid, (this.#busy.get(uuid) ?? 0) + 1);
    this.#bump(uuid);
  }

  /** An order stopped acting on `uuid`. */
  end(uuid: string): void {
    const left = (this.#busy.get(uuid) ?? 1) - 1;
    if (left > 0) this.#busy.set(uuid, left);
    else this.#busy.delete(uuid);
    this.#bump(uuid);
  }

  /** True while an order acts on `uuid`. */
  busy(uuid: string): boolean {
    return this.#busy.has(uuid);
  }

  /** A number that changes whenever an order starts or ends on `uuid`. */
  generation(uuid: string): number {
    return this.#generations.get(uuid) ?? 0;
  }

  #bump(uuid: string): void {
    this.#generations.set(uuid, this.generation(uuid) + 1);
  }
}
