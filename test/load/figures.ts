/**
 * Figures the scenarios share, computed from the origin's records and the clients' records, and the
 * way numbers are printed.
 */
import type { Visit } from './clients.js';
import type { Figure, RunData } from './harness.js';
import type { OriginReport } from './origin.js';
import { busiestWindow, kendallTau, percentile } from './stats.js';

export function fig(key: string, label: string, value: number | null, text?: string): Figure {
  return { key, label, value, text: text ?? (value === null || Number.isNaN(value) ? 'n/a' : formatNumber(value)) };
}

export function formatNumber(v: number): string {
  if (!Number.isFinite(v)) return String(v);
  if (Number.isInteger(v)) return v.toLocaleString('en-US');
  return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(Math.abs(v) >= 10 ? 1 : 2);
}

export const ms = (v: number): string => (Number.isNaN(v) ? 'n/a' : `${formatNumber(Math.round(v))} ms`);
export const pct = (v: number): string => (Number.isNaN(v) ? 'n/a' : `${(100 * v).toFixed(1)}%`);

/** The most requests in flight at the origin in [from, to) (100 ms samples). */
export function originInflightMax(o: OriginReport, from = -Infinity, to = Infinity): number {
  let max = 0;
  const s = o.samples;
  for (let i = 0; i < s.t.length; i++) if (s.t[i]! >= from && s.t[i]! < to) max = Math.max(max, s.inflight[i]!);
  return max;
}

/** The largest value of a 100 ms sample column in [from, to). */
export function sampleMax(o: OriginReport, column: keyof OriginReport['samples'], from = -Infinity, to = Infinity): number {
  let max = 0;
  const s = o.samples;
  for (let i = 0; i < s.t.length; i++) if (s.t[i]! >= from && s.t[i]! < to) max = Math.max(max, s[column][i]!);
  return max;
}

/** Arrival times at the origin that match `pick` (by index into the arrival columns). */
export function arrivalTimes(o: OriginReport, pick: (i: number) => boolean = () => true): number[] {
  const out: number[] = [];
  for (let i = 0; i < o.arrivals.t.length; i++) if (pick(i)) out.push(o.arrivals.t[i]!);
  return out;
}

/** The busiest second at the origin: most arrivals in any 1 s window starting in [from, to). */
export function peakPerSecond(times: number[], from = -Infinity, to = Infinity): number {
  return busiestWindow(times, 1_000, from, to).count;
}

/** Visits that started in [from, to). */
export function visitsIn(visits: readonly Visit[], from: number, to: number, pick: (v: Visit) => boolean = () => true): Visit[] {
  return visits.filter((v) => v.start >= from && v.start < to && pick(v));
}

/** p99 of the time visits took (first attempt to answer), successful ones only. */
export function p99(visits: readonly Visit[]): number {
  return percentile(
    visits.filter((v) => v.ok).map((v) => v.end - v.start),
    99,
  );
}

export function p50(visits: readonly Visit[]): number {
  return percentile(
    visits.filter((v) => v.ok).map((v) => v.end - v.start),
    50,
  );
}

/** When each visit first reached the origin (by its x-load-client id). */
export function firstArrivals(o: OriginReport): Map<string, number> {
  const first = new Map<string, number>();
  const a = o.arrivals;
  for (let i = 0; i < a.t.length; i++) {
    const id = a.client[i]!;
    if (id !== '' && !first.has(id)) first.set(id, a.t[i]!);
  }
  return first;
}

/**
 * FIFO fidelity: Kendall's tau between the order in which visits arrived (their first attempt) and the
 * order in which they were let through to the origin, per tenant, over the visits that reached it;
 * the tenants' taus weighted by their number of visits.
 */
export function fifoTau(visits: readonly Visit[], first: Map<string, number>): number {
  const byTenant = new Map<string, { x: number[]; y: number[] }>();
  for (const v of visits) {
    const at = first.get(v.id);
    if (at === undefined) continue;
    let e = byTenant.get(v.tenant);
    if (!e) byTenant.set(v.tenant, (e = { x: [], y: [] }));
    e.x.push(v.start);
    e.y.push(at);
  }
  let sum = 0;
  let n = 0;
  for (const { x, y } of byTenant.values()) {
    const tau = kendallTau(x, y);
    if (Number.isNaN(tau)) continue;
    sum += tau * x.length;
    n += x.length;
  }
  return n === 0 ? NaN : sum / n;
}

/**
 * Clients waiting over time, every `stepMs`: visits begun and not yet let through to the origin (nor
 * given up). The same definition for every proxy: a place in a waiting room, a held request and a
 * person about to reload an error page all count.
 */
export function waitingSeries(visits: readonly Visit[], first: Map<string, number>, from: number, to: number, stepMs: number): { t: number[]; v: number[] } {
  const n = Math.ceil((to - from) / stepMs);
  const delta = new Array<number>(n + 1).fill(0);
  const slot = (t: number): number => Math.min(n, Math.max(0, Math.floor((t - from) / stepMs)));
  for (const v of visits) {
    const until = first.get(v.id) ?? v.end;
    if (until <= v.start) continue;
    delta[slot(v.start)]!++;
    delta[slot(until)]!--;
  }
  const out = { t: [] as number[], v: [] as number[] };
  let level = 0;
  for (let i = 0; i < n; i++) {
    level += delta[i]!;
    out.t.push(from + i * stepMs);
    out.v.push(level);
  }
  return out;
}

/** Answers from the proxy that were not the resource, by kind, e.g. "429: 1,234, 503: 56". */
export function refusalSummary(visits: readonly Visit[]): string {
  const total = visits.reduce((a, v) => a + v.refusals, 0);
  return formatNumber(total);
}

export function relative(run: RunData, t: number): number {
  return (t - run.t0) / 1000;
}
