/**
 * The shared room's scripts on a real Redis Cluster (three masters on free ports): every key of the
 * room carries the `{anteroom-room}` hash tag, so the scripts, which derive lane and tenant keys
 * inside Lua, run on the one node that owns that slot.
 */
import { describe, expect, it } from 'vitest';
import { RedisRoomQueue } from '../../../src/room/shared/redisRoomQueue.js';
import { silentLogger } from '../../helpers/index.js';
import { roomPolicy } from '../../helpers/roomPolicy.js';
import { redisClusterPerFile } from '../../helpers/redisClusterPerFile.js';

const cluster = redisClusterPerFile(3);

describe('RedisRoomQueue on Redis Cluster', () => {
  it('queues many tenants, reads positions and admits in order from two instances', async () => {
    const connection = { clusterNodes: cluster.startupNodes() };
    const policy = roomPolicy({ maxPerTenant: 1_000, maxTotal: 10_000 });
    const [a, b] = ['a', 'b'].map((id) => new RedisRoomQueue({ connection, logger: silentLogger(), instanceId: id, commandTimeoutMs: 2_000 }));
    const idle = { inFlight: 0, allowance: 0, canAdmit: false };
    try {
      for (const q of [a!, b!]) {
        q.setPolicy(policy);
        const deadline = Date.now() + 10_000;
        while ((await q.sync({ ensure: [], collected: [], forget: [] }, idle)) === null) {
          if (Date.now() > deadline) throw new Error('no cluster connection');
          await new Promise((r) => setTimeout(r, 50));
        }
      }
      // Tenant names that would hash to every node if they were tags of their own.
      const ids: string[] = [];
      for (let i = 0; i < 12; i++) {
        const r = await (i % 2 ? b! : a!).enter({ tenant: `tenant-${i}`, cls: 'normal', held: true }, idle);
        expect(r?.state).toBe('queued');
        ids.push(r!.id);
      }
      // One waiter per tenant: FairQueue's estimate gives each the whole round (12), on either instance.
      expect((await b!.positions(ids, idle))!.positions).toEqual(ids.map(() => 12));
      expect((await a!.positions(ids, idle))!.positions).toEqual(ids.map(() => 12));
      const order: string[] = [];
      while (order.length < ids.length) {
        const ra = await a!.sync({ ensure: [], collected: [], forget: [] }, { inFlight: 0, allowance: 0, canAdmit: true, maxAdmit: 1 });
        const rb = await b!.sync({ ensure: [], collected: [], forget: [] }, idle);
        expect(ra!.mine.length + rb!.inbox.length).toBe(1);
        order.push(...ra!.mine, ...rb!.inbox);
      }
      expect(order).toEqual(ids);
    } finally {
      await Promise.all([a!.close(), b!.close()]);
    }
  });
});
