import { describe, expect, it } from 'vitest';
import { EventLoopDelay } from '../../src/control/eventLoopDelay.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('EventLoopDelay', () => {
  it('is unknown before its first reading', () => {
    const eld = new EventLoopDelay(10);
    expect(eld.signal(100)).toMatchObject({ name: 'eventLoopDelay', value: null, state: 'unknown', threshold: 100 });
    eld.start();
    expect(eld.signal(100).detail).toMatch(/no reading yet/);
    eld.stop();
  });

  it('sees the loop blocked for 300 ms, and forgets it in the next period', async () => {
    const eld = new EventLoopDelay(10);
    eld.start();
    await sleep(100);
    eld.sample(Date.now());
    // Node drops the first interval after a reset, so the block comes a few timer ticks later.
    await sleep(50);
    const block = Date.now() + 300;
    while (Date.now() < block) {
      // Block the loop: this is the overload being measured.
    }
    await sleep(50);
    const r = eld.sample(Date.now())!;
    // A timer due every 10 ms fired at least 290 ms late at least once.
    expect(r.maxMs).toBeGreaterThanOrEqual(250);
    const s = eld.signal(100, 200);
    expect(s).toMatchObject({ state: 'over', threshold: 100, shedThreshold: 200 });
    expect(s.value!).toBeGreaterThanOrEqual(250);
    await sleep(200);
    // The next period had no block: its p99 is below what was blocked.
    expect(eld.sample(Date.now())!.maxMs).toBeLessThan(250);
    eld.stop();
  });
});
