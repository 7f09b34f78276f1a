/**
 * Concurrency caps: requests in flight per upstream, per route and per tenant on this instance. A
 * request over a cap waits in one bounded FIFO with a timeout; when a slot frees, the oldest waiter
 * that now fits is admitted. (The waiting room replaces this wait for the traffic it queues.)
 */

/**
 * The slots one request needs: one on each counter whose cap is finite. The upstream's cap is the
 * gate's own (`setUpstreamLimit`), read when the slot is taken: it moves while requests wait (slow
 * start, the adaptive limit), and a request queued under a lower limit must be let in under the new one.
 */
export interface Claim {
  readonly upstream: string;
  readonly tenant: string;
  readonly tenantCap: number;
  readonly route: string;
  readonly routeCap: number;
}

export interface Waiter {
  readonly claim: Claim;
  /** Called once: true when admitted (the slots are held), false on timeout or cancel. */
  readonly done: (admitted: boolean) => void;
  timer: NodeJS.Timeout | null;
  settled: boolean;
}

/** How far past the head a release looks for a waiter that fits, so a blocked tenant at the head cannot stall others. */
const SCAN = 64;

export class ConcurrencyGate {
  private readonly byUpstream = new Map<string, number>();
  private readonly byTenant = new Map<string, number>();
  private readonly byRoute = new Map<string, number>();
  /** The limit in force per upstream; absent means none. */
  private readonly upstreamLimits = new Map<string, number>();
  private readonly queue: Waiter[] = [];
  /** Waiters per upstream, so the room can count them as in flight without scanning the queue. */
  private readonly waitingByUpstream = new Map<string, number>();
  /** Called after every release, once the gate's own waiters had their turn (the room pumps here). */
  onRelease: (() => void) | null = null;

  /** Sets an upstream's in-flight limit (Infinity for none); a raised one lets waiters in at once. */
  setUpstreamLimit(upstream: string, limit: number): void {
    const before = this.upstreamLimit(upstream);
    if (limit === Infinity) this.upstreamLimits.delete(upstream);
    else this.upstreamLimits.set(upstream, limit);
    if (limit > before) this.drain();
  }

  upstreamLimit(upstream: string): number {
    return this.upstreamLimits.get(upstream) ?? Infinity;
  }

  inFlight(upstream: string): number {
    return this.byUpstream.get(upstream) ?? 0;
  }

  tenantInFlight(tenant: string): number {
    return this.byTenant.get(tenant) ?? 0;
  }

  routeInFlight(route: string): number {
    return this.byRoute.get(route) ?? 0;
  }

  get waiting(): number {
    return this.queue.length;
  }

  /** Requests waiting for a slot at this upstream. */
  waitingFor(upstream: string): number {
    return this.waitingByUpstream.get(upstream) ?? 0;
  }

  /**
   * Takes the claim's slots if every cap allows. FIFO holds without looking at the queue: every
   * release admits the waiters that fit before anything else runs, so a waiter still queued is one
   * that does not fit, and a newcomer that fits takes nothing from it.
   */
  tryAcquire(claim: Claim): boolean {
    if (!this.fits(claim)) return false;
    this.take(claim);
    return true;
  }

  /**
   * Queues a waiter; returns null when the queue is full. `done(true)` means the slots are now held
   * by the caller, who must release them.
   */
  wait(claim: Claim, timeoutMs: number, maxWaiting: number, done: (admitted: boolean) => void): Waiter | null {
    if (this.queue.length >= maxWaiting) return null;
    const waiter: Waiter = { claim, done, timer: null, settled: false };
    waiter.timer = setTimeout(() => this.cancel(waiter), timeoutMs);
    this.queue.push(waiter);
    this.waitingByUpstream.set(claim.upstream, this.waitingFor(claim.upstream) + 1);
    return waiter;
  }

  /** Removes a waiter (timeout or client gone) and tells it it was not admitted. */
  cancel(waiter: Waiter): void {
    if (waiter.settled) return;
    const i = this.queue.indexOf(waiter);
    if (i !== -1) this.queue.splice(i, 1);
    this.settle(waiter, false);
  }

  release(claim: Claim): void {
    decrement(this.byUpstream, claim.upstream);
    decrement(this.byTenant, claim.tenant);
    decrement(this.byRoute, claim.route);
    this.drain();
    this.onRelease?.();
  }

  private drain(): void {
    for (let i = 0; i < this.queue.length && i < SCAN; ) {
      const w = this.queue[i]!;
      if (this.fits(w.claim)) {
        this.queue.splice(i, 1);
        this.take(w.claim);
        this.settle(w, true);
      } else {
        i++;
      }
    }
  }

  private fits(c: Claim): boolean {
    return (
      (this.byUpstream.get(c.upstream) ?? 0) < this.upstreamLimit(c.upstream) &&
      (this.byTenant.get(c.tenant) ?? 0) < c.tenantCap &&
      (this.byRoute.get(c.route) ?? 0) < c.routeCap
    );
  }

  private take(c: Claim): void {
    this.byUpstream.set(c.upstream, (this.byUpstream.get(c.upstream) ?? 0) + 1);
    this.byTenant.set(c.tenant, (this.byTenant.get(c.tenant) ?? 0) + 1);
    this.byRoute.set(c.route, (this.byRoute.get(c.route) ?? 0) + 1);
  }

  private settle(w: Waiter, admitted: boolean): void {
    w.settled = true;
    decrement(this.waitingByUpstream, w.claim.upstream);
    if (w.timer !== null) clearTimeout(w.timer);
    w.done(admitted);
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 0) - 1;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}
