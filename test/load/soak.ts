/**
 * The soak: anteroom under mixed traffic at about half the origin's capacity for a long time, with
 * the room's mode changed through the admin API at every step, while its memory and open file
 * descriptors are watched. `npm run load -- soak [--minutes N]` runs it for 30 minutes (a step a
 * minute); test/load/soak.test.ts runs 48 s of it with a step every 8 s.
 *
 * - The origin (origin.ts) serves WORKERS requests at a time, SERVICE_MS each: CAPACITY a second.
 * - anteroom runs from the CLI as deployed (memory store, the room, token buckets, three tenants, a
 *   websocket route), plus `--expose-gc` and a test-only module (soakProbe.ts) that runs a full
 *   collection when asked over IPC, so that heap figures count what the proxy keeps alive.
 * - The clients are the load harness's own (clients.ts): browsers following the waiting room, API
 *   clients honouring Retry-After with their tickets, one tenant's job runner going past its client
 *   bucket (429s), websockets that stay open and reconnect whenever they are closed. Browsers and API
 *   clients come from a fixed population of users and keys, as a site's do.
 * - Every answer a client gets is classified (soakTraffic.ts): served (proxied), waited (the waiting
 *   page or a 503 with a ticket: a place in line), refused (429 or 503 with Retry-After), a status
 *   poll, or lost: no answer, or an answer that is none of those. Lost must be 0.
 * - The mode steps (CYCLE, soakAdmin.ts) go round global and per-tenant modes (auto, queue-all, maintenance,
 *   pause, open) and end with everything cleared, i.e. back to auto; each step is checked in the
 *   admin `/status` (the mode in force per tenant, the global mode).
 * - Every `sampleMs` the proxy's RSS and heap (admin /metrics: prom-client's process metrics) and its
 *   open descriptors (/proc/<pid>/fd) are sampled; at every step a full collection gives the live heap.
 *
 * How growth is judged:
 * - memory: the median of the first window after the warm-up against the median of the last window,
 *   each one cycle of mode steps long when the run allows (the same mix of modes in both), under load:
 *   RSS from the samples, heap from the collections at the steps;
 * - descriptors: counted with the proxy quiet (no client connected, the room's places and sessions
 *   expired, idle upstream connections closed by their keep-alive timeout, the count unchanged for
 *   2 s) before the soak and after it, at most FD_TOLERANCE apart; under load the count follows the
 *   number of connections and is only reported. The live heap is measured at both quiet points too.
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { pathToFileURL } from 'node:url';
import { freePort } from '../bench/procs.js';
import { seededRng, sleep } from './clients.js';
import { ARTIFACTS, CLI, ensureBuilt, ROOT, startOrigin, warmUp } from './harness.js';
import { HttpClient } from './http.js';
import { startAnteroom, type RunningProxy } from './proxies.js';
import { ALL_AUTO, Admin, applyModes, CYCLE, describeState, type Step } from './soakAdmin.js';
import { listenOverflows, liveData, mb, openFds, Probe, quiet, type LiveMemory, type Quiet } from './soakMemory.js';
import { CAPACITY, REQUEST_TIMEOUT_MS, Tally, Traffic, WEBSOCKETS, WORKERS, SERVICE_MS, type VisitCounts } from './soakTraffic.js';
import { percentile } from './stats.js';

export { CYCLE, liveData, mb };

/** Upstream keep-alive: idle pooled connections close after this, which the quiet counts wait for. */
const UPSTREAM_KEEPALIVE_MS = 2_000;
/**
 * The room's grace and session lifetime, short (10 s, the least the config allows for sessions) so that
 * the state they keep turns over many times in a run and is gone when the proxy is counted quiet.
 */
const ROOM_TTL_S = 10;
/** Before a quiet count: the room's places and sessions expire, idle upstream connections close. */
const SETTLE_MS = Math.max(ROOM_TTL_S * 1000, UPSTREAM_KEEPALIVE_MS) + 1_000;
/**
 * Open descriptors the quiet count after the soak may exceed the one before it by. Every quiet count so
 * far has been exactly the one before; the margin is for a pooled connection whose idle timer (undici
 * checks them about once a second) has not fired yet when the count is taken. A descriptor leaked per
 * connection, request or websocket would be hundreds.
 */
export const FD_TOLERANCE = 2;
/** The targets of the full run. */
export const MEMORY_GROWTH_TARGET_PCT = 10;

export interface SoakOptions {
  /** Length of the soak proper (after the priming cycle). */
  durationMs: number;
  /** A mode step every this many ms. */
  stepMs: number;
  /** Memory and descriptor samples every this many ms. */
  sampleMs: number;
  /** The priming run before the first quiet count: one cycle with this step. */
  primeStepMs: number;
  /** After the arrivals stop, visits still going get this long to end. */
  drainMs: number;
  /**
   * Heap snapshots of the proxy at the two quiet points (quiet-start/-end.heapsnapshot in the run's
   * directory), to find what grew. Writing one takes about as much memory again as the heap, which the
   * process keeps: the RSS figures of such a run are not comparable.
   */
  heapSnapshots?: boolean;
  /** Progress lines (one per step); none by default. */
  log?: (line: string) => void;
  /** Where soak.json and the run's files go (default test-artifacts/load). */
  artifacts?: string;
}

export const FULL_RUN: Omit<SoakOptions, 'durationMs'> = { stepMs: 60_000, sampleMs: 5_000, primeStepMs: 2_000, drainMs: 30_000 };

export interface MemorySample {
  /** ms since the soak began. */
  t: number;
  rss: number | null;
  heapUsed: number | null;
  fds: number | null;
  waiting: number | null;
  websocketsOpen: number | null;
  /** The longest event-loop delay since the last sample (ms): the proxy's (prom-client), the load generator's. */
  proxyLagMaxMs: number | null;
  clientLagMaxMs: number;
  /** SYNs dropped on full accept queues since the last sample, machine-wide (see listenOverflows). */
  listenOverflows: number | null;
}

export interface GcSample extends LiveMemory {
  t: number;
  step: number;
}

export interface Growth {
  start: number | null;
  end: number | null;
  growthPct: number | null;
}

export interface SoakResult {
  date: string;
  machine: { node: string; cpus: number; cpuModel: string | null };
  options: Omit<SoakOptions, 'log'>;
  capacity: number;
  /** Soak time (ms) of the windows compared. */
  windows: { warmupMs: number; first: [number, number]; last: [number, number] };
  rss: Growth;
  /** Live heap: after a full collection at each step. */
  heap: Growth;
  /** The same without compiled code (see liveData). */
  heapData: Growth;
  /** Heap used as sampled, without forcing a collection (garbage included): for information. */
  heapSampled: Growth;
  fds: { quietStart: number | null; quietEnd: number | null; tolerance: number; underLoad: Growth; max: number | null };
  quiet: { start: Quiet; end: Quiet };
  requests: { served: number; waited: number; refused: number; polls: number; clientGaveUp: number; lost: number; byStatus: Record<string, number>; lostExamples: Tally['lostExamples'] };
  visits: VisitCounts;
  /** Upgrade attempts by outcome: connected, refused with 1013, and any other (lost: see WsAttempt). */
  websockets: { clients: number; connected: number; refused1013: number; otherOutcomes: Record<string, number>; openAtEnd: number };
  modes: { steps: number; calls: number; applied: number; notApplied: Step[] };
  origin: { maxInFlight: number; answered: number };
  samples: MemorySample[];
  gcSamples: GcSample[];
  steps: Step[];
  verdict: { memory: boolean; fds: boolean; lost: boolean; modes: boolean; pass: boolean };
  files: string[];
}

/** The anteroom config of the soak. */
export function soakConfig(env: { originUrl: string; proxyPort: number; adminPort: number; secret: string; token: string }): Record<string, unknown> {
  return {
    secret: env.secret,
    listen: { host: '127.0.0.1', port: env.proxyPort },
    admin: { host: '127.0.0.1', port: env.adminPort, token: env.token },
    store: { kind: 'memory' },
    upstreams: { app: { url: env.originUrl, concurrency: WORKERS, timeoutMs: REQUEST_TIMEOUT_MS, keepAliveTimeoutMs: UPSTREAM_KEEPALIVE_MS } },
    identity: {
      tenant: [{ header: 'x-tenant-id' }, { cookie: 'tenant' }],
      client: [{ cookie: 'session_id' }, { header: 'x-api-key' }],
    },
    routes: [
      { name: 'live', path: '/ws/**', class: 'critical' },
      { name: 'jobs', path: '/api/jobs/**', class: 'bulk' },
      { name: 'api', path: '/api/**' },
    ],
    limits: {
      client: { rate: '10/s', burst: 20 },
      tenant: { rate: '200/s', burst: 400, classes: { bulk: { rate: '30/s', burst: 30 } } },
      tenants: { acme: { rate: '300/s', burst: 600 }, globex: { rate: '200/s' }, initech: { rate: '150/s' } },
      websocket: { perClient: { rate: '30/min', burst: 5 }, global: { rate: '50/s', burst: 50 }, perTenantOpen: 100 },
    },
    room: {
      mode: 'auto',
      concurrency: WORKERS,
      hold: { apiMs: 5_000, websocketMs: 3_000 },
      sessionTtlS: ROOM_TTL_S,
      graceS: ROOM_TTL_S,
      messages: { default: 'Busy: thanks for waiting.' },
    },
    log: { level: 'info', requests: true },
  };
}

const median = (values: number[]): number | null => (values.length === 0 ? null : percentile(values, 50));
const growth = (start: number | null, end: number | null): Growth => ({ start, end, growthPct: start === null || end === null || start === 0 ? null : (100 * (end - start)) / start });

/** Runs the soak: priming cycle, quiet count, the soak with its mode steps, drain, quiet count. */
export async function runSoak(o: SoakOptions): Promise<SoakResult> {
  ensureBuilt();
  const log = o.log ?? (() => undefined);
  const artifacts = o.artifacts ?? ARTIFACTS;
  const dir = join(artifacts, 'soak');
  mkdirSync(dir, { recursive: true });
  const [originPort, proxyPort, adminPort] = [await freePort(), await freePort(), await freePort()];
  const token = randomBytes(24).toString('base64url');
  const config = soakConfig({ originUrl: `http://127.0.0.1:${originPort}`, proxyPort, adminPort, secret: randomBytes(32).toString('base64url'), token });
  const origin = startOrigin({ workers: WORKERS, serviceMs: SERVICE_MS }, originPort);
  let proxy: RunningProxy | null = null;
  const admin = new Admin(`http://127.0.0.1:${adminPort}`, token);
  const tally = new Tally();
  const rng = seededRng(Number(process.env['LOAD_SEED'] ?? 20_180_830));
  try {
    await origin.ready;
    const probeModule = pathToFileURL(join(ROOT, 'dist/test/load/soakProbe.js')).href;
    proxy = await startAnteroom(CLI, dir, config, proxyPort, { nodeArgs: ['--expose-gc', '--import', probeModule], ipc: true });
    const pid = proxy.child.pid!;
    const probe = new Probe(proxy.child);
    const snapshot = (name: string): string | null => (o.heapSnapshots === true ? join(dir, `${name}.heapsnapshot`) : null);

    // Priming: one cycle of every mode with short steps, so that everything the proxy creates once
    // (compiled code, metric series, the maintenance page) exists before the first quiet count.
    const warm = new HttpClient(proxy.url);
    await warmUp(warm);
    await warm.close();
    const primeSteps: Step[] = [];
    const primeStart = Date.now();
    const prime = new Traffic(proxy.url, tally, rng, primeStart + CYCLE.length * o.primeStepMs + o.drainMs);
    prime.start();
    let state = ALL_AUTO;
    for (let i = 0; i < CYCLE.length; i++) {
      primeSteps.push(await applyModes(admin, 'prime', i, Date.now() - primeStart, state, CYCLE[i]!));
      state = CYCLE[i]!;
      await sleep(primeStart + (i + 1) * o.primeStepMs - Date.now());
    }
    prime.stop();
    await prime.drain();
    const quietStart = await quiet(pid, admin, probe, SETTLE_MS, snapshot('quiet-start'));
    log(`primed: ${primeSteps.filter((s) => s.applied).length}/${primeSteps.length} mode steps applied; quiet: ${quietStart.fds ?? 'n/a'} descriptors, live heap ${mb(quietStart.heapUsed)}`);

    // The soak.
    const t0 = Date.now();
    const traffic = new Traffic(proxy.url, tally, rng, t0 + o.durationMs + o.drainMs);
    const samples: MemorySample[] = [];
    const gcSamples: GcSample[] = [];
    const steps: Step[] = [];
    let sampling = true;
    const lag = monitorEventLoopDelay({ resolution: 10 });
    lag.enable();
    let overflows = listenOverflows();
    const sampler = (async () => {
      for (let next = t0; sampling; next += o.sampleMs) {
        await sleep(next - Date.now());
        if (!sampling) break;
        traffic.collect();
        let m: Record<string, number> = {};
        try {
          m = await admin.metrics();
        } catch {
          // A failed scrape leaves this sample's proxy figures empty.
        }
        samples.push({
          t: Date.now() - t0,
          rss: m['process_resident_memory_bytes'] ?? null,
          heapUsed: m['nodejs_heap_size_used_bytes'] ?? null,
          fds: openFds(pid) ?? m['process_open_fds'] ?? null,
          waiting: m['anteroom_room_waiting'] ?? null,
          websocketsOpen: m['anteroom_websockets_open'] ?? null,
          proxyLagMaxMs: m['nodejs_eventloop_lag_max_seconds'] === undefined ? null : m['nodejs_eventloop_lag_max_seconds'] * 1000,
          clientLagMaxMs: lag.max / 1e6,
          listenOverflows: overflows === null ? null : (listenOverflows() ?? overflows) - overflows,
        });
        lag.reset();
        overflows = listenOverflows();
      }
    })();
    traffic.start();
    const nSteps = Math.max(1, Math.floor(o.durationMs / o.stepMs));
    let lostShown = tally.lostExamples.length;
    for (let i = 0; i < nSteps; i++) {
      await sleep(t0 + i * o.stepMs - Date.now());
      const g = await probe.gc(1);
      gcSamples.push({ t: Date.now() - t0, step: i, ...g });
      const next = CYCLE[i % CYCLE.length]!;
      const s = await applyModes(admin, 'soak', i, Date.now() - t0, state, next);
      steps.push(s);
      state = next;
      const last = samples.at(-1);
      for (const e of tally.lostExamples.slice(lostShown)) log(`  lost: ${e.path} -> ${e.status}${e.error ? ` (${e.error})` : ''} ${e.body.slice(0, 120)}`);
      lostShown = tally.lostExamples.length;
      log(
        `${clock(s.t)} step ${i + 1}/${nSteps}: ${describeState(next)}: ${s.applied ? 'applied' : 'NOT APPLIED'}; live heap ${mb(g.heapUsed)}, rss ${last?.rss == null ? 'n/a' : mb(last.rss)}, fds ${last?.fds ?? 'n/a'}; ` +
          `served ${tally.served}, waited ${tally.waited}, refused ${tally.refused}, lost ${tally.lost}`,
      );
    }
    await sleep(t0 + o.durationMs - Date.now());
    const gEnd = await probe.gc(1);
    gcSamples.push({ t: Date.now() - t0, step: nSteps, ...gEnd });
    sampling = false;
    await sampler;
    lag.disable();
    traffic.stop();
    // Back to auto for the stragglers, if the run ended mid-cycle.
    if (state.global !== null || Object.keys(state.tenants).length > 0) {
      steps.push(await applyModes(admin, 'soak', nSteps, Date.now() - t0, state, ALL_AUTO));
      state = ALL_AUTO;
    }
    const { openAtEnd } = await traffic.drain();
    const quietEnd = await quiet(pid, admin, probe, SETTLE_MS, snapshot('quiet-end'));
    log(`drained; quiet: ${quietEnd.fds ?? 'n/a'} descriptors, live heap ${mb(quietEnd.heapUsed)}`);

    const report = await origin.report(join(dir, 'origin-report.json'));
    const maxInFlight = report.samples.inflight.reduce((m, v) => Math.max(m, v), 0);

    // Windows: the first after the warm-up and the last, one cycle each when the run is three cycles or longer.
    const cycleMs = CYCLE.length * o.stepMs;
    const warmupMs = o.durationMs >= 3 * cycleMs ? cycleMs : Math.round(o.durationMs / 5);
    const windowMs = Math.min(cycleMs, (o.durationMs - warmupMs) / 2);
    const first: [number, number] = [warmupMs, warmupMs + windowMs];
    const last: [number, number] = [o.durationMs - windowMs, o.durationMs];
    // Half-open windows: with the steps on a whole number of cycles, both hold the same steps of the cycle.
    const pick = <T extends { t: number }>(xs: T[], w: [number, number], f: (x: T) => number | null): number[] =>
      xs.filter((x) => x.t >= w[0] && x.t < w[1]).map(f).filter((v): v is number => v !== null);
    const compare = <T extends { t: number }>(xs: T[], f: (x: T) => number | null): Growth => growth(median(pick(xs, first, f)), median(pick(xs, last, f)));
    const rss = compare(samples, (s) => s.rss);
    const heap = compare(gcSamples, (s) => s.heapUsed);
    const heapData = compare(gcSamples, liveData);
    const heapSampled = compare(samples, (s) => s.heapUsed);
    const fdUnderLoad = compare(samples, (s) => s.fds);
    const fdMax = samples.reduce<number | null>((m, s) => (s.fds === null ? m : Math.max(m ?? 0, s.fds)), null);

    const allSteps = [...primeSteps, ...steps];
    const notApplied = allSteps.filter((s) => !s.applied);
    const memoryOk = rss.growthPct !== null && heap.growthPct !== null && rss.growthPct < MEMORY_GROWTH_TARGET_PCT && heap.growthPct < MEMORY_GROWTH_TARGET_PCT;
    const fdsOk = quietStart.fds !== null && quietEnd.fds !== null && quietEnd.fds - quietStart.fds <= FD_TOLERANCE;
    const visits = { ...prime.visits };
    for (const [k, v] of Object.entries(traffic.visits)) {
      const e = (visits[k] ??= { ok: 0, gaveUp: 0, error: 0, cutByEnd: 0 });
      e.ok += v.ok;
      e.gaveUp += v.gaveUp;
      e.error += v.error;
      e.cutByEnd += v.cutByEnd;
    }
    const wsOutcomes: Record<string, number> = { ...prime.wsOutcomes };
    for (const [k, v] of Object.entries(traffic.wsOutcomes)) wsOutcomes[k] = (wsOutcomes[k] ?? 0) + v;
    // An upgrade ends connected or refused with 1013 (and its Retry-After hint); anything else is lost.
    const { connected = 0, 'refused-1013': refused1013 = 0, ...otherOutcomes } = wsOutcomes;
    const nothingLost = tally.lost === 0 && Object.keys(otherOutcomes).length === 0;

    const result: SoakResult = {
      date: new Date().toISOString(),
      machine: { node: process.version, cpus: availableParallelism(), cpuModel: cpus()[0]?.model ?? null },
      options: { durationMs: o.durationMs, stepMs: o.stepMs, sampleMs: o.sampleMs, primeStepMs: o.primeStepMs, drainMs: o.drainMs, artifacts, heapSnapshots: o.heapSnapshots === true },
      capacity: CAPACITY,
      windows: { warmupMs, first, last },
      rss,
      heap,
      heapData,
      heapSampled,
      fds: { quietStart: quietStart.fds, quietEnd: quietEnd.fds, tolerance: FD_TOLERANCE, underLoad: fdUnderLoad, max: fdMax },
      quiet: { start: quietStart, end: quietEnd },
      requests: { served: tally.served, waited: tally.waited, refused: tally.refused, polls: tally.polls, clientGaveUp: tally.clientGaveUp, lost: tally.lost, byStatus: tally.byStatus, lostExamples: tally.lostExamples },
      visits,
      websockets: { clients: WEBSOCKETS, connected, refused1013, otherOutcomes, openAtEnd },
      modes: { steps: allSteps.length, calls: allSteps.reduce((n, s) => n + s.calls.length, 0), applied: allSteps.length - notApplied.length, notApplied },
      origin: { maxInFlight, answered: report.answers.t.length },
      samples,
      gcSamples,
      steps: allSteps,
      verdict: { memory: memoryOk, fds: fdsOk, lost: nothingLost, modes: notApplied.length === 0, pass: memoryOk && fdsOk && nothingLost && notApplied.length === 0 },
      files: [...proxy.files, join(dir, 'origin-report.json')],
    };
    return result;
  } finally {
    await admin.close().catch(() => undefined);
    if (proxy) await proxy.stop();
    await origin.stop();
  }
}

const clock = (ms: number): string => `${String(Math.floor(ms / 60_000)).padStart(2, ' ')}:${String(Math.floor((ms % 60_000) / 1000)).padStart(2, '0')}`;
const pctText = (g: Growth): string => (g.growthPct === null ? 'n/a' : `${g.growthPct >= 0 ? '+' : ''}${g.growthPct.toFixed(1)}%`);
const min = (ms: number): string => (ms % 60_000 === 0 ? `${ms / 60_000} min` : `${(ms / 1000).toFixed(0)} s`);

const maxOf = (values: (number | null)[]): string => {
  const v = values.filter((x): x is number => x !== null);
  return v.length === 0 ? 'n/a' : String(Math.round(v.reduce((a, b) => Math.max(a, b), 0)));
};

/** The soak's figures as printed by `npm run load -- soak`. */
export function soakSummary(r: SoakResult): string {
  const verdict = (ok: boolean): string => (ok ? 'PASS' : 'FAIL');
  const w = r.windows;
  const windows = `${min(w.first[0])}-${min(w.first[1])} vs ${min(w.last[0])}-${min(w.last[1])}`;
  const q = r.requests;
  const visits = Object.entries(r.visits)
    .map(([k, v]) => `${k} ${v.ok} ok, ${v.gaveUp} gave up, ${v.cutByEnd} cut by the end of the run${v.error > 0 ? `, ${v.error} 4xx` : ''}`)
    .join('; ');
  const others = Object.entries(r.websockets.otherOutcomes).map(([k, v]) => `${k} ${v}`).join(', ');
  const lines = [
    `soak: ${min(r.options.durationMs)} of mixed traffic at about half the origin's capacity (${r.capacity}/s), a room mode step every ${min(r.options.stepMs)}`,
    `RSS          ${mb(r.rss.start)} -> ${mb(r.rss.end)}  ${pctText(r.rss)}  (medians under load, ${windows})  ${verdict(r.rss.growthPct !== null && r.rss.growthPct < MEMORY_GROWTH_TARGET_PCT)} (target < ${MEMORY_GROWTH_TARGET_PCT}%)${r.options.heapSnapshots === true ? ' (not comparable: heap snapshots were written)' : ''}`,
    `heap (live)  ${mb(r.heap.start)} -> ${mb(r.heap.end)}  ${pctText(r.heap)}  (after a full collection at each step, medians, same windows; without compiled code ${mb(r.heapData.start)} -> ${mb(r.heapData.end)} ${pctText(r.heapData)})  ${verdict(r.heap.growthPct !== null && r.heap.growthPct < MEMORY_GROWTH_TARGET_PCT)} (target < ${MEMORY_GROWTH_TARGET_PCT}%)`,
    `heap (used)  ${mb(r.heapSampled.start)} -> ${mb(r.heapSampled.end)}  ${pctText(r.heapSampled)}  (as sampled, garbage included: for information)`,
    `quiet        before: live heap ${mb(r.quiet.start.heapUsed)} (${mb(liveData(r.quiet.start))} without compiled code), RSS ${mb(r.quiet.start.rss)}; after: ${mb(r.quiet.end.heapUsed)} (${mb(liveData(r.quiet.end))}), ${mb(r.quiet.end.rss)}`,
    `descriptors  quiet ${r.fds.quietStart ?? 'n/a'} before, ${r.fds.quietEnd ?? 'n/a'} after (tolerance +${r.fds.tolerance})  ${verdict(r.verdict.fds)}; under load median ${r.fds.underLoad.start ?? 'n/a'} -> ${r.fds.underLoad.end ?? 'n/a'}, most ${r.fds.max ?? 'n/a'}`,
    `requests     served ${q.served}, waited ${q.waited}, refused ${q.refused}, status polls ${q.polls}, cut short by their client ${q.clientGaveUp}, lost ${q.lost}  ${verdict(r.verdict.lost)}`,
    `             by status: ${Object.entries(q.byStatus).map(([k, v]) => `${k} ${v}`).join(', ')}`,
    `visits       ${visits}`,
    `websockets   ${r.websockets.clients} clients: ${r.websockets.connected} connections, ${r.websockets.refused1013} refused with 1013${others === '' ? '' : `, lost: ${others}`}; ${r.websockets.openAtEnd} open at the end`,
    `mode changes ${r.modes.steps} steps (${r.steps.filter((s) => s.phase === 'prime').length} priming, ${r.steps.filter((s) => s.phase === 'soak').length} in the soak; ${r.modes.calls} admin calls), ${r.modes.applied} applied as seen in /status  ${verdict(r.verdict.modes)}`,
    `event loop   longest delay: proxy ${maxOf(r.samples.map((x) => x.proxyLagMaxMs))} ms, load generator ${maxOf(r.samples.map((x) => x.clientLagMaxMs))} ms; SYNs dropped on full accept queues (machine-wide) ${r.samples.reduce((n, x) => n + (x.listenOverflows ?? 0), 0)}`,
    `origin       most in flight ${r.origin.maxInFlight} (limit ${WORKERS}; a request its client gave up on counts there until served), ${r.origin.answered} answers`,
    `verdict      ${verdict(r.verdict.pass)}`,
  ];
  for (const e of q.lostExamples.slice(0, 5)) lines.push(`  lost: ${e.path} -> ${e.status}${e.error ? ` (${e.error})` : ''} ${e.body.slice(0, 120)}`);
  for (const s of r.modes.notApplied.slice(0, 5)) lines.push(`  not applied: step ${s.step} ${describeState(s.state)}: ${JSON.stringify(s.calls)} observed ${JSON.stringify(s.observed)}`);
  return lines.join('\n');
}

/** Writes soak.json next to the scenarios' results; returns its path. */
export function writeSoak(r: SoakResult): string {
  const file = join(r.options.artifacts ?? ARTIFACTS, 'soak.json');
  writeFileSync(file, `${JSON.stringify(r, null, 2)}\n`);
  return file;
}

