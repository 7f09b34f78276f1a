/**
 * `anteroom check --config FILE`: validates the file and shows what each route does, so that traffic
 * that bypasses the room is visible before it matters (incident 003: a misconfigured queue let most
 * traffic around it).
 */
import { formatConfigError, loadConfigFile } from '../config/load.js';
import type { Config } from '../config/schema.js';
import { LimitPlan, type NamedBucket } from '../limits/limitPlan.js';
import { formatRate } from '../limits/rate.js';
import { RouteTable } from '../routes/routeTable.js';

export interface CheckOutput {
  code: number;
  stdout: string;
  stderr: string;
}

export function check(file: string): CheckOutput {
  const result = loadConfigFile(file);
  if (!result.ok) {
    const lines = result.errors.map((e) => `  ${formatConfigError(e)}\n`).join('');
    return { code: 1, stdout: '', stderr: `${file}: ${result.errors.length} error(s)\n${lines}` };
  }
  return { code: 0, stdout: `${file}: ok\n\n${describeRoutes(result.config)}`, stderr: '' };
}

/** The route table: every rule in order, then the fallback, with what applies to each. */
export function describeRoutes(config: Readonly<Config>): string {
  const table = new RouteTable(config.routes);
  const plan = new LimitPlan(config.limits);
  const tenant = plan.tenantPlan(config.identity.defaultTenant);
  const defaultUpstream = config.defaultUpstream ?? Object.keys(config.upstreams)[0]!;
  const header = ['#', 'route', 'match', 'class', 'cost', 'queued', 'bypass', 'upstream', 'limits'];
  const warnings: string[] = [];
  const rows = table.describe().map((r) => {
    const upstream = r.upstream ?? defaultUpstream;
    const limits: string[] = [];
    if (r.bypass) limits.push('none (bypass)');
    else {
      if (r.limits !== '') limits.push(`route: ${r.limits}`);
      else if (plan.client) limits.push(`client ${bucketText(plan.client)}`);
      if (tenant.tenant) limits.push(`tenant ${bucketText(tenant.tenant)}`);
      const cls = tenant.classes[r.class];
      if (cls) limits.push(`${r.class} ${bucketText(cls)}`);
      const cap = config.upstreams[upstream]?.concurrency;
      if (cap !== undefined) limits.push(`upstream concurrency ${cap}`);
      if (tenant.concurrency !== Infinity) limits.push(`tenant concurrency ${tenant.concurrency}`);
      if (limits.length === 0) limits.push('none configured');
      const route = r.index === -1 ? undefined : table.routes[r.index];
      const burst = route?.limits?.rate !== undefined ? (route.limits.burst ?? Math.max(1, Math.ceil(route.limits.rate))) : plan.client?.burst;
      const smallest = Math.min(burst ?? Infinity, tenant.tenant?.burst ?? Infinity, tenant.classes[r.class]?.burst ?? Infinity);
      if (r.cost > smallest) warnings.push(`${r.name}: cost ${r.cost} is above a burst of ${smallest}, so its requests are always refused`);
    }
    if (r.shadowedBy) warnings.push(`${r.name}: never matches, ${r.shadowedBy} takes all its requests`);
    return [
      r.index === -1 ? '-' : String(r.index),
      r.name + (r.shadowedBy ? ` (never matches: shadowed by ${r.shadowedBy})` : ''),
      r.match,
      r.class,
      String(r.cost),
      r.bypass ? 'no' : 'yes',
      r.bypass ? 'YES' : 'no',
      upstream,
      limits.join('; '),
    ];
  });
  let out = `routes (first match wins; "default" takes anything else):\n${formatTable([header, ...rows])}`;
  const bypass = table.bypassRoutes();
  out +=
    bypass.length === 0
      ? '\nno route bypasses rate limits and the waiting room.\n'
      : `\nbypass routes (never rate limited, never queued): ${bypass.map((r) => `${r.name} (${r.path ?? '*'})`).join(', ')}\n`;
  for (const w of warnings) out += `warning: ${w}\n`;
  return out;
}

function bucketText(b: NamedBucket): string {
  return `${formatRate(b.rate)} burst ${b.burst}${b.shadow ? ' (shadow)' : ''}`;
}

function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `  ${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd() + '\n').join('');
}
