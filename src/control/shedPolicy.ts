/**
 * What each request class gets in each state, for the admit phase:
 *
 * | state     | critical          | normal | bulk   |
 * |-----------|-------------------|--------|--------|
 * | open      | admit (to limit)  | admit  | admit  |
 * | queueing  | queue             | queue  | queue  |
 * | shedding  | admit (to limit)  | queue  | refuse |
 *
 * In queueing everyone waits in the room and the fair queue serves critical first. In shedding the
 * expensive, deferrable traffic goes first (incidents 001, 002): bulk gets 503 with Retry-After,
 * normal keeps its place, critical skips the room but still takes an in-flight slot, so the upstream
 * never sees more than the limit in force.
 */
import type { ControlState } from './stateMachine.js';

export type ClassAction = 'admit' | 'queue' | 'refuse';

export function classAction(state: ControlState, cls: 'critical' | 'normal' | 'bulk'): ClassAction {
  switch (state) {
    case 'open':
      return 'admit';
    case 'queueing':
      return 'queue';
    case 'shedding':
      return cls === 'bulk' ? 'refuse' : cls === 'normal' ? 'queue' : 'admit';
  }
}
