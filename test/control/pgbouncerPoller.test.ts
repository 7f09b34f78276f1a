/**
 * The PgBouncer poller against a real PgBouncer (Debian package `pgbouncer`) in front of the
 * machine's PostgreSQL: clients waiting for a server connection engage queueing. Skipped, saying
 * so, where PgBouncer is not installed.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import pg from 'pg';
import { PgbouncerDriver } from '../../src/control/pgbouncerDriver.js';
import { Poller } from '../../src/control/poller.js';
import { StateMachine } from '../../src/control/stateMachine.js';
import { FakeClock } from './helpers.js';
import { eventually, lockPostgres } from './services.js';
import { hasPgbouncer, PGBOUNCER, startPgbouncer, type PgbouncerServer } from './pgbouncerServer.js';

describe.skipIf(!hasPgbouncer)(`PgBouncer SHOW POOLS poller (${PGBOUNCER})`, () => {
  let bouncer: PgbouncerServer;
  // PgBouncer's server connections count in PostgreSQL: keep them out of other files' counts.
  let unlock: () => Promise<void>;
  beforeAll(async () => {
    unlock = await lockPostgres();
    bouncer = await startPgbouncer(2);
  });
  afterAll(async () => {
    await bouncer?.stop();
    await unlock?.();
  });

  it('engages queueing while clients wait for a server connection, and reads maxwait', async () => {
    const p = new Poller('db.pgbouncer', new PgbouncerDriver(bouncer.adminUrl), { everyMs: 100, timeoutMs: 2_000, engage: { kind: 'count', n: 0 } });
    const wait = new Poller('db.pgbouncer', new PgbouncerDriver(bouncer.adminUrl, 'maxwaitMs'), { everyMs: 100, timeoutMs: 2_000, engage: { kind: 'count', n: 0 } });
    const clients: pg.Client[] = [];
    try {
      const clock = new FakeClock(0);
      const sm = new StateMachine({ engageForMs: 1_000, shedForMs: 1_000, releaseForMs: 2_000, belowFactor: 0.8, now: clock.now });
      const first = await p.pollOnce();
      expect(first).toMatchObject({ state: 'ok', value: 0, threshold: 0 });

      // Two sessions take the pool's two server connections (session mode holds them while connected).
      const client = async (): Promise<pg.Client> => {
        const c = new pg.Client({ connectionString: bouncer.poolUrl });
        c.on('error', () => undefined);
        clients.push(c);
        await c.connect();
        return c;
      };
      const holders = [await client(), await client()];
      await Promise.all(holders.map((c) => c.query('select 1')));
      // Three more must wait for one. Each leaves once served, handing its server connection on
      // (session mode: a served client keeps its server connection until it disconnects).
      const queries = [0, 1, 2].map(() =>
        client()
          .then(async (c) => {
            await c.query('select 1');
            await c.end();
          })
          .catch(() => undefined),
      );
      await eventually(async () => (await p.pollOnce()).value === 3, 5_000, 'three waiting clients');
      const transitions: string[] = [];
      for (let i = 0; i < 3; i++) {
        clock.advance(1_000);
        const t = sm.update([await p.pollOnce()]);
        if (t) transitions.push(`${t.to} by ${t.cause?.name} ${t.cause?.value}`);
      }
      expect(transitions).toEqual(['queueing by db.pgbouncer 3']);
      expect(p.read(Date.now()).detail).toMatch(/cl_waiting 3, cl_active 2/);
      await eventually(async () => ((await wait.pollOnce()).value ?? 0) > 0, 5_000, 'maxwait above 0');

      await Promise.all(holders.map((c) => c.end()));
      await Promise.all(queries);
      await eventually(async () => (await p.pollOnce()).value === 0, 5_000, 'no waiting clients');
    } finally {
      await Promise.all(clients.map((c) => c.end().catch(() => undefined)));
      await p.close();
      await wait.close();
    }
  });
});
