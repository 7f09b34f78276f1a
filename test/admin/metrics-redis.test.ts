/**
 * The Redis fallback state in the metrics, with a private redis-server that the test kills and starts
 * again: the limit store degraded and the room's queue in local fallback during the outage, shared
 * again after.
 */
import { performance } from 'node:perf_hooks';
import { describe, expect, it } from 'vitest';
import { Metrics } from '../../src/admin/metrics.js';
import { cleanupAfterEach } from '../helpers/cleanupAfterEach.js';
import { startProxy } from '../helpers/index.js';
import { RedisServer } from '../helpers/redisServer.js';
import { get, quickOrigin } from '../pipeline/util.js';
import { parseExposition, type Exposition } from './exposition.js';

const cleanup = cleanupAfterEach();

async function scrapeUntil(metrics: Metrics, check: (e: Exposition) => boolean, what: string, timeoutMs = 15_000): Promise<Exposition> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const e = parseExposition(await metrics.render());
    if (check(e)) return e;
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const state = (e: Exposition) => ({
  degraded: e.value('anteroom_limit_store_degraded'),
  shared: e.value('anteroom_room_queue_mode', { mode: 'shared' }),
  fallback: e.value('anteroom_room_queue_mode', { mode: 'local-fallback' }),
  local: e.value('anteroom_room_queue_mode', { mode: 'local' }),
});

describe('Redis fallback state', () => {
  it('shows the limit store degraded and the room queue in local fallback while Redis is down, and both back after', async () => {
    const redis = await RedisServer.start();
    cleanup.push(() => redis.stop());
    const origin = await quickOrigin();
    cleanup.push(() => origin.close());
    const proxy = await startProxy(origin.url, { store: { kind: 'redis', url: redis.url }, limits: { tenant: { rate: '100/s' } } });
    cleanup.push(() => proxy.stop());
    const metrics = new Metrics(proxy.app.rt, { processMetrics: false });

    const up = await scrapeUntil(metrics, (e) => e.value('anteroom_limit_store_degraded') === 0 && e.value('anteroom_room_queue_mode', { mode: 'shared' }) === 1, 'connected to redis');
    expect(state(up)).toEqual({ degraded: 0, shared: 1, fallback: 0, local: 0 });

    await redis.kill();
    expect((await get(proxy.port, '/during')).status).toBe(200);
    const down = await scrapeUntil(metrics, (e) => e.value('anteroom_limit_store_degraded') === 1 && e.value('anteroom_room_queue_mode', { mode: 'local-fallback' }) === 1, 'the outage seen');
    expect(state(down)).toEqual({ degraded: 1, shared: 0, fallback: 1, local: 0 });

    await redis.restart();
    const back = await scrapeUntil(metrics, (e) => e.value('anteroom_limit_store_degraded') === 0 && e.value('anteroom_room_queue_mode', { mode: 'shared' }) === 1, 'redis back');
    expect(state(back)).toEqual({ degraded: 0, shared: 1, fallback: 0, local: 0 });
  });
});
