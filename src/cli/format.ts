/** Small text helpers shared by `anteroom check` and `anteroom explain`. */
import type { NamedBucket } from '../limits/limitPlan.js';
import { formatRate } from '../limits/rate.js';
import type { Route } from '../routes/routeTable.js';

/** How a route rule is named in output: `routes[2] (name: export)`, `routes[2]`, or `default route`. */
export function routeLabel(index: number, route: Pick<Route, 'name'>): string {
  if (index === -1) return 'default route (no rule matched)';
  return route.name === `routes[${index}]` ? `routes[${index}]` : `routes[${index}] (name: ${route.name})`;
}

/** `20/s burst 40`, with `(shadow)` for a bucket that only counts. */
export function bucketText(b: Pick<NamedBucket, 'rate' | 'burst' | 'shadow'>): string {
  return `${formatRate(b.rate)} burst ${b.burst}${b.shadow ? ' (shadow)' : ''}`;
}

/**
 * The config entry a bucket comes from. Route buckets are named by the route's position rather than
 * LimitPlan's `routes[<name>].limits`, so that unnamed routes read well too.
 */
export function bucketSource(b: NamedBucket, routeIndex: number): string {
  return b.name.startsWith('route-') && routeIndex >= 0 ? `routes[${routeIndex}].limits` : b.source;
}

/** Columns padded to their widest cell, two spaces apart, indented by two; the last column is not padded. */
export function formatTable(rows: readonly (readonly string[])[]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `  ${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd() + '\n').join('');
}

/** `1 error`, `2 errors`. */
export function count(n: number, what: string): string {
  return `${n} ${what}${n === 1 ? '' : 's'}`;
}
