/**
 * Which tenants get a `tenant` label of their own in the metrics: the busiest `limit` of them; all
 * others are counted under `tenant="other"`. Tenant ids come from requests, so their number is not
 * bounded (a client can send a new one every time): neither the label set nor the memory may grow
 * with them.
 *
 * The busiest are found with Space-Saving (Metwally, Agrawal and El Abbadi, "Efficient computation of
 * frequent and top-k elements in data streams", 2005), with exponential decay. Space-Saving keeps a
 * fixed number of candidates with a count each; a tenant not among them replaces the one with the
 * smallest count and inherits that count (as its possible error). Any tenant with more than 1/capacity
 * of the traffic is always among the candidates, however many distinct tenants pass by, and memory is
 * exactly `capacity` entries: chosen over a sampling sketch because it is deterministic and exact for
 * the heavy hitters, and over a count-min sketch because it also names them. The counts decay (halved
 * every `halfLifeMs`) so that yesterday's busiest tenant makes way for today's.
 *
 * The candidates learn from a sample of the requests (one in `sampleEvery`, by a counter), not from
 * every one: with many tenants of similar traffic, Space-Saving replaces a candidate on nearly every
 * request, and that (a Map delete and insert and a heap walk) cost several times the rest of the
 * request's bookkeeping. A tenant with a share of the traffic worth naming is sampled often enough;
 * the counts of named tenants do not depend on the sample, they are exact.
 *
 * Named tenants are counted exactly, from the moment they are named; `other` counts everyone else at
 * the time of their request. Every request is counted under exactly one label, and a count is never
 * moved from one label to another, so every exported series only grows (a Prometheus counter must
 * never go down, and moving a tenant's past into `other` would show as a burst of traffic that never
 * happened). A tenant that loses its name stops being exported, its past with it (Prometheus has seen
 * it already: sum(rate(...)) stays right); named again later, its series starts again from zero.
 *
 * While fewer than `limit` tenants are named, a new tenant is named at its first request, so a
 * deployment with few tenants sees every one of them exactly. Who is named otherwise changes only in
 * `rebalance` (at scrape time), with some hysteresis so that two tenants of similar traffic do not
 * swap names at every scrape.
 */

/** The label of every tenant without one of its own. */
export const OTHER_TENANT = 'other';

interface Entry {
  readonly tenant: string;
  /** Recent sampled requests (decayed); for a candidate an overestimate by at most `error`. */
  weight: number;
  error: number;
  /** Index in the candidates' heap; -1 for a named tenant. */
  slot: number;
  /** Requests per kind since the tenant was named; null for a candidate. */
  counts: Float64Array | null;
}

export interface TopTenantsOptions {
  /** Tenants named at most. */
  limit: number;
  /** Counts kept per tenant (one per kind of request, e.g. per decision). */
  width: number;
  /** Candidates per named tenant (Space-Saving's capacity is this times `limit`, at least 64). */
  candidatesPer?: number;
  /** The candidates see one request in this many (default 8); 1 for all. */
  sampleEvery?: number;
  /** Counts halve over this time. */
  halfLifeMs?: number;
  /** ms */
  now?: () => number;
}

/** A challenger takes a name from a named tenant only with this many times its count. */
const SWAP_FACTOR = 1.5;

export class TopTenants {
  /** Counts of every request not counted under a named tenant. Only ever grows. */
  readonly other: Float64Array;
  private readonly width: number;
  private readonly candidatesPer: number;
  private readonly halfLifeMs: number;
  private readonly sampleEvery: number;
  /** Requests until the next sampled one. */
  private untilSample = 1;
  private readonly now: () => number;
  private readonly entries = new Map<string, Entry>();
  /** Candidates: a min-heap on weight, so the one Space-Saving replaces is at the root. */
  private readonly heap: Entry[] = [];
  private limit: number;
  private capacity: number;
  private namedCount = 0;
  private decayedAt: number;

  constructor(opts: TopTenantsOptions) {
    this.width = opts.width;
    this.candidatesPer = opts.candidatesPer ?? 8;
    this.halfLifeMs = opts.halfLifeMs ?? 10 * 60_000;
    this.sampleEvery = opts.sampleEvery ?? 8;
    this.now = opts.now ?? Date.now;
    this.other = new Float64Array(opts.width);
    this.limit = opts.limit;
    this.capacity = this.capacityFor(opts.limit);
    this.decayedAt = this.now();
  }

  /** Counts one request of `kind` (0 <= kind < width) for `tenant`. */
  count(tenant: string, kind: number): void {
    // A tenant really called "other" is counted with the others, never as a series of its own.
    if (tenant === OTHER_TENANT) {
      this.other[kind]!++;
      return;
    }
    const sampled = --this.untilSample === 0;
    if (sampled) this.untilSample = this.sampleEvery;
    let e = this.entries.get(tenant);
    if (e === undefined) {
      if (this.namedCount < this.limit) e = this.nameNew(tenant);
      else if (sampled) e = this.enter(tenant);
      else {
        this.other[kind]!++;
        return;
      }
    } else if (sampled) {
      e.weight++;
      if (e.slot >= 0) this.down(e.slot);
    }
    (e.counts ?? this.other)[kind]!++;
  }

  /** Named tenants and their counts, then `other`: every label the metrics export. */
  *labels(): IterableIterator<[tenant: string, counts: Float64Array]> {
    for (const e of this.entries.values()) if (e.counts !== null) yield [e.tenant, e.counts];
    yield [OTHER_TENANT, this.other];
  }

  /** Tenants with a name now. */
  named(): string[] {
    const out: string[] = [];
    for (const e of this.entries.values()) if (e.counts !== null) out.push(e.tenant);
    return out;
  }

  /** Tenants remembered (named and candidates); at most limit + capacity. */
  get size(): number {
    return this.entries.size;
  }

  /**
   * Decays the counts and revises who is named: named tenants beyond `limit` lose their name, free
   * names go to the candidates with the most requests for certain (count minus error), and a candidate
   * takes the name of the least busy named tenant when it has SWAP_FACTOR times its count. An idle
   * tenant keeps its name until someone needs it (no series churn while names are to spare); its
   * decayed count makes it the first to go.
   */
  rebalance(limit = this.limit): void {
    this.decay();
    this.limit = limit;
    this.capacity = this.capacityFor(limit);
    let keep = [...this.entries.values()].filter((e) => e.counts !== null).sort((a, b) => a.weight - b.weight);
    const demote: Entry[] = [];
    if (keep.length > limit) {
      demote.push(...keep.slice(0, keep.length - limit));
      keep = keep.slice(keep.length - limit);
    }
    let free = limit - keep.length;
    const promote: Entry[] = [];
    let weakest = 0;
    for (const c of [...this.heap].sort((a, b) => b.weight - b.error - (a.weight - a.error))) {
      const sure = c.weight - c.error;
      if (sure < 1) break;
      if (free > 0) {
        free--;
        promote.push(c);
      } else if (weakest < keep.length && sure > SWAP_FACTOR * keep[weakest]!.weight) {
        demote.push(keep[weakest++]!);
        promote.push(c);
      } else break;
    }
    // Promotions first: they leave the heap, making room for the demoted.
    for (const e of promote) this.name(e);
    for (const e of demote) this.unname(e);
    while (this.heap.length > this.capacity) this.evictMin();
  }

  private capacityFor(limit: number): number {
    return Math.max(64, limit * this.candidatesPer);
  }

  /** A tenant not seen recently while a name is free: it gets it. */
  private nameNew(tenant: string): Entry {
    const e: Entry = { tenant, weight: 1, error: 0, slot: -1, counts: new Float64Array(this.width) };
    this.entries.set(tenant, e);
    this.namedCount++;
    return e;
  }

  /** A sampled request of a tenant not among the candidates: it becomes one (Space-Saving). */
  private enter(tenant: string): Entry {
    const heap = this.heap;
    if (heap.length < this.capacity) {
      const e: Entry = { tenant, weight: 1, error: 0, slot: heap.length, counts: null };
      heap.push(e);
      this.entries.set(tenant, e);
      this.up(e.slot);
      return e;
    }
    // Replace the candidate with the smallest count; the newcomer inherits that count as its error.
    const min = heap[0]!;
    this.entries.delete(min.tenant);
    const e: Entry = { tenant, weight: min.weight + 1, error: min.weight, slot: 0, counts: null };
    heap[0] = e;
    this.entries.set(tenant, e);
    this.down(0);
    return e;
  }

  private name(e: Entry): void {
    this.removeAt(e.slot);
    e.weight -= e.error;
    e.error = 0;
    e.slot = -1;
    e.counts = new Float64Array(this.width);
    this.namedCount++;
  }

  private unname(e: Entry): void {
    e.counts = null;
    this.namedCount--;
    const heap = this.heap;
    if (heap.length < this.capacity) {
      e.slot = heap.length;
      heap.push(e);
      this.up(e.slot);
    } else if (heap.length > 0 && e.weight > heap[0]!.weight) {
      this.entries.delete(heap[0]!.tenant);
      e.slot = 0;
      heap[0] = e;
      this.down(0);
    } else {
      this.entries.delete(e.tenant);
    }
  }

  private evictMin(): void {
    const min = this.heap[0]!;
    this.entries.delete(min.tenant);
    this.removeAt(0);
  }

  /**
   * Halves every count per half-life passed since the last rebalance (so requests between two scrapes
   * age as if they came at the first: close enough with a scrape interval far below the half-life).
   * Scaling every weight alike keeps the heap in order.
   */
  private decay(): void {
    const now = this.now();
    const f = 2 ** (-(now - this.decayedAt) / this.halfLifeMs);
    this.decayedAt = now;
    if (!(f < 1)) return;
    for (const e of this.entries.values()) {
      e.weight *= f;
      e.error *= f;
    }
  }

  // --- the min-heap ------------------------------------------------------------------------------------

  private removeAt(i: number): void {
    const heap = this.heap;
    const last = heap.pop()!;
    if (i === heap.length) return;
    heap[i] = last;
    last.slot = i;
    this.down(i);
    this.up(last.slot);
  }

  private up(i: number): void {
    const heap = this.heap;
    const e = heap[i]!;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = heap[p]!;
      if (parent.weight <= e.weight) break;
      heap[i] = parent;
      parent.slot = i;
      i = p;
    }
    heap[i] = e;
    e.slot = i;
  }

  private down(i: number): void {
    const heap = this.heap;
    const n = heap.length;
    const e = heap[i]!;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && heap[c + 1]!.weight < heap[c]!.weight) c++;
      const child = heap[c]!;
      if (child.weight >= e.weight) break;
      heap[i] = child;
      child.slot = i;
      i = c;
    }
    heap[i] = e;
    e.slot = i;
  }
}
