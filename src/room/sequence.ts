/**
 * Where a ticket's `seq` comes from. The place has to mean the same thing on every instance, because a
 * client may come back to another one (DESIGN: "queue order is global"). A per-process counter would
 * not: seq 5,000 from a busy instance would land behind everyone on a quiet one. So the sequence is
 * time-derived: the arrival time in microseconds, bumped by one when two arrivals share a microsecond,
 * so it is strictly increasing on one instance and orders arrivals across instances by their arrival
 * time (to within the instances' clock skew). The values stay below 2^53 until the year 2255.
 *
 * With a shared store the integrator may use a store-side counter (Redis INCR) instead: anything that
 * is a safe non-negative integer, increasing with arrival time across the fleet, will do.
 */
export class SequenceClock {
  readonly #now: () => number;
  #last = 0;

  /** `now`: ms since the epoch (Date.now, or a fake clock in tests). */
  constructor(now: () => number) {
    this.#now = now;
  }

  next(): number {
    const t = Math.floor(this.#now() * 1000);
    this.#last = t > this.#last ? t : this.#last + 1;
    return this.#last;
  }
}
