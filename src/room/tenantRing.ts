/**
 * The tenants with waiters, as the ring deficit round robin walks (see fairQueue.ts), and each
 * tenant's own lanes and scheduling state. A doubly linked ring: joining, leaving and passing the
 * turn are O(1), and walking the others (for position estimates) touches only tenants with waiters.
 */
import type { ClassCredits } from './classShares.js';
import { SeqList } from './seqList.js';
import type { Waiter } from './waiter.js';

export class TenantQueue {
  readonly lanes = [new SeqList<Waiter>(), new SeqList<Waiter>(), new SeqList<Waiter>()] as const;
  size = 0;
  /** From the settings; refreshed by `reconfigure`. */
  weight: number;
  deficit = 0;
  /** Whether the current turn's quantum has been added. */
  inTurn = false;
  readonly credits: ClassCredits = [0, 0, 0];
  prev: TenantQueue = this;
  next: TenantQueue = this;
  constructor(
    readonly tenant: string,
    weight: number,
  ) {
    this.weight = weight;
  }
}

export class TenantRing {
  /** The tenant whose turn it is; null when nobody waits. */
  current: TenantQueue | null = null;

  /** A tenant joins at the end of the round: just before the one whose turn it is. */
  join(t: TenantQueue): void {
    const c = this.current;
    if (c === null) {
      this.current = t;
      return;
    }
    t.prev = c.prev;
    t.next = c;
    c.prev.next = t;
    c.prev = t;
  }

  leave(t: TenantQueue): void {
    if (t.next === t) this.current = null;
    else {
      t.prev.next = t.next;
      t.next.prev = t.prev;
      if (this.current === t) this.current = t.next;
    }
    t.prev = t.next = t;
  }

  /** Ends the current tenant's turn. */
  pass(): void {
    if (this.current !== null) {
      this.current.inTurn = false;
      this.current = this.current.next;
    }
  }
}
