/**
 * `npm run load -- <scenario|all|report> [--proxy anteroom|nginx|both] [--scale F]`
 * `npm run load -- soak [--minutes N] [--step-s S] [--heap-snapshots]`
 *
 * Replays the incidents in /incidents (000-004) against anteroom and against nginx configured as an
 * operator would, in the same run, and prints one table per scenario. Every process (origin, proxy)
 * is a child of this one; the clients run here; all traffic stays on 127.0.0.1. Results go to
 * test-artifacts/load/<scenario>.json. `all` runs every scenario, then rewrites the results table
 * in README.md (between its load markers) and the spike chart; `report` does only that, from the
 * JSON files of earlier runs. `soak` runs anteroom alone under mixed traffic with the room's mode
 * changed every step (soak.ts) and prints its memory and descriptor figures against the targets.
 *
 * The numbers are a measurement, not a test: the exit code is 0 whatever they say.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { cpuTimes, killAllNow, stopAll } from '../bench/procs.js';
import { ARTIFACTS, runScenario, withPostgres, type Figure, type RunResult, type Scenario } from './harness.js';
import { findNginx, NGINX_MISSING, type ProxyName } from './proxies.js';
import { writeReport, type SavedScenario } from './report.js';
import { chartData } from './chartData.js';
import { SCENARIOS } from './scenarios/index.js';
import { FULL_RUN, runSoak, soakSummary, writeSoak } from './soak.js';
import { textTable } from './table.js';

const USAGE = `usage: npm run load -- <${Object.keys(SCENARIOS).join('|')}|all|report> [--proxy anteroom|nginx|both] [--scale F]
       npm run load -- soak [--minutes N] [--step-s S] [--heap-snapshots]   (default 30 minutes, a mode step every 60 s)`;

/** A mistake on the command line: its message is all the user needs. */
class UsageError extends Error {}

interface Args {
  what: string;
  proxies: ProxyName[];
  scale: number;
  minutes: number;
  stepS: number;
  heapSnapshots: boolean;
}

function parse(argv: string[]): Args {
  const what = argv[0];
  if (what === undefined || what === '--help' || what === '-h') throw new UsageError(USAGE);
  if (what === 'soak') return parseSoak(argv.slice(1));
  if (what !== 'all' && what !== 'report' && !(what in SCENARIOS)) throw new UsageError(`unknown scenario "${what}"\n${USAGE}`);
  let proxies: ProxyName[] = ['anteroom', 'nginx'];
  let scale = 1;
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--proxy') {
      const v = argv[++i];
      if (v === 'both') proxies = ['anteroom', 'nginx'];
      else if (v === 'anteroom' || v === 'nginx') proxies = [v];
      else throw new UsageError(`--proxy expects anteroom, nginx or both (got ${v ?? 'nothing'})`);
    } else if (a === '--scale') {
      scale = Number(argv[++i]);
      if (!(scale > 0 && scale <= 1)) throw new UsageError(`--scale expects a number in (0, 1] (got ${argv[i] ?? 'nothing'})`);
    } else throw new UsageError(`unknown argument "${a}"\n${USAGE}`);
  }
  return { what, proxies, scale, minutes: 0, stepS: 0, heapSnapshots: false };
}

function parseSoak(argv: string[]): Args {
  let minutes = 30;
  let stepS = FULL_RUN.stepMs / 1000;
  let heapSnapshots = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--minutes') {
      minutes = Number(argv[++i]);
      if (!(minutes > 0)) throw new UsageError(`--minutes expects a positive number (got ${argv[i] ?? 'nothing'})`);
    } else if (a === '--step-s') {
      stepS = Number(argv[++i]);
      if (!(stepS >= 1)) throw new UsageError(`--step-s expects a number of seconds, at least 1 (got ${argv[i] ?? 'nothing'})`);
    } else if (a === '--heap-snapshots') heapSnapshots = true;
    else throw new UsageError(`unknown argument "${a}"\n${USAGE}`);
  }
  return { what: 'soak', proxies: ['anteroom'], scale: 1, minutes, stepS, heapSnapshots };
}

async function soak(args: Args): Promise<void> {
  const durationMs = Math.round(args.minutes * 60_000);
  console.log(`== soak: anteroom under mixed traffic at about half the origin's capacity for ${args.minutes} min, the room's mode changed every ${args.stepS} s`);
  const busy = await machineBusy();
  if (busy !== null && busy > 25) console.log(`WARNING: the CPUs were ${Math.round(busy)}% busy before the soak started: something else is running.`);
  const r = await runSoak({ ...FULL_RUN, durationMs, stepMs: args.stepS * 1000, heapSnapshots: args.heapSnapshots, log: (line) => console.log(line) });
  console.log('');
  console.log(soakSummary(r));
  console.log(`\nresults: ${writeSoak(r)}`);
}

/** Runs one scenario against each proxy in turn (both see the same seeded arrivals). */
async function runOne(s: Scenario, proxies: ProxyName[], scale: number, nginx: string | null): Promise<SavedScenario> {
  console.log(`\n== ${s.id}: ${s.title}`);
  console.log(wrap(s.summary));
  const busyBefore = await machineBusy();
  if (busyBefore !== null && busyBefore > 25) {
    console.log(`WARNING: the CPUs were ${Math.round(busyBefore)}% busy before this scenario started: something else is running, and the figures will be noisier than on a quiet machine.`);
  }
  const results: Partial<Record<ProxyName, RunResult>> = {};
  const go = async (pgBaseline: number): Promise<void> => {
    for (const proxy of proxies) {
      if (proxy === 'nginx' && nginx === null) continue;
      process.stdout.write(`  ${proxy}: running...`);
      const t = Date.now();
      results[proxy] = await runScenario(s, proxy, { scale, pgBaseline });
      process.stdout.write(` ${((Date.now() - t) / 1000).toFixed(0)} s\n`);
    }
  };
  if (s.usesPostgres) await withPostgres(go);
  else await go(0);

  const columns = proxies.map((p) => ({
    name: p,
    figures: results[p]?.figures ?? null,
    missing: p === 'nginx' && nginx === null ? 'nginx not installed' : 'not run',
  }));
  console.log('');
  console.log(textTable(columns));
  const saved: SavedScenario = {
    id: s.id,
    title: s.title,
    summary: s.summary,
    date: new Date().toISOString(),
    scale,
    machine: { node: process.version, cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? null, busyBeforePct: busyBefore },
    figures: Object.fromEntries(Object.entries(results).map(([p, r]) => [p, r.figures])) as Partial<Record<ProxyName, Figure[]>>,
    chart: Object.fromEntries(Object.entries(results).map(([p, r]) => [p, chartData(s, r.data)])),
    files: Object.fromEntries(Object.entries(results).map(([p, r]) => [p, r.files])),
  };
  const file = join(ARTIFACTS, `${s.id}.json`);
  writeFileSync(file, `${JSON.stringify(saved, null, 2)}\n`);
  console.log(`\nresults: ${file}`);
  return saved;
}

/** How busy the CPUs are (all processes, %) over one second with nothing of ours running; null without /proc. */
async function machineBusy(): Promise<number | null> {
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

/** The soft limit on open files this process inherited (a child shell reports the same), or null. */
function openFileLimit(): number | null {
  const r = spawnSync('sh', ['-c', 'ulimit -n'], { encoding: 'utf8' });
  const n = Number(r.stdout?.trim());
  return Number.isFinite(n) ? n : null;
}

function wrap(text: string, width = 100): string {
  const out: string[] = [];
  let line = '';
  for (const word of text.split(/\s+/)) {
    if (line !== '' && line.length + word.length + 1 > width) {
      out.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') out.push(line);
  return out.join('\n');
}

async function main(): Promise<void> {
  const args = parse(process.argv.slice(2));
  mkdirSync(ARTIFACTS, { recursive: true });
  if (args.what === 'soak') return soak(args);
  if (args.what === 'report') {
    const saved = Object.keys(SCENARIOS).map((id) => JSON.parse(readFileSync(join(ARTIFACTS, `${id}.json`), 'utf8')) as SavedScenario);
    await writeReport(saved);
    return;
  }
  const fds = openFileLimit();
  if (fds !== null && fds < 12_000) console.log(`WARNING: this process may open only ${fds} files; scenario 000 holds about 5,000 websockets here and twice that in each proxy. Raise it with \`ulimit -n\` (npm run load raises it to the hard limit).`);
  const nginx = args.proxies.includes('nginx') ? findNginx() : null;
  if (args.proxies.includes('nginx') && nginx === null) console.log(NGINX_MISSING);
  const ids = args.what === 'all' ? Object.keys(SCENARIOS) : [args.what];
  const saved: SavedScenario[] = [];
  for (const id of ids) saved.push(await runOne(SCENARIOS[id]!, args.proxies, args.scale, nginx));
  if (args.what === 'all') await writeReport(saved);
}

// Nothing this run started may outlive it, whatever way it ends.
let interrupted = false;
process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (interrupted) return;
    interrupted = true;
    console.error(`\n${signal}: stopping the load processes`);
    void stopAll().finally(() => process.exit(130));
  });
}

main().then(
  () => stopAll(),
  async (err: unknown) => {
    if (interrupted) return;
    console.error(err instanceof UsageError ? err.message : `load failed: ${(err as Error).stack ?? String(err)}`);
    process.exitCode = 1;
    await stopAll();
  },
);
