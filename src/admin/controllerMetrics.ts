/**
 * The metrics of the controllers (one per upstream with a `control` entry, control/controller.ts): the
 * state and every signal's value, thresholds, state and age. (The limit in force, which a controller
 * sets, is read from the concurrency gate with the other upstream gauges: stateMetrics.ts.) Snapshots are taken once per scrape
 * (`refresh`), since a snapshot reads every signal.
 */
import type { ControllerSnapshot } from '../control/controller.js';
import type { Signal } from '../control/signal.js';
import type { ControlState } from '../control/stateMachine.js';
import { ScrapeMetric, type Labels } from './scrapeMetric.js';

/** What is read of a controller. */
export interface SnapshotSource {
  snapshot(): ControllerSnapshot;
}

const STATES: readonly ControlState[] = ['open', 'queueing', 'shedding'];
const SIGNAL_STATES = ['ok', 'over', 'unknown'];

export class ControllerMetrics {
  private snapshots: ControllerSnapshot[] = [];

  /**
   * `controllers`: the runtime's controllers by upstream, read at every refresh (a reload adds and
   * removes them); `now`: ms on the controllers' clock, for the signals' ages.
   */
  constructor(
    private readonly controllers: () => ReadonlyMap<string, SnapshotSource>,
    private readonly now: () => number,
  ) {}

  refresh(): void {
    this.snapshots = [];
    for (const c of this.controllers().values()) this.snapshots.push(c.snapshot());
  }

  metrics(): ScrapeMetric[] {
    /** Calls `f` for every controller's snapshot, with its upstream label. */
    const upstreams = (f: (s: ControllerSnapshot, labels: Labels) => void) => {
      for (const s of this.snapshots) f(s, { upstream: s.upstream });
    };
    /** Calls `f` for every signal of every controller, with its upstream and signal labels. */
    const signals = (f: (g: Signal, labels: Labels) => void) => {
      for (const s of this.snapshots) for (const g of s.signals) f(g, { upstream: s.upstream, signal: g.name });
    };
    return [
      new ScrapeMetric(
        'anteroom_upstream_state',
        "The controller's state per upstream: open (requests go straight through), queueing (the waiting room is engaged), shedding (low-priority traffic is refused). 1 for the current state.",
        'gauge',
        (out) => upstreams((s, l) => out.states(STATES, s.state, 'state', l)),
      ),
      new ScrapeMetric(
        'anteroom_upstream_signal_value',
        'The latest reading of each signal the controller watches (latencyP95 in ms, errorRate as a fraction, eventLoopDelay in ms, db.* pool usage, probe); absent while unknown.',
        'gauge',
        (out) => signals((g, l) => out.add(g.value, l)),
      ),
      new ScrapeMetric(
        'anteroom_upstream_signal_threshold',
        'The threshold each signal is held against: level engage (the room engages above it) or shed (shedding starts above it); absent when not configured.',
        'gauge',
        (out) =>
          signals((g, l) => {
            out.add(g.threshold, { ...l, level: 'engage' });
            out.add(g.shedThreshold ?? null, { ...l, level: 'shed' });
          }),
      ),
      new ScrapeMetric(
        'anteroom_upstream_signal_state',
        'Each signal against its engage threshold: ok, over, or unknown (no reading: a poll failed, no traffic, or the reading is stale). 1 for the current state.',
        'gauge',
        (out) => signals((g, l) => out.states(SIGNAL_STATES, g.state, 'state', l)),
      ),
      new ScrapeMetric('anteroom_upstream_signal_age_seconds', 'Seconds since each signal was last read; absent when it never was.', 'gauge', (out) => {
        const now = this.now();
        signals((g, l) => out.add(g.updatedAt === null ? null : Math.max(0, (now - g.updatedAt) / 1000), l));
      }),
    ];
  }
}
