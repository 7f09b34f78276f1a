/**
 * The MySQL/MariaDB poller against the machine's real MariaDB, driving the state machine, as the
 * PostgreSQL test does: connections past the threshold engage queueing; release waits for its time.
 */
import { describe, expect, it } from 'vitest';
import mysql from 'mysql2/promise';
import { MysqlDriver } from '../../src/control/mysqlDriver.js';
import { Poller } from '../../src/control/poller.js';
import type { Transition } from '../../src/control/stateMachine.js';
import { parseThreshold } from '../../src/control/threshold.js';
import { databasePollers } from '../helpers/databasePollers.js';
import { PollStepper } from '../helpers/pollStepper.js';
import { closedPort } from '../helpers/servers.js';
import { eventually, MYSQL_URL, silentServer, lockMysql } from './services.js';

const { crowd, track } = databasePollers(lockMysql);

function poller(url: string, engage: number | string, opts: Partial<ConstructorParameters<typeof Poller>[2]> = {}, measure: 'connections' | 'running' = 'connections'): Poller {
  return track(new Poller('db.mysql', new MysqlDriver(url, measure), { everyMs: 100, timeoutMs: 2_000, engage: parseThreshold(engage), ...opts }));
}

describe('MySQL/MariaDB connection poller', () => {
  it('engages queueing when connections pass the threshold, and releases only after the release time once they close', async () => {
    const p0 = poller(MYSQL_URL, 10_000);
    const baseline = (await p0.pollOnce()).value!;
    const threshold = baseline + 10;
    const p = poller(MYSQL_URL, threshold);
    const stepper = new PollStepper(p);
    const { sm } = stepper;
    expect(await stepper.step()).toBeNull();

    await crowd.mysql(15);
    const seen: Transition[] = [];
    for (let i = 0; i < 3; i++) {
      const t = await stepper.step();
      if (t) seen.push(t);
      expect(sm.state).toBe(i < 2 ? 'open' : 'queueing');
    }
    expect(seen[0]!.cause).toMatchObject({ name: 'db.mysql', threshold, state: 'over' });
    expect(seen[0]!.cause!.value).toBeGreaterThanOrEqual(baseline + 15);
    expect(seen[0]!.cause!.detail).toMatch(/Threads_connected \d+, Threads_running \d+ .* of max_connections \d+/);

    await crowd.closeAll();
    await eventually(async () => (await p.pollOnce()).value! <= threshold * 0.8, 10_000, 'connections to close');
    const { polls, transitions: released } = await stepper.untilOpen(20);
    expect(polls).toBe(6);
    expect(released.map((t) => t.to)).toEqual(['open']);
  });

  it('resolves a percentage threshold against max_connections, and measures running threads', async () => {
    const admin = await mysql.createConnection({ uri: MYSQL_URL });
    const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT @@GLOBAL.max_connections AS m');
    await admin.end();
    const max = Number(rows[0]!['m']);
    const p = poller(MYSQL_URL, '50%', {}, 'running');
    await crowd.mysql(5);
    const s = await p.pollOnce();
    expect(s.threshold).toBe(max / 2);
    // Five idle connections are connected, not running.
    expect(s.value).toBeLessThan(5);
    expect(s.detail).toMatch(/measuring running/);
  });

  it('makes the signal unknown, not a crash, when nothing listens or the server hangs', async () => {
    const port = await closedPort();
    const refused = await poller(`mysql://root@127.0.0.1:${port}/`, 10).pollOnce();
    expect(refused).toMatchObject({ state: 'unknown', value: null, threshold: 10 });
    expect(refused.detail).toMatch(/ECONNREFUSED/);
    const silent = await silentServer();
    try {
      const hung = await poller(`mysql://root@127.0.0.1:${silent.port}/`, 10, { timeoutMs: 300 }).pollOnce();
      expect(hung.state).toBe('unknown');
      expect(hung.detail).toMatch(/timed out|timeout|ETIMEDOUT/i);
    } finally {
      await silent.close();
    }
  });

  it('reconnects after its connection is killed, keeping ONE connection', async () => {
    const driver = new MysqlDriver(MYSQL_URL);
    const p = track(new Poller('db.mysql', driver, { everyMs: 100, timeoutMs: 2_000, engage: parseThreshold(10_000) }));
    expect((await p.pollOnce()).state).toBe('ok');
    const killed = driver.connectionId!;
    const admin = await mysql.createConnection({ uri: MYSQL_URL });
    const alive = async (id: number): Promise<boolean> => {
      const [rows] = await admin.query<mysql.RowDataPacket[]>('SELECT ID FROM information_schema.PROCESSLIST WHERE ID = ?', [id]);
      return rows.length === 1;
    };
    expect(await alive(killed)).toBe(true);
    await admin.query(`KILL ${killed}`);
    const first = await p.pollOnce();
    const second = first.state === 'ok' ? first : await p.pollOnce();
    expect(second.state).toBe('ok');
    expect(driver.connectionId).not.toBe(killed);
    expect(await alive(driver.connectionId!)).toBe(true);
    await admin.end();
  });
});
