/**
 * The controllers of every upstream that has an entry under `control.upstreams`, ticked together:
 * each tick samples the proxy's event-loop delay once, runs every controller's state machine, and
 * hands the limits in force to the runtime (`onTick`), which applies them to the room and the
 * concurrency gate. Upstreams without an entry have no controller: they are always `open` and their
 * limit is the configured concurrency.
 *
 * With several instances every instance runs its own controllers: each polls the databases over its
 * own connection and measures the latency of what it forwards. The database counts are facts about
 * the whole fleet and the latencies are samples of the same upstream, so the instances reach the
 * same state within a tick or two of each other.
 */
import type { Logger } from 'pino';
import { Controller, type ControllerSnapshot } from './controller.js';
import { EventLoopDelay } from './eventLoopDelay.js';
import type { ControlConfig } from './schema.js';
import type { ControlState, Transition } from './stateMachine.js';

/** What the plane needs to know of an upstream. */
export interface ControlledUpstream {
  readonly name: string;
  readonly url: string;
  /** The full limit when the control entry sets none (the room's or the upstream's concurrency). */
  readonly configuredLimit: number;
}

/**
 * How an upstream is doing, as the public status endpoint shows it: the state, the limit in force and
 * each signal's reading against its threshold. Details (poll errors, hosts) are for the admin status only.
 */
export interface LoadView {
  upstream: string;
  state: ControlState;
  /** The in-flight limit in force; null for none. */
  limit: number | null;
  signals: { name: string; value: number | null; threshold: number | null; state: string; ageMs: number | null }[];
}

export class ControlPlane {
  readonly controllers = new Map<string, Controller>();
  /** Called after every tick (and after a reconfiguration) to apply the limits in force. */
  onTick: () => void = () => {};
  /** Requests in flight at an upstream now (where an adaptive limit starts when engaging). */
  inflightOf: (upstream: string) => number = () => 0;
  private readonly eventLoop: EventLoopDelay;
  private config: ControlConfig | null = null;
  private timer: NodeJS.Timeout | null = null;
  private started = false;
  /** Each upstream's LoadView as of the last tick, built on first use: status polls come by the thousand. */
  private readonly views = new Map<string, LoadView>();
  /** The last poll error logged per source, so that a database down for an hour logs once, not 3,600 times. */
  private readonly pollErrors = new Map<string, { message: string; at: number }>();

  constructor(
    private readonly log: Logger,
    resolutionMs: number,
    private readonly now: () => number = Date.now,
  ) {
    // The histogram's resolution is fixed when it is made: a changed eventLoopResolutionMs needs a restart.
    this.eventLoop = new EventLoopDelay(resolutionMs);
  }

  /**
   * Builds, reconfigures or closes controllers to match the config. A controller that stays keeps
   * its state, its windows, its running ramp and its limiter's baseline.
   */
  configure(config: ControlConfig, upstreams: readonly ControlledUpstream[]): void {
    this.config = config;
    this.views.clear();
    const byName = new Map(upstreams.map((u) => [u.name, u]));
    for (const [name, controller] of this.controllers) {
      if (config.upstreams[name] !== undefined && byName.has(name)) continue;
      this.controllers.delete(name);
      void controller.close();
      this.log.info({ upstream: name }, 'control: controller removed');
    }
    for (const [name, entry] of Object.entries(config.upstreams)) {
      const upstream = byName.get(name);
      if (upstream === undefined) continue;
      const existing = this.controllers.get(name);
      if (existing !== undefined) {
        existing.setConfiguredLimit(upstream.configuredLimit);
        existing.reconfigure(entry).catch((err: unknown) => this.log.error({ err, upstream: name }, 'control: reconfiguring the controller failed'));
        continue;
      }
      const controller = new Controller(name, entry, {
        now: this.now,
        upstreamUrl: upstream.url,
        eventLoop: this.eventLoop,
        onTransition: (t, u) => this.logTransition(t, u),
        onPollError: (err, source, u) => this.logPollError(err, source, u),
      });
      controller.setConfiguredLimit(upstream.configuredLimit);
      this.controllers.set(name, controller);
      if (this.started) controller.start();
    }
    if (this.started) this.schedule();
    this.onTick();
  }

  /** Starts polling, probing, the start ramps and the tick. */
  start(): void {
    if (this.started) return;
    this.started = true;
    for (const c of this.controllers.values()) c.start();
    this.schedule();
    this.onTick();
  }

  /** Reads every signal, runs every state machine and applies the limits. */
  tick(): void {
    this.eventLoop.sample(this.now());
    this.views.clear();
    for (const c of this.controllers.values()) {
      try {
        c.tick(this.inflightOf(c.upstream));
      } catch (err) {
        this.log.error({ err, upstream: c.upstream }, 'control: tick failed');
      }
    }
    this.onTick();
  }

  /** The upstream's state; `open` when it has no controller. */
  state(upstream: string): ControlState {
    return this.controllers.get(upstream)?.state ?? 'open';
  }

  /** The limit in force for the upstream, or `fallback` when it has no controller. */
  limit(upstream: string, fallback: number): number {
    const c = this.controllers.get(upstream);
    return c === undefined ? fallback : c.limit;
  }

  /** The upstream's LoadView; `limit` is what applies to an upstream without a controller. */
  view(upstream: string, limit: number): LoadView {
    const c = this.controllers.get(upstream);
    if (c === undefined) return { upstream, state: 'open', limit: limit === Infinity ? null : limit, signals: [] };
    let v = this.views.get(upstream);
    if (v === undefined) {
      const now = this.now();
      const inForce = c.limit;
      v = {
        upstream,
        state: c.state,
        limit: inForce === Infinity ? null : inForce,
        signals: c.signals().map((s) => ({ name: s.name, value: s.value, threshold: s.threshold, state: s.state, ageMs: s.updatedAt === null ? null : Math.max(0, now - s.updatedAt) })),
      };
      this.views.set(upstream, v);
    }
    return v;
  }

  snapshots(): ControllerSnapshot[] {
    return [...this.controllers.values()].map((c) => c.snapshot());
  }

  async close(): Promise<void> {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    this.eventLoop.stop();
    await Promise.all([...this.controllers.values()].map((c) => c.close()));
  }

  private schedule(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
    if (this.controllers.size === 0) return;
    this.eventLoop.start();
    this.timer = setInterval(() => this.tick(), this.config?.tickMs ?? 1_000);
    this.timer.unref();
  }

  private logTransition(t: Transition, upstream: string): void {
    const cause = t.cause === null ? undefined : { signal: t.cause.name, value: t.cause.value, threshold: t.cause.threshold, detail: t.cause.detail };
    const fields = { upstream, from: t.from, to: t.to, cause, reason: t.reason };
    // Engaging is what an operator must see at once; stepping down is good news.
    if (rank(t.to) > rank(t.from)) this.log.warn(fields, `control: ${upstream} ${t.from} -> ${t.to}`);
    else this.log.info(fields, `control: ${upstream} ${t.from} -> ${t.to}`);
  }

  private logPollError(err: Error, source: string, upstream: string): void {
    const key = `${upstream}\u0000${source}`;
    const last = this.pollErrors.get(key);
    const now = this.now();
    if (last !== undefined && last.message === err.message && now - last.at < 60_000) return;
    this.pollErrors.set(key, { message: err.message, at: now });
    this.log.warn({ upstream, source, err: err.message }, `control: ${source} poll failed; the signal is unknown until it answers`);
  }
}

function rank(s: ControlState): number {
  return s === 'open' ? 0 : s === 'queueing' ? 1 : 2;
}
