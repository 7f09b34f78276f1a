/**
 * Micro-benchmark of the token-bucket stores: what a decision costs in the memory store (a client and
 * a tenant bucket, a million distinct clients), how many bytes a bucket costs in memory, and how many
 * decisions per second the Redis store makes against a private redis-server, 64 at a time, next to the
 * memory store driven the same way, with the ratio. Run: `npm run build && node dist/test/bench/limits.js`.
 *
 * The numbers are a measurement, not a test; on a shared machine they vary from run to run.
 */
import { pathToFileURL } from 'node:url';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { pino } from 'pino';
import { MemoryStore } from '../../src/limits/memoryStore.js';
import { RedisStore } from '../../src/limits/redisStore.js';
import { bucketKey, type BucketSpec, type Store } from '../../src/limits/store.js';
import { RedisServer } from '../helpers/redisServer.js';

const CLIENTS = 1_000_000;

function clientKeys(count: number): string[] {
  // 28 characters, like a hashed session id under a short tenant name.
  return Array.from({ length: count }, (_, i) => bucketKey('acme', 'c', `client-${String(i).padStart(9, '0')}`));
}

function gc(): void {
  setFlagsFromString('--expose-gc');
  (runInNewContext('gc') as () => void)();
}

/** CPU time of this process (all its threads, GC included), in ns. */
function cpuNs(): number {
  const c = process.cpuUsage();
  return (c.user + c.system) * 1000;
}

/**
 * Wall and CPU ns per decision of the memory store, on the real clock, for a million distinct clients.
 * The client's key is built for each decision, as the proxy builds it from the request. The CPU figure
 * holds up better on a busy machine, where other processes stretch the wall time.
 */
function memoryDecisionNs(): { wall: number; cpu: number } {
  const store = new MemoryStore();
  const tenant: BucketSpec = { key: bucketKey('acme', 'tenant', ''), rate: 1e9, burst: 1e9 };
  const client: BucketSpec = { key: '', rate: 10, burst: 20 };
  const buckets = [client, tenant];
  let allowed = 0;
  const run = (count: number, offset: number): void => {
    for (let i = 0; i < count; i++) {
      client.key = bucketKey('acme', 'c', `client-${(offset + i * 7919) % CLIENTS}`);
      if (store.consume(buckets, 1).allowed) allowed++;
    }
  };
  run(200_000, 0); // warm-up: optimised code, map grown
  const n = 2_000_000;
  const cpu = cpuNs();
  const start = process.hrtime.bigint();
  run(n, 1);
  const wall = Number(process.hrtime.bigint() - start) / n;
  if (allowed === 0) throw new Error('nothing allowed: the benchmark measured nothing');
  return { wall, cpu: (cpuNs() - cpu) / n };
}

/** Heap bytes per bucket held by a memory store, with one bucket per key. */
function memoryBytesPerKey(count: number): number {
  gc();
  const before = process.memoryUsage().heapUsed;
  // No bucket is full again before 10^12 ms: none is evicted, the map holds all of them.
  const store = new MemoryStore({ now: () => 0 });
  const bucket: BucketSpec[] = [{ key: '', rate: 1e-9, burst: 1 }];
  for (let i = 0; i < count; i++) {
    bucket[0]!.key = bucketKey('acme', 'c', `client-${String(i).padStart(9, '0')}`);
    store.consume(bucket, 1);
  }
  gc();
  const bytes = (process.memoryUsage().heapUsed - before) / count;
  if (store.size !== count) throw new Error(`expected ${count} buckets, found ${store.size}`);
  return bytes;
}

/**
 * Decisions per second with `concurrency` decisions outstanding at all times, and this process's CPU
 * ns per decision (for Redis: the client's side of the round trip).
 */
async function decisionsPerSecond(store: Store, keys: string[], total: number, concurrency: number): Promise<{ perSecond: number; cpuNs: number }> {
  let next = 0;
  let degraded = 0;
  const worker = async (): Promise<void> => {
    while (next < total) {
      const i = next++;
      const d = await store.consume(
        [
          { key: keys[(i * 7919) % keys.length]!, rate: 10, burst: 20 },
          { key: bucketKey('acme', 'tenant', ''), rate: 1e9, burst: 1e9 },
        ],
        1,
      );
      if (d.degraded) degraded++;
    }
  };
  const cpu = cpuNs();
  const start = performance.now();
  await Promise.all(Array.from({ length: concurrency }, worker));
  const seconds = (performance.now() - start) / 1000;
  if (degraded > 0) throw new Error(`${degraded} decisions were taken without Redis: the Redis figure would be wrong`);
  return { perSecond: total / seconds, cpuNs: (cpuNs() - cpu) / total };
}

export async function benchLimits(): Promise<Record<string, number>> {
  const results: Record<string, number> = {};
  const sync = memoryDecisionNs();
  results['memory.ns_per_decision'] = sync.wall;
  results['memory.cpu_ns_per_decision'] = sync.cpu;
  results['memory.bytes_per_bucket'] = memoryBytesPerKey(CLIENTS);
  const keys = clientKeys(CLIENTS);

  const server = await RedisServer.start();
  const redis = new RedisStore({ connection: { url: server.url }, logger: pino({ level: 'silent' }), commandTimeoutMs: 2000 });
  try {
    if (!(await redis.ready(5000))) throw new Error('the Redis store did not connect to its private server');
    await decisionsPerSecond(redis, keys, 5_000, 64); // warm-up
    const r = await decisionsPerSecond(redis, keys, 50_000, 64);
    results['redis.decisions_per_s_c64'] = r.perSecond;
    results['redis.client_cpu_ns_per_decision'] = r.cpuNs;
  } finally {
    await redis.close();
    await server.stop();
  }
  const memory = new MemoryStore();
  await decisionsPerSecond(memory, keys, 50_000, 64);
  const m = await decisionsPerSecond(memory, keys, 500_000, 64);
  results['memory.decisions_per_s_c64'] = m.perSecond;
  results['redis_vs_memory.ratio'] = results['redis.decisions_per_s_c64'] / m.perSecond;
  return results;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = await benchLimits();
  for (const [name, value] of Object.entries(results)) {
    console.log(`${name.padEnd(34)} ${value < 10 ? value.toFixed(4) : Math.round(value).toLocaleString('en-US')}`);
  }
  console.log(`Redis store: ${(results['redis_vs_memory.ratio']! * 100).toFixed(1)}% of the memory store's decisions/s (64 outstanding)`);
}
