/** guard: blocks and kill switches for a client, session, IP, tenant or route. None are in force yet. */
import type { RequestContext } from './context.js';
import { NEXT, type Phase } from './phase.js';

export const guard: Phase = {
  name: 'guard',
  run(_ctx: RequestContext) {
    return NEXT;
  },
};
