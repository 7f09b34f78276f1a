/**
 * Choosing the page's language from `Accept-Language` (RFC 9110 §12.5.4): language ranges in order of
 * their q-value (ties keep header order), each matched by lookup (RFC 4647 §3.4): `de-CH` falls back to
 * `de`, and `de` takes `de-DE` when that is what the page has. `q=0` means "not this one", also for `*`.
 */
import { DEFAULT_LANGUAGE } from './strings.js';

interface Range {
  tag: string;
  q: number;
  order: number;
}

// A qvalue is 0 to 1 with at most three decimals; anything else makes the entry unusable, not preferred.
const QVALUE = /^(?:0(?:\.\d{0,3})?|1(?:\.0{0,3})?)$/;
const LANGUAGE_RANGE = /^(?:\*|[a-z]{1,8}(?:-[a-z\d]{1,8})*)$/;

function parse(header: string): Range[] {
  const ranges: Range[] = [];
  const parts = header.split(',');
  for (let i = 0; i < parts.length && i < 32; i++) {
    const [rawTag, ...params] = (parts[i] ?? '').split(';');
    const tag = (rawTag ?? '').trim().toLowerCase();
    if (!LANGUAGE_RANGE.test(tag)) continue;
    let q = 1;
    let valid = true;
    for (const param of params) {
      const eq = param.indexOf('=');
      if (eq < 0 || param.slice(0, eq).trim().toLowerCase() !== 'q') continue;
      const value = param.slice(eq + 1).trim();
      if (QVALUE.test(value)) q = Number(value);
      else valid = false;
    }
    if (valid) ranges.push({ tag, q, order: i });
  }
  return ranges;
}

/**
 * The best of `available` (language tags such as `en`, `de`, `fr-CA`) for an `Accept-Language` header,
 * returned as spelled in `available`. Falls back to English when it is available, else to the first.
 */
export function pickLanguage(acceptLanguage: string | undefined, available: readonly string[]): string {
  const preferred = available.find((a) => a.toLowerCase() === DEFAULT_LANGUAGE) ?? available[0] ?? DEFAULT_LANGUAGE;
  if (!acceptLanguage || available.length === 0) return preferred;
  const ranges = parse(acceptLanguage);
  const refused = new Set(ranges.filter((r) => r.q === 0 && r.tag !== '*').map((r) => r.tag));
  const isRefused = (tag: string): boolean => refused.has(tag.toLowerCase());
  // Nothing acceptable is on offer: the default, unless it was refused by name.
  const fallback = isRefused(preferred) ? (available.find((a) => !isRefused(a)) ?? preferred) : preferred;
  const wanted = ranges.filter((r) => r.q > 0).sort((a, b) => b.q - a.q || a.order - b.order);

  for (const range of wanted) {
    if (range.tag === '*') {
      const any = available.find((a) => !isRefused(a) && !ranges.some((r) => r.tag === a.toLowerCase()));
      if (any) return any;
      continue;
    }
    // Lookup: the range itself, then shorter and shorter prefixes of it.
    const subtags = range.tag.split('-');
    for (let n = subtags.length; n > 0; n--) {
      const prefix = subtags.slice(0, n).join('-');
      const exact = available.find((a) => a.toLowerCase() === prefix);
      if (exact && !isRefused(exact)) return exact;
    }
    // A bare range (`de`) accepts a regional tag the page has (`de-DE`).
    const regional = available.find((a) => a.toLowerCase().startsWith(`${range.tag}-`) && !isRefused(a));
    if (regional) return regional;
  }
  return fallback;
}
