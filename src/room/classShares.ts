/**
 * How one tenant's admissions are shared among its classes: critical before normal before bulk, but
 * every lower class that has waiters gets a guaranteed minimum share (incident 001: bulk automation
 * belongs in a low-priority lane, yet a lane that is never served is an outage of its own).
 *
 * Mechanism (credits, in parts per SCALE): at every admission each lower class with waiters earns its
 * share; a class without waiters loses its credit (no banking while idle, so a returning bulk burst
 * cannot jump the queue). A class whose credit reaches one whole admission is served first, the one
 * with the most credit when two are due, and pays one admission. Otherwise the highest-priority class
 * with waiters is served. With critical always waiting and bulk at 5%, bulk gets exactly every 20th
 * admission; when two guaranteed classes fall due together one of them is served one admission late,
 * so over N admissions each class gets at least floor(N * share) - 1, and floor(N * share) when it is
 * the only guaranteed class waiting.
 *
 * `admissionsUntil` is the same policy as a fluid model, used to estimate positions (see fairQueue.ts).
 */
export interface MinShares {
  /** Fraction of the tenant's admissions normal gets while it has waiters, even with critical waiting. */
  normal: number;
  /** Fraction of the tenant's admissions bulk gets while it has waiters. */
  bulk: number;
}

export const DEFAULT_MIN_SHARES: Readonly<MinShares> = Object.freeze({ normal: 0.1, bulk: 0.05 });

/** Credits are integers, so 20 x 5% is exactly one admission, not 0.9999999. */
const SCALE = 10_000;

/** Per-tenant scheduling state: credit per class index (index 0, critical, is never used). */
export type ClassCredits = [number, number, number];

export class ClassShares {
  /** Share per class index, in parts per SCALE. */
  readonly #share: [number, number, number];
  /** Scratch for admissionsUntil, which runs on every status poll. */
  readonly #left = [0, 0, 0];
  readonly #rate = [0, 0, 0];

  constructor(shares: MinShares = DEFAULT_MIN_SHARES) {
    for (const cls of ['normal', 'bulk'] as const) {
      const s = shares[cls];
      if (!(s >= 0 && s < 1)) throw new Error(`anteroom: room minimum share for ${cls} must be in [0, 1), got ${s}`);
    }
    if (shares.normal + shares.bulk >= 1) {
      throw new Error(`anteroom: room minimum shares for normal and bulk must add up to less than 1, got ${shares.normal + shares.bulk}`);
    }
    this.#share = [0, Math.round(shares.normal * SCALE), Math.round(shares.bulk * SCALE)];
  }

  /**
   * The class index to serve next given the waiters per class index; -1 when all are empty. Updates
   * `credits`: call once per admission.
   */
  pick(credits: ClassCredits, waiting: readonly number[]): number {
    let top = -1;
    for (let i = 0; i < 3; i++) {
      if (waiting[i]! > 0) {
        top = i;
        break;
      }
    }
    if (top < 0) return -1;
    let chosen = -1;
    let best = SCALE - 1;
    for (let i = 1; i < 3; i++) {
      if (waiting[i]! > 0) {
        const c = credits[i]! + this.#share[i]!;
        credits[i] = c;
        // Strictly greater: on a tie the higher-priority class goes first.
        if (c > best) {
          best = c;
          chosen = i;
        }
      } else {
        credits[i] = 0;
      }
    }
    if (chosen < 0) chosen = top;
    if (chosen > 0) credits[chosen] = Math.max(0, credits[chosen]! - SCALE);
    return chosen;
  }

  /**
   * How many of the tenant's admissions happen until the `rank`-th waiter (1-based) of class index
   * `cls` is admitted, with `waiting[i]` waiters per class, under the policy above treated as a fluid:
   * while a set of classes has waiters, each lower class in it flows at its share and the highest at
   * the rest. Exactly `rank` when only that class has waiters. Never increases when any count drops,
   * because a class leaving the set never lowers another's rate.
   */
  admissionsUntil(waiting: readonly number[], cls: number, rank: number): number {
    // One class alone, the common case: the answer is the rank.
    if ((cls === 0 || waiting[0] === 0) && (cls === 1 || waiting[1] === 0) && (cls === 2 || waiting[2] === 0)) return rank;
    const left = this.#left;
    const rate = this.#rate;
    for (let i = 0; i < 3; i++) left[i] = waiting[i]!;
    left[cls] = rank;
    let elapsed = 0;
    for (;;) {
      let top = -1;
      let lower = 0;
      for (let i = 0; i < 3; i++) {
        rate[i] = 0;
        if (left[i]! <= 0) continue;
        if (top < 0) top = i;
        else {
          rate[i] = this.#share[i]! / SCALE;
          lower += rate[i]!;
        }
      }
      rate[top] = 1 - lower;
      let dt = Infinity;
      let first = -1;
      for (let i = 0; i < 3; i++) {
        if (left[i]! > 0 && rate[i]! > 0 && left[i]! / rate[i]! < dt) {
          dt = left[i]! / rate[i]!;
          first = i;
        }
      }
      elapsed += dt;
      if (first === cls) return elapsed;
      // Residues below 1e-9 of an admission are float noise, not waiters.
      for (let i = 0; i < 3; i++) {
        if (left[i]! <= 0) continue;
        const l = left[i]! - rate[i]! * dt;
        left[i] = l < 1e-9 ? 0 : l;
      }
      left[first] = 0;
      if (left[cls]! <= 0) return elapsed;
    }
  }
}
