/**
 * The request log line is built by hand for speed; it must stay exactly the line pino writes for the
 * same fields, or log pipelines that parse it would break silently.
 */
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { describe, expect, it } from 'vitest';
import { RequestContext } from '../../src/pipeline/context.js';
import { logRequest, ms, str } from '../../src/pipeline/requestLine.js';

function logger(level = 'info'): { log: Logger; out: string[] } {
  const out: string[] = [];
  const dest = new Writable({
    write(chunk: Buffer, _enc, cb) {
      out.push(chunk.toString());
      cb();
    },
  });
  // The same shape as createLogger's: bound service name, a time function returning a fragment.
  const log = pino({ level, base: { service: 'anteroom' }, timestamp: () => ',"time":"2026-01-02T03:04:05.678Z"' }, dest);
  return { log, out };
}

function context(edit: (c: RequestContext) => void, upgrade = false): RequestContext {
  const c = new RequestContext(null as never, { method: 'GET' } as never, null, upgrade ? ({} as never) : null, null, 0);
  c.id = 'i1-42';
  c.path = '/orders';
  c.tenant = 'acme';
  edit(c);
  return c;
}

/** The object observe used to hand pino, for the same context. */
function fields(c: RequestContext, durationMs: number): Record<string, unknown> {
  return {
    reqId: c.id,
    method: c.req.method,
    path: c.path,
    status: c.status,
    decision: c.decision,
    refusal: c.refusal ?? undefined,
    reason: c.refusal ? c.refusalDetail : undefined,
    source: c.refusalSource === '' ? undefined : c.refusalSource,
    tenant: c.tenant,
    class: c.requestClass,
    upstream: c.upstream?.name,
    upstreamMs: c.upstreamMs < 0 ? undefined : Math.round(c.upstreamMs * 100) / 100,
    durationMs,
    websocket: c.isUpgrade || undefined,
    clientAborted: c.clientAborted || undefined,
    upstreamError: c.upstreamError ?? undefined,
  };
}

const cases: [string, RequestContext][] = [
  [
    'a forwarded request',
    context((c) => {
      c.status = 200;
      c.decision = 'forward';
      c.upstream = { name: 'app' } as never;
      c.upstreamMs = 1.23456;
    }),
  ],
  [
    'a refusal naming its config entry, with quotes, a newline and non-ASCII in its reason',
    context((c) => {
      c.status = 429;
      c.decision = 'refuse';
      c.refusal = 'ANT_RATE_LIMITED';
      c.refusalDetail = 'tenant "acme" over\nits rate — 5/s \u0001';
      c.refusalSource = 'limits.tenants.acme.rate';
      c.requestClass = 'bulk';
    }),
  ],
  [
    'an aborted websocket with an upstream error and a path that needs escaping',
    context((c) => {
      c.path = '/ws/"x"\\y';
      c.decision = 'forward';
      c.status = 101;
      c.clientAborted = true;
      c.upstreamError = 'ECONNRESET: socket hang up';
      c.upstream = { name: 'chat' } as never;
    }, true),
  ],
  ['nothing decided yet, no tenant', context((c) => (c.tenant = ''))],
];

describe('the hand-built request log line', () => {
  for (const [name, c] of cases) {
    it(`is byte for byte what pino writes: ${name}`, () => {
      const ours = logger();
      logRequest(ours.log, c);
      expect(ours.out).toHaveLength(1);
      const line = ours.out[0]!;
      const durationMs = (JSON.parse(line) as { durationMs: number }).durationMs;
      expect(typeof durationMs).toBe('number');
      const theirs = logger();
      theirs.log.info(fields(c, durationMs), 'request');
      expect(line).toBe(theirs.out[0]);
    });
  }

  it('prints times as JSON prints them rounded to 0.01 ms', () => {
    const values = [0, 0.004, 0.005, 0.05, 0.1, 0.999, 1, 1.005, 1.2, 12.34, 99.995, 1234.5, 60_000.01, 3.6e9 + 0.07];
    for (let i = 0; i < 20_000; i++) values.push(Math.random() * 10 ** (i % 7));
    for (const v of values) expect(ms(v)).toBe(JSON.stringify(Math.round(v * 100) / 100));
  });

  it('is not written when the logger is above info', () => {
    const { log, out } = logger('warn');
    logRequest(log, cases[0]![1]);
    expect(out).toEqual([]);
  });

  it('carries the bindings of a child logger', () => {
    const { log, out } = logger();
    logRequest(log.child({ instance: 'b' }), cases[0]![1]);
    expect(JSON.parse(out[0]!)).toMatchObject({ service: 'anteroom', instance: 'b', reqId: 'i1-42', msg: 'request' });
  });
});

describe('JSON strings in the request line', () => {
  it('are what JSON.stringify writes, for plain strings and every character JSON escapes', () => {
    const samples = ['', '/', '/api/orders?x=1', 'acme', 'tëst ✓', '"', '\\', '\u0000', '\u001f', '\u007f', '\ud83d\ude00', '\ud800', 'a\udc00b', '/a"b\\c\nd'];
    for (let c = 0; c < 0x10000; c += 7) samples.push(`/p${String.fromCharCode(c)}q`);
    for (const s of samples) expect(str(s)).toBe(JSON.stringify(s));
  });
});
