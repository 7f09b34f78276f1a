/**
 * The waiting room under load, through real sockets: one Anteroom in its own process with the room
 * engaged (`queue-all`, one admission a minute), 50,000 waiting browsers (each got its ticket from one
 * waiting-page request), 10,000 held API requests on open connections, then as many status polls as
 * the proxy answers, from many concurrent pollers cycling through the browsers' tickets.
 *
 *   npm run build && node --expose-gc dist/test/bench/roomLoad.js
 *
 * Figures: memory per waiting browser and per held API request (the proxy process's VmRSS from
 * /proc/<pid>/status, and its V8 heap + external memory, each after a full collection, as deltas over
 * the count), and status polls answered per second. The proxy process is a thin wrapper around
 * `Anteroom` that answers the bench over IPC (collect garbage, report memory and the room's size); the
 * proxy itself has no debug endpoint for this. All traffic is on 127.0.0.1; counts and durations are
 * bounded, and the run stops by itself (a watchdog kills it if anything hangs).
 *
 * Environment: ROOMLOAD_BROWSERS (50000), ROOMLOAD_HELD (10000), ROOMLOAD_POLL_S (10),
 * ROOMLOAD_POLLERS (256). `runRoomLoad` is exported for a bench runner.
 *
 * The numbers are a measurement, not a test: a missed target is reported, and the exit code stays 0.
 */
import { fork, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { Pool } from 'undici';
import { Anteroom } from '../../src/app.js';
import { formatConfigError, validateConfig } from '../../src/config/load.js';

const SELF = fileURLToPath(import.meta.url);
const ROLE = process.env['ROOMLOAD_ROLE'];
const TENANTS = 10;
/** DESIGN target for the status endpoint on this kind of machine. */
const TARGET_POLLS_PER_S = 10_000;

export interface RoomLoadOptions {
  browsers: number;
  held: number;
  pollSeconds: number;
  pollers: number;
  /** Connections used to create the browsers' places. */
  joinConnections: number;
  /** Kill everything past this. */
  watchdogMs: number;
  log: (line: string) => void;
}

export interface MemorySample {
  rssBytes: number;
  heapBytes: number;
  waiting: number;
}

export interface RoomLoadResult {
  browsers: number;
  held: number;
  openFilesLimit: number | null;
  joinSeconds: number;
  heldSeconds: number;
  memory: { baseline: MemorySample; afterBrowsers: MemorySample; afterHeld: MemorySample };
  /** Bytes per waiting browser / per held API request. */
  perBrowser: { rss: number; heap: number };
  perHeld: { rss: number; heap: number };
  polls: {
    answered: number;
    failed: number;
    seconds: number;
    perSecond: number;
    p50Ms: number;
    p99Ms: number;
    pollers: number;
    /** CPU use while polling, in % of one core: the proxy process, and this process (the pollers). */
    proxyPct: number | null;
    benchPct: number;
    proxyCpuUsPerPoll: number | null;
  };
  target: { pollsPerSecond: number; met: boolean };
}

// --- the proxy process ------------------------------------------------------------------------------

async function proxyRole(): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (gc === undefined || process.send === undefined) throw new Error('roomLoad proxy: run forked with --expose-gc');
  const send = process.send.bind(process);
  const result = validateConfig(JSON.parse(process.env['ROOMLOAD_CONFIG'] ?? '{}'));
  if (!result.ok) throw new Error(result.errors.map(formatConfigError).join('; '));
  const app = new Anteroom(result.config, { logger: pino({ level: 'warn' }) });
  const { port } = await app.start();
  process.on('message', (msg: { op: string }) => {
    if (msg.op === 'memory') {
      // Twice with a pause: V8 sweeps concurrently, and unswept pages still count as used.
      gc();
      setTimeout(() => {
        gc();
        const m = process.memoryUsage();
        send({ op: 'memory', heapBytes: m.heapUsed + m.external, rssBytes: vmRssBytes(process.pid) ?? m.rss, waiting: app.rt.room.waiting });
      }, 100);
    } else if (msg.op === 'waiting') {
      send({ op: 'waiting', waiting: app.rt.room.waiting });
    } else if (msg.op === 'stop') {
      void app.stop(0).then(() => process.exit(0));
    }
  });
  process.on('disconnect', () => process.exit(0));
  send({ op: 'ready', port });
}

// --- the bench ----------------------------------------------------------------------------------------

function vmRssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}

/** CPU time (user + system) of a process so far, in seconds; null where /proc is not there. */
function processCpuSeconds(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
    return (Number(fields[11]) + Number(fields[12])) / ticks;
  } catch {
    return null;
  }
}

function openFilesLimit(): number | null {
  try {
    const m = /^Max open files\s+(\d+)/m.exec(readFileSync('/proc/self/limits', 'utf8'));
    return m ? Number(m[1]) : null;
  } catch {
    return null;
  }
}

/** The proxy process, asked one question at a time per kind over IPC. */
class Child {
  private waiters = new Map<string, { resolve: (msg: Record<string, unknown>) => void; reject: (err: Error) => void }>();
  constructor(readonly proc: ChildProcess) {
    proc.on('message', (msg: Record<string, unknown>) => {
      const w = this.waiters.get(msg['op'] as string);
      this.waiters.delete(msg['op'] as string);
      w?.resolve(msg);
    });
    proc.once('exit', (code) => {
      for (const [op, w] of this.waiters) w.reject(new Error(`roomLoad proxy exited (code ${code}) while asked "${op}"`));
      this.waiters.clear();
    });
  }
  ask(op: string): Promise<Record<string, unknown>> {
    return new Promise((resolve, reject) => {
      this.waiters.set(op, { resolve, reject });
      if (op !== 'ready') this.proc.send({ op });
    });
  }
  async memory(): Promise<MemorySample> {
    const m = await this.ask('memory');
    return { rssBytes: vmRssBytes(this.proc.pid!) ?? (m['rssBytes'] as number), heapBytes: m['heapBytes'] as number, waiting: m['waiting'] as number };
  }
  async waiting(): Promise<number> {
    return (await this.ask('waiting'))['waiting'] as number;
  }
}

/** Runs `n` tasks with at most `concurrency` in flight. */
async function inParallel(n: number, concurrency: number, task: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(n, concurrency) }, async () => {
      while (next < n) await task(next++);
    }),
  );
}

function ticketFrom(setCookie: string | string[] | undefined): string | null {
  for (const line of Array.isArray(setCookie) ? setCookie : setCookie === undefined ? [] : [setCookie]) {
    if (line.startsWith('anteroom_ticket=')) return line.slice('anteroom_ticket='.length, line.indexOf(';'));
  }
  return null;
}

function percentile(sorted: Float64Array, p: number): number {
  return sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

export async function runRoomLoad(partial: Partial<RoomLoadOptions> = {}): Promise<RoomLoadResult> {
  const o: RoomLoadOptions = {
    browsers: envInt('ROOMLOAD_BROWSERS', 50_000),
    held: envInt('ROOMLOAD_HELD', 10_000),
    pollSeconds: envInt('ROOMLOAD_POLL_S', 10),
    pollers: envInt('ROOMLOAD_POLLERS', 256),
    joinConnections: 128,
    watchdogMs: 10 * 60_000,
    log: (line) => console.log(line),
    ...partial,
  };
  const limit = openFilesLimit();
  // Every held request is an open connection here and in the proxy; keep room for the rest.
  const spare = o.pollers + o.joinConnections + 500;
  if (limit !== null && o.held + spare > limit) {
    o.log(`roomLoad: open files limit ${limit} is too low for ${o.held} held requests; holding ${limit - spare} (raise it with ulimit -n)`);
    o.held = Math.max(0, limit - spare);
  }

  const origin: Server = createServer((req, res) => {
    req.resume();
    res.end('origin\n');
  });
  await new Promise<void>((r) => origin.listen(0, '127.0.0.1', r));
  const originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`;

  const config = {
    secret: randomBytes(32).toString('base64url'),
    listen: { host: '127.0.0.1', port: 0, keepAliveTimeoutMs: 120_000, requestTimeoutMs: 600_000 },
    admin: { port: 0 },
    upstreams: { app: { url: originUrl } },
    identity: { tenant: [{ header: 'x-tenant-id' }] },
    // Engaged for the whole run: everyone waits, one admission a minute; nobody is dropped as abandoned.
    room: { mode: 'queue-all', sessionsPerMinute: 1, graceS: 3600, maxPerTenant: 1_000_000, hold: { apiMs: 600_000 } },
    log: { level: 'warn', requests: false },
  };
  const proc = fork(SELF, [], {
    execArgv: ['--expose-gc'],
    env: { ...process.env, ROOMLOAD_ROLE: 'proxy', ROOMLOAD_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const child = new Child(proc);
  const watchdog = setTimeout(() => {
    o.log('roomLoad: watchdog fired; stopping');
    proc.kill('SIGKILL');
    process.exit(1);
  }, o.watchdogMs);
  watchdog.unref();

  const pools: Pool[] = [];
  try {
    const port = (await child.ask('ready'))['port'] as number;
    const base = `http://127.0.0.1:${port}`;
    o.log(`roomLoad: anteroom pid ${proc.pid} on ${base}; ${o.browsers} browsers, ${o.held} held API requests, open files limit ${limit ?? 'unknown'}`);

    const joinPool = new Pool(base, { connections: o.joinConnections, pipelining: 1, keepAliveTimeout: 120_000 });
    pools.push(joinPool);
    const tickets: string[] = [];
    const join = async (i: number): Promise<void> => {
      const res = await joinPool.request({
        path: `/shop/item/${i}`,
        method: 'GET',
        headers: { accept: 'text/html', 'x-tenant-id': `t${i % TENANTS}` },
      });
      await res.body.dump();
      const t = ticketFrom(res.headers['set-cookie']);
      if (res.statusCode === 503 && t !== null) tickets.push(t);
    };

    // Warm-up: every connection of the pool open, the code paths compiled; the baseline includes them.
    const warm = Math.min(2_000, o.browsers);
    await inParallel(warm, o.joinConnections, join);
    const baseline = await child.memory();

    let t0 = performance.now();
    await inParallel(o.browsers, o.joinConnections, (i) => join(warm + i));
    const joinSeconds = (performance.now() - t0) / 1000;
    const afterBrowsers = await child.memory();
    o.log(`roomLoad: ${tickets.length} tickets in ${joinSeconds.toFixed(1)} s; the room holds ${afterBrowsers.waiting}`);

    // Held API requests: one connection each, opened in batches so the listen backlog never overflows.
    const heldPool = new Pool(base, { connections: o.held, pipelining: 1, headersTimeout: 0, bodyTimeout: 0, keepAliveTimeout: 600_000 });
    pools.push(heldPool);
    let heldFailures = 0;
    t0 = performance.now();
    const target = afterBrowsers.waiting + o.held;
    for (let sent = 0; sent < o.held; ) {
      const batch = Math.min(500, o.held - sent);
      for (let k = 0; k < batch; k++, sent++) {
        heldPool
          .request({ path: `/api/orders/${sent}`, method: 'GET', headers: { accept: 'application/json', 'x-tenant-id': `t${sent % TENANTS}` } })
          .then(
            (res) => res.body.dump(),
            () => void heldFailures++,
          )
          .catch(() => undefined);
      }
      const want = afterBrowsers.waiting + sent;
      for (let spins = 0; (await child.waiting()) < want; spins++) {
        if (spins > 2_000) throw new Error(`roomLoad: only ${await child.waiting()} of ${want} waiting`);
        await new Promise((r) => setTimeout(r, 5));
      }
    }
    const heldSeconds = (performance.now() - t0) / 1000;
    const afterHeld = await child.memory();
    o.log(`roomLoad: ${o.held} held in ${heldSeconds.toFixed(1)} s; the room holds ${afterHeld.waiting} (expected ${target}); failures ${heldFailures}`);

    // Status polls: many pollers, each cycling through the tickets, as fast as answers come.
    const pollPool = new Pool(base, { connections: o.pollers, pipelining: 1, keepAliveTimeout: 120_000 });
    pools.push(pollPool);
    const paths = tickets.map((t) => `/__anteroom/status?ticket=${encodeURIComponent(t)}`);
    const latencies = new Float64Array(4_000_000);
    let answered = 0;
    let failed = 0;
    let cursor = 0;
    const poll = async (): Promise<void> => {
      const path = paths[cursor++ % paths.length]!;
      const started = performance.now();
      try {
        const res = await pollPool.request({ path, method: 'GET', headers: { accept: 'application/json', 'x-tenant-id': 'ignored' } });
        const body = await res.body.text();
        if (res.statusCode === 200 && body.includes('"state":"waiting"')) {
          if (answered < latencies.length) latencies[answered] = performance.now() - started;
          answered++;
        } else failed++;
      } catch {
        failed++;
      }
    };
    // A short unmeasured warm-up of the status path, then the measured window.
    let stopAt = performance.now() + 1_000;
    await Promise.all(Array.from({ length: o.pollers }, async () => {
      while (performance.now() < stopAt) await poll();
    }));
    answered = 0;
    failed = 0;
    const proxyCpu0 = processCpuSeconds(proc.pid!);
    const benchCpu0 = process.cpuUsage();
    t0 = performance.now();
    stopAt = t0 + o.pollSeconds * 1000;
    await Promise.all(Array.from({ length: o.pollers }, async () => {
      while (performance.now() < stopAt) await poll();
    }));
    const pollSeconds = (performance.now() - t0) / 1000;
    const proxyCpu1 = processCpuSeconds(proc.pid!);
    const benchCpu = process.cpuUsage(benchCpu0);
    const cpu = {
      proxyPct: proxyCpu0 === null || proxyCpu1 === null ? null : (100 * (proxyCpu1 - proxyCpu0)) / pollSeconds,
      benchPct: (100 * (benchCpu.user + benchCpu.system)) / 1e6 / pollSeconds,
      // CPU time the proxy spent per answered poll; 1e6 / this is what one core sustains, whatever else
      // competes for the machine (the load generator shares it).
      proxyCpuUsPerPoll: proxyCpu0 === null || proxyCpu1 === null || answered === 0 ? null : (1e6 * (proxyCpu1 - proxyCpu0)) / answered,
    };
    const sorted = latencies.slice(0, Math.min(answered, latencies.length)).sort();

    const perBrowser = {
      rss: (afterBrowsers.rssBytes - baseline.rssBytes) / Math.max(1, afterBrowsers.waiting - baseline.waiting),
      heap: (afterBrowsers.heapBytes - baseline.heapBytes) / Math.max(1, afterBrowsers.waiting - baseline.waiting),
    };
    const heldCount = Math.max(1, afterHeld.waiting - afterBrowsers.waiting);
    const perHeld = { rss: (afterHeld.rssBytes - afterBrowsers.rssBytes) / heldCount, heap: (afterHeld.heapBytes - afterBrowsers.heapBytes) / heldCount };
    const perSecond = answered / pollSeconds;
    return {
      browsers: afterBrowsers.waiting - baseline.waiting,
      held: heldCount,
      openFilesLimit: limit,
      joinSeconds,
      heldSeconds,
      memory: { baseline, afterBrowsers, afterHeld },
      perBrowser,
      perHeld,
      polls: { answered, failed, seconds: pollSeconds, perSecond, p50Ms: percentile(sorted, 0.5), p99Ms: percentile(sorted, 0.99), pollers: o.pollers, ...cpu },
      target: { pollsPerSecond: TARGET_POLLS_PER_S, met: perSecond >= TARGET_POLLS_PER_S },
    };
  } finally {
    clearTimeout(watchdog);
    await Promise.all(pools.map((p) => p.destroy().catch(() => undefined)));
    if (proc.exitCode === null && proc.signalCode === null) {
      const exited = new Promise<void>((r) => proc.once('exit', () => r()));
      proc.send({ op: 'stop' });
      const timer = setTimeout(() => proc.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(timer);
    }
    origin.closeAllConnections();
    await new Promise<void>((r) => origin.close(() => r()));
  }
}

export function formatRoomLoad(r: RoomLoadResult): string {
  const mb = (b: number): string => `${(b / 1048576).toFixed(1)} MB`;
  const m = r.memory;
  return [
    `room load: ${r.browsers} waiting browsers (places made in ${r.joinSeconds.toFixed(1)} s), ${r.held} held API requests (${r.heldSeconds.toFixed(1)} s), open files limit ${r.openFilesLimit ?? 'unknown'}`,
    `  proxy RSS  : ${mb(m.baseline.rssBytes)} -> ${mb(m.afterBrowsers.rssBytes)} -> ${mb(m.afterHeld.rssBytes)}`,
    `  proxy heap : ${mb(m.baseline.heapBytes)} -> ${mb(m.afterBrowsers.heapBytes)} -> ${mb(m.afterHeld.heapBytes)} (heap used + external, after GC)`,
    `  per waiting browser  : ${Math.round(r.perBrowser.rss)} B RSS, ${Math.round(r.perBrowser.heap)} B heap`,
    `  per held API request : ${Math.round(r.perHeld.rss)} B RSS, ${Math.round(r.perHeld.heap)} B heap (its open connection included)`,
    `  status polls : ${Math.round(r.polls.perSecond)}/s over ${r.polls.seconds.toFixed(1)} s from ${r.polls.pollers} pollers (${r.polls.answered} answered, ${r.polls.failed} failed), p50 ${r.polls.p50Ms.toFixed(1)} ms, p99 ${r.polls.p99Ms.toFixed(1)} ms`,
    `  CPU while polling: proxy ${r.polls.proxyPct === null ? '?' : Math.round(r.polls.proxyPct)}% of a core, pollers ${Math.round(r.polls.benchPct)}% (${availableParallelism()} cores)`,
    `  proxy CPU per poll: ${r.polls.proxyCpuUsPerPoll === null ? '?' : `${r.polls.proxyCpuUsPerPoll.toFixed(1)} us, i.e. ${Math.round(1e6 / r.polls.proxyCpuUsPerPoll)} polls/s per core`}`,
    `  target >= ${r.target.pollsPerSecond} polls/s (measured): ${r.target.met ? 'met' : 'NOT met'}`,
  ].join('\n');
}

function envInt(name: string, fallback: number): number {
  const v = Number(process.env[name]);
  return Number.isInteger(v) && v >= 0 && process.env[name] !== '' ? v : fallback;
}

if (ROLE === 'proxy') {
  await proxyRole();
} else if (process.argv[1] !== undefined && resolve(process.argv[1]) === SELF) {
  const result = await runRoomLoad();
  console.log(formatRoomLoad(result));
}
