/**
 * The one way anteroom connects to Redis or a Redis Cluster. A Redis outage must never stall a
 * request (DESIGN.md), so: every command times out (`commandTimeoutMs`), nothing waits in an offline
 * queue, nothing is retried per request, and the cluster's delayed retries are off; reconnection
 * happens in the background with backoff.
 */
import { Cluster, Redis, type ClusterNode } from 'ioredis';

export type RedisConnection = { url: string } | { clusterNodes: ClusterNode[] };

/** Reconnect after 50, 100, 200 ... ms, at most a second apart. */
function backoff(times: number): number {
  return Math.min(50 * 2 ** Math.min(times - 1, 5), 1000);
}

export function createRedisClient(connection: RedisConnection, commandTimeoutMs: number, connectTimeoutMs: number): Redis | Cluster {
  const common = { commandTimeout: commandTimeoutMs, maxRetriesPerRequest: 0, connectTimeout: connectTimeoutMs };
  if ('url' in connection) return new Redis(connection.url, { ...common, enableOfflineQueue: false, enableAutoPipelining: true, retryStrategy: backoff });
  return new Cluster(connection.clusterNodes, {
    enableOfflineQueue: false,
    enableAutoPipelining: true,
    clusterRetryStrategy: backoff,
    // The cluster's delayed retries (cluster down, failover) would hold a request: fail instead.
    retryDelayOnClusterDown: 0,
    retryDelayOnFailover: 0,
    retryDelayOnTryAgain: 0,
    redisOptions: common,
  });
}
