/**
 * The waiting room's queue: who is admitted next, and where everyone stands.
 *
 * Order, from the outside in:
 * 1. Across tenants, deficit round robin (Shreedhar & Varghese, 1995) with per-tenant weights: the
 *    tenants with waiters form a ring; on its turn a tenant earns a quantum proportional to its weight
 *    and is served while its deficit covers one admission, then the turn passes. A tenant with 10,000
 *    waiting gets its share and no more, so a tenant with 10 waiting is through within about
 *    10 x (active tenants) admissions (DESIGN: "one tenant's flood does not raise another tenant's
 *    wait"). Tenants come first, classes second, so one tenant's critical flood cannot starve another
 *    tenant's normal traffic either.
 * 2. Within a tenant, by class: critical before normal before bulk, with a minimum share for the lower
 *    classes (classShares.ts).
 * 3. Within a (tenant, class), FIFO by `seq`; a waiter restored from a ticket is slotted in at its old
 *    place (seqList.ts).
 *
 * Abandoned places (abandonment.ts) are dropped when they reach the front, or by `sweepAbandoned`.
 * The queue is bounded per tenant and in total; beyond either, `enqueue` answers 'full'.
 *
 * Pure: no timers, no sockets; the clock is injected.
 */
import { isAbandoned } from './abandonment.js';
import { classIndex, type RoomClass } from './classes.js';
import { ClassShares, DEFAULT_MIN_SHARES, type MinShares } from './classShares.js';
import { TenantQueue, TenantRing } from './tenantRing.js';
import { Waiter, type WaiterInit } from './waiter.js';

export { Waiter, type WaiterInit, type WaiterKind } from './waiter.js';

export type EnqueueResult = 'queued' | 'exists' | 'full';

export interface ClassCounts {
  critical: number;
  normal: number;
  bulk: number;
}

export interface FairQueueSettings {
  /** A waiter not seen for longer than this (and not pinned) loses its place. */
  graceMs: number;
  maxPerTenant: number;
  /** Bound on all tenants together: tenant names come from requests, so their number is not bounded. */
  maxTotal: number;
  /** Weight per tenant; tenants not listed weigh `defaultWeight`. Weights must be positive. */
  weights: Readonly<Record<string, number>>;
  defaultWeight: number;
  minShares: MinShares;
}

export interface FairQueueOptions extends Partial<FairQueueSettings> {
  graceMs: number;
  maxPerTenant: number;
  /** ms; the same clock as `touch` and `enqueuedAt`. */
  now: () => number;
}

/** Deficit units per admission: integers, so weights like 1.5 alternate 1, 2, 1, 2 exactly. */
const UNIT = 1000;

export class FairQueue {
  readonly #now: () => number;
  #s!: FairQueueSettings;
  #weights = new Map<string, number>();
  #minWeight = 1;
  #shares!: ClassShares;
  readonly #byId = new Map<string, Waiter>();
  readonly #tenants = new Map<string, TenantQueue>();
  readonly #ring = new TenantRing();
  readonly #waiting = [0, 0, 0];
  /** Places dropped as abandoned since construction, for metrics. */
  abandoned = 0;

  constructor(opts: FairQueueOptions) {
    const { now, ...settings } = opts;
    this.#now = now;
    this.reconfigure({ maxTotal: Infinity, weights: {}, defaultWeight: 1, minShares: DEFAULT_MIN_SHARES, ...settings });
  }

  /** Applies new settings (a config reload) without losing anyone's place. Throws on invalid values. */
  reconfigure(settings: Partial<FairQueueSettings>): void {
    const s = { ...this.#s, ...settings } as FairQueueSettings;
    const weights = new Map<string, number>();
    checkWeight('the default weight', s.defaultWeight);
    let minWeight = s.defaultWeight;
    for (const [tenant, w] of Object.entries(s.weights)) {
      checkWeight(`tenant ${tenant}`, w);
      weights.set(tenant, w);
      if (w < minWeight) minWeight = w;
    }
    if (!(s.graceMs >= 0)) throw new Error(`anteroom: room graceMs must be >= 0, got ${s.graceMs}`);
    if (!(s.maxPerTenant >= 1) || !(s.maxTotal >= 1)) throw new Error('anteroom: room queue bounds must be at least 1');
    this.#shares = new ClassShares(s.minShares);
    this.#s = s;
    this.#weights = weights;
    this.#minWeight = minWeight;
    for (const t of this.#tenants.values()) t.weight = this.#weightOf(t.tenant);
  }

  get size(): number {
    return this.#byId.size;
  }

  sizeOf(tenant: string): number {
    return this.#tenants.get(tenant)?.size ?? 0;
  }

  /** Tenants with waiters. */
  get tenantCount(): number {
    return this.#tenants.size;
  }

  has(id: string): boolean {
    return this.#byId.has(id);
  }

  get(id: string): Waiter | undefined {
    return this.#byId.get(id);
  }

  /**
   * Puts a waiter in line at its seq's place within its (tenant, class). 'exists' if the id is already
   * waiting (it counts as seen), 'full' beyond maxPerTenant or maxTotal: a bound is a bound, even for a
   * restored ticket, because memory is what keeps everyone else's place safe.
   */
  enqueue(init: WaiterInit): EnqueueResult {
    const ci = classIndex(init.cls);
    if (ci < 0) throw new TypeError(`anteroom: unknown room class ${String(init.cls)}`);
    const now = this.#now();
    const known = this.#byId.get(init.id);
    if (known !== undefined) {
      if (now > known.lastSeen) known.lastSeen = now;
      return 'exists';
    }
    let t = this.#tenants.get(init.tenant);
    if ((t !== undefined && t.size >= this.#s.maxPerTenant) || this.#byId.size >= this.#s.maxTotal) return 'full';
    if (t === undefined) {
      t = new TenantQueue(init.tenant, this.#weightOf(init.tenant));
      this.#tenants.set(init.tenant, t);
      this.#ring.join(t);
    }
    const w = new Waiter(init, now);
    t.lanes[ci]!.insert(w);
    t.size++;
    this.#byId.set(w.id, w);
    return 'queued';
  }

  /** Takes a waiter out of line (gave up, answered elsewhere). False if it was not waiting. */
  remove(id: string): boolean {
    const w = this.#byId.get(id);
    if (w === undefined) return false;
    const t = this.#tenants.get(w.tenant)!;
    t.lanes[classIndex(w.cls)]!.remove(w);
    this.#forget(t, w);
    return true;
  }

  /** The waiter was heard from (a status poll, a retry). False if it is no longer waiting. */
  touch(id: string, now: number): boolean {
    const w = this.#byId.get(id);
    if (w === undefined) return false;
    if (now > w.lastSeen) w.lastSeen = now;
    return true;
  }

  /** Held on an open socket: never abandoned until `unpin`. */
  pin(id: string): boolean {
    const w = this.#byId.get(id);
    if (w !== undefined) w.pinned = true;
    return w !== undefined;
  }

  /** The socket was answered or closed; the grace starts now. */
  unpin(id: string, now: number): boolean {
    const w = this.#byId.get(id);
    if (w === undefined) return false;
    w.pinned = false;
    if (now > w.lastSeen) w.lastSeen = now;
    return true;
  }

  /**
   * The next waiter to admit, taken out of the queue; undefined when nobody (eligible) waits.
   * `eligible` lets the caller skip tenants that cannot take an admission now (their session cap is
   * reached): they lose the turn, not their waiters' places.
   */
  next(eligible?: (tenant: string) => boolean): Waiter | undefined {
    const now = this.#now();
    let skipped = 0;
    for (let t = this.#ring.current; t !== null; t = this.#ring.current) {
      if (eligible !== undefined && !eligible(t.tenant)) {
        // No banking while skipped: a heavy tenant must not come back with a burst of saved turns.
        t.deficit = 0;
        this.#ring.pass();
        if (++skipped >= this.#tenants.size) return undefined;
        continue;
      }
      if (!t.inTurn) {
        // Quanta are scaled so the lightest tenant earns exactly one admission per turn, hence every
        // turn serves at least one and this loop ends within one lap.
        t.deficit += Math.round((UNIT * t.weight) / this.#minWeight);
        t.inTurn = true;
      }
      const w = this.#take(t, now);
      if (w === undefined) continue; // only abandoned places were left; the tenant has left the ring
      t.deficit -= UNIT;
      if (t.size > 0 && t.deficit < UNIT) this.#ring.pass();
      return w;
    }
    return undefined;
  }

  /**
   * The waiter's place as they would see it: about how many admissions happen until theirs, 1 for the
   * next one. Exact for one tenant with one class; an estimate otherwise, from the same policy taken as
   * a fluid: the tenant needs `k` admissions of its own (classShares.admissionsUntil) and meanwhile
   * every other tenant u gets min(its waiters, k * w_u / w_t). Never increases as others are admitted
   * or dropped, since it only ever counts waiters. O(log n + n/512 + active tenants).
   */
  position(id: string): number | undefined {
    const w = this.#byId.get(id);
    if (w === undefined) return undefined;
    const t = this.#tenants.get(w.tenant)!;
    const ci = classIndex(w.cls);
    const waiting = this.#waiting;
    for (let i = 0; i < 3; i++) waiting[i] = t.lanes[i]!.size;
    const own = this.#shares.admissionsUntil(waiting, ci, t.lanes[ci]!.rank(w) + 1);
    let total = own;
    if (t.next !== t) {
      const perWeight = own / t.weight;
      for (let u = t.next; u !== t; u = u.next) total += Math.min(u.size, perWeight * u.weight);
    }
    // The epsilon keeps float noise in the sum (19.9999999 or 20.0000001) from shifting an exact count.
    return Math.max(1, Math.ceil(total - 1e-6));
  }

  countsOf(tenant: string): ClassCounts {
    const t = this.#tenants.get(tenant);
    if (t === undefined) return { critical: 0, normal: 0, bulk: 0 };
    return { critical: t.lanes[0].size, normal: t.lanes[1].size, bulk: t.lanes[2].size };
  }

  /** Every tenant with waiters and its counts per class, for status and metrics. */
  *tenants(): IterableIterator<{ tenant: string } & ClassCounts> {
    for (const [tenant, t] of this.#tenants) {
      yield { tenant, critical: t.lanes[0].size, normal: t.lanes[1].size, bulk: t.lanes[2].size };
    }
  }

  /** Every waiter, in no particular order (a shared room moves them to Redis after an outage). */
  values(): IterableIterator<Waiter> {
    return this.#byId.values();
  }

  /** Drops every abandoned place now (O(n)); `next()` drops them lazily anyway. Returns how many. */
  sweepAbandoned(): number {
    const now = this.#now();
    let dropped = 0;
    for (const w of [...this.#byId.values()]) {
      if (isAbandoned(w, now, this.#s.graceMs)) {
        this.remove(w.id);
        dropped++;
      }
    }
    this.abandoned += dropped;
    return dropped;
  }

  #weightOf(tenant: string): number {
    return this.#weights.get(tenant) ?? this.#s.defaultWeight;
  }

  /** Drops abandoned heads, then takes the waiter the class policy picks; undefined if none is left. */
  #take(t: TenantQueue, now: number): Waiter | undefined {
    const grace = this.#s.graceMs;
    const waiting = this.#waiting;
    for (let i = 0; i < 3; i++) {
      const lane = t.lanes[i]!;
      for (let head = lane.first(); head !== undefined && isAbandoned(head, now, grace); head = lane.first()) {
        lane.shift();
        this.abandoned++;
        this.#forget(t, head);
        // The last waiter of the tenant may just have gone, and the tenant with it.
        if (t.size === 0) return undefined;
      }
      waiting[i] = lane.size;
    }
    const ci = this.#shares.pick(t.credits, waiting);
    const w = t.lanes[ci]!.shift()!;
    this.#forget(t, w);
    return w;
  }

  /** Bookkeeping for a waiter already out of its lane. */
  #forget(t: TenantQueue, w: Waiter): void {
    this.#byId.delete(w.id);
    if (--t.size === 0) {
      this.#tenants.delete(t.tenant);
      this.#ring.leave(t);
    }
  }
}

function checkWeight(what: string, w: number): void {
  if (!(w > 0 && Number.isFinite(w))) throw new Error(`anteroom: room weight for ${what} must be a positive number, got ${w}`);
}
