import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/limits/memoryStore.js';
import { bucketKey } from '../../src/limits/store.js';
import { storeContract } from './storeContract.js';

storeContract('memory', (clock) => new MemoryStore({ now: () => clock.now }));

describe('MemoryStore', () => {
  it('decides synchronously, so the common path allocates no promise', () => {
    const store = new MemoryStore({ now: () => 0 });
    const d = store.consume([{ key: 'k', rate: 1, burst: 1 }], 1);
    expect(d).not.toBeInstanceOf(Promise);
    expect(d.allowed).toBe(true);
  });

  it('keeps memory bounded by the buckets that are not full, however many clients come and go', () => {
    const clock = { now: 0 };
    const store = new MemoryStore({ now: () => clock.now });
    // 300,000 distinct clients, one request each, 0.01 ms apart; a client bucket (10/s, burst 10)
    // is full again 100 ms after its request, so about 10,000 buckets are not full at any time.
    let peak = 0;
    let allowed = 0;
    for (let i = 0; i < 300_000; i++) {
      clock.now = i * 0.01;
      const d = store.consume(
        [
          { key: bucketKey('acme', 'c', `client-${i}`), rate: 10, burst: 10 },
          { key: bucketKey('acme', 'tenant', ''), rate: 1e6, burst: 1e6 },
        ],
        1,
      );
      if (d.allowed) allowed++;
      if (store.size > peak) peak = store.size;
    }
    expect(allowed).toBe(300_000);
    expect(peak).toBeLessThanOrEqual(2 * 10_000 + 100);
    // Traffic from one client only, long after the others went quiet: the hand clears the rest.
    clock.now += 1000;
    for (let i = 0; i < 20_000; i++) store.consume([{ key: 'lone', rate: 1e9, burst: 1e9 }], 1);
    expect(store.size).toBe(1);
  });

  it('decides the same for a bucket that was evicted as for one that was kept', () => {
    const clock = { now: 0 };
    const store = new MemoryStore({ now: () => clock.now });
    const alice = [{ key: 'alice', rate: 2, burst: 4 }];
    for (let i = 0; i < 4; i++) store.consume(alice, 1);
    // Alice's bucket is full again at 2000 ms; other traffic sweeps it away meanwhile.
    clock.now = 2000;
    for (let i = 0; i < 10; i++) store.consume([{ key: `other-${i}`, rate: 1, burst: 1 }], 1);
    expect(store.size).toBe(10);
    let passed = 0;
    for (let i = 0; i < 6; i++) if (store.consume(alice, 1).allowed) passed++;
    expect(passed).toBe(4);
  });
});
