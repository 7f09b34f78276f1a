/** Shared pieces for the control tests. */
import { makeSignal, type Signal } from '../../src/control/signal.js';

export { FakeClock, prng } from '../room/helpers.js';

/** A signal as a source would report it at `at`. */
export function sig(name: string, value: number | null, threshold: number | null, at = 0, shedThreshold: number | null = null): Signal {
  return makeSignal(name, value, threshold, value === null ? null : at, value === null ? 'unknown in test' : 'test', shedThreshold);
}
