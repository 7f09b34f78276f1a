import type { RequestContext } from './context.js';

/** The phase let the request go on to the next phase. */
export const NEXT = 0;
/** The phase answered the request itself; the remaining request phases are skipped. */
export const ANSWERED = 1;
export type PhaseOutcome = typeof NEXT | typeof ANSWERED;

/**
 * One step of the request's path. A phase returns synchronously when it can (most do), so that the
 * common path allocates no promise; it returns a promise only when it must wait (admission).
 */
export interface Phase {
  readonly name: string;
  run(ctx: RequestContext): PhaseOutcome | Promise<PhaseOutcome>;
}
