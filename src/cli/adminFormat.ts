/** `anteroom admin status` as text: a few summary lines, then a table of upstreams and one of tenants. */

type Json = Record<string, unknown>;

export function formatStatus(s: Json): string {
  const room = s['room'] as Json;
  const controls = s['controls'] as Json;
  const store = s['store'] as Json;
  const mode = room['mode'] as Json;
  const lines = [
    `instance ${String(s['instance'])}  up ${String(s['uptimeS'])} s${s['draining'] ? '  DRAINING' : ''}  store ${String(store['kind'])}${store['degraded'] ? ' (DEGRADED: deciding locally)' : ''}  websockets ${String(s['websockets'])}`,
    `room: ${String(room['queue'])} queue, ${String(room['waiting'])} waiting, ${String(room['admitted'])} admitted, limit ${room['limit'] === null ? 'none' : String(room['limit'])}; mode ${String(mode['config'])} (config)${mode['global'] === null ? '' : `, ${String(mode['global'])} (runtime, global)`}`,
    `switches: ${String(controls['blocks'])} block(s), ${String(controls['tenantModes'])} tenant mode(s), ${String(controls['overrides'])} override(s)${controls['synced'] ? '' : '  NOT IN STEP WITH REDIS'}`,
    '',
    'upstreams',
  ];
  const upstreams = (s['upstreams'] as Json[]).map((u) => [
    String(u['name']),
    String(u['state'] ?? '-'),
    String(u['inFlight']),
    u['limit'] === null ? 'none' : `${String(u['limit'])} (${String(u['limitSource'])})`,
    (u['signals'] as Json[]).map((g) => `${String(g['name'])} ${g['value'] === null ? '?' : String(round(g['value'] as number))} ${String(g['state'])}`).join(', ') || '-',
  ]);
  lines.push(...table([['name', 'state', 'in flight', 'limit', 'signals'], ...upstreams]));
  const tenants = s['tenants'] as Json[];
  lines.push('', 'tenants');
  if (tenants.length === 0) lines.push('  none seen yet');
  else {
    const rows = tenants.map((t) => {
      const w = t['waiting'] as Json;
      const refusals = Object.entries(t['refusals'] as Json).map(([code, n]) => `${code} ${String(n)}`).join(', ');
      return [String(t['tenant']), String(t['mode']), `${String(w['critical'])}/${String(w['normal'])}/${String(w['bulk'])}`, String(t['admittedSessions']), String(t['inFlight']), String(t['websockets']), refusals || '-'];
    });
    lines.push(...table([['tenant', 'mode', 'waiting c/n/b', 'sessions', 'in flight', 'websockets', 'refusals'], ...rows]));
  }
  return `${lines.join('\n')}\n`;
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function table(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => `  ${r.map((cell, i) => (i === r.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ')}`.trimEnd());
}
