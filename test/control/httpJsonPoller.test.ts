/**
 * The HTTP JSON poller against a real node:http server on port 0 that publishes pool stats, driving
 * the state machine; and the ways a poll fails (stopped server, wrong status, wrong pointer).
 */
import { createServer, type Server } from 'node:http';
import { describe, expect, it } from 'vitest';
import { Backoff } from '../../src/control/backoff.js';
import { HttpJsonDriver } from '../../src/control/httpJsonDriver.js';
import { Poller } from '../../src/control/poller.js';
import { StateMachine } from '../../src/control/stateMachine.js';
import { cleanupAfterEach } from '../helpers/cleanupAfterEach.js';
import { freePort } from '../helpers/redisServer.js';
import { FakeClock } from './helpers.js';
import { eventually } from './services.js';

interface StatsServer {
  url: string;
  server: Server;
  /** What the next request gets: a status and a body. */
  answer: { status: number; body: string };
  connections: number;
  requests: number;
  authorization: string | undefined;
  close(): Promise<void>;
}

async function statsServer(): Promise<StatsServer> {
  const s = {
    answer: { status: 200, body: '{}' },
    connections: 0,
    requests: 0,
    authorization: undefined as string | undefined,
  } as StatsServer;
  const server = createServer((req, res) => {
    s.requests++;
    s.authorization = req.headers.authorization;
    res.writeHead(s.answer.status, { 'content-type': 'application/json' });
    res.end(s.answer.body);
  });
  server.on('connection', () => s.connections++);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  s.server = server;
  s.url = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  s.close = () =>
    new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    });
  return s;
}

const cleanup = cleanupAfterEach();

function poller(url: string, pointer: string, above: number): Poller {
  const p = new Poller('db.http', new HttpJsonDriver(url, pointer), { everyMs: 100, timeoutMs: 1_000, engage: { kind: 'count', n: above } });
  cleanup.push(() => p.close());
  return p;
}

const stats = (active: number): string => JSON.stringify({ pools: { 'main/db': { active, max: 20 } } });

describe('HTTP JSON endpoint poller', () => {
  it('reads the number at the pointer over one kept-alive connection and drives the state machine', async () => {
    const srv = await statsServer();
    cleanup.push(() => srv.close());
    const p = poller(`${srv.url}/stats`, '/pools/main~1db/active', 10);
    const clock = new FakeClock(0);
    const sm = new StateMachine({ engageForMs: 2_000, shedForMs: 2_000, releaseForMs: 4_000, belowFactor: 0.8, now: clock.now });
    const step = async (): Promise<void> => {
      const s = await p.pollOnce();
      clock.advance(1_000);
      const t = sm.update([s]);
      if (t) transitions.push(`${t.from}->${t.to} by ${t.cause?.name} ${t.cause?.value}`);
    };
    const transitions: string[] = [];

    srv.answer = { status: 200, body: stats(4) };
    await step();
    expect(p.read(Date.now())).toMatchObject({ name: 'db.http', value: 4, threshold: 10, state: 'ok' });
    srv.answer = { status: 200, body: stats(15) };
    for (let i = 0; i < 3; i++) await step();
    expect(transitions).toEqual(['open->queueing by db.http 15']);
    // 9 is under the threshold but over the release level (8): no release however long it lasts.
    srv.answer = { status: 200, body: stats(9) };
    for (let i = 0; i < 10; i++) await step();
    expect(sm.state).toBe('queueing');
    srv.answer = { status: 200, body: stats(8) };
    for (let i = 0; i < 5; i++) await step();
    expect(transitions).toEqual(['open->queueing by db.http 15', 'queueing->open by db.http 8']);
    expect(srv.requests).toBe(19);
    expect(srv.connections).toBe(1);
  });

  it('accepts a numeric string and sends basic auth from the URL', async () => {
    const srv = await statsServer();
    cleanup.push(() => srv.close());
    srv.answer = { status: 200, body: JSON.stringify({ waiting: '7' }) };
    const s = await poller(srv.url.replace('http://', 'http://ops:s%3Acret@') + '/pool', '/waiting', 5).pollOnce();
    expect(s).toMatchObject({ value: 7, state: 'over' });
    expect(s.detail).not.toMatch(/s%3Acret|s:cret/);
    expect(Buffer.from(srv.authorization!.replace('Basic ', ''), 'base64').toString()).toBe('ops:s:cret');
  });

  it('makes the signal unknown, with the reason, on a wrong pointer, a non-number, a 500 or a body that is not JSON', async () => {
    const srv = await statsServer();
    cleanup.push(() => srv.close());
    const cases: [{ status: number; body: string }, string, RegExp][] = [
      [{ status: 200, body: stats(3) }, '/pools/other/active', /nothing at \/pools\/other\/active/],
      [{ status: 200, body: JSON.stringify({ a: { b: true } }) }, '/a/b', /not a number: true/],
      [{ status: 200, body: JSON.stringify({ a: { b: null } }) }, '/a', /not a number/],
      [{ status: 500, body: '{}' }, '/a', /answered 500/],
      [{ status: 200, body: '<html>' }, '/a', /not JSON/],
    ];
    for (const [answer, pointer, why] of cases) {
      srv.answer = answer;
      const s = await poller(srv.url, pointer, 5).pollOnce();
      expect(s.state).toBe('unknown');
      expect(s.value).toBeNull();
      expect(s.detail).toMatch(why);
    }
  });

  it('goes unknown when the server stops, and known again when it is back on the same port', async () => {
    const srv = await statsServer();
    srv.answer = { status: 200, body: stats(3) };
    const port = Number(new URL(srv.url).port);
    const p = poller(srv.url, '/pools/main~1db/active', 10);
    expect((await p.pollOnce()).value).toBe(3);
    await srv.close();
    const down = await p.pollOnce();
    expect(down).toMatchObject({ state: 'unknown', value: null, threshold: 10 });
    expect(down.updatedAt).not.toBeNull(); // the last good reading's time stays visible
    expect(down.detail).toMatch(/ECONNREFUSED|closed|socket/i);
    const again = createServer((_req, res) => res.end(stats(5)));
    await new Promise<void>((resolve) => again.listen(port, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => {
      again.closeAllConnections();
      again.close(() => resolve());
    }));
    expect((await p.pollOnce()).value).toBe(5);
  });

  it('times out a server that never answers', async () => {
    const hung = createServer(() => undefined);
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => {
      hung.closeAllConnections();
      hung.close(() => resolve());
    }));
    const p = new Poller('db.http', new HttpJsonDriver(`http://127.0.0.1:${(hung.address() as { port: number }).port}/`, '/x'), { everyMs: 100, timeoutMs: 200, engage: null });
    cleanup.push(() => p.close());
    const s = await p.pollOnce();
    expect(s.state).toBe('unknown');
    expect(s.detail).toMatch(/timed out|timeout/i);
  });

  it('rejects a malformed pointer when built', () => {
    expect(() => new HttpJsonDriver('http://127.0.0.1:1/', 'pools/active')).toThrow(/start with/);
  });
});

describe('Poller schedule', () => {
  it('keeps retrying with backoff while the endpoint is down and picks up once it is up', async () => {
    const port = await freePort();
    const errors: string[] = [];
    const p = new Poller('db.http', new HttpJsonDriver(`http://127.0.0.1:${port}/stats`, '/n'), {
      everyMs: 50,
      timeoutMs: 500,
      engage: { kind: 'count', n: 10 },
      backoff: new Backoff({ minMs: 20, maxMs: 100, jitter: 0 }),
      onError: (e) => void errors.push(e.message),
    });
    cleanup.push(() => p.close());
    p.start();
    await eventually(() => errors.length >= 3, 5_000, 'three failed polls');
    expect(p.read(Date.now()).state).toBe('unknown');
    const server = createServer((_req, res) => res.end('{"n": 12}'));
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    cleanup.push(() => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }));
    await eventually(() => p.read(Date.now()).state === 'over', 5_000, 'a reading once the endpoint is up');
    expect(p.read(Date.now()).value).toBe(12);
  });
});
