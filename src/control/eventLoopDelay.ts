/**
 * The proxy's own event-loop delay, from `perf_hooks.monitorEventLoopDelay`. A proxy whose loop is
 * late adds that delay to every request and reads every other signal late; it is overloaded itself,
 * whatever the upstream says. One instance per process: `sample()` is called once per control tick
 * and resets the histogram, so each reading covers the time since the previous one; every
 * upstream's controller then reads the same reading against its own threshold. (Node skips the first
 * interval after a reset, so a stall that begins within one resolution of a tick is seen only as
 * part of the next one; at a 1 s tick and 20 ms resolution that is rare and costs one tick.)
 */
import { monitorEventLoopDelay, type IntervalHistogram } from 'node:perf_hooks';
import { makeSignal, unknownSignal, type Signal } from './signal.js';

export interface EventLoopReading {
  /** p99 delay (ms) since the previous sample. */
  p99Ms: number;
  maxMs: number;
  meanMs: number;
  at: number;
}

export class EventLoopDelay {
  private readonly histogram: IntervalHistogram;
  private last: EventLoopReading | null = null;
  private running = false;

  /** `resolutionMs`: how often the loop is sampled; the smallest delay it can see. */
  constructor(resolutionMs = 20) {
    this.histogram = monitorEventLoopDelay({ resolution: resolutionMs });
  }

  start(): void {
    if (this.running) return;
    this.histogram.enable();
    this.running = true;
  }

  /** Takes a reading of the delays since the last one and starts a new period. */
  sample(now: number): EventLoopReading | null {
    if (!this.running) return this.last;
    const h = this.histogram;
    // No timer fired in the period (it was shorter than the resolution): keep the previous reading.
    if (h.count === 0) return this.last;
    this.last = { p99Ms: h.percentile(99) / 1e6, maxMs: h.max / 1e6, meanMs: h.mean / 1e6, at: now };
    h.reset();
    return this.last;
  }

  /** The latest reading as a signal against `thresholdMs` (null: shown, never acted on). */
  signal(thresholdMs: number | null, shedMs: number | null = null): Signal {
    const r = this.last;
    if (r === null) return unknownSignal('eventLoopDelay', thresholdMs, null, this.running ? 'no reading yet' : 'not started', shedMs);
    return makeSignal('eventLoopDelay', round(r.p99Ms), thresholdMs, r.at, `p99 ${round(r.p99Ms)} ms, max ${round(r.maxMs)} ms, mean ${round(r.meanMs)} ms`, shedMs);
  }

  stop(): void {
    if (!this.running) return;
    this.histogram.disable();
    this.running = false;
  }
}

function round(ms: number): number {
  return Math.round(ms * 100) / 100;
}
