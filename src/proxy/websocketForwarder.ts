/**
 * Forwards a websocket upgrade with http-proxy-3. Once the upstream switches protocols the two sockets
 * are piped and the connection is registered, so it can be closed on purpose later. An upstream that
 * answers the upgrade with a plain HTTP response has that response relayed to the client; an upstream
 * that cannot be reached gets the client a 502 on its socket.
 */
import type { ClientRequest, IncomingHttpHeaders, IncomingMessage } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { Duplex } from 'node:stream';
import { upstreamErrorCode } from '../errors.js';
import type { RequestContext } from '../pipeline/context.js';
import { refuse } from '../respond/answer.js';
import { clientResponseHeaders, upstreamRequestHeaders } from './headers.js';
import type { Upstream } from './upstream.js';

const CTX = Symbol('anteroom.ctx');
interface WsOptions {
  [CTX]: RequestContext;
}

/** Installs the per-upstream listeners that tie http-proxy-3's sockets back to their contexts. */
export function instrumentWebsocketProxy(upstream: Upstream): void {
  upstream.ws.on('proxyReqWs', (proxyReq: ClientRequest, _req: IncomingMessage, _socket: Duplex, options: unknown) => {
    const ctx = (options as WsOptions)[CTX];
    if (ctx === undefined) return;
    // An upstream that never answers the upgrade must not hold the client's socket: the same
    // `timeoutMs` as for HTTP response headers applies, then 504. Cleared once it switches protocols,
    // because an idle websocket is not a slow upstream.
    proxyReq.setTimeout(upstream.settings.timeoutMs, () => {
      proxyReq.destroy(Object.assign(new Error('the upstream did not answer the upgrade in time'), { code: 'ETIMEDOUT' }));
    });
    proxyReq.once('upgrade', (_res: IncomingMessage, proxySocket: Duplex) => {
      proxyReq.setTimeout(0);
      (proxySocket as Duplex & { setTimeout?: (ms: number) => void }).setTimeout?.(0);
      ctx.status = 101;
      ctx.upstreamMs = performance.now() - ctx.upstreamStartedAt;
      // Not before http-proxy-3's own 'upgrade' listener (which runs after this one) has put back the
      // bytes that came with the 101 (`unshift(proxyHead)`) and piped the sockets: track() adds a
      // 'data' listener, and on a socket already flowing an unshifted chunk is emitted at once to the
      // listeners there are, so a frame sent with the 101 (a server's welcome) went to the registry
      // only and never reached the client. This tick comes before the pipe's first flow.
      process.nextTick(() =>
        ctx.rt.websockets.track(ctx.id, ctx.tenant, ctx.clientKey, ctx.socket!, proxySocket, { clientIp: ctx.clientIp, routeName: ctx.routeName, cookie: ctx.req.headers.cookie }),
      );
    });
    proxyReq.once('response', (res: IncomingMessage) => {
      ctx.status = res.statusCode ?? 0;
      ctx.upstreamMs = performance.now() - ctx.upstreamStartedAt;
      // http-proxy-3 relays this refusal with res.headers as they are and then closes the socket. This
      // listener runs before its own: keep the upstream's hop-by-hop headers (its `Connection:
      // keep-alive`) on their hop, say that the connection closes, and carry the request id.
      const headers = clientResponseHeaders(res.headers, ctx.id);
      headers['connection'] = 'close';
      res.headers = headers as IncomingHttpHeaders;
    });
  });
  // http-proxy-3 emits 'error' when no callback is given; one is always given, but an EventEmitter
  // 'error' without a listener would crash the process, so keep one.
  upstream.ws.on('error', () => undefined);
}

export function forwardWebsocket(ctx: RequestContext, upstream: Upstream, forwardedFor: string): void {
  const req = ctx.req;
  const flat = upstreamRequestHeaders(
    req.rawHeaders,
    req.headers.connection,
    { requestId: ctx.id, forwardedFor, proto: 'http', host: req.headers.host ?? '' },
    true,
  );
  // http-proxy-3 reads the outgoing headers from req.headers; give it the cleaned set.
  const headers: Record<string, string | string[]> = {};
  for (let i = 0; i < flat.length; i += 2) {
    const name = flat[i]!.toLowerCase();
    const prev = headers[name];
    headers[name] = prev === undefined ? flat[i + 1]! : Array.isArray(prev) ? [...prev, flat[i + 1]!] : [prev, flat[i + 1]!];
  }
  req.headers = headers;
  req.url = upstream.basePath + ctx.url;
  ctx.upstreamStartedAt = performance.now();
  const options = { [CTX]: ctx } as WsOptions;
  upstream.ws.ws(req, ctx.socket!, ctx.head ?? Buffer.alloc(0), options as never, (err: Error) => {
    ctx.upstreamError = `${(err as { code?: string }).code ?? err.name}: ${err.message}`;
    if (ctx.status === 0) {
      const code = upstreamErrorCode(err);
      refuse(ctx, code, `The upstream "${upstream.name}" could not take the websocket connection. Try again shortly.`);
    } else {
      ctx.socket!.destroy();
    }
  });
}
