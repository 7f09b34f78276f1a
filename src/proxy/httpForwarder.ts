/**
 * Forwards one HTTP request through the upstream's undici pool with the streaming dispatch API. Bodies
 * stream both ways with backpressure and are never buffered whole: a full client socket pauses the
 * upstream response, and the request body is pulled from the client only as fast as the upstream takes
 * it. A client that goes away aborts the upstream request.
 */
import type { ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { Transform, type TransformCallback, type Readable } from 'node:stream';
import type { Dispatcher } from 'undici';
import { AnteroomError, upstreamErrorCode } from '../errors.js';
import type { RequestContext } from '../pipeline/context.js';
import { refuse } from '../respond/answer.js';
import { appendClientResponseHeaders, takeHeaderField, upstreamRequestHeaders } from './headers.js';
import type { Upstream } from './upstream.js';

export function forwardHttp(ctx: RequestContext, upstream: Upstream, forwardedFor: string): void {
  const req = ctx.req;
  const res = ctx.res!;
  const headers = upstreamRequestHeaders(req.rawHeaders, req.headers.connection, {
    requestId: ctx.id,
    forwardedFor,
    proto: 'http',
    host: req.headers.host ?? '',
  });
  const handler = new ForwardHandler(ctx, res, upstream);
  ctx.exchange = handler;
  ctx.inflightAtSend = ++upstream.inFlight;
  ctx.upstreamStartedAt = performance.now();
  upstream.pool.dispatch(
    {
      path: upstream.basePath + ctx.url,
      method: req.method as Dispatcher.HttpMethod,
      headers,
      body: requestBody(ctx, handler),
      // The response of a HEAD is known to have no body; undici must not wait for one.
      reset: false,
    },
    handler,
  );
}

/**
 * The client's body as a stream undici can consume, or null when there is none. The body goes through
 * a Transform rather than handing `req` itself to undici: undici destroys a body stream when the
 * upstream fails, and destroying `req` would take the client's socket (and our 502) with it. The
 * Transform also enforces the size limit on chunked bodies, whose length is not known up front.
 */
function requestBody(ctx: RequestContext, handler: ForwardHandler): Readable | null {
  const req = ctx.req;
  const length = req.headers['content-length'];
  if (req.headers['transfer-encoding'] === undefined && (length === undefined || length === '0')) return null;
  const limit = ctx.rt.config.listen.maxBodyBytes;
  const body = new BodyLimit(limit, handler);
  req.pipe(body);
  req.once('error', (err) => body.destroy(err));
  return body;
}

class BodyLimit extends Transform {
  private seen = 0;
  constructor(
    private readonly limit: number,
    private readonly handler: ForwardHandler,
  ) {
    super();
  }
  override _transform(chunk: Buffer, _enc: BufferEncoding, cb: TransformCallback): void {
    this.seen += chunk.length;
    if (this.seen > this.limit) {
      this.handler.abort(new AnteroomError('ANT_BODY_TOO_LARGE', `request body larger than ${this.limit} bytes`));
      cb();
      return;
    }
    cb(null, chunk);
  }
}

/**
 * The exchange with the upstream, on undici's dispatch handler interface in its raw form (onConnect,
 * onHeaders, onData, onComplete, onError). undici 7 drives every request through these callbacks; the
 * newer controller-based methods are an adapter over them that builds a headers object per response
 * (and per trailer block) and a controller per request, work this path does not need: the response
 * headers go from undici's raw buffers straight into the list that `writeHead` takes.
 */
class ForwardHandler implements Dispatcher.DispatchHandler {
  private abortUpstream: ((err: Error) => void) | null = null;
  private resumeUpstream: (() => void) | null = null;
  private ended = false;
  private pendingAbort: Error | null = null;

  constructor(
    private readonly ctx: RequestContext,
    private readonly res: ServerResponse,
    private readonly upstream: Upstream,
  ) {}

  /** The client's connection closed (called from the pipeline's close listener): an unfinished exchange is aborted. */
  clientClosed(): void {
    if (!this.res.writableFinished) {
      this.ctx.clientAborted = true;
      this.abort(new Error('client closed the connection'));
    }
  }

  abort(err: Error): void {
    if (this.ended) return;
    if (this.abortUpstream === null) this.pendingAbort = err;
    else this.abortUpstream(err);
  }

  onConnect(abort: (err?: Error) => void): void {
    this.abortUpstream = abort;
    if (this.pendingAbort !== null) abort(this.pendingAbort);
  }

  onHeaders(statusCode: number, raw: Buffer[], resume: () => void, statusText: string): boolean {
    // An informational response (103 Early Hints) is followed by the real one: not forwarded, as a
    // second writeHead would fail the exchange.
    if (statusCode < 200) return true;
    const ctx = this.ctx;
    ctx.upstreamMs = performance.now() - ctx.upstreamStartedAt;
    ctx.status = statusCode;
    if (ctx.clientAborted) return true;
    this.resumeUpstream = resume;
    const out: string[] = [];
    const type = appendClientResponseHeaders(raw, ctx.id, out);
    ctx.eventStream = type !== undefined && type.startsWith('text/event-stream');
    // Tells the application (and its users' pages) how the upstream is doing: open, queueing, shedding.
    out.push('anteroom-state', ctx.rt.control.state(this.upstream.name));
    if (ctx.rt.draining) out.push('connection', 'close');
    // limits.headersOnSuccess: the rate-limit phase computed the fields but only a refusal sent them.
    // Both fields are structured-field lists, so the upstream's own policies are kept after ours.
    const limitHeaders = ctx.rateLimitHeaders;
    if (limitHeaders !== null) {
      out.push('ratelimit-policy', [limitHeaders[0], ...takeHeaderField(out, 'ratelimit-policy')].join(', '));
      out.push('ratelimit', [limitHeaders[1], ...takeHeaderField(out, 'ratelimit')].join(', '));
    }
    // Cookies anteroom sets (admission session, ticket) go out beside the upstream's own.
    const cookies = ctx.setCookies;
    if (cookies !== null) for (const cookie of cookies) out.push('set-cookie', cookie);
    if (statusText) this.res.writeHead(statusCode, statusText, out);
    else this.res.writeHead(statusCode, out);
    return !this.res.writableNeedDrain || this.pause();
  }

  onData(chunk: Buffer): boolean {
    if (this.ctx.clientAborted) return true;
    return this.res.write(chunk) || this.pause();
  }

  onComplete(): void {
    this.finish();
    if (!this.ctx.clientAborted) this.res.end();
  }

  onError(err: Error): void {
    this.finish();
    const ctx = this.ctx;
    if (ctx.clientAborted) return;
    ctx.upstreamError = `${(err as { code?: string }).code ?? err.name}: ${err.message}`;
    if (this.res.headersSent) {
      // The status line is gone: the only honest signal left is a truncated response.
      this.res.destroy();
      return;
    }
    if (!ctx.req.complete) {
      // undici destroyed the body stream, and with it the pipe from the client. Read and drop the rest
      // of the body, as Node does for a body nobody reads; a paused request would keep the connection
      // from ever carrying the next request, though this answer says keep-alive.
      ctx.req.unpipe();
      ctx.req.resume();
    }
    const code = upstreamErrorCode(err);
    const detail =
      code === 'ANT_BODY_TOO_LARGE'
        ? err.message
        : code === 'ANT_UPSTREAM_TIMEOUT'
          ? `The upstream "${this.upstream.name}" did not answer in time. Try again shortly.`
          : `The upstream "${this.upstream.name}" could not be reached or closed the connection. Try again shortly.`;
    refuse(ctx, code, detail);
  }

  private finish(): void {
    if (this.ended) return;
    this.ended = true;
    this.upstream.inFlight--;
  }

  /** The client's socket is full: undici stops reading the upstream until it drains. Returns false (paused). */
  private pause(): boolean {
    // A client that stops reading would hold this upstream request (and a pooled connection) for as
    // long as it likes: while paused, undici's body timeout does not run, as the wait is ours. So the
    // client gets listen.sendTimeoutMs to take the next bytes, like nginx's send_timeout.
    const ms = this.ctx.rt.config.listen.sendTimeoutMs;
    const timer = setTimeout(() => {
      this.ctx.upstreamError = `the client read nothing for ${ms} ms (listen.sendTimeoutMs); connection closed`;
      this.res.destroy();
    }, ms);
    this.res.once('drain', () => {
      clearTimeout(timer);
      this.resumeUpstream!();
    });
    return false;
  }
}
