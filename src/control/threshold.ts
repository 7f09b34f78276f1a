/**
 * A connection threshold: an absolute count, or a percentage of the capacity the database reports
 * (`max_connections`), resolved on every reading so that a server restarted with a new
 * `max_connections` is judged against the new one.
 */
export type Threshold = { readonly kind: 'count'; readonly n: number } | { readonly kind: 'percent'; readonly percent: number };

/** Parses `80` or `"80%"` (as in the config). */
export function parseThreshold(value: number | string): Threshold {
  if (typeof value === 'number') return { kind: 'count', n: value };
  const m = /^\s*(\d+(?:\.\d+)?)\s*%\s*$/.exec(value);
  if (m === null) throw new RangeError(`expected a number or a percentage like "80%", got ${JSON.stringify(value)}`);
  return { kind: 'percent', percent: Number(m[1]) };
}

/** The absolute threshold for a reading; null when it is a percentage and the capacity is unknown. */
export function resolveThreshold(t: Threshold | null, capacity: number | null): number | null {
  if (t === null) return null;
  if (t.kind === 'count') return t.n;
  return capacity === null ? null : (capacity * t.percent) / 100;
}

export function describeThreshold(t: Threshold): string {
  return t.kind === 'count' ? String(t.n) : `${t.percent}% of capacity`;
}
