/**
 * The common shape of everything the controller watches: one number, the threshold it is held
 * against, and how fresh it is. A signal that cannot be read (a poll failed, no traffic yet, the
 * reading went stale) is `unknown` with `value: null`: it is shown as such, never read as zero.
 */

export type SignalState = 'ok' | 'over' | 'unknown';

export interface Signal {
  /** Stable name, e.g. `latencyP95`, `errorRate`, `db.postgres`, `eventLoopDelay`, `probe`. */
  readonly name: string;
  /** The reading; null when unknown. */
  readonly value: number | null;
  /** The engage threshold the value is held against; null for a signal shown but never acted on. */
  readonly threshold: number | null;
  /**
   * The shedding threshold (above `threshold`); null or absent when this signal never sheds.
   * An addition to the shape: the state machine needs both levels per signal.
   */
  readonly shedThreshold?: number | null;
  /** When the value was last read (ms, the source's clock); null when it never was. */
  readonly updatedAt: number | null;
  /** `over` when value > threshold; `unknown` when value is null. */
  readonly state: SignalState;
  /** Human-readable context for status and logs: the percentiles, the pool counts, or why it is unknown. */
  readonly detail: string;
  /**
   * Unknown because nothing happened (no traffic in the window), not because a reading failed: no
   * evidence either way, so it never holds the room engaged. Absent means false.
   */
  readonly quiet?: boolean;
}

/** A thing that can be asked for its signal at any time; reading it never does I/O. */
export interface SignalSource {
  readonly name: string;
  read(now: number): Signal;
  /** Starts background work (polling, probing), if any. */
  start?(): void;
  /** Stops background work and closes connections; never throws. */
  close?(): Promise<void>;
}

/** Builds a signal, deriving `state` from value and threshold so that the two cannot disagree. */
export function makeSignal(
  name: string,
  value: number | null,
  threshold: number | null,
  updatedAt: number | null,
  detail: string,
  shedThreshold: number | null = null,
): Signal {
  const state: SignalState = value === null ? 'unknown' : threshold !== null && value > threshold ? 'over' : 'ok';
  return { name, value, threshold, shedThreshold, updatedAt, state, detail };
}

/** The same signal made unknown, keeping its thresholds and last update time for display. */
export function unknownSignal(name: string, threshold: number | null, updatedAt: number | null, detail: string, shedThreshold: number | null = null): Signal {
  return makeSignal(name, null, threshold, updatedAt, detail, shedThreshold);
}
