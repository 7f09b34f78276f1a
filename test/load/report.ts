/**
 * What `npm run load -- all` (or `-- report`) leaves in the repository: the results table in README.md,
 * between its load markers, and the chart of the registration spike (scenario 003) as a PNG.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import type { ChartData } from './chartData.js';
import { ARTIFACTS, ROOT, type Figure } from './harness.js';
import { svgToPng } from './png.js';
import type { ProxyName } from './proxies.js';
import { chartHeight, chartSvg, niceMax, type ChartSpec, type Panel } from './svg.js';
import { markdownTable } from './table.js';

/** One scenario's results as written to test-artifacts/load/<id>.json. */
export interface SavedScenario {
  id: string;
  title: string;
  summary: string;
  date: string;
  scale: number;
  /** busyBeforePct: how busy the CPUs were (everything running, %) in the second before the scenario. */
  machine: { node: string; cpus: number; cpuModel: string | null; busyBeforePct?: number | null };
  figures: Partial<Record<ProxyName, Figure[]>>;
  chart: Partial<Record<ProxyName, ChartData>>;
  files: Partial<Record<ProxyName, string[]>>;
}

export const README_BEGIN = '<!-- load-results:begin (written by `npm run load -- all`; edits here are overwritten) -->';
export const README_END = '<!-- load-results:end -->';
export const CHART_FILE = join(ROOT, 'docs', 'load', 'spike.png');

/** The figures of each scenario that go into the README; the full tables are in the JSON files. */
const HEADLINES: Record<string, string[]> = {
  '000': ['cap', 'capWindow', 'peakOriginUpgrades', 'peakAttempts', 't100'],
  '001': ['othersP99Before', 'othersP99During', 'floodJobs'],
  '002': ['keptP99', 'shed', 'kept'],
  '003': ['inflightVsLimit', 'goodput', 'lost', 'tau'],
  '004': ['firstSecond', 'peakAfterRecovery', 'limit', 'failed'],
};

const PROXIES: ProxyName[] = ['anteroom', 'nginx'];

export function readmeTable(saved: SavedScenario[]): string {
  const body: string[][] = [];
  for (const s of saved) {
    let first = true;
    for (const key of HEADLINES[s.id] ?? []) {
      const any = PROXIES.map((p) => s.figures[p]?.find((f) => f.key === key)).find((f) => f !== undefined);
      if (any === undefined) continue;
      body.push([first ? `${s.id} ${s.title}` : '', any.label, ...PROXIES.map((p) => s.figures[p]?.find((f) => f.key === key)?.text ?? 'not run')]);
      first = false;
    }
  }
  return markdownTable(['incident', 'figure', ...PROXIES], body);
}

/** The spike chart: one panel per proxy, the same scales in both. */
export function spikeChart(s: SavedScenario): ChartSpec {
  const runs = PROXIES.filter((p) => s.chart[p] !== undefined).map((p) => [p, s.chart[p]!] as const);
  const maxOf = (pick: (c: ChartData) => [number, number][]): number => Math.max(0, ...runs.flatMap(([, c]) => pick(c).map((p) => p[1])));
  const limit = runs.find(([, c]) => c.limit !== null)?.[1].limit ?? null;
  const leftMax = niceMax(Math.max(maxOf((c) => c.inflight), maxOf((c) => c.pgSessions), limit ?? 0));
  const rightMax = niceMax(maxOf((c) => c.arrivalsPerS));
  const waitMax = niceMax(maxOf((c) => c.waiting));
  const xMax = Math.max(...runs.map(([, c]) => c.durationS));
  const first = runs[0]?.[1];
  const panels: Panel[] = runs.map(([proxy, c]) => ({
    title: proxy === 'anteroom' ? 'anteroom' : 'nginx (limit_req + limit_conn)',
    plots: [
      {
        yLabel: 'in flight / sessions',
        rightLabel: 'arrivals per second',
        yMax: leftMax,
        rightMax,
        hLines: limit === null ? [] : [{ y: limit, label: `limit (${limit})`, color: '#c62828' }],
        series: [
          { name: 'in flight at the origin', color: '#1565c0', points: c.inflight },
          ...(c.pgSessions.length > 0 ? [{ name: 'PostgreSQL sessions of the origin', color: '#2e7d32', points: c.pgSessions, dash: '5 3' }] : []),
          { name: 'arrivals at the origin per s (right)', color: '#ef6c00', points: c.arrivalsPerS, right: true },
        ],
      },
      { yLabel: 'clients waiting', yMax: waitMax, series: [{ name: 'clients waiting (begun, not yet at the origin)', color: '#6a1b9a', points: c.waiting }] },
    ],
  }));
  return {
    title: `${s.id}: ${s.title}`,
    subtitle: `npm run load -- ${s.id} · ${s.date.slice(0, 10)} · ${s.machine.cpus} CPUs · node ${s.machine.node}`,
    xLabel: 'seconds since the start of the run',
    xMax,
    panels,
    markers: first
      ? [
          ...(first.marks['spikeStart'] !== undefined ? [{ x: first.marks['spikeStart'], label: 'spike' }] : []),
          ...(first.marks['spikeEnd'] !== undefined ? [{ x: first.marks['spikeEnd'], label: 'spike ends' }] : []),
        ]
      : [],
  };
}

export function replaceBetweenMarkers(readme: string, content: string): string {
  const a = readme.indexOf(README_BEGIN);
  const b = readme.indexOf(README_END);
  if (a === -1 || b === -1 || b < a) throw new Error(`README.md has no load results markers: add a line "${README_BEGIN}" and, below it, "${README_END}"`);
  return `${readme.slice(0, a + README_BEGIN.length)}\n${content}\n${readme.slice(b)}`;
}

export async function writeReport(saved: SavedScenario[]): Promise<void> {
  const spike = saved.find((s) => s.id === '003');
  const lines: string[] = [];
  const date = saved.map((s) => s.date).sort().at(-1)?.slice(0, 10) ?? '';
  const m = saved[0]?.machine;
  const busy = saved.map((s) => s.machine.busyBeforePct).filter((b): b is number => typeof b === 'number');
  const shared = busy.length > 0 && Math.max(...busy) > 25 ? ` (shared: other work kept the CPUs ${Math.round(Math.min(...busy))}–${Math.round(Math.max(...busy))}% busy before the scenarios started)` : '';
  lines.push(`Measured ${date} on ${m?.cpus ?? '?'} CPUs (${m?.cpuModel ?? 'unknown'})${shared}, node ${m?.node ?? '?'}, anteroom and nginx in the same run:`);
  lines.push('');
  lines.push(readmeTable(saved));
  if (spike) {
    const spec = spikeChart(spike);
    const svg = chartSvg(spec);
    const svgFile = join(ARTIFACTS, 'spike.svg');
    writeFileSync(svgFile, svg);
    mkdirSync(dirname(CHART_FILE), { recursive: true });
    await svgToPng(svg, spec.width ?? 960, chartHeight(spec), CHART_FILE);
    lines.push('');
    lines.push(`![${spike.id}: origin load and clients waiting during the registration spike, anteroom above, nginx below](${relative(ROOT, CHART_FILE)})`);
    console.log(`chart: ${CHART_FILE}`);
  }
  const readmeFile = join(ROOT, 'README.md');
  writeFileSync(readmeFile, replaceBetweenMarkers(readFileSync(readmeFile, 'utf8'), lines.join('\n')));
  console.log(`README.md: results table rewritten`);
}
