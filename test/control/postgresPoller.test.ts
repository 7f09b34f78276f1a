/**
 * The PostgreSQL poller against the machine's real PostgreSQL, driving the state machine: sessions
 * opened past the threshold engage queueing; after they close, release waits for the release time.
 * The state machine's clock is moved by hand, one second per real poll.
 */
import { describe, expect, it } from 'vitest';
import pg from 'pg';
import { Poller } from '../../src/control/poller.js';
import { PostgresDriver } from '../../src/control/postgresDriver.js';
import type { Transition } from '../../src/control/stateMachine.js';
import { parseThreshold } from '../../src/control/threshold.js';
import { databasePollers } from '../helpers/databasePollers.js';
import { PollStepper } from '../helpers/pollStepper.js';
import { closedPort } from '../helpers/servers.js';
import { eventually, PG_URL, silentServer, lockPostgres } from './services.js';

const { crowd, track } = databasePollers(lockPostgres);

function poller(url: string, engage: number | string, opts: Partial<ConstructorParameters<typeof Poller>[2]> = {}, measure: 'connections' | 'active' = 'connections'): Poller {
  return track(new Poller('db.postgres', new PostgresDriver(url, measure), { everyMs: 100, timeoutMs: 2_000, engage: parseThreshold(engage), ...opts }));
}

describe('PostgreSQL connection poller', () => {
  it('engages queueing when sessions pass the threshold, and releases only after the release time once they close', async () => {
    const probe = poller(PG_URL, 1_000);
    const baseline = (await probe.pollOnce()).value!;
    expect(baseline).toBeGreaterThanOrEqual(0);

    const threshold = baseline + 10;
    const p = poller(PG_URL, threshold);
    const stepper = new PollStepper(p);
    const { sm } = stepper;

    expect(await stepper.step()).toBeNull();
    expect(sm.state).toBe('open');

    await crowd.postgres(15);
    const seen: Transition[] = [];
    for (let i = 0; i < 3; i++) {
      const t = await stepper.step();
      if (t) seen.push(t);
      // Over from the first reading; held 2 s (engageFor) at the third.
      expect(sm.state).toBe(i < 2 ? 'open' : 'queueing');
    }
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ from: 'open', to: 'queueing' });
    expect(seen[0]!.cause).toMatchObject({ name: 'db.postgres', threshold, state: 'over' });
    expect(seen[0]!.cause!.value).toBeGreaterThanOrEqual(baseline + 15);
    expect(seen[0]!.cause!.detail).toMatch(/client connections .* of max_connections \d+/);

    await crowd.closeAll();
    // Backends exit just after their clients hang up; wait for the count to come down, then time the release.
    await eventually(async () => (await p.pollOnce()).value! <= threshold * 0.8, 10_000, 'sessions to close');
    const { polls, transitions: released } = await stepper.untilOpen(20);
    // The first reading below starts the count; five seconds later is the sixth.
    expect(polls).toBe(6);
    expect(released.map((t) => t.to)).toEqual(['open']);
  });

  it('counts active sessions separately from idle ones', async () => {
    const p = poller(PG_URL, 1_000, {}, 'active');
    await crowd.postgres(5);
    const s = await p.pollOnce();
    expect(s.state).toBe('ok');
    // The five are idle; the poller's own session (the only one running a query) is excluded.
    expect(s.value).toBeLessThan(5);
    expect(s.detail).toMatch(/measuring active/);
  });

  it('resolves a percentage threshold against max_connections', async () => {
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    const max = Number((await admin.query<{ max_connections: string }>('show max_connections')).rows[0]!.max_connections);
    await admin.end();
    const p = poller(PG_URL, '50%');
    const s = await p.pollOnce();
    expect(s.threshold).toBe(max / 2);
    expect(s.state).toBe('ok');
  });

  it('makes the signal unknown, not a crash, when nothing listens, and keeps the thresholds', async () => {
    const port = await closedPort();
    const errors: string[] = [];
    const p = poller(`postgres://postgres@127.0.0.1:${port}/postgres`, 10, { onError: (e) => void errors.push(e.message) });
    const s = await p.pollOnce();
    expect(s).toMatchObject({ name: 'db.postgres', value: null, state: 'unknown', threshold: 10, updatedAt: null });
    expect(s.detail).toMatch(/ECONNREFUSED/);
    expect(errors).toHaveLength(1);
  });

  it('times out a connection to a server that never answers', async () => {
    const silent = await silentServer();
    try {
      const p = poller(`postgres://postgres@127.0.0.1:${silent.port}/postgres`, 10, { timeoutMs: 300 });
      const s = await p.pollOnce();
      expect(s.state).toBe('unknown');
      expect(s.detail).toMatch(/timed out|timeout/i);
    } finally {
      await silent.close();
    }
  });

  it('reconnects after its session is killed, keeping ONE connection', async () => {
    const driver = new PostgresDriver(PG_URL);
    const p = track(new Poller('db.postgres', driver, { everyMs: 100, timeoutMs: 2_000, engage: parseThreshold(1_000) }));
    expect((await p.pollOnce()).state).toBe('ok');
    const killed = driver.backendPid!;
    const admin = new pg.Client({ connectionString: PG_URL });
    await admin.connect();
    const alive = async (pid: number): Promise<boolean> => (await admin.query('select 1 from pg_stat_activity where pid = $1', [pid])).rowCount === 1;
    expect(await alive(killed)).toBe(true);
    await admin.query('select pg_terminate_backend($1)', [killed]);
    // The next poll may fail on the dead connection (unknown) or already reconnect; within two it is back.
    const first = await p.pollOnce();
    const second = first.state === 'ok' ? first : await p.pollOnce();
    expect(second.state).toBe('ok');
    const current = driver.backendPid!;
    expect(current).not.toBe(killed);
    // Further polls reuse the same session.
    for (let i = 0; i < 3; i++) await p.pollOnce();
    expect(driver.backendPid).toBe(current);
    expect(await alive(current)).toBe(true);
    await admin.end();
  });

  it('polls on its own once started, and the reading goes stale when polling stops', async () => {
    const p = poller(PG_URL, 1_000, { everyMs: 50, staleAfterMs: 1_000 });
    p.start();
    await eventually(() => p.read(Date.now()).state === 'ok', 5_000, 'first poll');
    const polls = p.polls;
    await eventually(() => p.polls >= polls + 3, 5_000, 'further polls');
    await p.close();
    const s = p.read(Date.now() + 2_000);
    expect(s.state).toBe('unknown');
    expect(s.detail).toMatch(/old/);
  });
});
