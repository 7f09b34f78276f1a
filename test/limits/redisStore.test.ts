import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { RedisStore, type RedisStoreOptions } from '../../src/limits/redisStore.js';
import { bucketKey, type BucketSpec, type LimitDecision } from '../../src/limits/store.js';
import { RedisServer, freePort } from '../helpers/redisServer.js';
import { storeContract } from './storeContract.js';

let server: RedisServer;
beforeAll(async () => {
  server = await RedisServer.start();
});
afterAll(async () => {
  await server?.stop();
});

function captureLog(): { logger: Logger; lines: Array<{ level: number; msg: string }> } {
  const lines: Array<{ level: number; msg: string }> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s)) });
  return { logger, lines };
}

/**
 * A store on the private server, ready (on Redis) before it is returned. Tests of the shared limits
 * get a command timeout of a second, so that a busy test machine does not send a decision to the
 * local fallback; the outage tests use the production default of 50 ms.
 */
async function openStore(options: Partial<RedisStoreOptions> = {}): Promise<RedisStore> {
  const store = new RedisStore({
    connection: { url: server.url },
    logger: pino({ level: 'silent' }),
    heartbeatMs: 100,
    probeMs: 50,
    commandTimeoutMs: 1000,
    ...options,
  });
  expect(await store.ready(3000)).toBe(true);
  return store;
}

async function until(condition: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

/** Consumes and measures how long the decision took (ms). */
async function timed(store: RedisStore, buckets: BucketSpec[], cost = 1): Promise<{ d: LimitDecision; ms: number }> {
  const start = performance.now();
  const d = await store.consume(buckets, cost);
  return { d, ms: performance.now() - start };
}

storeContract('redis', (clock) => openStore({ clock: () => clock.now }));

describe('RedisStore', () => {
  it('decides on Redis TIME and lets the keys expire when the buckets are full again', async () => {
    const store = await openStore();
    const redis = new Redis(server.url);
    try {
      const b = [{ key: bucketKey('exp', 'c', String(Math.random())), rate: 1 / 60, burst: 10 }];
      let passed = 0;
      for (let i = 0; i < 15; i++) if ((await store.consume(b, 1)).allowed) passed++;
      expect(passed).toBe(10);
      const pttl = await redis.pttl(`anteroom:${b[0]!.key}`);
      // Ten tokens at 1/min: full again in 600 s.
      expect(pttl).toBeGreaterThan(590_000);
      expect(pttl).toBeLessThanOrEqual(600_000);
      const short = [{ key: bucketKey('exp', 'c', String(Math.random())), rate: 100, burst: 2 }];
      await store.consume(short, 1);
      expect(await redis.pttl(`anteroom:${short[0]!.key}`)).toBeLessThanOrEqual(10);
    } finally {
      redis.disconnect();
      await store.close();
    }
  });

  it('two instances on one Redis enforce one limit together', async () => {
    const a = await openStore({ instanceId: 'a' });
    const b = await openStore({ instanceId: 'b' });
    try {
      const tenant = `both-${Math.random()}`;
      const slow = [{ key: bucketKey(tenant, 'c', 'x'), rate: 1 / 60, burst: 10 }];
      let passed = 0;
      for (let i = 0; i < 20; i++) if ((await (i % 2 ? a : b).consume(slow, 1)).allowed) passed++;
      expect(passed).toBe(10);
      // Over a stretch of real time: at most burst + rate * t pass across both, 64 requests at a time.
      const rate = 50;
      const burst = 5;
      const fast = [{ key: bucketKey(tenant, 'c', 'y'), rate, burst }];
      const start = performance.now();
      let fastPassed = 0;
      let sent = 0;
      while (performance.now() - start < 600) {
        const batch = await Promise.all(Array.from({ length: 64 }, (_, i) => (i % 2 ? a : b).consume(fast, 1)));
        expect(batch.some((d) => d.degraded)).toBe(false);
        sent += batch.length;
        fastPassed += batch.filter((d) => d.allowed).length;
      }
      const elapsed = performance.now() - start;
      expect(sent).toBeGreaterThan(fastPassed * 2);
      expect(fastPassed).toBeLessThanOrEqual(burst + Math.floor((rate * elapsed) / 1000) + 1);
      expect(fastPassed).toBeGreaterThanOrEqual(burst);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('learns how many instances share the limits from the heartbeat', async () => {
    const prefix = `hb-${Math.random()}:`;
    const a = await openStore({ prefix, instanceId: 'a' });
    const b = await openStore({ prefix, instanceId: 'b' });
    const c = await openStore({ prefix, instanceId: 'c' });
    try {
      await until(() => a.instances === 3 && b.instances === 3);
      await c.close();
      // c left the set when it closed: the others take over its share at their next heartbeat.
      await until(() => a.instances === 2 && b.instances === 2);
    } finally {
      await a.close();
      await b.close();
      await c.close();
    }
  });

  it('never waits on a stalled Redis: decides locally on its share of the limit, then resumes on Redis', async () => {
    const log = captureLog();
    const a = await openStore({ instanceId: 'pa', logger: log.logger, commandTimeoutMs: 50 });
    const b = await openStore({ instanceId: 'pb', commandTimeoutMs: 50 });
    const events: string[] = [];
    a.on('degraded', () => events.push('degraded'));
    a.on('recovered', () => events.push('recovered'));
    try {
      await until(() => a.instances === 2 && b.instances === 2);
      const tenant = `stall-${Math.random()}`;
      const shared = [{ key: bucketKey(tenant, 'c', 'x'), rate: 1 / 60, burst: 10 }];
      expect((await a.consume(shared, 1)).allowed).toBe(true);
      server.pause();
      // Requests in flight when Redis stalls: all of them are sent to Redis and time out together.
      const burst = await Promise.all(Array.from({ length: 64 }, () => timed(a, shared)));
      expect(Math.max(...burst.map((x) => x.ms))).toBeLessThan(100);
      let passed = burst.filter((x) => x.d.allowed).length;
      const durations: number[] = [];
      for (let i = 0; i < 30; i++) {
        const { d, ms } = await timed(a, shared);
        durations.push(ms);
        if (d.allowed) passed++;
        expect(d.degraded).toBe(true);
      }
      // Once a command has timed out the store stops asking Redis (were it to, each decision would
      // wait for its own timeout).
      expect(Math.max(...durations)).toBeLessThan(100);
      expect(durations.filter((ms) => ms >= 40).length).toBeLessThanOrEqual(2);
      // Two instances: this one's share of the burst of 10 is 5.
      expect(passed).toBe(5);
      expect(a.degraded).toBe(true);
      server.resume();
      await until(() => !a.degraded);
      const after = await a.consume(shared, 1);
      // Back on the shared bucket: 1 token taken before the stall and 1 now. The 64 decisions that
      // timed out reached Redis when it woke up, past their deadline, and took nothing.
      expect(after).toMatchObject({ allowed: true, degraded: false, buckets: [{ remaining: 8 }] });
      expect(events).toEqual(['degraded', 'recovered']);
      const warnings = log.lines.filter((l) => l.msg.startsWith('redis store unavailable'));
      expect(warnings).toHaveLength(1);
      expect(log.lines.filter((l) => l.msg.startsWith('redis store back'))).toHaveLength(1);
    } finally {
      server.resume();
      await a.close();
      await b.close();
    }
  });

  it("applies each bucket's onStoreFailure during an outage: open lets through, closed refuses for a second", async () => {
    const store = await openStore({ commandTimeoutMs: 50 });
    try {
      server.pause();
      const tenant = `policy-${Math.random()}`;
      const open: BucketSpec[] = [{ key: bucketKey(tenant, 'c', 'o'), rate: 1 / 60, burst: 1, onStoreFailure: 'open' }];
      const closed: BucketSpec[] = [
        { key: bucketKey(tenant, 'c', 'l'), rate: 1 / 60, burst: 5 },
        { key: bucketKey(tenant, 'tenant', ''), rate: 1, burst: 5, onStoreFailure: 'closed' },
      ];
      for (let i = 0; i < 5; i++) {
        const { d, ms } = await timed(store, open);
        expect(ms).toBeLessThan(100);
        expect(d).toMatchObject({ allowed: true, degraded: true });
      }
      const { d, ms } = await timed(store, closed);
      expect(ms).toBeLessThan(100);
      expect(d).toMatchObject({ allowed: false, degraded: true, retryAfterMs: 1000, refusedBy: 1 });
      expect((await store.consume(open, 2)).retryAfterMs).toBe(Infinity);
    } finally {
      server.resume();
      await store.close();
    }
  });

  it('survives Redis being killed and restarted on the same port', async () => {
    const store = await openStore({ commandTimeoutMs: 50 });
    try {
      const b = [{ key: bucketKey(`kill-${Math.random()}`, 'c', 'x'), rate: 1 / 60, burst: 3 }];
      expect((await store.consume(b, 1)).degraded).toBe(false);
      await server.kill();
      await until(() => store.degraded);
      for (let i = 0; i < 10; i++) {
        const { d, ms } = await timed(store, b);
        expect(ms).toBeLessThan(100);
        expect(d.degraded).toBe(true);
      }
      await server.restart();
      await until(() => !store.degraded);
      // A fresh Redis: the shared bucket starts full again.
      let passed = 0;
      for (let i = 0; i < 5; i++) {
        const d = await store.consume(b, 1);
        expect(d.degraded).toBe(false);
        if (d.allowed) passed++;
      }
      expect(passed).toBe(3);
    } finally {
      await store.close();
    }
  });

  it('starts degraded without Redis and logs the outage once', async () => {
    const log = captureLog();
    const port = await freePort();
    const store = new RedisStore({ connection: { url: `redis://127.0.0.1:${port}` }, logger: log.logger, connectTimeoutMs: 100, probeMs: 20 });
    try {
      expect(await store.ready(300)).toBe(false);
      const { d, ms } = await timed(store as RedisStore, [{ key: 'k', rate: 1, burst: 2 }]);
      expect(ms).toBeLessThan(100);
      expect(d).toMatchObject({ allowed: true, degraded: true });
      await new Promise((r) => setTimeout(r, 200));
      expect(log.lines.filter((l) => l.msg.startsWith('redis store unavailable'))).toHaveLength(1);
    } finally {
      await store.close();
    }
  });
});
