interface Link {
  prev: string;
  next: string;
}

/**
 * The turn order of deficit round robin: a circle of distinct names with a head (whose turn it is).
 * Every operation is O(1) in the number of names, so a queue with thousands of tenants costs a
 * take no more than one with a few (an array's shift and splice would move every other name).
 */
export class Ring {
  private readonly links = new Map<string, Link>();
  private first: string | undefined;

  get size(): number {
    return this.links.size;
  }

  /** Whose turn it is; undefined when empty. */
  get head(): string | undefined {
    return this.first;
  }

  has(name: string): boolean {
    return this.links.has(name);
  }

  /** Adds `name` as the last to get a turn. No-op when present. */
  push(name: string): void {
    if (this.links.has(name)) return;
    if (this.first === undefined) {
      this.links.set(name, { prev: name, next: name });
      this.first = name;
      return;
    }
    const head = this.links.get(this.first)!;
    const last = head.prev;
    this.links.set(name, { prev: last, next: this.first });
    this.links.get(last)!.next = name;
    head.prev = name;
  }

  /** The head goes to the back; the next name gets the turn. */
  rotate(): void {
    if (this.first !== undefined) this.first = this.links.get(this.first)!.next;
  }

  delete(name: string): void {
    const link = this.links.get(name);
    if (!link) return;
    this.links.delete(name);
    if (this.links.size === 0) {
      this.first = undefined;
      return;
    }
    this.links.get(link.prev)!.next = link.next;
    this.links.get(link.next)!.prev = link.prev;
    if (this.first === name) this.first = link.next;
  }

  /** Names from the head on, in turn order. */
  *values(): IterableIterator<string> {
    let name = this.first;
    for (let i = 0; i < this.links.size && name !== undefined; i++) {
      yield name;
      name = this.links.get(name)!.next;
    }
  }
}
