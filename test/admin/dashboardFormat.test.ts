/**
 * The dashboard's words for its numbers (src/admin/dashboard/format.ts), run here in Node; the page
 * embeds the same functions' source, which the last tests check.
 */
import { describe, expect, it } from 'vitest';
import { compareTenants, formatAge, formatNumber, formatSignalValue, isTenantId, pollDelay, refusalTotal, signalLevel, signalLevelText, stateText, type TenantRow } from '../../src/admin/dashboard/format.js';
import { DASHBOARD_SCRIPT } from '../../src/admin/dashboard/script.js';
import { TENANT_ID } from '../../src/identity/schema.js';

describe('formatAge', () => {
  it.each([
    [null, 'never'],
    [undefined, 'never'],
    [Number.NaN, 'never'],
    [-50, '0.0 s'],
    [0, '0.0 s'],
    [420, '0.4 s'],
    [9_940, '9.9 s'],
    [9_960, '10 s'],
    [59_400, '59 s'],
    [60_000, '1 min 0 s'],
    [184_000, '3 min 4 s'],
    [3_600_000, '1 h 0 min'],
    [7_530_000, '2 h 5 min'],
  ])('%s ms: %s', (ms, text) => {
    expect(formatAge(ms as number | null | undefined)).toBe(text);
  });
});

describe('signal values and verdicts', () => {
  it('speaks each signal in its unit', () => {
    expect(formatSignalValue('latencyP95', 812.4)).toBe('812 ms');
    expect(formatSignalValue('latencyP95', 3.14)).toBe('3.1 ms');
    expect(formatSignalValue('latencyP95', 12_345)).toBe('12,345 ms');
    expect(formatSignalValue('eventLoopDelay', 200)).toBe('200 ms');
    expect(formatSignalValue('errorRate', 0.2)).toBe('20.0 %');
    expect(formatSignalValue('errorRate', 0.0333)).toBe('3.3 %');
    expect(formatSignalValue('probe', 1)).toBe('1 failure');
    expect(formatSignalValue('probe', 0)).toBe('0 failures');
    expect(formatSignalValue('db.postgres', 1234)).toBe('1,234');
    expect(formatSignalValue('db.http', 80.456)).toBe('80.46');
    expect(formatSignalValue('db.http', null)).toBe('—');
    expect(formatNumber(undefined)).toBe('—');
  });

  it('ranks unknown, shed, over, quiet, shown-only and ok, and never reads an unknown value as fine', () => {
    const s = (over: Partial<Parameters<typeof signalLevel>[0]>) => signalLevel({ name: 'db.http', value: 50, threshold: 80, shedThreshold: 90, state: 'ok', ...over });
    expect(s({})).toBe('ok');
    expect(s({ value: 85, state: 'over' })).toBe('over');
    expect(s({ value: 95, state: 'over' })).toBe('shed');
    expect(s({ value: null, state: 'unknown' })).toBe('unknown');
    expect(s({ value: null, state: 'unknown', quiet: true })).toBe('quiet');
    expect(s({ threshold: null, shedThreshold: null })).toBe('unused');
    expect(signalLevelText('unknown')).toBe('UNKNOWN');
    expect(signalLevelText('shed')).toBe('OVER SHED LEVEL');
    expect(signalLevelText('over')).toBe('OVER');
    expect(signalLevelText('ok')).toBe('ok');
  });

  it('names each state with a word and a shape, not by color alone', () => {
    expect([stateText('open'), stateText('queueing'), stateText('shedding'), stateText(null)]).toEqual(['● OPEN', '▲ QUEUEING', '■ SHEDDING', '○ NO CONTROLLER']);
  });
});

describe('the tenant order', () => {
  const row = (tenant: string, waiting: number, refusals: Record<string, number> = {}): TenantRow => ({
    tenant,
    mode: 'auto',
    waiting: { total: waiting },
    admittedSessions: 0,
    inFlight: 0,
    refusals,
  });
  const rows = [row('b', 3), row('a', 3), row('c', 10, { ANT_RATE_LIMITED: 2, ANT_BLOCKED: 5 }), row('d', 0)];
  const order = (key: Parameters<typeof compareTenants>[2], dir: 'asc' | 'desc') => [...rows].sort((x, y) => compareTenants(x, y, key, dir)).map((r) => r.tenant);

  it('most waiting first, ties by id, and every column both ways', () => {
    expect(order('waiting', 'desc')).toEqual(['c', 'a', 'b', 'd']);
    expect(order('waiting', 'asc')).toEqual(['d', 'a', 'b', 'c']);
    expect(order('tenant', 'asc')).toEqual(['a', 'b', 'c', 'd']);
    expect(order('tenant', 'desc')).toEqual(['d', 'c', 'b', 'a']);
    expect(order('refusals', 'desc')).toEqual(['c', 'a', 'b', 'd']);
    expect(refusalTotal({ ANT_RATE_LIMITED: 2, ANT_BLOCKED: 5 })).toBe(7);
    expect(refusalTotal(null)).toBe(0);
  });
});

describe('polling', () => {
  it('keeps the interval while answers come, doubles it per failure, and stops growing at 30 s', () => {
    expect(pollDelay(1000, 0)).toBe(1000);
    expect(pollDelay(1000, 1)).toBe(2000);
    expect(pollDelay(1000, 3)).toBe(8000);
    expect(pollDelay(1000, 5)).toBe(30_000);
    expect(pollDelay(1000, 500)).toBe(30_000);
    expect(pollDelay(10_000, 0)).toBe(10_000);
  });
});

describe('the embedded functions', () => {
  it('isTenantId accepts exactly what the identity schema accepts', () => {
    for (const id of ['acme', 'a', 'A-1.b_c', 'x'.repeat(64), 'x'.repeat(65), '-x', '.x', 'a b', '<img src=x onerror=alert(1)>', '(unidentified)', '', 'ü']) {
      expect(isTenantId(id), id).toBe(TENANT_ID.test(id));
    }
  });

  it('the page script carries the same source as the functions tested here', () => {
    for (const fn of [formatAge, formatNumber, formatSignalValue, signalLevel, signalLevelText, stateText, refusalTotal, compareTenants, pollDelay, isTenantId]) {
      expect(DASHBOARD_SCRIPT).toContain(fn.toString());
    }
  });

  it('the page script never hands a string to an HTML parser or to eval', () => {
    for (const sink of ['innerHTML', 'outerHTML', 'insertAdjacentHTML', 'document.write', 'eval(', 'new Function', 'setTimeout(\'', 'srcdoc']) {
      expect(DASHBOARD_SCRIPT, sink).not.toContain(sink);
    }
  });
});
