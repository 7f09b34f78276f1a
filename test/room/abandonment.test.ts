import { describe, expect, it } from 'vitest';
import { FakeClock, drain, makeQueue, waiter } from './helpers.js';

const GRACE = 30_000;

describe('FairQueue: abandoned places', () => {
  it('skips and drops a waiter not seen for longer than the grace', () => {
    const clock = new FakeClock();
    const q = makeQueue(clock, { graceMs: GRACE });
    for (const id of ['w1', 'w2', 'w3']) q.enqueue(waiter(id));
    clock.advance(GRACE + 1);
    q.touch('w1', clock.t);
    q.touch('w3', clock.t);
    expect(q.position('w3')).toBe(3); // counted until it is found to be gone
    expect(drain(q)).toEqual(['w1', 'w3']);
    expect(q.has('w2')).toBe(false);
    expect(q.abandoned).toBe(1);
  });

  it('keeps the place of a waiter who comes back within the grace', () => {
    const clock = new FakeClock();
    const q = makeQueue(clock, { graceMs: GRACE });
    for (const id of ['w1', 'w2', 'w3']) q.enqueue(waiter(id));
    clock.advance(GRACE);
    expect(q.sweepAbandoned()).toBe(0); // exactly the grace: still in
    q.touch('w2', clock.t);
    clock.advance(GRACE);
    expect(q.enqueue(waiter('w4'))).toBe('queued');
    expect(q.touch('w2', clock.t)).toBe(true);
    expect(drain(q)).toEqual(['w2', 'w4']);
    expect(q.abandoned).toBe(2);
  });

  it('never drops a pinned waiter (a held socket), and starts the grace when it is unpinned', () => {
    const clock = new FakeClock();
    const q = makeQueue(clock, { graceMs: GRACE });
    q.enqueue(waiter('api', 'a', 'normal', { kind: 'api' }));
    q.enqueue(waiter('page'));
    q.pin('api');
    clock.advance(10 * GRACE);
    expect(q.next()?.id).toBe('api');
    expect(q.next()).toBeUndefined();

    q.enqueue(waiter('ws', 'a', 'normal', { kind: 'websocket' }));
    q.pin('ws');
    clock.advance(10 * GRACE);
    q.unpin('ws', clock.t);
    clock.advance(GRACE);
    expect(q.position('ws')).toBe(1);
    clock.advance(1);
    expect(q.next()).toBeUndefined();
  });

  it('passes over a tenant whose waiters have all gone, to the next tenant', () => {
    const clock = new FakeClock();
    const q = makeQueue(clock, { graceMs: GRACE });
    for (let i = 0; i < 3; i++) q.enqueue(waiter(`gone${i}`, 'ghosts'));
    q.enqueue(waiter('here', 'live'));
    clock.advance(GRACE + 1);
    q.touch('here', clock.t);
    expect(q.next()?.id).toBe('here');
    expect(q.tenantCount).toBe(0);
  });

  it('sweeps every abandoned place at once', () => {
    const clock = new FakeClock();
    const q = makeQueue(clock, { graceMs: GRACE });
    for (let i = 0; i < 100; i++) q.enqueue(waiter(`w${i}`, i % 2 ? 'a' : 'b'));
    clock.advance(GRACE + 1);
    for (let i = 0; i < 100; i += 10) q.touch(`w${i}`, clock.t);
    expect(q.sweepAbandoned()).toBe(90);
    expect(q.size).toBe(10);
    expect(q.position('w90')).toBe(10);
  });
});
