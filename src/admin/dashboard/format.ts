/**
 * What the dashboard says about the numbers it polls: ages, signal values and verdicts, the tenant
 * order, the polling backoff.
 *
 * Each function here is self-contained (no imports, no closures, no nested functions; it may call the
 * others by name) because the page script embeds their source with `Function.prototype.toString`, and
 * the tests run the same functions in Node. Keep them that way.
 */

/** The parts of a signal the verdict reads (the shape of `GET /status` upstreams[].signals[]). */
export interface SignalReading {
  name: string;
  value: number | null;
  threshold: number | null;
  shedThreshold?: number | null;
  state: string;
  quiet?: boolean;
}

/** The parts of a tenant row the order reads (`GET /status` tenants[]). */
export interface TenantRow {
  tenant: string;
  mode: string;
  waiting: { total: number };
  admittedSessions: number;
  inFlight: number;
  refusals: Record<string, number>;
}

export type TenantSortKey = 'tenant' | 'mode' | 'waiting' | 'sessions' | 'inFlight' | 'refusals';

/** An age or a duration: "0.4 s" (tenths under 10 s), "12 s", "3 min 4 s", "2 h 5 min"; "never" for none. */
export function formatAge(ms: number | null | undefined): string {
  if (typeof ms !== 'number' || !Number.isFinite(ms)) return 'never';
  const t = Math.max(0, ms);
  if (t < 9950) return (Math.round(t / 100) / 10).toFixed(1) + ' s';
  const s = Math.round(t / 1000);
  if (s < 60) return s + ' s';
  if (s < 3600) return Math.floor(s / 60) + ' min ' + (s % 60) + ' s';
  return Math.floor(s / 3600) + ' h ' + Math.floor((s % 3600) / 60) + ' min';
}

/** A count with thousands separators ("12,345"); fractions keep up to two decimals; "—" for none. */
export function formatNumber(n: number | null | undefined): string {
  if (typeof n !== 'number' || !Number.isFinite(n)) return '—';
  return n.toLocaleString('en-US', { maximumFractionDigits: 2 });
}

/** A signal's reading in its unit: latencies in ms, the error rate in %, the probe in failures, counts bare. */
export function formatSignalValue(name: string, value: number | null | undefined): string {
  if (typeof value !== 'number' || !Number.isFinite(value)) return '—';
  if (name.indexOf('latency') === 0 || name === 'eventLoopDelay') {
    return (value < 10 ? Math.round(value * 10) / 10 : Math.round(value)).toLocaleString('en-US') + ' ms';
  }
  if (name === 'errorRate') return (Math.round(value * 1000) / 10).toFixed(1) + ' %';
  if (name === 'probe') return value === 1 ? '1 failure' : formatNumber(value) + ' failures';
  return formatNumber(value);
}

/**
 * Where a signal stands, worst first: `unknown` (no reading: a failed or stale poll), `shed` (over its
 * shedding threshold), `over` (over its engage threshold), `quiet` (no reading for want of traffic: no
 * evidence either way), `unused` (shown, never acted on), `ok`.
 */
export function signalLevel(s: SignalReading): 'unknown' | 'shed' | 'over' | 'quiet' | 'unused' | 'ok' {
  if (s.value === null || s.state === 'unknown') return s.quiet === true ? 'quiet' : 'unknown';
  if (typeof s.shedThreshold === 'number' && s.value > s.shedThreshold) return 'shed';
  if (s.state === 'over') return 'over';
  if (s.threshold === null) return 'unused';
  return 'ok';
}

/** The words for a signal level, in capitals where an operator must look. */
export function signalLevelText(level: string): string {
  switch (level) {
    case 'unknown':
      return 'UNKNOWN';
    case 'shed':
      return 'OVER SHED LEVEL';
    case 'over':
      return 'OVER';
    case 'quiet':
      return 'no data (no traffic)';
    case 'unused':
      return 'shown only';
    default:
      return 'ok';
  }
}

/** An upstream's state in words with a shape, so that it never rests on color alone. */
export function stateText(state: string | null | undefined): string {
  switch (state) {
    case 'open':
      return '● OPEN';
    case 'queueing':
      return '▲ QUEUEING';
    case 'shedding':
      return '■ SHEDDING';
    default:
      return '○ NO CONTROLLER';
  }
}

/** Refusals since start, all codes together. */
export function refusalTotal(refusals: Record<string, number> | null | undefined): number {
  let total = 0;
  if (refusals === null || typeof refusals !== 'object') return 0;
  for (const code of Object.keys(refusals)) {
    const n = refusals[code];
    if (typeof n === 'number' && Number.isFinite(n)) total += n;
  }
  return total;
}

/** Orders tenant rows by a column; ties by tenant id, so the order is stable from one poll to the next. */
export function compareTenants(a: TenantRow, b: TenantRow, key: TenantSortKey, dir: 'asc' | 'desc'): number {
  let d = 0;
  if (key === 'waiting') d = a.waiting.total - b.waiting.total;
  else if (key === 'sessions') d = a.admittedSessions - b.admittedSessions;
  else if (key === 'inFlight') d = a.inFlight - b.inFlight;
  else if (key === 'refusals') d = refusalTotal(a.refusals) - refusalTotal(b.refusals);
  else if (key === 'mode') d = a.mode < b.mode ? -1 : a.mode > b.mode ? 1 : 0;
  if (dir === 'desc') d = -d;
  if (d !== 0) return d;
  const byName = a.tenant < b.tenant ? -1 : a.tenant > b.tenant ? 1 : 0;
  return key === 'tenant' && dir === 'desc' ? -byName : byName;
}

/**
 * Milliseconds until the next poll: `baseMs` while the admin API answers; after failures it doubles
 * per failure up to 30 s, so that a dashboard left open through an outage does not hammer the
 * listener as it comes back.
 */
export function pollDelay(baseMs: number, failures: number): number {
  if (failures <= 0) return baseMs;
  return Math.max(baseMs, Math.min(baseMs * Math.pow(2, Math.min(failures, 16)), 30000));
}

/** Whether the admin API accepts this as a tenant id in a path (the room modes); see identity/schema.ts. */
export function isTenantId(id: string): boolean {
  return /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/.test(id);
}
