/** rate-limit: token buckets per client, tenant and route class. No limits are configured yet. */
import type { RequestContext } from './context.js';
import { NEXT, type Phase } from './phase.js';

export const rateLimit: Phase = {
  name: 'rate-limit',
  run(_ctx: RequestContext) {
    return NEXT;
  },
};
