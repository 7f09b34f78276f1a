/**
 * The per-upstream state, with hysteresis:
 *
 *   open --(some signal over its engage threshold for engageFor)--> queueing
 *   queueing --(some signal over its shed threshold for shedFor)--> shedding
 *   shedding --(every shed signal at or below shedThreshold*belowFactor for releaseFor)--> queueing
 *   queueing --(every signal at or below threshold*belowFactor for releaseFor)--> open
 *
 * Two things keep a signal that hovers around its threshold from flapping the state: a condition
 * must hold without a break for its whole time (one reading on the other side restarts the count),
 * and release needs the value well below the engage threshold (belowFactor) for longer than engaging
 * took. The way down is one step at a time: from shedding, the room first queues again for a full
 * release time before it opens.
 *
 * An unknown signal never engages (a failed poll is no evidence of load). With `unknown: 'hold'` it
 * also blocks release: a database poll that times out under load is no evidence of health either.
 * With `'ignore'` release looks only at the signals that are known. A `quiet` signal (a traffic
 * window with nothing in it) never blocks release: an idle upstream is not a distressed one.
 *
 * Pure: fed with signal snapshots, timed by an injected clock, no timers.
 */
import type { Signal } from './signal.js';

export type ControlState = 'open' | 'queueing' | 'shedding';

export interface StateMachineOptions {
  /** How long a signal must stay over its engage threshold before open -> queueing (ms). */
  engageForMs: number;
  /** How long a signal must stay over its shed threshold before queueing -> shedding (ms). */
  shedForMs: number;
  /** How long every signal must stay below its release level before stepping down (ms). */
  releaseForMs: number;
  /** Release level as a fraction of the threshold (0 < f <= 1). */
  belowFactor: number;
  /** What an unknown signal does to release. */
  unknown?: 'hold' | 'ignore';
  now?: () => number;
}

export interface Transition {
  readonly from: ControlState;
  readonly to: ControlState;
  readonly at: number;
  /** The signal that caused it: the one furthest over for engaging, the one closest to its level for release. */
  readonly cause: Signal | null;
  /** One line for the log: what held, against what, for how long. */
  readonly reason: string;
}

export interface StateMachineStatus {
  state: ControlState;
  since: number;
  /** When the current run of the conditions began, or null when they do not hold. */
  overSince: number | null;
  overShedSince: number | null;
  belowSince: number | null;
  belowShedSince: number | null;
}

export class StateMachine {
  private opts: Required<Omit<StateMachineOptions, 'now'>>;
  private readonly now: () => number;
  state: ControlState = 'open';
  since: number;
  private overSince: number | null = null;
  private overShedSince: number | null = null;
  private belowSince: number | null = null;
  private belowShedSince: number | null = null;

  constructor(opts: StateMachineOptions) {
    this.opts = { unknown: 'hold', ...opts };
    this.now = opts.now ?? Date.now;
    this.since = this.now();
  }

  /** Applies new times and factor on reload; the state and the running conditions are kept. */
  reconfigure(opts: Omit<StateMachineOptions, 'now'>): void {
    this.opts = { unknown: 'hold', ...opts };
  }

  /** Feeds one snapshot of every signal; returns the transition it caused, if any. */
  update(signals: readonly Signal[]): Transition | null {
    const now = this.now();
    const { belowFactor, unknown } = this.opts;
    const over = furthestOver(signals, (s) => s.threshold);
    const overShed = furthestOver(signals, (s) => s.shedThreshold ?? null);
    const below = allBelow(signals, (s) => s.threshold, belowFactor, unknown);
    const belowShed = allBelow(signals, (s) => s.shedThreshold ?? null, belowFactor, unknown);
    this.overSince = over === null ? null : (this.overSince ?? now);
    this.overShedSince = overShed === null ? null : (this.overShedSince ?? now);
    this.belowSince = below.ok ? (this.belowSince ?? now) : null;
    this.belowShedSince = belowShed.ok ? (this.belowShedSince ?? now) : null;

    const { engageForMs, shedForMs, releaseForMs } = this.opts;
    switch (this.state) {
      case 'open':
        if (over !== null && now - this.overSince! >= engageForMs) {
          return this.go('queueing', now, over, `${describe(over, over.threshold!)} for ${seconds(now - this.overSince!)}`);
        }
        return null;
      case 'queueing':
        if (overShed !== null && now - this.overShedSince! >= shedForMs) {
          return this.go('shedding', now, overShed, `${describe(overShed, overShed.shedThreshold!)} for ${seconds(now - this.overShedSince!)}`);
        }
        // Time below counts only from entering this state: what happened before is not this release.
        if (below.ok && now - Math.max(this.belowSince!, this.since) >= releaseForMs) {
          return this.go('open', now, below.closest, `every signal at or below ${belowFactor} of its threshold for ${seconds(now - Math.max(this.belowSince!, this.since))}${closestNote(below.closest)}`);
        }
        return null;
      case 'shedding':
        if (belowShed.ok && now - Math.max(this.belowShedSince!, this.since) >= releaseForMs) {
          return this.go('queueing', now, belowShed.closest, `every signal at or below ${belowFactor} of its shed threshold for ${seconds(now - Math.max(this.belowShedSince!, this.since))}${closestNote(belowShed.closest)}`);
        }
        return null;
    }
  }

  status(): StateMachineStatus {
    return { state: this.state, since: this.since, overSince: this.overSince, overShedSince: this.overShedSince, belowSince: this.belowSince, belowShedSince: this.belowShedSince };
  }

  private go(to: ControlState, now: number, cause: Signal | null, reason: string): Transition {
    const t: Transition = { from: this.state, to, at: now, cause, reason };
    this.state = to;
    this.since = now;
    return t;
  }
}

/** The signal furthest over its level (by ratio), or null when none is over. */
function furthestOver(signals: readonly Signal[], level: (s: Signal) => number | null): Signal | null {
  let best: Signal | null = null;
  let bestRatio = -Infinity;
  for (const s of signals) {
    const t = level(s);
    if (t === null || s.value === null || !(s.value > t)) continue;
    const ratio = t > 0 ? s.value / t : Infinity;
    if (ratio > bestRatio) {
      best = s;
      bestRatio = ratio;
    }
  }
  return best;
}

/** Whether every signal with a level is at or below level*factor, and which is closest to it. */
function allBelow(signals: readonly Signal[], level: (s: Signal) => number | null, factor: number, unknown: 'hold' | 'ignore'): { ok: boolean; closest: Signal | null } {
  let closest: Signal | null = null;
  let closestRatio = -Infinity;
  for (const s of signals) {
    const t = level(s);
    if (t === null) continue;
    if (s.value === null) {
      if (unknown === 'hold' && s.quiet !== true) return { ok: false, closest: s };
      continue;
    }
    const release = t * factor;
    if (s.value > release) return { ok: false, closest: s };
    const ratio = release > 0 ? s.value / release : s.value === 0 ? 0 : Infinity;
    if (ratio > closestRatio) {
      closest = s;
      closestRatio = ratio;
    }
  }
  return { ok: true, closest };
}

function describe(s: Signal, level: number): string {
  return `${s.name} ${s.value} over ${level}`;
}

function closestNote(s: Signal | null): string {
  return s === null ? '' : ` (closest: ${s.name} ${s.value}, threshold ${s.threshold})`;
}

function seconds(ms: number): string {
  return `${Math.round(ms / 100) / 10} s`;
}
