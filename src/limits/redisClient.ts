/**
 * The one way anteroom connects to Redis or a Redis Cluster. A Redis outage must never stall a
 * request (DESIGN.md), so: every command times out (`commandTimeoutMs`), nothing waits in an offline
 * queue, nothing is retried per request, and the cluster's delayed retries are off; reconnection
 * happens in the background with backoff.
 */
import { createRequire } from 'node:module';
import { Cluster, Redis, type ClusterNode } from 'ioredis';

/**
 * ioredis 6 declares `class VerbatimString extends String` (for RESP3 replies). Declaring a subclass
 * of String puts String.prototype into V8's dictionary mode, as a prototype being set up; V8 makes a
 * prototype fast again when a property lookup passes through it from an object, which never happens
 * for the primitive strings a proxy works with. Left so, every string method call in the process
 * (`s.charCodeAt()`, `s.toLowerCase()`, `s.startsWith()`: in anteroom, in undici, in Node's own http
 * code) is a generic lookup that optimized code cannot inline, on every request, whatever store is
 * configured. One lookup through a VerbatimString takes String.prototype back to fast mode.
 * test/limits/builtinPrototypes.test.ts checks the outcome in a process that loads anteroom.
 */
function restoreFastStringPrototype(): void {
  try {
    const { VerbatimString } = createRequire(import.meta.url)('ioredis/built/resp/verbatim-string.js') as {
      VerbatimString: new (format: string, value: string) => string;
    };
    void new VerbatimString('txt', '').charCodeAt;
  } catch {
    // A later ioredis that moved or dropped the class: builtinPrototypes.test.ts says whether anything is left to do.
  }
}
restoreFastStringPrototype();

export type RedisConnection = { url: string } | { clusterNodes: ClusterNode[] };

/** Reconnect after 50, 100, 200 ... ms, at most a second apart. */
function backoff(times: number): number {
  return Math.min(50 * 2 ** Math.min(times - 1, 5), 1000);
}

/**
 * Commands go to the socket as they are issued, not gathered by ioredis's auto-pipelining: the
 * pipeline it builds per event-loop turn cost more CPU than the socket writes it saved. Measured with
 * the token-bucket script, 64 decisions outstanding: 68,000 decisions/s and 14.6 µs client CPU each
 * without it, 37,000/s and 19.2 µs with it (dist/test/bench/limits.js); through the proxy, Redis store /
 * memory store 0.63–0.66x without, 0.59x with (npm run bench).
 */
export function createRedisClient(connection: RedisConnection, commandTimeoutMs: number, connectTimeoutMs: number): Redis | Cluster {
  const common = { commandTimeout: commandTimeoutMs, maxRetriesPerRequest: 0, connectTimeout: connectTimeoutMs };
  if ('url' in connection) return new Redis(connection.url, { ...common, enableOfflineQueue: false, enableAutoPipelining: false, retryStrategy: backoff });
  return new Cluster(connection.clusterNodes, {
    enableOfflineQueue: false,
    enableAutoPipelining: false,
    clusterRetryStrategy: backoff,
    // The cluster's delayed retries (cluster down, failover) would hold a request: fail instead.
    retryDelayOnClusterDown: 0,
    retryDelayOnFailover: 0,
    retryDelayOnTryAgain: 0,
    redisOptions: common,
  });
}
