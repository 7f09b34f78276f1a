/**
 * `npm run bench:instructions`: user-space instructions per proxied request, counted by valgrind's
 * callgrind, for the bare undici forwarder (alone, and with only the work every forwarded request requires),
 * anteroom in pass-through and the http-proxy-3 forwarder.
 * req/s on a shared machine moves with whatever else runs on it; an instruction count does not, so
 * this is the measure to compare two versions of the hot path with. It is not the whole cost: the
 * kernel's share and cache misses are not counted (`npm run bench` measures those, as time).
 *
 * Each server runs under callgrind with counting off; after a warm-up, counting is switched on for
 * windows of exactly `INSTR_REQUESTS` and three times as many requests (autocannon -a, 10
 * connections); the difference, less an idle window's count, is divided by the difference in requests
 * (see measure()). Background threads (the optimizing compiler, GC helpers) are left out: their work
 * depends on timing. With the default warm-up, repeated runs of the same build differ by about 1% on a
 * quiet machine and up to 4% on a busy one;
 * with a short warm-up (a few thousand requests) compilation and collections still land in the window.
 *
 * Environment: INSTR_REQUESTS (default 3000), INSTR_WARMUP (default 8000), INSTR_TARGETS (default
 * undici-bare,undici-required,anteroom,http-proxy), INSTR_ROUNDS (default 1; the median is kept).
 * Needs valgrind and callgrind_control; exits 0 with a message when they are missing.
 */
import { spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { writeBenchConfig } from './anteroomConfig.js';
import { envNumber } from './env.js';
import { freePort, killAllNow, spawnTracked, stop, stopAll, waitForHttp, waitForListening } from './procs.js';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = resolve(HERE, '../../..');
const OUT = join(ROOT, 'test-artifacts', 'instructions');
const CLI = join(ROOT, 'dist/src/cli/main.js');
const AUTOCANNON = createRequire(import.meta.url).resolve('autocannon/autocannon.js');
/** Under valgrind, node starts some 50 times slower. */
const START_TIMEOUT_MS = 240_000;

const TARGETS = ['undici-bare', 'undici-required', 'anteroom', 'http-proxy'] as const;
type TargetName = (typeof TARGETS)[number];

function callgrindArgs(tag: string): string[] {
  return ['--tool=callgrind', '--smc-check=all', '--instr-atstart=no', '--separate-threads=yes', `--callgrind-out-file=${join(OUT, `${tag}.%p`)}`, process.execPath];
}

/** Starts one server under callgrind; resolves with its URL once it answers. */
async function start(name: TargetName, originUrl: string, tag: string): Promise<{ child: ChildProcess; url: string }> {
  if (name === 'anteroom') {
    const port = await freePort();
    const file = join(OUT, 'anteroom.yaml');
    writeBenchConfig(file, port, originUrl, true);
    const child = spawnTracked('valgrind', [...callgrindArgs(tag), CLI, 'start', '--config', file, '--dev'], { cpu: null, stdio: ['ignore', 'ignore', 'ignore'] });
    await waitForHttp(`http://127.0.0.1:${port}/__anteroom/readyz`, child, name, START_TIMEOUT_MS);
    return { child, url: `http://127.0.0.1:${port}/` };
  }
  const script = join(HERE, name === 'http-proxy' ? 'httpProxy.js' : 'undiciBare.js');
  const args = name === 'undici-required' ? ['--required'] : [];
  const child = spawnTracked('valgrind', [...callgrindArgs(tag), script, originUrl, ...args], { cpu: null, stdio: ['ignore', 'pipe', 'ignore'] });
  const port = await waitForListening(child, name, START_TIMEOUT_MS);
  return { child, url: `http://127.0.0.1:${port}/` };
}

/** Exactly `amount` requests through `url`; throws when any failed. */
function load(url: string, amount: number): void {
  const r = spawnSync(process.execPath, [AUTOCANNON, '-c', '10', '-a', String(amount), '-j', '-n', url], { encoding: 'utf8', maxBuffer: 16 * 1024 * 1024 });
  const out = JSON.parse(r.stdout) as { requests: { total: number }; errors: number; timeouts: number; non2xx: number };
  const failed = out.errors + out.timeouts + out.non2xx;
  if (failed > 0) throw new Error(`${failed} of ${out.requests.total} requests failed`);
}

function control(pid: number, ...args: string[]): void {
  const r = spawnSync('callgrind_control', [...args, String(pid)], { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`callgrind_control ${args.join(' ')} failed: ${r.stderr}`);
}

/** The main thread's instruction count in dump number `dump` that callgrind_control -d wrote for `pid`. */
async function mainThreadCount(tag: string, pid: number, dump: number): Promise<number> {
  // Dump n of the main thread: `<tag>.<pid>.<n>-01`.
  const file = join(OUT, `${tag}.${pid}.${dump}-01`);
  for (let i = 0; i < 200; i++) {
    try {
      const m = /^totals: (\d+)/m.exec(readFileSync(file, 'utf8'));
      if (m) return Number(m[1]);
    } catch {
      // not written yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`callgrind wrote no main-thread totals to ${file}`);
}

interface Count {
  /** Instructions per request: the marginal count, with clock-driven work taken out. */
  perRequest: number;
  /** Instructions per request of the short window alone, as the count was taken before. */
  naive: number;
}

/** Counts one window of `requests` requests (or of `idleMs` without any); returns the count and its wall time. */
async function countWindow(pid: number, tag: string, dump: number, work: () => Promise<void>): Promise<{ count: number; ms: number }> {
  control(pid, '-i', 'on');
  const t0 = performance.now();
  await work();
  const ms = performance.now() - t0;
  control(pid, '-i', 'off');
  control(pid, '-d');
  return { count: await mainThreadCount(tag, pid, dump), ms };
}

/**
 * The marginal instructions of a request on connections already open. Two windows are counted, of
 * `requests` and of three times as many, and only the difference is kept: what a window costs whatever
 * its length (the load generator's 10 connections accepted and closed, upstream connections opened
 * again after sitting idle through the slow warm-up) cancels out. Under callgrind a server also runs
 * some 50 times slower, so whatever it does by the clock (timers of control loops, log flushes) lands
 * on 50 times fewer requests than at full speed: an idle window as long as the difference in wall time
 * is counted and taken out as well.
 */
async function measure(name: TargetName, originUrl: string, round: number, warmup: number, requests: number): Promise<Count> {
  const tag = `${name}-${round}`;
  const { child, url } = await start(name, originUrl, tag);
  const pid = child.pid!;
  try {
    load(url, warmup);
    const short = await countWindow(pid, tag, 1, async () => load(url, requests));
    const long = await countWindow(pid, tag, 2, async () => load(url, 3 * requests));
    const idle = await countWindow(pid, tag, 3, () => new Promise((r) => setTimeout(r, Math.max(0, long.ms - short.ms))));
    return { perRequest: (long.count - short.count - idle.count) / (2 * requests), naive: short.count / requests };
  } finally {
    await stop(child);
  }
}

async function main(): Promise<void> {
  for (const tool of ['valgrind', 'callgrind_control']) {
    if (spawnSync(tool, ['--version'], { stdio: 'ignore' }).error !== undefined) {
      console.log(`bench:instructions needs ${tool} (Debian: apt-get install valgrind); nothing measured.`);
      return;
    }
  }
  const requests = Math.round(envNumber('INSTR_REQUESTS', 3000));
  const warmup = Math.round(envNumber('INSTR_WARMUP', 8000));
  const rounds = Math.round(envNumber('INSTR_ROUNDS', 1));
  const targets = (process.env['INSTR_TARGETS'] ?? TARGETS.join(',')).split(',').map((t) => t.trim());
  for (const t of targets) if (!(TARGETS as readonly string[]).includes(t)) throw new Error(`INSTR_TARGETS: unknown target "${t}" (known: ${TARGETS.join(', ')})`);
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(OUT, { recursive: true });

  const origin = spawnTracked(process.execPath, [join(HERE, 'origin.js')], { cpu: null });
  const originUrl = `http://127.0.0.1:${await waitForListening(origin, 'origin')}`;
  console.log(`instructions per request (callgrind, main thread): ${requests} requests after ${warmup} of warm-up, ${rounds} round(s)`);
  const counts = new Map<TargetName, number[]>();
  for (let round = 1; round <= rounds; round++) {
    for (const name of targets as TargetName[]) {
      process.stdout.write(`${name}: `);
      const n = await measure(name, originUrl, round, warmup, requests);
      console.log(`${Math.round(n.perRequest).toLocaleString('en-US')} (one window's count / its requests: ${Math.round(n.naive).toLocaleString('en-US')})`);
      counts.set(name, [...(counts.get(name) ?? []), n.perRequest]);
    }
  }
  const med = (name: TargetName): number | undefined => {
    const xs = [...(counts.get(name) ?? [])].sort((a, b) => a - b);
    return xs.length === 0 ? undefined : xs[(xs.length - 1) >> 1];
  };
  console.log('');
  for (const name of targets as TargetName[]) console.log(`${name.padEnd(15)} ${Math.round(med(name)!).toLocaleString('en-US').padStart(9)} instructions per request (median)`);
  const ratio = (a: TargetName, b: TargetName): void => {
    const x = med(a);
    const y = med(b);
    if (x !== undefined && y !== undefined) console.log(`${`${a} / ${b}`.padEnd(30)} ${(x / y).toFixed(2)}x`);
  };
  ratio('anteroom', 'undici-bare');
  ratio('undici-required', 'undici-bare');
  ratio('anteroom', 'undici-required');
  ratio('anteroom', 'http-proxy');
  for (const f of readdirSync(OUT)) if (!f.endsWith('.yaml')) rmSync(join(OUT, f));
  await stop(origin);
}

main()
  .then(() => stopAll())
  .catch(async (err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    killAllNow();
    process.exitCode = 1;
  });
