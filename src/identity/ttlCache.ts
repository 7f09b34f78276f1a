/**
 * A bounded least-recently-used map whose entries also expire at a given time. A Map iterates in
 * insertion order, so re-inserting an entry on every hit keeps the least recently used one first,
 * where eviction takes it: O(1) for every operation, no timers, and the clock is passed in.
 */
interface Entry<V> {
  value: V;
  /** Milliseconds on the caller's clock; the entry is gone from this time on. */
  expiresAt: number;
}

export class TtlCache<V> {
  private readonly entries = new Map<string, Entry<V>>();

  /** @param capacity most entries kept; 0 disables the cache. */
  constructor(readonly capacity: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string, now: number): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    if (entry.expiresAt <= now) {
      this.entries.delete(key);
      return undefined;
    }
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, expiresAt: number): void {
    if (this.capacity === 0) return;
    this.entries.delete(key);
    this.entries.set(key, { value, expiresAt });
    if (this.entries.size > this.capacity) this.entries.delete(this.entries.keys().next().value!);
  }

  clear(): void {
    this.entries.clear();
  }
}
