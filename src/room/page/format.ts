/**
 * Text and timing rules shared by the server-rendered page and the page's own script.
 *
 * Each function here is self-contained (no imports, no closures, no nested functions) because the page
 * script embeds its source with `Function.prototype.toString`: the first render and every later update
 * say the same thing in the same words. Keep them that way.
 */
import type { PageStrings } from './strings.js';

/** The strings `formatPosition` needs. */
export type PositionStrings = Pick<PageStrings, 'position' | 'positionNext' | 'positionUnknown'>;
/** The strings `formatEta` needs. */
export type EtaStrings = Pick<
  PageStrings,
  'etaUnknown' | 'etaUnderMinute' | 'etaOneMinute' | 'etaMinutes' | 'etaMinuteRange' | 'etaOneHour' | 'etaHours' | 'etaHourRange'
>;

/** "You are number 1,234 in line." in the page's language; "next" for 1; a placeless sentence when unknown. */
export function formatPosition(position: number | null | undefined, s: PositionStrings, lang: string): string {
  if (typeof position !== 'number' || !Number.isFinite(position) || position < 0) return s.positionUnknown;
  if (position <= 1) return s.positionNext;
  const whole = Math.floor(position);
  let text = String(whole);
  try {
    text = new Intl.NumberFormat(lang).format(whole);
  } catch {
    // An engine without this locale keeps the plain digits.
  }
  return s.position.replace('{position}', text);
}

/**
 * A wait estimate as words: a range in minutes ("about 2–4 minutes") up to 90 minutes, in hours beyond,
 * "less than a minute" under one, and "unknown" when there is no usable estimate. The upper end rounds
 * up: a person told "2–4" who waits 4.5 minutes was misled; one let in early was not.
 */
export function formatEta(eta: { low: number; high: number } | null | undefined, s: EtaStrings): string {
  if (!eta || typeof eta.low !== 'number' || typeof eta.high !== 'number') return s.etaUnknown;
  if (!Number.isFinite(eta.low) || !Number.isFinite(eta.high) || eta.high < 0) return s.etaUnknown;
  const low = Math.max(0, Math.min(eta.low, eta.high));
  const high = Math.max(eta.low, eta.high);
  if (high < 60) return s.etaUnderMinute;
  if (high <= 90 * 60) {
    const lo = Math.max(1, Math.round(low / 60));
    const hi = Math.max(lo, Math.ceil(high / 60));
    if (lo === hi) return hi === 1 ? s.etaOneMinute : s.etaMinutes.replace('{n}', String(hi));
    return s.etaMinuteRange.replace('{low}', String(lo)).replace('{high}', String(hi));
  }
  const lo = Math.max(1, Math.round(low / 3600));
  const hi = Math.max(lo, Math.ceil(high / 3600));
  if (lo === hi) return hi === 1 ? s.etaOneHour : s.etaHours.replace('{n}', String(hi));
  return s.etaHourRange.replace('{low}', String(lo)).replace('{high}', String(hi));
}

/**
 * Milliseconds until the page polls again. The server chooses the interval (`pollAfterMs`, clamped to
 * 100 ms .. 5 min so a bad value can neither spin the page nor strand it); after failures the interval
 * doubles per failure up to a minute, so an outage is not met by a crowd polling at full rate; ±20%
 * jitter (`random` in [0, 1)) keeps a crowd from polling in step.
 */
export function nextPollDelay(pollAfterMs: number, failures: number, random: number): number {
  let base = typeof pollAfterMs === 'number' && Number.isFinite(pollAfterMs) ? pollAfterMs : 5000;
  base = Math.min(Math.max(base, 100), 300_000);
  let delay = base;
  if (failures > 0) delay = Math.max(base, Math.min(base * Math.pow(2, Math.min(failures, 16)), 60_000));
  return Math.round(delay * (0.8 + 0.4 * random));
}
