/**
 * Durations in milliseconds that end up in a Node timer. A timer holds at most 2^31 - 1 ms (about
 * 24.8 days); a longer delay is not refused by Node but fires after 1 ms with a warning, so a huge
 * `hold.apiMs` would hold nobody and a huge keep-alive timeout would close every idle connection at once.
 */
import { z } from 'zod';

export const MAX_TIMER_MS = 2_147_483_647;

export function timerMs(min: number): z.ZodInt {
  return z.int().min(min).max(MAX_TIMER_MS);
}
