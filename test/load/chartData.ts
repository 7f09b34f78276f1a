/**
 * The time series a run keeps for its chart, in seconds from the run's start: requests in flight at
 * the origin (the most in each 250 ms), arrivals at the origin per second, clients waiting (visits
 * begun and not yet at the origin), and PostgreSQL sessions of the origin where it has any.
 */
import { firstArrivals, waitingSeries } from './figures.js';
import type { RunData, Scenario } from './harness.js';
import { countPerBin } from './stats.js';

export interface ChartData {
  /** Seconds from the start of the run. */
  durationS: number;
  limit: number | null;
  marks: Record<string, number>;
  inflight: [number, number][];
  arrivalsPerS: [number, number][];
  waiting: [number, number][];
  pgSessions: [number, number][];
}

const STEP_MS = 250;

export function chartData(s: Scenario, run: RunData): ChartData {
  const t0 = run.t0;
  const t1 = run.t1;
  const rel = (t: number): number => Math.round((t - t0) / 10) / 100;
  const o = run.origin;

  const inflight: [number, number][] = [];
  const pgSessions: [number, number][] = [];
  for (let start = t0; start < t1; start += STEP_MS) {
    let max = -1;
    let pgMax = -1;
    for (let i = 0; i < o.samples.t.length; i++) {
      const t = o.samples.t[i]!;
      if (t < start || t >= start + STEP_MS) continue;
      max = Math.max(max, o.samples.inflight[i]!);
      pgMax = Math.max(pgMax, o.samples.pgOrigin[i]!);
    }
    if (max >= 0) inflight.push([rel(start), max]);
    if (pgMax >= 0 && o.options.pg) pgSessions.push([rel(start), pgMax]);
  }

  // Arrivals per second, over a 1 s window moved in 250 ms steps: smooth enough to read, fine enough to show a burst.
  const bins = countPerBin(o.arrivals.t, t0, t1, STEP_MS);
  const arrivalsPerS: [number, number][] = [];
  const per = 1_000 / STEP_MS;
  for (let i = 0; i < bins.length; i++) {
    let sum = 0;
    for (let j = Math.max(0, i - per + 1); j <= i; j++) sum += bins[j]!;
    arrivalsPerS.push([rel(t0 + (i + 1) * STEP_MS), sum]);
  }

  const w = waitingSeries(run.rec.visits, firstArrivals(o), t0, t1, STEP_MS);
  const waiting: [number, number][] = w.t.map((t, i) => [rel(t), w.v[i]!]);

  return {
    durationS: (t1 - t0) / 1000,
    limit: s.chartLimit ?? null,
    marks: Object.fromEntries(Object.entries(run.marks).map(([k, t]) => [k, rel(t)])),
    inflight,
    arrivalsPerS,
    waiting,
    pgSessions,
  };
}
