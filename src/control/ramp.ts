/**
 * Slow start: a factor that rises in a straight line from `floor` to 1 over `durationMs`, applied to
 * the in-flight limit after the proxy starts, after the room releases, and after an upstream comes
 * back from being down. Whatever piled up meanwhile then drains at a rate the upstream can take
 * instead of all at once (incident 004: a backlog released at once after a fix spiked the database's
 * CPU and took the service down again). The line has no steps: the limit it gives,
 * floor(full * factor), passes through every whole number on the way up.
 *
 * Pure: time from an injected clock.
 */
export interface RampOptions {
  /** Starting fraction of the full limit (0 < floor <= 1). */
  floor: number;
  durationMs: number;
  now?: () => number;
}

export class Ramp {
  private floor: number;
  private durationMs: number;
  private readonly now: () => number;
  private startedAt: number | null = null;
  private from = 1;
  private activeDurationMs = 0;

  constructor(opts: RampOptions) {
    if (!(opts.floor > 0 && opts.floor <= 1)) throw new RangeError(`floor must be in (0, 1], got ${opts.floor}`);
    this.floor = opts.floor;
    this.durationMs = Math.max(0, opts.durationMs);
    this.now = opts.now ?? Date.now;
  }

  /**
   * Starts (or restarts) the ramp. `from` is the starting factor when it should be above the floor
   * (the limit in force at the moment of release, as a fraction of full: the ramp must not cut it).
   * The duration is scaled so that the slope is the same wherever the ramp starts; `durationMs`
   * overrides the configured duration for this ramp (release and recovery may differ).
   */
  start(from = this.floor, durationMs = this.durationMs): void {
    const f = Math.min(1, Math.max(this.floor, from));
    this.from = f;
    this.startedAt = this.now();
    this.activeDurationMs = this.floor === 1 ? 0 : (Math.max(0, durationMs) * (1 - f)) / (1 - this.floor);
  }

  /** The factor now: from the start factor up to 1. */
  factor(): number {
    if (this.startedAt === null) return 1;
    const elapsed = this.now() - this.startedAt;
    if (elapsed >= this.activeDurationMs) {
      this.startedAt = null;
      return 1;
    }
    return this.from + ((1 - this.from) * Math.max(0, elapsed)) / this.activeDurationMs;
  }

  /** Whether a ramp is under way. */
  get active(): boolean {
    return this.factor() < 1;
  }

  /** The limit in force for a full limit: floor(full * factor), at least 1; Infinity stays Infinity. */
  apply(full: number): number {
    if (full === Infinity) return Infinity;
    return Math.max(1, Math.floor(full * this.factor()));
  }

  reconfigure(floor: number, durationMs: number): void {
    this.floor = floor;
    this.durationMs = durationMs;
  }

  /** Remaining time (ms), 0 when none. */
  remainingMs(): number {
    if (!this.active) return 0;
    return this.activeDurationMs - (this.now() - this.startedAt!);
  }
}
