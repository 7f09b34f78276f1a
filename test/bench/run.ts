/**
 * `npm run bench`: throughput and latency of anteroom in pass-through, against the origin alone and
 * against a plain http-proxy-3 forwarder, in one run. Every server and the load generator run in their
 * own processes, pinned to CPUs with taskset where it works. All traffic stays on 127.0.0.1.
 *
 * Environment:
 *   BENCH_DURATION_S   measured seconds per target (default 10)
 *   BENCH_CONNECTIONS  concurrent keep-alive connections (default 50)
 *   BENCH_WARMUP_S     unmeasured warm-up per target, same connections (default 3)
 *   BENCH_ROUNDS       measure every target this many times, interleaved; the median run is kept (default 1)
 *   BENCH_LOADGEN      autocannon (default) or wrk (when installed)
 *   BENCH_TARGETS      comma-separated subset of: direct,undici-bare,undici-required,anteroom,anteroom-nolog,anteroom-limits,
 *                      anteroom-redis,http-proxy
 *   BENCH_PIN          0 to leave placement to the scheduler
 *   BENCH_PROFILE      1 to run anteroom and the undici forwarders with --cpu-prof; profiles go to test-artifacts/profiles/
 *
 * The numbers are a measurement, not a test: a missed target is reported, and the exit code stays 0.
 */
import { closeSync, mkdirSync, openSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus as cpuList } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync, type ChildProcess } from 'node:child_process';
import { writeBenchConfig } from './anteroomConfig.js';
import { envNumber } from './env.js';
import { runLoad, wrkInstalled, type LoadgenKind, type LoadResult } from './loadgen.js';
import {
  cpuTimes,
  freePort,
  killAllNow,
  processCpuSeconds,
  repin,
  spawnTracked,
  stop,
  stopAll,
  tasksetWorks,
  waitForHttp,
  waitForListening,
} from './procs.js';

const HERE = dirname(fileURLToPath(import.meta.url));
/** dist/test/bench -> the repository root. */
const ROOT = resolve(HERE, '../../..');
const ARTIFACTS = join(ROOT, 'test-artifacts');
const CLI = join(ROOT, 'dist/src/cli/main.js');

const TARGET_NAMES = ['direct', 'undici-bare', 'undici-required', 'anteroom', 'anteroom-nolog', 'anteroom-limits', 'anteroom-redis', 'http-proxy'] as const;
type TargetName = (typeof TARGET_NAMES)[number];

const DESCRIPTIONS: Record<TargetName, string> = {
  direct: 'origin alone, no proxy',
  anteroom: 'anteroom CLI, pass-through, request log on (info, to /dev/null)',
  'anteroom-nolog': 'anteroom CLI, pass-through, log.requests: false',
  'anteroom-limits': 'anteroom CLI, request log on, client + tenant token buckets on every request (memory store), none refusing',
  'anteroom-redis': 'the same limits decided in a private redis-server (store: redis), one script call per request',
  'http-proxy': 'http-proxy-3 + keep-alive agent, xfwd on',
  'undici-bare': 'bare undici Pool.dispatch forwarder: headers copied as they are, nothing else (the floor)',
  'undici-required': 'the bare forwarder plus only what every forwarded request requires: header hygiene, X-Forwarded-*, X-Request-Id both ways, a log line',
};

/** Targets anteroom (with its request log on, as operators run it) is held to. */
const GOALS = { vsDirect: 0.4, vsHttpProxy: 1.5, limitsVsNone: 0.9, redisVsMemory: 0.6 };

/**
 * Limits that apply to every request but never refuse one (the load generator is one client): the
 * bench measures what a decision costs, not what a refusal saves.
 */
const NEVER_REFUSING_LIMITS = ['limits:', '  client: { rate: 1000000/s, burst: 1000000 }', '  tenant: { rate: 1000000/s, burst: 1000000 }'];

interface Settings {
  durationS: number;
  warmupS: number;
  connections: number;
  rounds: number;
  loadgen: LoadgenKind;
  targets: TargetName[];
  profile: boolean;
}

function settings(): Settings {
  const loadgen = (process.env['BENCH_LOADGEN'] ?? 'autocannon') as LoadgenKind;
  if (loadgen !== 'autocannon' && loadgen !== 'wrk') throw new Error(`BENCH_LOADGEN must be autocannon or wrk, got "${loadgen}"`);
  if (loadgen === 'wrk' && !wrkInstalled()) throw new Error('BENCH_LOADGEN=wrk but wrk is not installed');
  // The Redis target needs a redis-server binary; without one it is left out of the default run.
  const defaults = redisInstalled() ? TARGET_NAMES : TARGET_NAMES.filter((t) => t !== 'anteroom-redis');
  if (defaults.length < TARGET_NAMES.length) console.log('redis-server not found: the anteroom-redis target is left out.');
  const targets = (process.env['BENCH_TARGETS'] ?? defaults.join(','))
    .split(',')
    .map((t) => t.trim())
    .filter((t) => t !== '');
  for (const t of targets) if (!(TARGET_NAMES as readonly string[]).includes(t)) throw new Error(`unknown target "${t}" in BENCH_TARGETS`);
  return {
    durationS: Math.round(envNumber('BENCH_DURATION_S', 10)),
    warmupS: Math.round(envNumber('BENCH_WARMUP_S', 3)),
    connections: Math.round(envNumber('BENCH_CONNECTIONS', 50)),
    rounds: Math.round(envNumber('BENCH_ROUNDS', 1)),
    loadgen,
    targets: targets as TargetName[],
    profile: process.env['BENCH_PROFILE'] === '1',
  };
}

/**
 * Who runs where. The server under test (the origin itself for `direct`, otherwise the proxy) always
 * has a CPU to itself, and the load generator has another, so the measured server is what saturates.
 * With two CPUs the origin has to share with the load generator while a proxy is measured; it does the
 * least work per request of the three, and the CPU columns of the table show whether the load
 * generator's CPU ran out. With three or more CPUs every process gets its own.
 */
interface Layout {
  pinned: boolean;
  loadgen: number | null;
  server: number | null;
  origin: number | null;
  explanation: string[];
}

function layout(): Layout {
  const n = availableParallelism();
  const why: string[] = [];
  if (process.env['BENCH_PIN'] === '0') why.push('pinning disabled by BENCH_PIN=0; the scheduler places every process.');
  else if (n < 2) why.push(`only ${n} CPU available: nothing to pin; every process shares it.`);
  else if (!tasksetWorks(0) || !tasksetWorks(1)) why.push('taskset is missing or not allowed here: the scheduler places every process.');
  else if (n === 2) {
    return {
      pinned: true,
      loadgen: 0,
      server: 1,
      origin: 0,
      explanation: [
        'CPU 0: load generator + origin (the origin only while a proxy is measured)',
        'CPU 1: server under test (the proxy; for "direct" the origin is moved here)',
        'The server under test gets a core to itself; the origin, the cheapest process per request, shares',
        'with the load generator. Check the CPU columns: CPU 1 near 100% means the proxy is the bottleneck.',
      ],
    };
  } else {
    return {
      pinned: true,
      loadgen: 0,
      server: 1,
      origin: 2,
      explanation: ['CPU 0: load generator', 'CPU 1: server under test (the proxy; for "direct" the origin)', 'CPU 2: origin'],
    };
  }
  return { pinned: false, loadgen: null, server: null, origin: null, explanation: why };
}

interface Measurement extends LoadResult {
  /** CPU used by the server under test during the run, as % of one CPU. */
  serverCpuPct: number | null;
  /**
   * CPU time the server under test spent per request, in microseconds. Steadier than req/s on a machine
   * where something else competes for the CPUs, and what an optimisation of the hot path changes.
   */
  serverCpuUsPerReq: number | null;
  /** Busy % of each pinned CPU during the run, by CPU number. */
  cpuBusyPct: Record<string, number>;
}

interface Target {
  url: string;
  /** The process under test, whose CPU use is reported. */
  server: ChildProcess;
  stop(): Promise<void>;
}

async function main(): Promise<void> {
  const s = settings();
  const place = layout();
  mkdirSync(ARTIFACTS, { recursive: true });
  const watchedCpus = place.pinned ? [...new Set([place.loadgen!, place.server!, place.origin!])].sort((a, b) => a - b) : [];

  console.log(`anteroom bench: ${s.connections} connections, ${s.warmupS}s warm-up + ${s.durationS}s measured per target, ${s.rounds} round(s), load generator: ${s.loadgen}`);
  console.log(`node ${process.version}, ${availableParallelism()} CPU(s): ${cpuList()[0]?.model ?? 'unknown'}`);
  console.log('CPU layout:');
  for (const line of place.explanation) console.log(`  ${line}`);
  console.log('');

  const busyBefore = await idleMachineCheck();
  if (busyBefore !== null && busyBefore > 15) {
    console.log(`WARNING: the CPUs were ${Math.round(busyBefore)}% busy before the bench started: something else is running,`);
    console.log('and every number below will be lower and noisier than on a quiet machine.\n');
  }

  const origin = spawnTracked(process.execPath, [join(HERE, 'origin.js')], { cpu: place.origin });
  const originPort = await waitForListening(origin, 'origin');
  const originUrl = `http://127.0.0.1:${originPort}`;

  const start: Record<TargetName, () => Promise<Target>> = {
    direct: async () => {
      // The origin is the server under test here: it gets the server's CPU for the run.
      if (place.pinned && place.origin !== place.server) repin(origin.pid!, place.server!);
      return {
        url: `${originUrl}/`,
        server: origin,
        stop: async () => {
          if (place.pinned && place.origin !== place.server) repin(origin.pid!, place.origin!);
        },
      };
    },
    anteroom: () => startAnteroom(originUrl, true, place, s),
    'anteroom-nolog': () => startAnteroom(originUrl, false, place, s),
    'anteroom-limits': () => startAnteroom(originUrl, true, place, s, NEVER_REFUSING_LIMITS, 'limits'),
    'anteroom-redis': async () => {
      // A private Redis on the origin's CPU: the shared one on 6379 is never touched.
      const redisPort = await freePort();
      const redis = spawnTracked('redis-server', ['--bind', '127.0.0.1', '--port', String(redisPort), '--save', '', '--appendonly', 'no'], { cpu: place.origin, stdio: 'ignore' });
      await waitForRedis(redisPort);
      const target = await startAnteroom(originUrl, true, place, s, [...NEVER_REFUSING_LIMITS, 'store:', '  kind: redis', `  url: redis://127.0.0.1:${redisPort}`], 'redis');
      return {
        ...target,
        stop: async () => {
          await target.stop();
          await stop(redis);
        },
      };
    },
    'http-proxy': async () => {
      const child = spawnTracked(process.execPath, [join(HERE, 'httpProxy.js'), originUrl], { cpu: place.server });
      const port = await waitForListening(child, 'http-proxy');
      return { url: `http://127.0.0.1:${port}/`, server: child, stop: () => stop(child) };
    },
    'undici-bare': () => startUndici('undici-bare', originUrl, [], place, s),
    'undici-required': () => startUndici('undici-required', originUrl, ['--required'], place, s),
  };

  const runs = new Map<TargetName, Measurement[]>();
  for (let round = 1; round <= s.rounds; round++) {
    for (const name of s.targets) {
      const target = await start[name]();
      try {
        process.stdout.write(`${s.rounds > 1 ? `[round ${round}] ` : ''}${name}: warming up...`);
        await runLoad(s.loadgen, { url: target.url, connections: s.connections, durationS: s.warmupS, cpu: place.loadgen });
        process.stdout.write(' measuring...');
        const m = await measure(s, place, watchedCpus, target);
        process.stdout.write(` ${Math.round(m.rps)} req/s\n`);
        runs.set(name, [...(runs.get(name) ?? []), m]);
      } finally {
        await target.stop();
      }
    }
  }
  await stop(origin);

  const results: Partial<Record<TargetName, Measurement>> = {};
  for (const [name, ms] of runs) results[name] = median(ms);
  report(s, place, watchedCpus, results, runs, busyBefore);
}

/** Average busy % of all CPUs over one second while the bench has nothing running; null without /proc. */
async function idleMachineCheck(): Promise<number | null> {
  const a = cpuTimes();
  await new Promise((r) => setTimeout(r, 1_000));
  const b = cpuTimes();
  let busy = 0;
  let total = 0;
  for (let i = 0; i < b.length; i++) {
    if (!a[i] || !b[i]) continue;
    busy += b[i]!.busy - a[i]!.busy;
    total += b[i]!.total - a[i]!.total;
  }
  return total > 0 ? (100 * busy) / total : null;
}

async function startAnteroom(originUrl: string, requestLog: boolean, place: Layout, s: Settings, extra: string[] = [], variant = ''): Promise<Target> {
  const port = await freePort();
  const file = join(ARTIFACTS, `bench-anteroom${requestLog ? '' : '-nolog'}${variant ? `-${variant}` : ''}.yaml`);
  writeBenchConfig(file, port, originUrl, requestLog, extra);
  const nodeArgs = s.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(ARTIFACTS, 'profiles')}`, `--cpu-prof-name=anteroom${requestLog ? '' : '-nolog'}-${Date.now()}.cpuprofile`] : [];
  // The log goes where an operator's would, minus the cost of a reader: to /dev/null.
  const devNull = openSync('/dev/null', 'w');
  const env = { ...process.env };
  delete env['LOG_LEVEL'];
  const child = spawnTracked(process.execPath, [...nodeArgs, CLI, 'start', '--config', file, '--dev'], { cpu: place.server, stdio: ['ignore', devNull, 'inherit'], env });
  closeSync(devNull);
  await waitForHttp(`http://127.0.0.1:${port}/__anteroom/readyz`, child, 'anteroom');
  return { url: `http://127.0.0.1:${port}/`, server: child, stop: () => stop(child) };
}

/** The bare undici forwarder (test/bench/undiciBare.ts), with `args` (--required). */
async function startUndici(name: TargetName, originUrl: string, args: string[], place: Layout, s: Settings): Promise<Target> {
  const prof = s.profile ? ['--cpu-prof', `--cpu-prof-dir=${join(ARTIFACTS, 'profiles')}`, `--cpu-prof-name=${name}-${Date.now()}.cpuprofile`] : [];
  const child = spawnTracked(process.execPath, [...prof, join(HERE, 'undiciBare.js'), originUrl, ...args], { cpu: place.server });
  const port = await waitForListening(child, name);
  return { url: `http://127.0.0.1:${port}/`, server: child, stop: () => stop(child) };
}

async function measure(s: Settings, place: Layout, watchedCpus: number[], target: Target): Promise<Measurement> {
  const cpu0 = cpuTimes();
  const proc0 = processCpuSeconds(target.server.pid);
  const t0 = performance.now();
  const load = await runLoad(s.loadgen, { url: target.url, connections: s.connections, durationS: s.durationS, cpu: place.loadgen });
  const wallS = (performance.now() - t0) / 1000;
  const proc1 = processCpuSeconds(target.server.pid);
  const cpu1 = cpuTimes();
  const cpuBusyPct: Record<string, number> = {};
  for (const c of watchedCpus) {
    const a = cpu0[c];
    const b = cpu1[c];
    if (a && b && b.total > a.total) cpuBusyPct[String(c)] = (100 * (b.busy - a.busy)) / (b.total - a.total);
  }
  const cpuS = proc0 !== null && proc1 !== null ? proc1 - proc0 : null;
  return {
    ...load,
    // The wall time includes the load generator's start-up, so this slightly understates the load.
    serverCpuPct: cpuS === null ? null : (100 * cpuS) / wallS,
    serverCpuUsPerReq: cpuS === null || load.requests === 0 ? null : (1e6 * cpuS) / load.requests,
    cpuBusyPct,
  };
}

function median(ms: Measurement[]): Measurement {
  const sorted = [...ms].sort((a, b) => a.rps - b.rps);
  return sorted[Math.floor((sorted.length - 1) / 2)]!;
}

function fmtMs(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  return Number.isInteger(v) ? String(v) : v.toFixed(2);
}

function report(
  s: Settings,
  place: Layout,
  watchedCpus: number[],
  results: Partial<Record<TargetName, Measurement>>,
  runs: Map<TargetName, Measurement[]>,
  busyBefore: number | null,
): void {
  const header = ['target', 'req/s', 'p50 ms', 'p99 ms', 'failed', 'server CPU', 'CPU us/req', ...watchedCpus.map((c) => `CPU${c} busy`)];
  const rows: string[][] = [];
  for (const name of s.targets) {
    const r = results[name];
    if (!r) continue;
    rows.push([
      name,
      String(Math.round(r.rps)),
      fmtMs(r.p50Ms),
      fmtMs(r.p99Ms),
      String(r.failures),
      r.serverCpuPct === null ? 'n/a' : `${Math.round(r.serverCpuPct)}%`,
      r.serverCpuUsPerReq === null ? 'n/a' : r.serverCpuUsPerReq.toFixed(1),
      ...watchedCpus.map((c) => (r.cpuBusyPct[String(c)] === undefined ? 'n/a' : `${Math.round(r.cpuBusyPct[String(c)]!)}%`)),
    ]);
  }
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log('');
  console.log(line(header));
  console.log(widths.map((w) => '-'.repeat(w)).join('  '));
  for (const r of rows) console.log(line(r));
  console.log('');
  for (const name of s.targets) if (results[name]) console.log(`  ${name.padEnd(15)} ${DESCRIPTIONS[name]}`);
  console.log('  server CPU: CPU time of the server under test (the proxy, or the origin for direct) / wall time;');
  console.log('  CPU us/req: the same CPU time per request. CPUn busy: all processes and the kernel on CPU n.');
  if (s.rounds > 1) {
    console.log('');
    for (const [name, ms] of runs) {
      const us = ms.map((m) => (m.serverCpuUsPerReq === null ? 'n/a' : m.serverCpuUsPerReq.toFixed(1)));
      console.log(`  ${name.padEnd(15)} req/s per round: ${ms.map((m) => Math.round(m.rps)).join(', ')}; CPU us/req: ${us.join(', ')} (median req/s shown)`);
    }
  }
  const failed = s.targets.filter((n) => (results[n]?.failures ?? 0) > 0);
  if (failed.length > 0) console.log(`\nWARNING: failed requests (errors, timeouts or non-2xx) for ${failed.join(', ')}: their req/s are not comparable.`);

  const ratio = (a: TargetName, b: TargetName): number | null => {
    const x = results[a];
    const y = results[b];
    return x && y && y.rps > 0 ? x.rps / y.rps : null;
  };
  const verdicts = [
    { name: 'anteroom / direct', value: ratio('anteroom', 'direct'), goal: GOALS.vsDirect },
    { name: 'anteroom / http-proxy', value: ratio('anteroom', 'http-proxy'), goal: GOALS.vsHttpProxy },
    { name: 'limits on / limits off', value: ratio('anteroom-limits', 'anteroom'), goal: GOALS.limitsVsNone },
    { name: 'redis store / memory store', value: ratio('anteroom-redis', 'anteroom-limits'), goal: GOALS.redisVsMemory },
  ];
  const info = [
    { name: 'anteroom-nolog / direct', value: ratio('anteroom-nolog', 'direct') },
    { name: 'anteroom-nolog / http-proxy', value: ratio('anteroom-nolog', 'http-proxy') },
    { name: 'anteroom / anteroom-nolog', value: ratio('anteroom', 'anteroom-nolog') },
    { name: 'undici-bare / direct', value: ratio('undici-bare', 'direct') },
    { name: 'anteroom / undici-bare', value: ratio('anteroom', 'undici-bare') },
    { name: 'undici-required / direct', value: ratio('undici-required', 'direct') },
    { name: 'undici-required / undici-bare', value: ratio('undici-required', 'undici-bare') },
    { name: 'anteroom / undici-required', value: ratio('anteroom', 'undici-required') },
  ];
  console.log('');
  for (const v of verdicts) {
    if (v.value === null) console.log(`${v.name.padEnd(30)} n/a (target not measured)`);
    else console.log(`${v.name.padEnd(30)} ${v.value.toFixed(2)}x   target >= ${v.goal.toFixed(2)}x   ${v.value >= v.goal ? 'PASS' : 'MISS'}`);
  }
  for (const v of info) if (v.value !== null) console.log(`${v.name.padEnd(30)} ${v.value.toFixed(2)}x   (for information)`);
  if (s.rounds > 1) {
    // Targets measured in the same round saw the same background load: their ratios are steadier
    // than a ratio of medians on a machine that something else is using.
    const perRound = (a: TargetName, b: TargetName): string | null => {
      const x = runs.get(a);
      const y = runs.get(b);
      if (!x || !y) return null;
      return x.map((m, i) => (y[i] && y[i]!.rps > 0 ? (m.rps / y[i]!.rps).toFixed(2) : 'n/a')).join(', ');
    };
    for (const [a, b] of [['anteroom', 'direct'], ['anteroom', 'http-proxy'], ['undici-bare', 'direct'], ['undici-required', 'direct']] as const) {
      const r = perRound(a, b);
      if (r !== null) console.log(`${`${a} / ${b}`.padEnd(30)} per round: ${r}`);
    }
  }

  const file = join(ARTIFACTS, 'bench.json');
  writeFileSync(
    file,
    `${JSON.stringify(
      {
        date: new Date().toISOString(),
        node: process.version,
        cpus: availableParallelism(),
        cpuModel: cpuList()[0]?.model ?? null,
        loadgen: s.loadgen,
        connections: s.connections,
        durationS: s.durationS,
        warmupS: s.warmupS,
        rounds: s.rounds,
        cpuBusyBeforePct: busyBefore,
        layout: { pinned: place.pinned, loadgenCpu: place.loadgen, serverCpu: place.server, originCpu: place.origin, explanation: place.explanation },
        results,
        allRuns: Object.fromEntries(runs),
        ratios: Object.fromEntries([...verdicts, ...info].map((v) => [v.name, v.value])),
        goals: Object.fromEntries(verdicts.map((v) => [v.name, { atLeast: v.goal, met: v.value === null ? null : v.value >= v.goal }])),
      },
      null,
      2,
    )}\n`,
  );
  console.log(`\nresults written to ${file}`);
}

// Nothing the bench started may outlive it, whatever way it ends.
let interrupted = false;
process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: stopping the bench processes`);
    void stopAll().finally(() => process.exit(130));
  });
}

main().then(
  () => stopAll(),
  async (err: unknown) => {
    // Once interrupted, the children die under the run that was in progress: that is no failure.
    if (interrupted) return;
    console.error(`bench failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
    await stopAll();
  },
);

/** Waits until a redis-server answers PING (raw RESP, no client library needed). */
async function waitForRedis(port: number): Promise<void> {
  const { connect } = await import('node:net');
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise<boolean>((resolve) => {
      const socket = connect(port, '127.0.0.1');
      socket.once('error', () => resolve(false));
      socket.once('data', (d) => {
        socket.destroy();
        resolve(d.toString().startsWith('+PONG'));
      });
      socket.write('PING\r\n');
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`redis-server on port ${port} did not answer PING (is redis-server installed?)`);
}

function redisInstalled(): boolean {
  return spawnSync('redis-server', ['--version'], { stdio: 'ignore' }).status === 0;
}
