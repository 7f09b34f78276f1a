/**
 * Runs one scenario against one proxy: a fresh origin process, the proxy configured for the scenario,
 * the scenario's clients in this process, then the origin's records and the clients' records turned
 * into the scenario's figures.
 */
import type { ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { freePort, processCpuSeconds, spawnTracked, stop, waitForListening } from '../bench/procs.js';
import { Recorder, seededRng, type Rng } from './clients.js';
import { fig } from './figures.js';
import { HttpClient } from './http.js';
import type { OriginOptions, OriginReport } from './origin.js';
import { findNginx, startAnteroom, startNginx, type ProxyName, type RunningProxy } from './proxies.js';

function repoRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json')) && dirname(dir) !== dir) dir = dirname(dir);
  return dir;
}

export const ROOT = repoRoot();
export const ARTIFACTS = join(ROOT, 'test-artifacts', 'load');
export const CLI = join(ROOT, 'dist/src/cli/main.js');
const ORIGIN = join(ROOT, 'dist/test/load/origin.js');

export const PG_URL = process.env['ANTEROOM_LOAD_PG_URL'] ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** What a scenario's configs may depend on, decided when its run starts. */
export interface ScenarioEnv {
  originUrl: string;
  originPort: number;
  proxyPort: number;
  adminPort: number;
  secret: string;
  pgUrl: string;
  /** PostgreSQL client sessions on the server before the run (other users of the server). */
  pgBaseline: number;
  /** 1 for the full scenario; the smoke test runs a small fraction. */
  scale: number;
}

export interface Driver {
  proxy: ProxyName;
  base: string;
  wsBase: string;
  http: HttpClient;
  rec: Recorder;
  rng: Rng;
  env: ScenarioEnv;
  t0: number;
  mark(name: string): void;
  /** Sends the origin a command (`set`, `restart`) and waits for its answer. */
  origin(msg: Record<string, unknown>): Promise<void>;
}

/** One number of a scenario's result, with how to print it. */
export interface Figure {
  key: string;
  label: string;
  value: number | null;
  text: string;
}

export interface RunData {
  proxy: ProxyName;
  env: ScenarioEnv;
  origin: OriginReport;
  rec: Recorder;
  marks: Record<string, number>;
  t0: number;
  t1: number;
}

export interface Scenario {
  id: string;
  title: string;
  /** One paragraph: what happens and what the figures mean. */
  summary: string;
  usesPostgres?: boolean;
  /** The in-flight limit drawn on the chart. */
  chartLimit?: number;
  origin(env: ScenarioEnv): OriginOptions;
  anteroom(env: ScenarioEnv): Record<string, unknown>;
  /** http-level nginx text (zones, upstream, server), with a comment saying why each limit is what it is. */
  nginx(env: ScenarioEnv): string;
  drive(d: Driver): Promise<void>;
  figures(run: RunData): Figure[];
}

export interface RunResult {
  proxy: ProxyName;
  figures: Figure[];
  data: RunData;
  files: string[];
}

/** Fails with what to do when the compiled CLI or origin is missing. */
export function ensureBuilt(): void {
  if (!existsSync(CLI) || !existsSync(ORIGIN)) throw new Error(`${CLI} or ${ORIGIN} is missing: run "npm run build" first`);
}

/** The seed of every run's PRNG: the same arrivals and jitter for both proxies. */
const SEED = Number(process.env['LOAD_SEED'] ?? 20_180_830);

/** Runs `scenario` against `proxy`; resolves with its figures. */
export async function runScenario(scenario: Scenario, proxy: ProxyName, opts: { scale?: number; pgBaseline?: number } = {}): Promise<RunResult> {
  ensureBuilt();
  const dir = join(ARTIFACTS, `${scenario.id}-${proxy}`);
  mkdirSync(dir, { recursive: true });
  const [originPort, proxyPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const env: ScenarioEnv = {
    originUrl: `http://127.0.0.1:${originPort}`,
    originPort,
    proxyPort,
    adminPort,
    secret: randomBytes(32).toString('base64url'),
    pgUrl: PG_URL,
    pgBaseline: opts.pgBaseline ?? 0,
    scale: opts.scale ?? 1,
  };

  const origin = startOrigin(scenario.origin(env), originPort);
  let running: RunningProxy | null = null;
  const http = new HttpClient(`http://127.0.0.1:${proxyPort}`);
  const rec = new Recorder();
  try {
    await origin.ready;
    running =
      proxy === 'anteroom'
        ? await startAnteroom(CLI, dir, scenario.anteroom(env), proxyPort)
        : await startNginx(findNginx()!, dir, scenario.nginx(env), proxyPort);

    const marks: Record<string, number> = {};
    await warmUp(http);
    const cpu0 = treeCpuSeconds(running.child.pid);
    const t0 = Date.now();
    rec.startSampling();
    await scenario.drive({
      proxy,
      base: running.url,
      wsBase: running.url.replace(/^http/, 'ws'),
      http,
      rec,
      rng: seededRng(SEED),
      env,
      t0,
      mark: (name) => (marks[name] = Date.now()),
      origin: origin.ask,
    });
    const t1 = Date.now();
    rec.stopSampling();
    const cpu1 = treeCpuSeconds(running.child.pid);
    const report = await origin.report(join(dir, 'origin-report.json'));
    writeFileSync(join(dir, 'clients.json'), JSON.stringify({ t0, t1, marks, visits: rec.visits, wsAttempts: rec.wsAttempts }));
    const data: RunData = { proxy, env, origin: report, rec, marks, t0, t1 };
    const proxyCpu = cpu0 === null || cpu1 === null ? null : cpu1 - cpu0;
    const figures = [
      ...scenario.figures(data),
      fig('proxyCpu', 'proxy CPU time during the run', proxyCpu, proxyCpu === null ? 'n/a' : `${proxyCpu.toFixed(1)} s of ${((t1 - t0) / 1000).toFixed(0)} s`),
    ];
    return { proxy, figures, data, files: running.files };
  } finally {
    rec.stopSampling();
    await http.close().catch(() => undefined);
    if (running) await running.stop();
    await origin.stop();
  }
}

/** The load origin in its own process, driven over IPC (see origin.ts). */
export interface RunningOrigin {
  child: ChildProcess;
  /** Resolves once it listens. */
  ready: Promise<number>;
  /** Sends the origin a command (`set`, `restart`) and waits for its answer. */
  ask(msg: Record<string, unknown>): Promise<void>;
  /** Has the origin write its records to `file` and reads them back. */
  report(file: string): Promise<OriginReport>;
  stop(): Promise<void>;
}

export function startOrigin(options: OriginOptions, port: number): RunningOrigin {
  const child = spawnTracked(process.execPath, [ORIGIN, JSON.stringify({ ...options, port })], {
    cpu: null,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
  });
  const ready = waitForListening(child, 'origin', 20_000);
  // Answers come in the order the commands were sent.
  const replies: ((msg: { type: string }) => void)[] = [];
  child.on('message', (msg: { type: string }) => replies.shift()?.(msg));
  const ask = (msg: Record<string, unknown>): Promise<void> =>
    new Promise((resolve, reject) => {
      if (!child.connected) return reject(new Error('the origin process has gone'));
      replies.push(() => resolve());
      child.send(msg);
    });
  return {
    child,
    ready,
    ask,
    async report(file) {
      await ask({ type: 'report', file });
      return JSON.parse(readFileSync(file, 'utf8')) as OriginReport;
    },
    stop: () => stop(child),
  };
}

/** CPU seconds of a process and its children (nginx's master and its worker); null without /proc. */
function treeCpuSeconds(pid: number | undefined): number | null {
  if (pid === undefined) return null;
  let total = processCpuSeconds(pid);
  if (total === null) return null;
  try {
    for (const child of readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)) {
      if (child !== '') total += treeCpuSeconds(Number(child)) ?? 0;
    }
  } catch {
    // No children file (an old kernel): the process alone.
  }
  return total;
}

/**
 * A few hundred plain requests before the clock starts, so that neither proxy is measured cold (V8
 * compiles anteroom's hot path on first use; nginx opens its upstream connections).
 */
export async function warmUp(http: HttpClient): Promise<void> {
  let next = 0;
  const one = async (): Promise<void> => {
    while (next < 200) {
      next++;
      await http.request('/__warmup', { headers: { 'x-tenant-id': 'warmup', 'x-api-key': 'warmup' }, timeoutMs: 5_000 });
    }
  };
  await Promise.all(Array.from({ length: 8 }, one));
}

/**
 * Holds PostgreSQL's connection-count lock (the one the control tests take) while `fn` runs, so that
 * test files counting sessions do not run under this load, and passes the client sessions on the
 * server once it is held.
 */
export async function withPostgres<T>(fn: (baseline: number) => Promise<T>): Promise<T> {
  const lock = new pg.Client({ connectionString: PG_URL, application_name: 'anteroom-load-lock' });
  lock.on('error', () => undefined);
  await lock.connect();
  try {
    await lock.query('select pg_advisory_lock(6006)');
    const r = await lock.query<{ n: number }>(`select count(*)::int as n from pg_stat_activity where backend_type = 'client backend'`);
    return await fn(r.rows[0]!.n);
  } finally {
    await lock.end().catch(() => undefined);
  }
}
