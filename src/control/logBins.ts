/**
 * Fixed log-scale bins for latencies in milliseconds, HdrHistogram-like: 1/64 ms resolution below
 * 2 ms, then every power-of-two range split into 64 equal bins, so a bin is never wider than 1/64
 * (1.6%) of its lower bound. Integer milliseconds below 128 ms fall exactly on a bin's lower bound,
 * as do many rounder values above (200, 800, 1000). Bins reach 2^17 ms (about 131 s); the top bin
 * also takes everything longer: no proxied latency worth distinguishing is.
 */

/** Sub-bins per power of two, and units per millisecond. */
const SUB = 64;
const UNITS_PER_MS = 64;
/** Values below this many units get one bin per unit. */
const LINEAR_UNITS = 2 * SUB;
/** Powers of two above the linear range. */
const OCTAVES = 16;

export const BIN_COUNT = LINEAR_UNITS + OCTAVES * SUB;
/** The lower bound of the top bin, which also holds everything beyond the range. */
export const MAX_TRACKED_MS = binLowerBound(BIN_COUNT - 1);

/** The bin a latency falls in; negatives and NaN go to bin 0, anything huge to the top bin. */
export function binOf(ms: number): number {
  if (!(ms > 0)) return 0;
  const units = Math.floor(ms * UNITS_PER_MS);
  if (units < LINEAR_UNITS) return units;
  if (units >= 2 ** 31) return BIN_COUNT - 1;
  const log2 = 31 - Math.clz32(units);
  // Octave 0 is [2^7, 2^8) units; its bins are 2 units wide, doubling with each octave.
  const octave = log2 - 7;
  if (octave >= OCTAVES) return BIN_COUNT - 1;
  const sub = (units - 2 ** log2) >>> (octave + 1);
  return LINEAR_UNITS + octave * SUB + sub;
}

/** The smallest latency (ms) in a bin: what a percentile that lands in the bin reports. */
export function binLowerBound(bin: number): number {
  if (bin < LINEAR_UNITS) return bin / UNITS_PER_MS;
  const octave = Math.floor((bin - LINEAR_UNITS) / SUB);
  const sub = (bin - LINEAR_UNITS) % SUB;
  return (2 ** (octave + 7) + sub * 2 ** (octave + 1)) / UNITS_PER_MS;
}
