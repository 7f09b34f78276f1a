/**
 * The request log line, built by hand: one JSON line per request is on every request's path, and
 * handing pino an object of sixteen fields cost several times what writing the line directly does.
 * The line is exactly what `log.info({ ...fields }, 'request')` writes (same keys, order, level, time
 * and bindings), which test/pipeline/requestLine.test.ts checks against pino itself.
 */
import { performance } from 'node:perf_hooks';
import { pino, type Logger } from 'pino';
import type { RequestContext } from './context.js';

const { streamSym, timeSym, chindingsSym } = pino.symbols;
const INFO = 30;

/**
 * A string as JSON, as JSON.stringify writes it. Paths, tenants and upstream names rarely hold a
 * character JSON escapes, and a quote on each side is then the whole work; JSON.stringify was the
 * largest part of the line's cost.
 */
export function str(s: string): string {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    // Control characters, '"', '\\', and UTF-16 surrogates (a lone one is written as an escape).
    if (c < 0x20 || c === 34 || c === 92 || (c >= 0xd800 && c <= 0xdfff)) return JSON.stringify(s);
  }
  return `"${s}"`;
}

/**
 * A time in ms rounded to 0.01, as JSON writes `Math.round(v * 100) / 100` (`12`, `1.5`, `0.07`),
 * from integers: printing a fractional double was the most expensive step of the line.
 */
export function ms(v: number): string {
  const hundredths = Math.round(v * 100);
  if (!(hundredths >= 0 && hundredths < 1e15)) return String(Math.round(v * 100) / 100);
  const whole = Math.floor(hundredths / 100);
  const frac = hundredths - whole * 100;
  if (frac === 0) return `${whole}`;
  if (frac % 10 === 0) return `${whole}.${frac / 10}`;
  return frac < 10 ? `${whole}.0${frac}` : `${whole}.${frac}`;
}

interface LoggerParts {
  log: Logger | null;
  stream: { write(s: string): unknown };
  time: () => string;
  bindings: string;
}

/**
 * What the line needs from the logger, read once per logger: pino keeps them under symbol keys on an
 * object with many properties, where each read was a slow generic lookup. A logger's destination, time
 * function and bindings do not change (anteroom never calls setBindings); a new logger is read anew.
 */
const parts: LoggerParts = { log: null, stream: { write: () => true }, time: () => '', bindings: '' };

/** Writes the request's line through `log`'s destination, if `log` writes info lines. */
export function logRequest(log: Logger, ctx: RequestContext): void {
  if (log.levelVal > INFO) return;
  if (parts.log !== log) {
    const l = log as unknown as Record<symbol, unknown>;
    parts.stream = l[streamSym] as { write(s: string): unknown };
    parts.time = l[timeSym] as () => string;
    parts.bindings = l[chindingsSym] as string;
    parts.log = log;
  }
  parts.stream.write(requestLine(ctx, parts.time(), parts.bindings));
}

/**
 * The line for `ctx`: `time` is pino's time fragment (`,"time":...`), `bindings` the logger's bound
 * fields (`,"service":"anteroom"`). Optional fields are left out when unset, as pino leaves out
 * undefined values.
 */
export function requestLine(ctx: RequestContext, time: string, bindings: string): string {
  // The id (ours, or an incoming one that accept checked against [A-Za-z0-9._:-]) and the method (a
  // token, checked by Node's parser) need no escaping.
  let s = `{"level":${INFO}${time}${bindings},"reqId":"${ctx.id}","method":"${ctx.req.method ?? ''}","path":${str(ctx.path)},"status":${ctx.status},"decision":"${ctx.decision}"`;
  if (ctx.refusal !== null) s += `,"refusal":"${ctx.refusal}","reason":${str(ctx.refusalDetail)}`;
  // The config entry behind a limit's refusal (e.g. limits.tenants.acme.rate), so an operator knows
  // which setting to change; set by rate-limit and admit, and otherwise never logged.
  if (ctx.refusalSource !== '') s += `,"source":${str(ctx.refusalSource)}`;
  s += `,"tenant":${str(ctx.tenant)},"class":"${ctx.requestClass}"`;
  if (ctx.upstream !== null) s += `,"upstream":${str(ctx.upstream.name)}`;
  if (ctx.upstreamMs >= 0) s += `,"upstreamMs":${ms(ctx.upstreamMs)}`;
  s += `,"durationMs":${ms(performance.now() - ctx.startedAt)}`;
  if (ctx.isUpgrade) s += ',"websocket":true';
  if (ctx.clientAborted) s += ',"clientAborted":true';
  if (ctx.upstreamError !== null) s += `,"upstreamError":${str(ctx.upstreamError)}`;
  return `${s},"msg":"request"}\n`;
}
