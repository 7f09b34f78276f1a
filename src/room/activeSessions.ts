/**
 * How many admitted sessions are active, per tenant and in total, against a configured maximum: the
 * room admits from the queue only while there is room here. A session counts from its admission until
 * TTL after it was last seen (its cookie renewed or checked); expired ones are swept as the counts are
 * read, so the numbers never include the long gone.
 *
 * Sweeping is amortised O(1): a Map iterates in insertion order, and every `admit`/`touch` re-inserts
 * its session at the end with expiry now + TTL, so with one TTL and a clock that does not go back the
 * Map is in expiry order and the sweep stops at the first live entry.
 *
 * This counts sessions seen by this instance; across instances the integrator sizes the maximum to
 * the instance's share, or keeps the count in the shared store.
 */
export interface ActiveSessionsOptions {
  /** ms; the same clock as the session cookies. */
  now: () => number;
  ttlMs: number;
  maxTotal: number;
  /** Cap for every tenant not in `tenantMax`; unlimited (only `maxTotal`) by default. */
  maxPerTenant?: number;
  tenantMax?: Readonly<Record<string, number>>;
}

interface Active {
  readonly tenant: string;
  expiresAt: number;
}

export class ActiveSessions {
  readonly #now: () => number;
  readonly #ttlMs: number;
  readonly #maxTotal: number;
  readonly #maxPerTenant: number;
  readonly #tenantMax: Map<string, number>;
  readonly #sessions = new Map<string, Active>();
  readonly #perTenant = new Map<string, number>();

  constructor(opts: ActiveSessionsOptions) {
    this.#now = opts.now;
    this.#ttlMs = opts.ttlMs;
    this.#maxTotal = opts.maxTotal;
    this.#maxPerTenant = opts.maxPerTenant ?? Infinity;
    this.#tenantMax = new Map(Object.entries(opts.tenantMax ?? {}));
  }

  /**
   * Counts the session as active (or refreshes it). False, and nothing counted, when it is new and
   * the tenant or the total is at its maximum.
   */
  admit(tenant: string, clientHash: string): boolean {
    if (this.touch(tenant, clientHash)) return true;
    if (!this.canAdmit(tenant)) return false;
    this.#sessions.set(key(tenant, clientHash), { tenant, expiresAt: this.#now() + this.#ttlMs });
    this.#perTenant.set(tenant, (this.#perTenant.get(tenant) ?? 0) + 1);
    return true;
  }

  /** The session was seen: it stays active for another TTL. False if it is not (or no longer) active. */
  touch(tenant: string, clientHash: string): boolean {
    this.sweep();
    const k = key(tenant, clientHash);
    const s = this.#sessions.get(k);
    if (s === undefined) return false;
    this.#sessions.delete(k);
    s.expiresAt = this.#now() + this.#ttlMs;
    this.#sessions.set(k, s);
    return true;
  }

  /** The session ended (logout, block): its capacity goes back to the room now. */
  end(tenant: string, clientHash: string): boolean {
    const k = key(tenant, clientHash);
    const s = this.#sessions.get(k);
    if (s === undefined) return false;
    this.#drop(k, s);
    return true;
  }

  has(tenant: string, clientHash: string): boolean {
    this.sweep();
    return this.#sessions.has(key(tenant, clientHash));
  }

  /** Active sessions of the tenant, or of all tenants. */
  count(tenant?: string): number {
    this.sweep();
    return tenant === undefined ? this.#sessions.size : (this.#perTenant.get(tenant) ?? 0);
  }

  /** Active sessions per tenant (a copy). */
  perTenant(): Map<string, number> {
    this.sweep();
    return new Map(this.#perTenant);
  }

  /** Whether one more session of this tenant fits. */
  canAdmit(tenant: string): boolean {
    this.sweep();
    if (this.#sessions.size >= this.#maxTotal) return false;
    return (this.#perTenant.get(tenant) ?? 0) < (this.#tenantMax.get(tenant) ?? this.#maxPerTenant);
  }

  /** Drops expired sessions; returns how many. */
  sweep(): number {
    const now = this.#now();
    let dropped = 0;
    for (const [k, s] of this.#sessions) {
      if (s.expiresAt > now) break;
      this.#drop(k, s);
      dropped++;
    }
    return dropped;
  }

  #drop(k: string, s: Active): void {
    this.#sessions.delete(k);
    const n = (this.#perTenant.get(s.tenant) ?? 1) - 1;
    if (n === 0) this.#perTenant.delete(s.tenant);
    else this.#perTenant.set(s.tenant, n);
  }
}

/** NUL cannot occur in a tenant name taken from a header or host, so the pair cannot collide. */
function key(tenant: string, clientHash: string): string {
  return `${tenant}\u0000${clientHash}`;
}
