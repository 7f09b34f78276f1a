import { FairQueue, type FairQueueOptions, type WaiterInit } from '../../src/room/fairQueue.js';
import type { RoomClass } from '../../src/room/classes.js';

/** A clock the test moves by hand. */
export class FakeClock {
  constructor(public t = 1_700_000_000_000) {}
  readonly now = (): number => this.t;
  advance(ms: number): void {
    this.t += ms;
  }
}

export function makeQueue(clock: FakeClock, opts: Partial<FairQueueOptions> = {}): FairQueue {
  return new FairQueue({ now: clock.now, graceMs: 30_000, maxPerTenant: 100_000, ...opts });
}

let seq = 0;
/** A waiter with the next seq, so arrival order is call order. */
export function waiter(id: string, tenant = 'a', cls: RoomClass = 'normal', over: Partial<WaiterInit> = {}): WaiterInit {
  return { id, tenant, cls, seq: ++seq, enqueuedAt: 0, kind: 'browser', ...over };
}

/** Deterministic PRNG (mulberry32), so a failing case can be replayed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Admits `n` (or until empty) and returns the ids in admission order. */
export function drain(q: FairQueue, n = Infinity): string[] {
  const out: string[] = [];
  while (out.length < n) {
    const w = q.next();
    if (w === undefined) break;
    out.push(w.id);
  }
  return out;
}
