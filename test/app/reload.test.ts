/**
 * Anteroom.reload() on a running proxy, through real sockets: a valid file changes behaviour while
 * token buckets, waiters, admission sessions and open websockets carry over; an invalid file changes
 * nothing and logs every error with its key path in one line; restart-only settings keep their
 * running values and are reported; a failure while building leaves the runtime as it was.
 */
import { unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { WebSocket, WebSocketServer } from 'ws';
import { Anteroom } from '../../src/app.js';
import { loadConfigFile, validateConfig } from '../../src/config/load.js';
import { capturingLogger, type CapturedLog } from '../helpers/index.js';
import { mergePatch, type Patch } from '../helpers/mergePatch.js';
import { tempDir } from '../helpers/tempDir.js';
import { countingOrigin, get, navigate, send, SECRET, until, type CountingOrigin } from '../room/proxyHelpers.js';

const dir = tempDir('anteroom-reload-').path;

interface Running {
  app: Anteroom;
  port: number;
  log: CapturedLog;
  origin: CountingOrigin;
  /** Rewrites the config file: the base config with `patch` merged in. */
  write(patch: Patch): void;
}

let running: Running | undefined;
let wss: WebSocketServer | undefined;
const sockets: WebSocket[] = [];

afterEach(async () => {
  for (const s of sockets.splice(0)) s.terminate();
  if (wss) {
    for (const c of wss.clients) c.terminate();
    await new Promise<void>((resolve) => wss!.close(() => resolve()));
  }
  if (running) {
    running.origin.releaseAll();
    await running.app.stop(0);
    await running.origin.close();
  }
  running = undefined;
  wss = undefined;
});

let files = 0;

/** A proxy started from a config file, in front of a counting origin that holds `/block`. */
async function start(patch: Patch, origin?: CountingOrigin): Promise<Running> {
  const o = origin ?? (await countingOrigin({ hold: (req) => req.url === '/block' }));
  const file = join(dir, `anteroom-${++files}.yaml`);
  const base: Patch = {
    listen: { host: '127.0.0.1', port: 0 },
    secret: SECRET,
    upstreams: { app: { url: o.url } },
    identity: { client: [{ header: 'x-client-id' }] },
    log: { level: 'silent', requests: false },
  };
  // JSON is YAML: the file is what an operator would write, only terser.
  const write = (p: Patch): void => writeFileSync(file, JSON.stringify(mergePatch(base, p), null, 2));
  write(patch);
  const loaded = loadConfigFile(file);
  if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
  const log = capturingLogger('info');
  const app = new Anteroom(loaded.config, { logger: log.logger, configFile: file });
  const { port } = await app.start();
  running = { app, port, log, origin: o, write };
  return running;
}

async function statusesOf(port: number, client: string, n: number): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push((await get(port, `/r/${i}`, { 'x-client-id': client })).status);
  return out;
}

function linesWith(log: CapturedLog, msg: RegExp): Record<string, unknown>[] {
  return log.lines.filter((l) => msg.test(String(l['msg'])));
}

describe('Anteroom.reload() with a valid file', () => {
  it('applies a new rate limit while a client keeps the state of its bucket', async () => {
    const r = await start({ limits: { client: { rate: '1/min', burst: 3 } } });
    expect(await statusesOf(r.port, 'a', 2)).toEqual([200, 200]);
    r.write({ limits: { client: { rate: '1/min', burst: 5 } } });
    expect(await r.app.reload()).toEqual({ ok: true, changed: ['limits'], needsRestart: [] });
    // "a" had taken 2 of its tokens: 3 of the new 5 are left. A new client gets all 5.
    expect(await statusesOf(r.port, 'a', 4)).toEqual([200, 200, 200, 429]);
    expect(await statusesOf(r.port, 'b', 6)).toEqual([200, 200, 200, 200, 200, 429]);
    const [line] = linesWith(r.log, /^config reloaded/);
    expect(line).toMatchObject({ level: 30, msg: 'config reloaded: limits changed', changed: ['limits'], trigger: 'request' });
  });

  it('keeps everyone waiting in the room at their places, and they are let in in order', async () => {
    const r = await start({ room: { concurrency: 1, hold: { apiMs: 30_000 } } });
    const blocker = send(r.port, '/block', { headers: { 'x-client-id': 'blocker' } });
    await until(() => r.origin.held === 1, 'the upstream busy with /block');
    const first = send(r.port, '/first', { headers: { 'x-client-id': 'w1' } });
    await until(() => r.app.rt.room.waiting === 1, 'the first waiter');
    const second = send(r.port, '/second', { headers: { 'x-client-id': 'w2' } });
    await until(() => r.app.rt.room.waiting === 2, 'the second waiter');

    r.write({ room: { concurrency: 1, hold: { apiMs: 30_000 }, messages: { default: 'Reloaded while you waited' } }, limits: { client: { rate: '100/s' } } });
    expect(await r.app.reload()).toMatchObject({ ok: true, changed: ['limits', 'room'] });
    expect(r.app.rt.room.waiting).toBe(2);
    // A newcomer after the reload queues behind them and sees the new message.
    const page = await navigate(r.port, '/page', { 'x-client-id': 'w3' });
    expect(page.status).toBe(503);
    expect(page.body).toContain('Reloaded while you waited');

    r.origin.release('/block');
    expect((await blocker.reply).status).toBe(200);
    expect((await first.reply).status).toBe(200);
    expect((await second.reply).status).toBe(200);
    expect(r.origin.arrived.map((a) => a.path)).toEqual(['/block', '/first', '/second']);
  });

  it('keeps open websockets open while their upstream is rebuilt, and tracks new ones through the new pool', async () => {
    const origin = await countingOrigin();
    wss = new WebSocketServer({ server: origin.origin.server });
    wss.on('connection', (socket) => socket.on('message', (data) => socket.send(`echo ${String(data)}`)));
    const r = await start({}, origin);
    const ws = await open(r.port);
    expect(await roundTrip(ws, 'before')).toBe('echo before');
    const upstreamBefore = r.app.rt.upstreams.get('app');

    r.write({ upstreams: { app: { url: origin.url, timeoutMs: 12_345 } } });
    expect(await r.app.reload()).toMatchObject({ ok: true, changed: ['upstreams.app'] });
    expect(r.app.rt.upstreams.get('app')).not.toBe(upstreamBefore);
    expect(r.app.rt.upstreams.get('app')!.settings.timeoutMs).toBe(12_345);

    expect(await roundTrip(ws, 'after')).toBe('echo after');
    const again = await open(r.port);
    expect(await roundTrip(again, 'new')).toBe('echo new');
    await until(() => r.app.rt.websockets.size === 2, 'both websockets tracked');
    expect((await get(r.port, '/plain')).status).toBe(200);
  });

  it('keeps admission sessions and the running secret; listen.port and secret are reported as needing a restart', async () => {
    const r = await start({ room: { maxActiveSessions: 1 } });
    const admitted = await navigate(r.port, '/home', { 'x-client-id': 's' });
    expect(admitted.status).toBe(200);
    const session = admitted.cookie('anteroom_session')!.value;

    const newSecret = 'a-new-secret-that-must-never-be-logged-0123456789';
    r.write({ listen: { host: '127.0.0.1', port: 1 }, secret: newSecret, room: { maxActiveSessions: 1, messages: { default: 'Full house' } } });
    expect(await r.app.reload()).toEqual({ ok: true, changed: ['room'], needsRestart: ['listen.port', 'secret'] });
    expect(r.app.rt.config.listen.port).toBe(0);
    expect(r.app.rt.config.secret).toBe(SECRET);

    // The session signed before the reload still lets its holder in; the one active session it counts
    // still fills the room's maxActiveSessions, so a newcomer waits.
    expect((await navigate(r.port, '/home', { 'x-client-id': 's', cookie: `anteroom_session=${session}` })).status).toBe(200);
    const newcomer = await navigate(r.port, '/home', { 'x-client-id': 'n' });
    expect(newcomer.status).toBe(503);
    expect(newcomer.body).toContain('Full house');

    const [warn] = linesWith(r.log, /needs a restart/);
    expect(warn).toMatchObject({ level: 40, msg: 'config reload: listen.port, secret needs a restart; kept the running value', keys: ['listen.port', 'secret'] });
    expect(JSON.stringify(r.log.lines)).not.toContain(newSecret);
  });

  it('gives an upstream its controller when a control section appears, and takes it away again', async () => {
    const r = await start({ upstreams: { app: { concurrency: 50 } } });
    expect(r.app.rt.controllers.has('app')).toBe(false);
    r.write({
      upstreams: { app: { concurrency: 50 } },
      control: { upstreams: { app: { engage: { latencyP95Ms: 5_000 }, limit: { static: 3 }, slowStart: { onStart: false } } } },
    });
    expect(await r.app.reload()).toMatchObject({ ok: true, changed: ['control'] });
    expect(r.app.rt.controllers.has('app')).toBe(true);
    expect(r.app.rt.limits.gate.upstreamLimit('app')).toBe(3);
    expect((await get(r.port, '/controlled')).status).toBe(200);
    r.write({ upstreams: { app: { concurrency: 50 } } });
    expect(await r.app.reload()).toMatchObject({ ok: true, changed: ['control'] });
    expect(r.app.rt.controllers.has('app')).toBe(false);
    expect(r.app.rt.limits.gate.upstreamLimit('app')).toBe(50);
  });

  it('adds an upstream and a route to it', async () => {
    const r = await start({});
    const other = await countingOrigin();
    try {
      r.write({ upstreams: { app: { url: r.origin.url }, reports: { url: other.url } }, routes: [{ name: 'reports', path: '/reports/**', upstream: 'reports' }] });
      expect(await r.app.reload()).toMatchObject({ ok: true, changed: ['upstreams.reports (added)', 'routes'] });
      expect((await get(r.port, '/reports/q1')).body).toBe('ok /reports/q1');
      expect(other.arrived.map((a) => a.path)).toEqual(['/reports/q1']);
      expect(r.origin.arrived).toEqual([]);
    } finally {
      await other.close();
    }
  });
});

describe('Anteroom.reload() with an invalid file', () => {
  it('keeps the running config and logs every error with its key path in one line', async () => {
    const r = await start({ limits: { client: { rate: '1/min', burst: 2 } } });
    const before = r.app.rt.config;
    r.write({ listen: { port: 70_000 }, limits: { client: { rate: 'fast', burst: 10 } }, upstreams: { app: { url: r.origin.url, timoutMs: 5 } } });
    const result = await r.app.reload();
    expect(result.ok).toBe(false);
    const errors = result.ok ? [] : result.errors;
    expect(errors.map((e) => e.path).sort()).toEqual(['limits.client.rate', 'listen.port', 'upstreams.app.timoutMs']);
    expect(r.app.rt.config).toBe(before);
    // The old limit (burst 2) still holds.
    expect(await statusesOf(r.port, 'a', 3)).toEqual([200, 200, 429]);

    const refused = linesWith(r.log, /^config reload refused/);
    expect(refused).toHaveLength(1);
    expect(refused[0]).toMatchObject({ level: 50, msg: 'config reload refused: 3 error(s); the running config stays', trigger: 'request' });
    const listed = (refused[0]!['errors'] as string[]).map((e) => e.slice(0, e.indexOf(':'))).sort();
    expect(listed).toEqual(['limits.client.rate', 'listen.port', 'upstreams.app.timoutMs']);
    expect(linesWith(r.log, /^config reloaded/)).toEqual([]);
  });

  it('refuses a file it cannot parse, or that names a waiting page template it cannot read', async () => {
    const r = await start({});
    const before = r.app.rt.config;
    writeFileSync(r.app.configFile!, 'upstreams:\n  app: { url: http://a\n');
    const syntax = await r.app.reload();
    expect(syntax.ok === false && syntax.errors[0]!.message).toMatch(/^YAML syntax: /);
    r.write({ room: { page: { template: join(dir, 'no-such-page.html') } } });
    const template = await r.app.reload();
    expect(template.ok === false && template.errors.map((e) => e.path)).toEqual(['room.page.template']);
    expect(r.app.rt.config).toBe(before);
    expect(linesWith(r.log, /^config reload refused/)).toHaveLength(2);
  });
});

describe('Runtime.applyConfig', () => {
  it('builds everything before it swaps: a template gone since validation leaves the runtime as it was', async () => {
    const r = await start({ limits: { client: { rate: '1/min', burst: 2 } } });
    const page = join(dir, 'page.html');
    writeFileSync(page, '<!doctype html><title>wait</title><p>{{position}}</p>');
    const next = validateConfig({
      listen: { host: '127.0.0.1', port: 0 },
      upstreams: { app: { url: r.origin.url }, extra: { url: r.origin.url } },
      limits: { client: { rate: '1/min', burst: 50 } },
      routes: [{ path: '/x/**', class: 'bulk' }],
      room: { page: { template: page } },
    });
    if (!next.ok) throw new Error(JSON.stringify(next.errors));
    unlinkSync(page);
    const rt = r.app.rt;
    const before = { config: rt.config, identity: rt.identity, routes: rt.routes, plan: rt.limits.plan, trusted: rt.trustedProxies, upstreams: [...rt.upstreams.keys()], template: rt.room.template };
    expect(() => rt.applyConfig(next.config)).toThrow(/no-such-file|ENOENT/);
    expect({ config: rt.config, identity: rt.identity, routes: rt.routes, plan: rt.limits.plan, trusted: rt.trustedProxies, upstreams: [...rt.upstreams.keys()], template: rt.room.template }).toEqual(before);
    expect(rt.limits.plan).toBe(before.plan);
    expect(await statusesOf(r.port, 'a', 3)).toEqual([200, 200, 429]);
  });
});

function open(port: number): Promise<WebSocket> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/live`);
  sockets.push(ws);
  return new Promise((resolve, reject) => {
    ws.once('open', () => resolve(ws));
    ws.once('error', reject);
  });
}

function roundTrip(ws: WebSocket, text: string): Promise<string> {
  return new Promise((resolve, reject) => {
    ws.once('message', (d) => resolve(String(d)));
    ws.once('close', (code) => reject(new Error(`closed with ${code}`)));
    ws.send(text);
  });
}
