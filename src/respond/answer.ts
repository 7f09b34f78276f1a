/**
 * Answers anteroom gives by itself. Every refusal says why, in the form the client reads: a small HTML
 * page for browser navigations, RFC 9457 `application/problem+json` for everything else. On a
 * websocket upgrade the answer is written as a raw HTTP response on the socket.
 */
import { STATUS_CODES, type OutgoingHttpHeaders } from 'node:http';
import { ERRORS, type ErrorCode } from '../errors.js';
import type { RequestContext } from '../pipeline/context.js';
import { ANSWERED, type PhaseOutcome } from '../pipeline/phase.js';
import { headerLines } from '../proxy/headers.js';

/** Refuses the request with a registry code; `detail` tells the client what to do about it. */
export function refuse(ctx: RequestContext, code: ErrorCode, detail: string, headers: OutgoingHttpHeaders = {}, extra: Record<string, unknown> = {}): PhaseOutcome {
  const spec = ERRORS[code];
  ctx.decision = 'refuse';
  ctx.refusal = code;
  ctx.refusalDetail = detail;
  if (ctx.browser) {
    send(ctx, spec.status, { ...headers, 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }, errorPage(spec.status, spec.title, detail, ctx.id));
  } else {
    const body = JSON.stringify({ type: `urn:anteroom:error:${code}`, title: spec.title, status: spec.status, detail, code, requestId: ctx.id, ...extra });
    send(ctx, spec.status, { ...headers, 'content-type': 'application/problem+json', 'cache-control': 'no-store' }, body);
  }
  return ANSWERED;
}

/** Sends a complete response with a body, on the ServerResponse or, for an upgrade, on the socket. */
export function send(ctx: RequestContext, status: number, headers: OutgoingHttpHeaders, body: string | Buffer): void {
  ctx.status = status;
  const length = Buffer.byteLength(body);
  const res = ctx.res;
  if (res !== null) {
    if (res.headersSent) {
      res.destroy();
      return;
    }
    headers['content-length'] = length;
    headers['x-request-id'] = ctx.id;
    if (ctx.rt.draining) headers['connection'] = 'close';
    res.writeHead(status, headers);
    res.end(ctx.req.method === 'HEAD' ? undefined : body);
    return;
  }
  const socket = ctx.socket!;
  if (socket.destroyed || !socket.writable) return;
  headers['content-length'] = length;
  headers['x-request-id'] = ctx.id;
  headers['connection'] = 'close';
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status] ?? ''}\r\n${headerLines(headers)}\r\n${body}`);
  // Nothing more is read from this socket: what the client still sends is dropped, so that its FIN is
  // seen. A paused socket with unread bytes never sees it and stayed open for good (one leaked socket per
  // refused upgrade that sent a body or a next request, and a shutdown that never finished).
  socket.resume();
  // A client that never closes its end must not hold the socket either.
  setTimeout(() => socket.destroy(), 2_000).unref();
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ESCAPES[c]!);
}

function errorPage(status: number, title: string, detail: string, requestId: string): string {
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${status} ${escapeHtml(title)}</title>
<style>body{font:16px/1.5 system-ui,sans-serif;max-width:36rem;margin:10vh auto;padding:0 1rem;color:#1a1a1a}small{color:#555}</style>
</head><body><main><h1>${escapeHtml(title)}</h1><p>${escapeHtml(detail)}</p>
<p><small>Error ${status} &middot; request ${escapeHtml(requestId)}</small></p></main></body></html>
`;
}
