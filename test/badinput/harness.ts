/**
 * The bad-input suite's harness: a proxy under attack (in a child process where a crash must be seen,
 * or in this process), and the invariant every attack is checked against:
 *
 *   while the attack runs, clients already waiting in the room (held API requests and browsers polling
 *   with their tickets) keep their places, the proxy keeps answering /__anteroom/healthz, and the
 *   process does not crash; afterwards the waiters are admitted in the order they came.
 *
 * The proxy's default upstream (`app`) is a counting origin with a room of one slot, kept busy by a
 * blocking request while the waiters queue behind it. Attack traffic goes to `/raw/**`, a bypass route
 * to a strict raw origin (strictOrigin.ts), so that requests the proxy accepts reach an origin at once
 * and can be counted there, and never queue in the room themselves.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, expect } from 'vitest';
import { capturingLogger, rawRequest, startProxy } from '../helpers/index.js';
import { mergePatch, type Patch } from '../helpers/mergePatch.js';
import { countingOrigin, navigate, send, SECRET, statusOf, until, type CountingOrigin, type Reply, type Sent } from '../room/proxyHelpers.js';
import { startStrictOrigin, type StrictOrigin } from './strictOrigin.js';

export { SECRET };
/** The admin API's bearer token on every proxy under attack. */
export const ADMIN_TOKEN = 'bad-input-admin-token-0123456789';

const CHILD = fileURLToPath(new URL('../../dist/test/helpers/proxyProcess.js', import.meta.url));

/** The config of a proxy under attack: `app` (the room's upstream, one slot) and `raw` behind a bypass route. */
export function attackConfig(appUrl: string, rawUrl: string, patch: Patch = {}): Patch {
  const base: Patch = {
    listen: { host: '127.0.0.1', port: 0, headersTimeoutMs: 500, requestTimeoutMs: 1_000, keepAliveTimeoutMs: 1_000, sendTimeoutMs: 1_000, maxHeaderBytes: 8_192, maxUrlBytes: 2_048 },
    secret: SECRET,
    admin: { host: '127.0.0.1', port: 0, token: ADMIN_TOKEN },
    upstreams: { app: { url: appUrl }, raw: { url: rawUrl } },
    identity: { tenant: [{ header: 'x-tenant-id' }], client: [{ header: 'x-client-id' }, { ip: true }] },
    routes: [{ name: 'raw', path: '/raw/**', upstream: 'raw', bypass: true }],
    room: { concurrency: 1, hold: { apiMs: 60_000 } },
    log: { level: 'info', requests: true },
  };
  return mergePatch(base, patch);
}

/** A running proxy under attack, wherever it runs. */
export interface Target {
  port: number;
  /** People waiting in its room now. */
  waiting(): Promise<number>;
  /** Its log lines so far, parsed. */
  lines(): Record<string, unknown>[];
  /** Fails the test if the proxy has died or written anything alarming to stderr. */
  expectAlive(): void;
  stop(): Promise<void>;
}

export interface ChildTarget extends Target {
  child: ChildProcess;
  /** The admin listener's port. */
  adminPort: number;
  /** The proxy's live memory now: heap + external after a full collection. */
  liveMemory(): Promise<number>;
  /** Client connections the proxy has open now, upgraded ones included. */
  connections(): Promise<number>;
}

/** The proxy in its own process (test/helpers/proxyProcess.ts), logging JSON lines to stdout. */
export async function startChildProxy(config: Patch): Promise<ChildTarget> {
  if (!existsSync(CHILD)) throw new Error(`${CHILD} is missing: run "npm run build" first (npm test does)`);
  const child = fork(CHILD, [], {
    execArgv: ['--expose-gc'],
    env: { ...process.env, ANTEROOM_TEST_CONFIG: JSON.stringify(config), ANTEROOM_TEST_LOG: 'info' },
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
  });
  const lines: Record<string, unknown>[] = [];
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (s: string) => {
    stdout += s;
    let nl: number;
    while ((nl = stdout.indexOf('\n')) !== -1) {
      const line = stdout.slice(0, nl);
      stdout = stdout.slice(nl + 1);
      if (line.trim() !== '') lines.push(JSON.parse(line) as Record<string, unknown>);
    }
  });
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr += s));
  let exit: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  const exited = new Promise<void>((resolve) => {
    child.once('exit', (code, signal) => {
      exit = { code, signal };
      resolve();
    });
  });
  // Replies come in the order requests were sent; each waits for the next message.
  const replies: ((m: Record<string, unknown>) => void)[] = [];
  child.on('message', (m) => replies.shift()?.(m as Record<string, unknown>));
  const ask = <T>(msg: string | null): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      if (exit !== null) return reject(new Error(`proxy process has exited (${JSON.stringify(exit)}); stderr: ${stderr}`));
      replies.push((m) => resolve(m as T));
      void exited.then(() => reject(new Error(`proxy process exited (${JSON.stringify(exit)}); stderr: ${stderr}`)));
      if (msg !== null) child.send(msg);
    });
  const { port, adminPort } = await ask<{ port: number; adminPort: number }>(null);
  return {
    child,
    port,
    adminPort,
    lines: () => lines,
    waiting: async () => (await ask<{ room: { waiting: number } }>('room')).room.waiting,
    expectAlive() {
      expect(exit, `the proxy process exited; stderr: ${stderr}`).toBeNull();
      expect(stderr).not.toMatch(/Error|Uncaught|Warning|Exception/);
    },
    liveMemory: async () => (await ask<{ live: number }>('sample')).live,
    connections: async () => (await ask<{ connections: number }>('connections')).connections,
    async stop() {
      if (exit === null && child.connected) {
        child.send('stop');
        await exited;
      }
    },
  };
}

/** The proxy in this process, for attacks that need a fresh one each time and cannot crash it. */
export async function startInProcessProxy(config: Patch): Promise<Target> {
  const log = capturingLogger('info');
  const appUrl = (config as { upstreams: { app: { url: string } } }).upstreams.app.url;
  const proxy = await startProxy(appUrl, config, log.logger);
  return {
    port: proxy.port,
    waiting: async () => proxy.app.rt.room.waiting,
    lines: () => log.lines,
    expectAlive() {
      expect(log.lines.filter((l) => (l['level'] as number) >= 50)).toEqual([]);
    },
    stop: () => proxy.stop(),
  };
}

/** The room's origin: holds `/block` and every waiter's `/w/N` until the test lets them go. */
export function roomOrigin(): Promise<CountingOrigin> {
  return countingOrigin({ hold: (req) => req.url === '/block' || (req.url ?? '').startsWith('/w/') });
}

export interface Arena {
  target: Target;
  app: CountingOrigin;
  raw: StrictOrigin;
  close(): Promise<void>;
}

/** Both origins and a proxy in front of them, in a child process (default) or in this one. */
export async function arena(patch: Patch = {}, where: 'child' | 'in-process' = 'child'): Promise<Arena> {
  const app = await roomOrigin();
  const raw = await startStrictOrigin();
  const config = attackConfig(app.url, raw.url, patch);
  const target = where === 'child' ? await startChildProxy(config) : await startInProcessProxy(config);
  return {
    target,
    app,
    raw,
    async close() {
      app.releaseAll();
      await target.stop();
      await app.close();
      await raw.close();
    },
  };
}

/**
 * The arena one test file attacks: started before its first test and closed after its last, shared
 * by its tests because a child proxy takes a while to start. Read it only inside tests.
 */
export function arenaPerFile(patch: Patch = {}, where: 'child' | 'in-process' = 'child'): Arena {
  let running: Arena | undefined;
  beforeAll(async () => {
    running = await arena(patch, where);
  });
  afterAll(async () => {
    await running?.close();
  });
  const current = (): Arena => {
    if (running === undefined) throw new Error('the arena is not running: read it inside a test');
    return running;
  };
  return {
    get target() {
      return current().target;
    },
    get app() {
      return current().app;
    },
    get raw() {
      return current().raw;
    },
    close: () => current().close(),
  };
}

export interface Waiter {
  kind: 'api' | 'browser';
  index: number;
  client: string;
  path: string;
  /** Its latest ticket (a browser's from the page and polls; an API client's from its last 503). */
  ticket: string | undefined;
  /** Every position it was told while the attack ran. */
  positions: number[];
  /** An API client's retry loop: resolves with its final 200. */
  done: Promise<Reply> | null;
  /** A browser's answer when admitted. */
  admitted: Reply | null;
}

/**
 * Clients waiting in the room behind a blocking request: API clients held by the proxy (retrying with
 * their ticket whenever a hold runs out) and browsers with a ticket that poll the status endpoint.
 */
export class Waiters {
  /** Each set of waiters has its own paths and client ids, so several sets can follow on one proxy. */
  private static generation = 0;
  private polling: Promise<void> | null = null;
  private stopPolling = false;
  private pollRounds = 0;

  private constructor(
    private readonly a: Arena,
    private readonly blocker: Sent,
    readonly all: Waiter[],
  ) {}

  /** Occupies the room's one slot, then queues `count` waiters alternating API, browser, API, ... */
  static async queue(a: Arena, count = 4): Promise<Waiters> {
    const port = a.target.port;
    const heldBefore = a.app.held;
    const blocker = send(port, '/block', { headers: { 'x-client-id': 'blocker' } });
    blocker.reply.catch(() => undefined);
    await until(() => a.app.held === heldBefore + 1, 'the blocking request at the origin');
    const all: Waiter[] = [];
    const g = ++Waiters.generation;
    for (let i = 0; i < count; i++) {
      const w: Waiter = { kind: i % 2 === 0 ? 'api' : 'browser', index: i, client: `waiter-${g}-${i}`, path: `/w/${g}/${i}`, ticket: undefined, positions: [], done: null, admitted: null };
      all.push(w);
      const before = await a.target.waiting();
      if (w.kind === 'api') {
        w.done = apiClient(port, w);
        w.done.catch(() => undefined);
        await pollUntil(async () => (await a.target.waiting()) === before + 1, `${w.path} waiting in the room`);
      } else {
        const page = await navigate(port, w.path, { 'x-client-id': w.client });
        expect(page.status, page.body).toBe(503);
        expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
        w.ticket = page.cookie('anteroom_ticket')?.value;
        expect(w.ticket).toBeDefined();
      }
      expect(await a.target.waiting()).toBe(before + 1);
    }
    const waiters = new Waiters(a, blocker, all);
    for (const w of all) if (w.kind === 'browser') await waiters.poll(w);
    return waiters;
  }

  /** Browsers poll their status every 200 ms (as the waiting page would) until stopped. */
  startPolling(): void {
    this.stopPolling = false;
    const loop = (async () => {
      while (!this.stopPolling) {
        for (const w of this.all) if (w.kind === 'browser') await this.poll(w);
        this.pollRounds++;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    // A failed poll is reported when the polling stops, not as an unhandled rejection meanwhile.
    loop.catch(() => undefined);
    this.polling = loop;
  }

  /** After a failed test: let everyone in and out, so that the next test starts with an empty room. */
  async abandon(): Promise<void> {
    this.stopPolling = true;
    await this.polling?.catch(() => undefined);
    let settled = 0;
    for (const w of this.all) void w.done?.finally(() => settled++);
    const deadline = performance.now() + 15_000;
    for (;;) {
      this.a.app.releaseAll();
      for (const w of this.all) if (w.kind === 'browser' && w.admitted === null) await this.poll(w, false).catch(() => undefined);
      const browsersIn = this.all.every((w) => w.kind === 'api' || w.admitted !== null);
      if ((settled === this.all.filter((w) => w.done !== null).length && browsersIn) || performance.now() > deadline) return;
      await new Promise((r) => setTimeout(r, 50));
    }
  }

  /**
   * After the attack: every waiter was told its own place, and only it, the whole time; then the slot
   * frees and they are admitted one at a time, in the order they came.
   */
  async expectAdmittedInOrder(): Promise<void> {
    this.stopPolling = true;
    await this.polling;
    expect(this.pollRounds).toBeGreaterThan(0);
    for (const w of this.all) {
      // A held API client hears its position only when a hold runs out; a browser on every poll.
      if (w.kind === 'browser') expect(w.positions.length, `${w.path} was told a position`).toBeGreaterThan(0);
      for (const p of w.positions) expect(p, `${w.path}'s position while under attack`).toBe(w.index + 1);
    }
    this.a.app.release('/block');
    await this.blocker.reply;
    const mine = new Set(this.all.map((w) => w.path));
    const arrivedWaiters = (): string[] => this.a.app.arrived.map((r) => r.path).filter((p) => mine.has(p));
    for (const w of this.all) {
      if (w.kind === 'api') {
        await until(() => arrivedWaiters().includes(w.path), `${w.path} let in`, 15_000);
        this.a.app.release(w.path);
        const r = await w.done!;
        expect(r.status).toBe(200);
      } else {
        await pollUntil(async () => (await this.poll(w, false)) === 'admitted', `${w.path} admitted`);
        expect(w.admitted!.cookie('anteroom_session')?.value).toBeTruthy();
      }
      // Nobody behind it got in before it.
      const later = this.all.filter((o) => o.index > w.index && o.kind === 'api').map((o) => o.path);
      expect(arrivedWaiters().filter((p) => later.includes(p)), `let in before ${w.path}`).toEqual([]);
    }
    expect(arrivedWaiters()).toEqual(this.all.filter((w) => w.kind === 'api').map((w) => w.path));
  }

  /** One status poll; records the position while waiting. */
  private async poll(w: Waiter, record = true): Promise<string> {
    const r = await statusOf(this.a.target.port, w.ticket!, { 'x-client-id': w.client });
    expect(r.status, r.body).toBe(200);
    const body = r.json();
    if (body['state'] === 'admitted') {
      w.admitted = r;
      return 'admitted';
    }
    expect(body['state'], `${w.path}: ${r.body}`).toBe('waiting');
    w.ticket = body['ticket'] as string;
    if (record) w.positions.push(body['position'] as number);
    return 'waiting';
  }
}

/** An API client that retries with its ticket until it gets in; positions from its 503s are recorded. */
async function apiClient(port: number, w: Waiter): Promise<Reply> {
  for (;;) {
    const headers: Record<string, string> = { 'x-client-id': w.client };
    if (w.ticket !== undefined) headers['anteroom-ticket'] = w.ticket;
    const r = await send(port, w.path, { headers }).reply;
    if (r.status !== 503) return r;
    const body = r.json();
    expect(body['code'], r.body).toBe('ANT_QUEUE_TIMEOUT');
    w.ticket = r.headers['anteroom-ticket'] as string;
    w.positions.push(body['position'] as number);
  }
}

export interface Heartbeat {
  /** Stops and checks: healthz answered 200 every time it was asked, and it was asked. */
  stop(): Promise<{ ok: number }>;
}

/** Asks /__anteroom/healthz on a fresh connection every 100 ms until stopped. */
export function heartbeat(port: number): Heartbeat {
  let stopped = false;
  const failures: string[] = [];
  let ok = 0;
  const loop = (async () => {
    while (!stopped) {
      try {
        const res = await rawRequest(port, 'GET /__anteroom/healthz HTTP/1.1\r\nHost: anteroom.test\r\nConnection: close\r\n\r\n');
        if (res.status === 200) ok++;
        else failures.push(`status ${res.status}`);
      } catch (err) {
        failures.push((err as Error).message);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      stopped = true;
      await loop;
      expect(failures).toEqual([]);
      expect(ok).toBeGreaterThan(0);
      return { ok };
    },
  };
}

/**
 * Runs `attack` against the arena's proxy with waiters in its room and a heartbeat, then checks the
 * invariant: healthz answered throughout, the waiters kept their places and are admitted in order,
 * and the proxy is alive.
 */
export async function underAttack<T>(a: Arena, attack: (waiters: Waiters) => Promise<T>, waiterCount = 4): Promise<T> {
  const waiters = await Waiters.queue(a, waiterCount);
  waiters.startPolling();
  const beat = heartbeat(a.target.port);
  try {
    let result: T;
    try {
      result = await attack(waiters);
    } finally {
      await beat.stop();
    }
    a.target.expectAlive();
    await waiters.expectAdmittedInOrder();
    a.target.expectAlive();
    return result;
  } catch (err) {
    await waiters.abandon();
    throw err;
  }
}

/** Polls an asynchronous condition with a generous deadline. */
export async function pollUntil(check: () => Promise<boolean>, what: string, timeoutMs = 15_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  while (!(await check())) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}
