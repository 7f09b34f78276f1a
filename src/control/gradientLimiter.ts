/**
 * An adaptive in-flight limit in the shape of Netflix's Gradient2: compare the recent round-trip
 * time with a long-term baseline and shrink the limit when the recent one grows (requests are
 * queueing inside the upstream), grow it slowly when they agree.
 *
 * Per sample window (at least `windowMs` long and `minSamples` exchanges):
 *
 *   shortRtt = mean RTT of the window
 *   longRtt  = exponential average of shortRtt over about `longWindow` windows (plain mean while
 *              warming up), pulled down by 10% a window when it is over twice shortRtt, so that the
 *              baseline comes back after a long overload instead of holding the limit low
 *   gradient = clamp(tolerance * longRtt / shortRtt, 0.5, 1.0)
 *   target   = limit * gradient + (gradient == 1 ? queueSize : 0)
 *   limit    = clamp(limit * (1 - smoothing) + target * smoothing, min, max)
 *
 * The clamp at 0.5 keeps one slow window (a GC pause, one heavy query) from halving capacity; the
 * tolerance lets RTT grow that much before anything shrinks; growth comes only from the queue term,
 * and only when no queueing shows (gradient 1), so the limit creeps up instead of overshooting. A
 * window whose highest in-flight count stayed under half the limit says nothing about capacity (the
 * traffic, not the upstream, bounded it) and leaves the limit alone. A window with a dropped
 * exchange (timeout, 5xx) does not grow the limit, and neither does one closed while the owner says
 * the upstream is in distress by another signal (`setDistressed`: database connections over their
 * threshold, say).
 *
 * Pure: samples in, limit out, time from an injected clock.
 */

export interface GradientLimiterOptions {
  min: number;
  max: number;
  /** Starting limit; default `max`. */
  initial?: number;
  /** RTT growth tolerated before shrinking (>= 1). */
  tolerance?: number;
  /** Weight of each new estimate (0 < s <= 1). */
  smoothing?: number;
  /** Growth per window while not queueing; default sqrt(limit), at least 1. */
  queueSize?: number;
  /** Shortest window (ms). */
  windowMs?: number;
  /** Fewest samples for a window to count; fewer, and the window stays open. */
  minSamples?: number;
  /** Windows the long-term RTT averages over. */
  longWindow?: number;
  now?: () => number;
}

export interface GradientStatus {
  limit: number;
  shortRttMs: number | null;
  longRttMs: number | null;
  gradient: number | null;
  windows: number;
}

/** Windows averaged plainly before the exponential average takes over. */
const WARMUP_WINDOWS = 10;

export class GradientLimiter {
  private readonly min: number;
  private readonly max: number;
  private readonly tolerance: number;
  private readonly smoothing: number;
  private readonly queueSize: number | undefined;
  private readonly windowMs: number;
  private readonly minSamples: number;
  private readonly longFactor: number;
  private readonly now: () => number;
  private estimate: number;
  private longRtt = 0;
  private longCount = 0;
  private shortRtt: number | null = null;
  private lastGradient: number | null = null;
  private windows = 0;
  // The open window.
  private windowStart: number | null = null;
  private sum = 0;
  private count = 0;
  private maxInflight = 0;
  private dropped = false;
  private distressed = false;

  constructor(opts: GradientLimiterOptions) {
    if (!(opts.min >= 1 && opts.max >= opts.min)) throw new RangeError(`expected 1 <= min <= max, got min ${opts.min}, max ${opts.max}`);
    this.min = opts.min;
    this.max = opts.max;
    this.tolerance = opts.tolerance ?? 1.5;
    this.smoothing = opts.smoothing ?? 0.2;
    this.queueSize = opts.queueSize;
    this.windowMs = opts.windowMs ?? 1_000;
    this.minSamples = opts.minSamples ?? 10;
    this.longFactor = 2 / ((opts.longWindow ?? 600) + 1);
    this.now = opts.now ?? Date.now;
    this.estimate = clamp(opts.initial ?? opts.max, this.min, this.max);
  }

  /** The limit in force: a whole number between min and max. */
  get limit(): number {
    return Math.floor(this.estimate);
  }

  /**
   * Records one finished exchange: its round-trip time, the in-flight count when it was sent (or
   * finished; either is fine, the window keeps the highest), and whether it was dropped.
   */
  onSample(rttMs: number, inflight: number, didDrop: boolean): void {
    if (!(rttMs >= 0)) return;
    const now = this.now();
    this.windowStart ??= now;
    this.sum += rttMs;
    this.count++;
    if (inflight > this.maxInflight) this.maxInflight = inflight;
    if (didDrop) this.dropped = true;
    if (now - this.windowStart >= this.windowMs && this.count >= this.minSamples) this.closeWindow();
  }

  /** While true, windows may shrink the limit but never grow it. */
  setDistressed(distressed: boolean): void {
    this.distressed = distressed;
  }

  /** Starts over from `limit` (e.g. when engaging from the static limit); the RTT baseline is kept. */
  reset(limit: number): void {
    this.estimate = clamp(limit, this.min, this.max);
  }

  status(): GradientStatus {
    return { limit: this.limit, shortRttMs: this.shortRtt, longRttMs: this.longCount === 0 ? null : this.longRtt, gradient: this.lastGradient, windows: this.windows };
  }

  private closeWindow(): void {
    const shortRtt = this.sum / this.count;
    const inflight = this.maxInflight;
    const dropped = this.dropped;
    this.windowStart = null;
    this.sum = 0;
    this.count = 0;
    this.maxInflight = 0;
    this.dropped = false;
    this.windows++;
    this.shortRtt = shortRtt;

    if (this.longCount < WARMUP_WINDOWS) {
      this.longCount++;
      this.longRtt += (shortRtt - this.longRtt) / this.longCount;
    } else {
      this.longRtt = this.longRtt * (1 - this.longFactor) + shortRtt * this.longFactor;
    }
    if (this.longRtt / shortRtt > 2) this.longRtt *= 0.9;

    if (inflight < this.estimate / 2) return;
    // A zero short RTT (sub-resolution responses) is no queueing at all.
    const gradient = shortRtt > 0 ? clamp((this.tolerance * this.longRtt) / shortRtt, 0.5, 1) : 1;
    this.lastGradient = gradient;
    const queue = gradient === 1 && !dropped && !this.distressed ? (this.queueSize ?? Math.max(1, Math.sqrt(this.estimate))) : 0;
    const target = this.estimate * gradient + queue;
    this.estimate = clamp(this.estimate * (1 - this.smoothing) + target * this.smoothing, this.min, this.max);
  }
}

function clamp(x: number, lo: number, hi: number): number {
  return x < lo ? lo : x > hi ? hi : x;
}
