/**
 * Automatic engagement end to end: a running proxy whose controller watches the real PostgreSQL, the
 * real MariaDB, an origin whose latency grows with load, and an application's own JSON endpoint.
 * The room engages by itself, tells the application (`Anteroom-State`) and the waiting clients
 * (status JSON), sheds by class, does not flap on a hovering signal, and after release lets traffic
 * back over the ramp, as measured at the origin.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { MysqlDriver } from '../../src/control/mysqlDriver.js';
import { Poller } from '../../src/control/poller.js';
import { PostgresDriver } from '../../src/control/postgresDriver.js';
import { parseThreshold } from '../../src/control/threshold.js';
import { cleanupAfterEach } from '../helpers/cleanupAfterEach.js';
import { capturingLogger, closeServer, listen, startOrigin, startProxy, type Proxy } from '../helpers/index.js';
import { countingOrigin, get, send, SECRET, sleep, until } from '../room/proxyHelpers.js';
import { Crowd, eventually, lockMysql, lockPostgres, MYSQL_URL, PG_URL } from './services.js';

const cleanup = cleanupAfterEach();

/** Control settings short enough for a test: 100 ms ticks and polls, sub-second engage times. */
function control(upstream: Record<string, unknown>): Record<string, unknown> {
  return { tickMs: 100, upstreams: { app: { slowStart: { onStart: false }, ...upstream } } };
}

async function proxyFor(originUrl: string, patch: Record<string, unknown>) {
  const log = capturingLogger('info');
  const proxy = await startProxy(originUrl, { secret: SECRET, ...patch }, log.logger);
  cleanup.push(() => proxy.stop());
  return { proxy, log, rt: proxy.app.rt };
}

function transitions(log: { lines: Record<string, unknown>[] }): { from: unknown; to: unknown; cause: Record<string, unknown> | undefined }[] {
  return log.lines.filter((l) => typeof l['msg'] === 'string' && (l['msg'] as string).startsWith('control: app ')).map((l) => ({ from: l['from'], to: l['to'], cause: l['cause'] as Record<string, unknown> | undefined }));
}

/** An application endpoint serving one number as JSON at /stats, set by the test (or per poll). */
async function statsEndpoint(next: () => number): Promise<{ url: string; close(): Promise<void> }> {
  const server: Server = createServer((_req, res) => {
    res.setHeader('content-type', 'application/json');
    res.end(JSON.stringify({ pool: { active: next() } }));
  });
  const port = await listen(server);
  return { url: `http://127.0.0.1:${port}/stats`, close: () => closeServer(server) };
}

async function baselineOf(poller: Poller): Promise<number> {
  try {
    return (await poller.pollOnce()).value!;
  } finally {
    await poller.close();
  }
}

describe('automatic engagement on database connections', () => {
  it('engages when PostgreSQL sessions pass the threshold, and releases only after the release time once they close', async () => {
    const unlock = await lockPostgres();
    cleanup.push(unlock);
    const crowd = new Crowd();
    cleanup.push(() => crowd.closeAll());
    const baseline = await baselineOf(new Poller('db.postgres', new PostgresDriver(PG_URL, 'connections'), { everyMs: 100, timeoutMs: 2_000, engage: parseThreshold(1_000) }));
    const origin = await countingOrigin();
    cleanup.push(() => origin.close());
    const releaseS = 1.5;
    const { proxy, log, rt } = await proxyFor(origin.url, {
      upstreams: { app: { url: origin.url, concurrency: 50 } },
      control: control({ engage: { dbConnections: { postgres: { url: PG_URL, above: baseline + 8, everyMs: 100 } }, forS: 0.3 }, release: { forS: releaseS } }),
    });

    const before = await get(proxy.port, '/');
    expect(before.status).toBe(200);
    expect(before.headers['anteroom-state']).toBe('open');

    await crowd.postgres(12);
    await eventually(async () => (await get(proxy.port, '/')).headers['anteroom-state'] === 'queueing', 15_000, 'the room engaging on PostgreSQL connections');
    expect(transitions(log)[0]).toMatchObject({ from: 'open', to: 'queueing', cause: { signal: 'db.postgres', threshold: baseline + 8 } });
    expect((transitions(log)[0]!.cause!['value'] as number) > baseline + 8).toBe(true);
    // The status JSON shows the state and the signal with its threshold.
    const status = (await get(proxy.port, '/__anteroom/status')).json();
    expect(status['load']).toMatchObject({ upstream: 'app', state: 'queueing', limit: 50 });
    expect((status['load'] as { signals: { name: string; state: string }[] }).signals.find((s) => s.name === 'db.postgres')).toMatchObject({ state: 'over', threshold: baseline + 8 });

    await crowd.closeAll();
    const closedAt = Date.now();
    await eventually(() => rt.control.state('app') === 'open', 20_000, 'release');
    // The sessions were gone from closedAt on; the state machine must have seen them below the
    // release level for the whole release time before letting go.
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(releaseS * 1000);
    expect(transitions(log).map((t) => `${String(t.from)}->${String(t.to)}`)).toEqual(['open->queueing', 'queueing->open']);
    expect((await get(proxy.port, '/')).headers['anteroom-state']).toBe('open');
  });

  it('engages on MariaDB Threads_connected, and releases only after the release time', async () => {
    const unlock = await lockMysql();
    cleanup.push(unlock);
    const crowd = new Crowd();
    cleanup.push(() => crowd.closeAll());
    const baseline = await baselineOf(new Poller('db.mysql', new MysqlDriver(MYSQL_URL, 'connections'), { everyMs: 100, timeoutMs: 2_000, engage: parseThreshold(10_000) }));
    const origin = await countingOrigin();
    cleanup.push(() => origin.close());
    const releaseS = 1.5;
    const { proxy, log, rt } = await proxyFor(origin.url, {
      upstreams: { app: { url: origin.url, concurrency: 50 } },
      control: control({ engage: { dbConnections: { mysql: { url: MYSQL_URL, above: baseline + 8, everyMs: 100 } }, forS: 0.3 }, release: { forS: releaseS } }),
    });
    expect((await get(proxy.port, '/')).headers['anteroom-state']).toBe('open');

    await crowd.mysql(12);
    await eventually(async () => (await get(proxy.port, '/')).headers['anteroom-state'] === 'queueing', 15_000, 'the room engaging on MariaDB connections');
    expect(transitions(log)[0]).toMatchObject({ from: 'open', to: 'queueing', cause: { signal: 'db.mysql', threshold: baseline + 8 } });

    await crowd.closeAll();
    const closedAt = Date.now();
    await eventually(() => rt.control.state('app') === 'open', 20_000, 'release');
    expect(Date.now() - closedAt).toBeGreaterThanOrEqual(releaseS * 1000);
    expect(transitions(log).map((t) => `${String(t.from)}->${String(t.to)}`)).toEqual(['open->queueing', 'queueing->open']);
  });
});

describe('automatic engagement on latency', () => {
  it('engages on the p95 of an origin that slows down with load, and the adaptive limit comes down', async () => {
    // Each request takes 10 ms per request in flight at the origin: queueing inside the upstream.
    let inFlight = 0;
    const origin = await startOrigin((req: IncomingMessage, res: ServerResponse) => {
      inFlight++;
      req.resume();
      setTimeout(() => {
        inFlight--;
        res.end('ok');
      }, 10 * inFlight);
    });
    cleanup.push(() => origin.close());
    const { proxy, log, rt } = await proxyFor(origin.url, {
      room: { hold: { apiMs: 30_000 } },
      control: control({
        engage: { latencyP95Ms: 150, forS: 0.3 },
        release: { forS: 5 },
        limit: { adaptive: { min: 2, max: 40, windowMs: 200, minSamples: 5 } },
        window: { latencyS: 1 },
      }),
    });
    // Two clients first, so the limiter learns what a healthy round trip is (about 20 ms); then 40
    // clients in closed loops: p95 climbs towards 400 ms.
    let stop = false;
    let clients = 2;
    const loops = Array.from({ length: 40 }, async (_, i) => {
      while (!stop) {
        if (i >= clients) {
          await sleep(20);
          continue;
        }
        const r = await send(proxy.port, `/work?c=${i}`).reply.catch(() => null);
        if (r !== null && r.status !== 200) await sleep(50);
      }
    });
    try {
      await eventually(() => (rt.controllers.get('app')!.snapshot().adaptive?.windows ?? 0) >= 8, 20_000, 'a healthy baseline');
      expect(rt.control.state('app')).toBe('open');
      clients = 40;
      await eventually(() => rt.control.state('app') === 'queueing', 20_000, 'engaging on latency');
      expect(transitions(log)[0]).toMatchObject({ from: 'open', to: 'queueing', cause: { signal: 'latencyP95', threshold: 150 } });
      // While engaged the limit in force comes down below what the clients would put on the origin.
      await eventually(() => rt.room.limit < 20, 20_000, 'the adaptive limit shrinking');
      expect(rt.controllers.get('app')!.snapshot().limitSource).toBe('adaptive');
    } finally {
      stop = true;
      await Promise.all(loops);
    }
  });
});

describe('hysteresis and shedding, from an application endpoint', () => {
  it('does not engage on a value hovering around the threshold, and does not release on one hovering below it', async () => {
    let flip = false;
    let mode: 'hover' | 'over' | 'hover-engaged' = 'hover';
    // Every poll alternates: over the threshold (80), then under it.
    const stats = await statsEndpoint(() => {
      flip = !flip;
      if (mode === 'over') return 95;
      if (mode === 'hover') return flip ? 90 : 70;
      return flip ? 90 : 70; // engaged: 70 is under 80 but above the release level 64 (80 * 0.8)
    });
    cleanup.push(() => stats.close());
    const origin = await countingOrigin();
    cleanup.push(() => origin.close());
    const { log, rt } = await proxyFor(origin.url, {
      upstreams: { app: { url: origin.url, concurrency: 10 } },
      control: control({ engage: { dbConnections: { http: { url: stats.url, pointer: '/pool/active', above: 80, everyMs: 100 } }, forS: 0.5 }, release: { forS: 1 } }),
    });
    const poller = () => rt.controllers.get('app')!.signals().find((s) => s.name === 'db.http')!;
    await eventually(() => poller().value !== null, 10_000, 'the first poll');
    // Two seconds of a value on both sides of the threshold, polled ten times a second.
    const polls = () => rt.controllers.get('app')!.signals().find((s) => s.name === 'db.http')!.updatedAt;
    const firstPoll = polls();
    await sleep(2_000);
    expect(polls()).not.toBe(firstPoll);
    expect(rt.control.state('app')).toBe('open');
    expect(transitions(log)).toEqual([]);

    mode = 'over';
    await eventually(() => rt.control.state('app') === 'queueing', 10_000, 'engaging on a value that stays over');
    mode = 'hover-engaged';
    await sleep(2_500);
    expect(rt.control.state('app')).toBe('queueing');
    expect(transitions(log).map((t) => t.to)).toEqual(['queueing']);
  });

  it('sheds: bulk gets 503 ANT_SHED with Retry-After, critical goes ahead of the queue, normal waits its turn', async () => {
    let value = 10;
    const stats = await statsEndpoint(() => value);
    cleanup.push(() => stats.close());
    const origin = await countingOrigin({ hold: (req) => req.url === '/block' });
    cleanup.push(async () => {
      origin.releaseAll();
      await origin.close();
    });
    const { proxy, log, rt } = await proxyFor(origin.url, {
      upstreams: { app: { url: origin.url, concurrency: 1 } },
      room: { hold: { apiMs: 20_000 } },
      routes: [
        { name: 'export', path: '/export/**', class: 'bulk' },
        { name: 'inbox', path: '/inbox/**', class: 'critical' },
      ],
      control: control({
        engage: { dbConnections: { http: { url: stats.url, pointer: '/pool/active', above: 80, everyMs: 100 } }, forS: 0 },
        shed: { dbConnections: { http: 90 }, forS: 0.2 },
        release: { forS: 1 },
      }),
    });
    expect((await get(proxy.port, '/export/a')).status).toBe(200);
    value = 95;
    await eventually(() => rt.control.state('app') === 'shedding', 10_000, 'shedding');
    expect(transitions(log).map((t) => t.to)).toEqual(['queueing', 'shedding']);

    const shed = await get(proxy.port, '/export/b', { accept: 'application/json' });
    expect(shed.status).toBe(503);
    expect(shed.json()).toMatchObject({ code: 'ANT_SHED' });
    expect(Number(shed.headers['retry-after'])).toBeGreaterThanOrEqual(1);

    // The one slot is taken; a normal request takes a place in the room, then a critical one arrives.
    const blocker = send(proxy.port, '/block');
    await until(() => origin.held === 1, 'the blocker at the origin');
    const normal = send(proxy.port, '/page', { headers: { 'x-client-id': 'n' } });
    await until(() => rt.room.waiting === 1, 'the normal request waiting in the room');
    const critical = send(proxy.port, '/inbox/1', { headers: { 'x-client-id': 'c' } });
    await until(() => rt.limits.gate.waiting > 0, 'the critical request waiting for the slot, not in the room');
    expect(rt.room.waiting).toBe(1);
    origin.release('/block');
    const [b, c, n] = await Promise.all([blocker.reply, critical.reply, normal.reply]);
    expect([b.status, c.status, n.status]).toEqual([200, 200, 200]);
    const order = origin.arrived.map((a) => a.path).filter((p) => p === '/inbox/1' || p === '/page');
    expect(order).toEqual(['/inbox/1', '/page']);
    expect(c.headers['anteroom-state']).toBe('shedding');
  });
});

describe('slow start', () => {
  it('at proxy start the limit in force climbs from the floor, one step at a time', async () => {
    const origin = await countingOrigin();
    cleanup.push(() => origin.close());
    const { rt } = await proxyFor(origin.url, {
      upstreams: { app: { url: origin.url, concurrency: 30 } },
      control: { tickMs: 100, upstreams: { app: { slowStart: { floor: 0.1, rampS: 2, onStart: true } } } },
    });
    const seen: number[] = [rt.limits.gate.upstreamLimit('app')];
    expect(seen[0]).toBe(3);
    await until(() => {
      const l = rt.limits.gate.upstreamLimit('app');
      if (l !== seen.at(-1)) seen.push(l);
      return l === 30;
    }, 'the ramp to reach the full limit', 20_000);
    // Rising only, and in small steps (one tick of a 2 s ramp is about 1.4 of 30).
    for (let i = 1; i < seen.length; i++) {
      expect(seen[i]!).toBeGreaterThan(seen[i - 1]!);
    }
    expect(seen.length).toBeGreaterThan(2);
    expect(rt.room.limit).toBe(30);
  });
});

describe('release ramp, measured at the origin', () => {
  it('after release the origin sees its load rise over the ramp, never above the limit in force', async () => {
    let value = 10;
    const stats = await statsEndpoint(() => value);
    cleanup.push(() => stats.close());
    // A slow, steady origin (200 ms per request) that records its in-flight count at every arrival.
    let inFlight = 0;
    const arrivals: { at: number; inFlight: number; limit: number }[] = [];
    let rtRef: Proxy['app']['rt'] | null = null;
    const origin = await startOrigin((req, res) => {
      inFlight++;
      arrivals.push({ at: Date.now(), inFlight, limit: rtRef?.room.limit ?? Infinity });
      req.resume();
      setTimeout(() => {
        inFlight--;
        res.end('ok');
      }, 200);
    });
    cleanup.push(() => origin.close());
    const rampS = 3;
    const { proxy, rt } = await proxyFor(origin.url, {
      room: { hold: { apiMs: 60_000 } },
      control: control({
        engage: { dbConnections: { http: { url: stats.url, pointer: '/pool/active', above: 80, everyMs: 100 } }, forS: 0 },
        release: { forS: 0.5, rampS },
        limit: { adaptive: { min: 4, max: 40 } },
        slowStart: { floor: 0.1, rampS, onStart: false },
      }),
    });
    rtRef = rt;
    value = 95;
    await eventually(() => rt.control.state('app') === 'queueing', 10_000, 'engaging');
    // Engaged with nothing in flight: the limit starts at its minimum, and a backlog builds.
    expect(rt.room.limit).toBe(4);
    // 120 clients in closed loops: more demand than the origin gets at any point of the ramp.
    let stop = false;
    const statuses: number[] = [];
    const loops = Array.from({ length: 120 }, async (_, i) => {
      while (!stop) {
        const r = await send(proxy.port, `/r${i}`, { headers: { 'x-client-id': `c${i}` } }).reply;
        statuses.push(r.status);
      }
    });
    await until(() => rt.room.waiting > 100, 'a backlog in the room', 20_000);
    value = 10;
    await eventually(() => rt.control.state('app') === 'open', 10_000, 'release');
    const releasedAt = Date.now();
    await sleep(rampS * 1000 + 500);
    stop = true;
    await Promise.all(loops);
    expect(statuses.every((s) => s === 200)).toBe(true);

    // Never more at the origin than the limit in force when it arrived.
    for (const a of arrivals) expect(a.inFlight).toBeLessThanOrEqual(a.limit);
    // The rate rises over the ramp: the first second after release carries far fewer arrivals than
    // the third (the limit climbs from 4 to 40 over 3 s; each slot carries 5 requests a second).
    const inSecond = (k: number) => arrivals.filter((a) => a.at >= releasedAt + k * 1000 && a.at < releasedAt + (k + 1) * 1000).length;
    const first = inSecond(0);
    const third = inSecond(2);
    expect(third).toBeGreaterThan(first * 2);
    // No spike: no 200 ms window after release carries more than the ramp's end would allow
    // (40 in flight for 200 ms each = 40 arrivals per 200 ms).
    for (let t = releasedAt; t < releasedAt + rampS * 1000; t += 200) {
      expect(arrivals.filter((a) => a.at >= t && a.at < t + 200).length).toBeLessThanOrEqual(40);
    }
  });
});
