import { describe, expect, it } from 'vitest';
import { CLOSED_RETRY_MS, decideWithoutStore } from '../../src/limits/fallbackDecision.js';
import { MemoryStore } from '../../src/limits/memoryStore.js';
import { NEVER, type BucketSpec } from '../../src/limits/store.js';

function local(clock: { now: number }): MemoryStore {
  return new MemoryStore({ now: () => clock.now });
}

describe('decideWithoutStore', () => {
  it("gives each of N instances 1/N of the burst and of the rate", () => {
    const clock = { now: 0 };
    const store = local(clock);
    const b: BucketSpec[] = [{ key: 'k', rate: 4, burst: 12 }];
    let passed = 0;
    for (let i = 0; i < 10; i++) if (decideWithoutStore(store, b, 1, 3).allowed) passed++;
    expect(passed).toBe(4);
    // 4/s shared by 3: one token every 750 ms.
    clock.now = 749;
    expect(decideWithoutStore(store, b, 1, 3).allowed).toBe(false);
    clock.now = 750;
    expect(decideWithoutStore(store, b, 1, 3)).toMatchObject({ allowed: true, degraded: true });
  });

  it('lets a cost through that the whole burst allows, even when the share of the burst is smaller', () => {
    const store = local({ now: 0 });
    const b: BucketSpec[] = [{ key: 'k', rate: 1, burst: 10 }];
    expect(decideWithoutStore(store, b, 6, 4).allowed).toBe(true);
    expect(decideWithoutStore(store, b, 6, 4).allowed).toBe(false);
    expect(decideWithoutStore(store, b, 11, 1)).toMatchObject({ allowed: false, retryAfterMs: NEVER, refusedBy: 0 });
  });

  it("leaves 'open' buckets out and refuses for a second on a 'closed' one", () => {
    const store = local({ now: 0 });
    const open: BucketSpec[] = [
      { key: '{t}:c', rate: 1, burst: 1, onStoreFailure: 'open' },
      { key: '{t}:t', rate: 1, burst: 2 },
    ];
    expect(decideWithoutStore(store, open, 1, 1).allowed).toBe(true);
    expect(decideWithoutStore(store, open, 1, 1).allowed).toBe(true);
    expect(decideWithoutStore(store, open, 1, 1)).toMatchObject({ allowed: false, refusedBy: 1 });
    const closed: BucketSpec[] = [{ key: '{u}:c', rate: 1, burst: 5 }, { key: '{u}:t', rate: 1, burst: 5, onStoreFailure: 'closed' }];
    expect(decideWithoutStore(store, closed, 1, 1)).toMatchObject({ allowed: false, refusedBy: 1, retryAfterMs: CLOSED_RETRY_MS });
    // The refusal took nothing from the local bucket it did not reach.
    expect(store.size).toBe(1);
  });

  it("refuses a cost above burst even when every bucket is 'open'", () => {
    const store = local({ now: 0 });
    const b: BucketSpec[] = [{ key: 'k', rate: 1, burst: 2, onStoreFailure: 'open' }];
    expect(decideWithoutStore(store, b, 3, 1)).toMatchObject({ allowed: false, retryAfterMs: NEVER });
    expect(decideWithoutStore(store, b, 2, 1)).toMatchObject({ allowed: true });
  });
});
