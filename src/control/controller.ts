/**
 * One upstream's controller: reads every signal each tick, runs the state machine, and keeps the
 * in-flight limit in force.
 *
 * The limit in force is min(base, ramp(full)):
 * - full: `limit.static`, else `limit.adaptive.max`, else the concurrency configured elsewhere
 *   (`setConfiguredLimit`: the room's or the upstream's), else Infinity;
 * - base: the adaptive limiter's limit while the room is engaged and `limit.adaptive` is set, else full;
 * - ramp: slow start from `slowStart.floor` of full, after start, after release (from the limit in
 *   force at that moment, never below it), and after the probe sees the upstream come back.
 *
 * The limiter learns from every response all the time (so its RTT baseline is the healthy one when
 * trouble starts) but is in force only while engaged, and is reset to the limit in force on engaging.
 *
 * Signals (each shown with value, threshold and freshness in the snapshot): `latencyP95` and
 * `errorRate` from the responses the integrator records (and the probe's results), `probe`,
 * `eventLoopDelay` (when given the process's EventLoopDelay) and `db.*` pollers.
 */
import { ErrorRateWindow } from './errorRateWindow.js';
import { buildDbPollers } from './dbSources.js';
import type { EventLoopDelay } from './eventLoopDelay.js';
import { GradientLimiter, type GradientStatus } from './gradientLimiter.js';
import { LatencyWindow } from './latencyWindow.js';
import { Probe } from './probe.js';
import { Ramp } from './ramp.js';
import type { UpstreamControlConfig } from './schema.js';
import { makeSignal, type Signal, type SignalSource } from './signal.js';
import { StateMachine, type ControlState, type Transition } from './stateMachine.js';

export interface ControllerOptions {
  /** Clock (ms) for the windows, the state machine, the limiter and the ramp. */
  now?: () => number;
  /** The upstream's URL; needed when `probe` is configured. */
  upstreamUrl?: string;
  /** The process's event-loop monitor, shared by every controller; sampled by its owner. */
  eventLoop?: EventLoopDelay | null;
  /** Replaces the pollers built from `engage.dbConnections` (tests; other signal kinds). */
  sources?: SignalSource[];
  /** Each state change, for the log line. */
  onTransition?: (t: Transition, upstream: string) => void;
  /** Each failed poll, for the log line. */
  onPollError?: (err: Error, source: string, upstream: string) => void;
}

export interface ControllerSnapshot {
  upstream: string;
  state: ControlState;
  /** When the current state began (ms). */
  since: number;
  /** The in-flight limit in force; null for none (Infinity). */
  limit: number | null;
  /** Where `limit` comes from. */
  limitSource: 'static' | 'adaptive' | 'none';
  /** The ramp under way, if any: its factor now and the time left. */
  ramp: { factor: number; remainingMs: number } | null;
  adaptive: GradientStatus | null;
  signals: Signal[];
  lastTransition: Transition | null;
}

export class Controller {
  readonly upstream: string;
  private config: UpstreamControlConfig;
  private readonly opts: ControllerOptions;
  private readonly now: () => number;
  private readonly latency: LatencyWindow;
  private readonly errors: ErrorRateWindow;
  private readonly machine: StateMachine;
  private readonly ramp: Ramp;
  private gradient: GradientLimiter | null;
  private probe: Probe | null = null;
  private sources: SignalSource[];
  private readonly ownSources: boolean;
  private timer: NodeJS.Timeout | null = null;
  private started = false;
  /** The adaptive settings the limiter was built with, to keep it (and its RTT baseline) across reloads. */
  private adaptiveConfig: UpstreamControlConfig['limit']['adaptive'];
  /** The full limit when the control section sets none: `room.concurrency` or the upstream's `concurrency`. */
  private configuredLimit = Infinity;
  lastTransition: Transition | null = null;

  constructor(upstream: string, config: UpstreamControlConfig, opts: ControllerOptions = {}) {
    this.upstream = upstream;
    this.config = config;
    this.opts = opts;
    this.now = opts.now ?? Date.now;
    const now = this.now;
    this.latency = new LatencyWindow({ windowMs: config.window.latencyS * 1000, now });
    this.errors = new ErrorRateWindow({ windowMs: config.window.errorRateS * 1000, minSamples: config.window.errorRateMinSamples, now });
    this.machine = new StateMachine({ ...machineOptions(config), now });
    this.ramp = new Ramp({ floor: config.slowStart.floor, durationMs: config.slowStart.rampS * 1000, now });
    this.gradient = makeGradient(config, now);
    this.adaptiveConfig = config.limit.adaptive;
    this.ownSources = opts.sources === undefined;
    this.sources = opts.sources ?? buildDbPollers(config, { now, onError: (e, name) => opts.onPollError?.(e, name, upstream) });
    this.probe = this.makeProbe(config);
  }

  /** Starts polling and probing, the start ramp, and (with `tickMs`) a tick timer of its own. */
  start(tickMs?: number): void {
    if (this.started) return;
    this.started = true;
    if (this.config.slowStart.onStart) this.ramp.start();
    for (const s of this.sources) s.start?.();
    this.probe?.start();
    if (tickMs !== undefined) {
      this.timer = setInterval(() => this.tick(), tickMs);
      this.timer.unref();
    }
  }

  /**
   * Records one proxied exchange (not websockets, SSE, long polls or bypass routes: their duration is
   * the client's, not the upstream's). `failed`: a 5xx or a timeout. `inflight`: requests in flight at
   * this upstream when it was sent.
   */
  recordResponse(latencyMs: number, failed: boolean, inflight: number): void {
    this.latency.record(latencyMs);
    this.errors.record(failed);
    this.gradient?.onSample(latencyMs, inflight, failed);
  }

  /** Probes the upstream now (when a probe is configured); the result feeds the windows as usual. */
  async probeNow(): Promise<boolean | null> {
    return this.probe === null ? null : (await this.probe.probeOnce()).ok;
  }

  /**
   * Reads every signal and runs the state machine; returns the transition, if any. `inflight`: the
   * requests in flight at the upstream now, which is where an adaptive limit starts when engaging.
   */
  tick(inflight?: number): Transition | null {
    const before = this.limit;
    const signals = this.signals();
    // While a signal is over its threshold the limiter may shrink but not grow: a database whose
    // connections pile up (incident 003) says so before the latency does.
    this.gradient?.setDistressed(signals.some((s) => s.state === 'over'));
    const t = this.machine.update(signals);
    if (t === null) return null;
    this.lastTransition = t;
    if (t.from === 'open' && this.gradient !== null) {
      // Engaging: the adaptive limit starts from its configured initial, else from what the upstream
      // is handling now (it is in distress at this load: nothing more is let on until it copes), never
      // above what was allowed a moment ago.
      const allowed = before === Infinity ? this.config.limit.adaptive!.max : before;
      this.gradient.reset(this.config.limit.adaptive?.initial ?? Math.min(allowed, inflight ?? allowed));
    }
    if (t.to === 'open') {
      // Releasing: ramp from the limit in force now, so nothing jumps (incident 004).
      const full = this.fullLimit();
      const from = full === Infinity || before === Infinity ? 1 : before / full;
      this.ramp.start(from, (this.config.release.rampS ?? this.config.slowStart.rampS) * 1000);
    }
    this.opts.onTransition?.(t, this.upstream);
    return t;
  }

  get state(): ControlState {
    return this.machine.state;
  }

  /** The in-flight limit in force (Infinity for none). */
  get limit(): number {
    const full = this.fullLimit();
    const base = this.machine.state !== 'open' && this.gradient !== null ? this.gradient.limit : full;
    return Math.min(base, this.ramp.apply(full));
  }

  /** Every signal now, with value, thresholds and freshness. */
  signals(): Signal[] {
    const now = this.now();
    const { engage, shed } = this.config;
    const out: Signal[] = [];
    const l = this.latency.summary();
    const latencyDetail = l.count === 0 ? `no responses in ${this.config.window.latencyS} s` : `p50 ${l.p50} ms, p95 ${l.p95} ms, p99 ${l.p99} ms, max ${round(l.max!)} ms over ${l.count} responses in ${this.config.window.latencyS} s`;
    out.push(quietIf(l.count === 0, makeSignal('latencyP95', l.p95, engage.latencyP95Ms ?? null, l.count === 0 ? null : now, latencyDetail, shed.latencyP95Ms ?? null)));
    const rate = this.errors.rate();
    const c = this.errors.counts();
    const rateDetail = rate === null ? `${c.total} exchanges in ${this.config.window.errorRateS} s, fewer than ${this.errors.minSamples}` : `${c.failed} of ${c.total} failed in ${this.config.window.errorRateS} s`;
    out.push(quietIf(rate === null, makeSignal('errorRate', rate === null ? null : round(rate, 4), engage.errorRate ?? null, rate === null ? null : now, rateDetail, shed.errorRate ?? null)));
    if (this.probe !== null) out.push(this.probe.read(now));
    if (this.opts.eventLoop) out.push(this.opts.eventLoop.signal(engage.eventLoopDelayMs ?? null, shed.eventLoopDelayMs ?? null));
    for (const s of this.sources) out.push(s.read(now));
    return out;
  }

  snapshot(): ControllerSnapshot {
    const limit = this.limit;
    return {
      upstream: this.upstream,
      state: this.machine.state,
      since: this.machine.since,
      limit: limit === Infinity ? null : limit,
      limitSource: this.machine.state !== 'open' && this.gradient !== null ? 'adaptive' : this.fullLimit() === Infinity ? 'none' : 'static',
      ramp: this.ramp.active ? { factor: round(this.ramp.factor(), 4), remainingMs: Math.round(this.ramp.remainingMs()) } : null,
      adaptive: this.gradient?.status() ?? null,
      signals: this.signals(),
      lastTransition: this.lastTransition,
    };
  }

  /**
   * Applies a new config for this upstream without losing the state, the windows' history, the
   * running ramp or the limiter's RTT baseline. Pollers and the probe are rebuilt (their settings
   * may have changed); the window lengths apply to a new controller only.
   */
  async reconfigure(config: UpstreamControlConfig): Promise<void> {
    const old = { sources: this.sources, probe: this.probe };
    this.config = config;
    this.machine.reconfigure(machineOptions(config));
    this.ramp.reconfigure(config.slowStart.floor, config.slowStart.rampS * 1000);
    if (config.limit.adaptive === undefined) this.gradient = null;
    else if (this.gradient === null || JSON.stringify(config.limit.adaptive) !== JSON.stringify(this.adaptiveConfig)) {
      this.gradient = makeGradient(config, this.now);
    }
    this.adaptiveConfig = config.limit.adaptive;
    if (this.ownSources) {
      this.sources = buildDbPollers(config, { now: this.now, onError: (e, name) => this.opts.onPollError?.(e, name, this.upstream) });
      this.probe = this.makeProbe(config);
      if (this.started) {
        for (const s of this.sources) s.start?.();
        this.probe?.start();
      }
      await Promise.all([...old.sources.map((s) => s.close?.()), old.probe?.close()]);
    }
  }

  async close(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    await Promise.all([...this.sources.map((s) => s.close?.()), this.probe?.close()]);
  }

  /** Sets the full limit used when neither `limit.static` nor `limit.adaptive` is configured. */
  setConfiguredLimit(limit: number): void {
    this.configuredLimit = limit;
  }

  private fullLimit(): number {
    return this.config.limit.static ?? this.config.limit.adaptive?.max ?? this.configuredLimit;
  }

  private makeProbe(config: UpstreamControlConfig): Probe | null {
    const p = config.probe;
    if (p === undefined) return null;
    if (this.opts.upstreamUrl === undefined) throw new Error(`control.upstreams.${this.upstream}.probe needs the upstream's URL`);
    return new Probe({
      url: this.opts.upstreamUrl,
      path: p.path,
      everyMs: p.everyMs,
      timeoutMs: p.timeoutMs,
      failuresToDown: p.failuresToDown,
      now: this.now,
      // A failed probe is a failure at the worst latency it could have had; it teaches the limiter nothing.
      onResult: (ms, ok) => {
        this.latency.record(ms);
        this.errors.record(!ok);
      },
      onRecover: () => this.ramp.start(this.config.slowStart.floor, this.config.slowStart.rampS * 1000),
    });
  }
}

function machineOptions(config: UpstreamControlConfig) {
  return {
    engageForMs: config.engage.forS * 1000,
    shedForMs: config.shed.forS * 1000,
    releaseForMs: config.release.forS * 1000,
    belowFactor: config.release.belowFactor,
    unknown: config.release.unknown,
  };
}

function makeGradient(config: UpstreamControlConfig, now: () => number): GradientLimiter | null {
  const a = config.limit.adaptive;
  if (a === undefined) return null;
  return new GradientLimiter({ ...a, now });
}

/** Marks a traffic window's signal as unknown for want of traffic (see `Signal.quiet`). */
function quietIf(quiet: boolean, s: Signal): Signal {
  return quiet ? { ...s, quiet: true } : s;
}

function round(x: number, digits = 2): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
