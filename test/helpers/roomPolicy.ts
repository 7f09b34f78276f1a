/**
 * The shared room's policy as its Redis tests set it: an open room (no limit, no outflow cap) with
 * the default lane shares and lifetimes, so that each test states only what it is about.
 */
import type { RoomPolicy } from '../../src/room/shared/redisRoomQueue.js';

export function roomPolicy(over: Partial<RoomPolicy> = {}): RoomPolicy {
  return {
    graceMs: 30_000,
    reserveMs: 30_000,
    admitAhead: 0,
    maxPerTenant: 100_000,
    maxTotal: 1_000_000,
    limit: Infinity,
    weights: {},
    defaultWeight: 1,
    minShares: { normal: 0.1, bulk: 0.05 },
    outflowPerSecond: 0,
    instanceTtlMs: 3_000,
    ...over,
  };
}
