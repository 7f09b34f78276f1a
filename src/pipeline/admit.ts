/** admit: go now, wait in the room, or shed. With no room configured every request goes now. */
import type { RequestContext } from './context.js';
import { NEXT, type Phase } from './phase.js';

export const admit: Phase = {
  name: 'admit',
  run(ctx: RequestContext) {
    ctx.decision = 'forward';
    return NEXT;
  },
};
