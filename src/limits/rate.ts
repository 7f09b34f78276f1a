/**
 * Rates as operators write them (`20/s`, `3/min`, `100/h`, `1000/10s`) and as the limiters use them:
 * tokens per second. The config keeps the number; `formatRate` turns it back into the short form for
 * `anteroom check` and logs.
 */
import { z } from 'zod';

export const RATE_HINT = 'expected a rate like 20/s, 3/min or 100/h';

const SECONDS: Record<string, number> = {
  s: 1,
  sec: 1,
  secs: 1,
  second: 1,
  seconds: 1,
  m: 60,
  min: 60,
  mins: 60,
  minute: 60,
  minutes: 60,
  h: 3600,
  hr: 3600,
  hrs: 3600,
  hour: 3600,
  hours: 3600,
  d: 86400,
  day: 86400,
  days: 86400,
};

// COUNT / [MULTIPLIER] UNIT, e.g. 20/s, 2.5/s, 1000/10s, 3 / min.
const RATE = /^\s*(\d+(?:\.\d+)?)\s*\/\s*(\d+)?\s*([a-z]+)\s*$/i;

/** Largest rate accepted; beyond it a limit is meaningless and float arithmetic gets coarse. */
const MAX_PER_SECOND = 1e9;

/**
 * Parses a rate into tokens per second. A number is taken as tokens per second already.
 * Throws a RangeError whose message says what a rate looks like.
 */
export function parseRate(input: string | number): number {
  const result = toPerSecond(input);
  if (typeof result === 'string') throw new RangeError(`${result} (got ${JSON.stringify(input)})`);
  return result;
}

/** Tokens per second, or what is wrong with the input. */
function toPerSecond(input: string | number): number | string {
  let perSecond: number;
  if (typeof input === 'number') {
    perSecond = input;
  } else {
    const m = RATE.exec(input);
    const unit = m ? SECONDS[m[3]!.toLowerCase()] : undefined;
    if (!m || unit === undefined) return RATE_HINT;
    const multiplier = m[2] === undefined ? 1 : Number(m[2]);
    if (multiplier === 0) return `${RATE_HINT}; the period must not be zero`;
    perSecond = Number(m[1]) / (multiplier * unit);
  }
  // A zero rate is refused: stopping traffic is the job of blocks and kill switches, not of a limit
  // that silently never refills.
  if (!Number.isFinite(perSecond) || perSecond <= 0) return `${RATE_HINT}; the rate must be above zero`;
  if (perSecond > MAX_PER_SECOND) return `${RATE_HINT}; at most ${MAX_PER_SECOND}/s`;
  return perSecond;
}

/** The shortest of `N/s`, `N/min`, `N/h`, `N/d` that states the rate exactly, e.g. 0.05 -> `3/min`. */
export function formatRate(perSecond: number): string {
  for (const [unit, seconds] of [
    ['s', 1],
    ['min', 60],
    ['h', 3600],
    ['d', 86400],
  ] as const) {
    const count = perSecond * seconds;
    const rounded = Math.round(count * 1000) / 1000;
    if (rounded >= 1 && Math.abs(count - rounded) < 1e-9 * Math.max(1, count)) return `${rounded}/${unit}`;
  }
  return `${Number(perSecond.toPrecision(6))}/s`;
}

/** A rate in the config: `20/s`-style text or a number of tokens per second; the output is tokens per second. */
export const rateSchema = z.union([z.number(), z.string()], { error: RATE_HINT }).transform((value, ctx) => {
  const result = toPerSecond(value);
  if (typeof result === 'number') return result;
  ctx.issues.push({ code: 'custom', message: result, input: value });
  return z.NEVER;
});
