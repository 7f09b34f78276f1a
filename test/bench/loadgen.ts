/**
 * The load generator, always in its own process so it never shares an event loop with what it
 * measures: autocannon's CLI (an npm dependency, so it is always there) or wrk when asked for and
 * installed (`BENCH_LOADGEN=wrk`; less CPU per request and microsecond latencies).
 */
import { spawnSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { spawnTracked } from './procs.js';

export type LoadgenKind = 'autocannon' | 'wrk';

export interface LoadResult {
  requests: number;
  durationS: number;
  rps: number;
  p50Ms: number;
  p99Ms: number;
  /** Connection errors, timeouts and non-2xx answers: any of these makes the numbers suspect. */
  failures: number;
}

export interface LoadOptions {
  url: string;
  connections: number;
  durationS: number;
  cpu: number | null;
}

export function wrkInstalled(): boolean {
  return spawnSync('wrk', ['--version'], { stdio: 'ignore' }).error === undefined;
}

export function runLoad(kind: LoadgenKind, options: LoadOptions): Promise<LoadResult> {
  return kind === 'wrk' ? runWrk(options) : runAutocannon(options);
}

const autocannonCli = createRequire(import.meta.url).resolve('autocannon/autocannon.js');

async function runAutocannon(o: LoadOptions): Promise<LoadResult> {
  const args = [autocannonCli, '-c', String(o.connections), '-d', String(o.durationS), '-j', '-n', o.url];
  const out = await capture(process.execPath, args, o.cpu);
  const r = JSON.parse(out) as {
    duration: number;
    errors: number;
    timeouts: number;
    non2xx: number;
    latency: { p50: number; p99: number };
    requests: { total: number };
  };
  return {
    requests: r.requests.total,
    durationS: r.duration,
    rps: r.requests.total / r.duration,
    // autocannon records latencies in whole milliseconds.
    p50Ms: r.latency.p50,
    p99Ms: r.latency.p99,
    failures: r.errors + r.timeouts + r.non2xx,
  };
}

async function runWrk(o: LoadOptions): Promise<LoadResult> {
  const out = await capture('wrk', ['-t1', `-c${o.connections}`, `-d${o.durationS}s`, '--latency', o.url], o.cpu);
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? NaN);
  const requests = num(/(\d+) requests in/);
  const m = /requests in ([\d.]+)(us|ms|s|m),/.exec(out);
  const durationS = m ? toMs(Number(m[1]), m[2]!) / 1000 : o.durationS;
  const failures =
    (num(/Non-2xx or 3xx responses: (\d+)/) || 0) +
    [...out.matchAll(/(?:connect|read|write|timeout) (\d+)/g)].reduce((a, x) => a + Number(x[1]), 0);
  return { requests, durationS, rps: requests / durationS, p50Ms: wrkPercentile(out, '50'), p99Ms: wrkPercentile(out, '99'), failures };
}

function wrkPercentile(out: string, p: string): number {
  const m = new RegExp(`^\\s*${p}(?:\\.0+)?%\\s+([\\d.]+)(us|ms|s|m)\\s*$`, 'm').exec(out);
  return m ? toMs(Number(m[1]), m[2]!) : NaN;
}

function toMs(v: number, unit: string): number {
  return unit === 'us' ? v / 1000 : unit === 'ms' ? v : unit === 's' ? v * 1000 : v * 60_000;
}

function capture(command: string, args: string[], cpu: number | null): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawnTracked(command, args, { cpu, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (err += c.toString()));
    child.once('error', reject);
    child.once('exit', (code, signal) => {
      if (code === 0) resolve(out);
      else reject(new Error(`${command} failed (${signal ?? `code ${code}`}): ${err.trim().slice(0, 500)}`));
    });
  });
}
