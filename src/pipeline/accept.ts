/**
 * accept: gives the request its id, checks what can be checked before anything else runs (target
 * form, declared body size) and answers anteroom's own endpoints under `/__anteroom/`. Malformed
 * requests that Node's strict parser rejects never get here; see server/clientError.ts.
 */
import { STATUS_PATH } from '../room/page/status.js';
import { ownEndpoint, OWN_PREFIX } from '../server/ownEndpoints.js';
import { refuse } from '../respond/answer.js';
import type { RequestContext } from './context.js';
import { ANSWERED, NEXT, type Phase } from './phase.js';

const REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;
/** RFC 9110 section 7.2: uri-host [":" port], uri-host an IP literal in brackets or a reg-name (RFC 3986). */
const HOST = /^(?:\[[0-9A-Fa-f:.]+\]|(?:[A-Za-z0-9\-._~!$&'()*+,;=]|%[0-9A-Fa-f]{2})*)(?::[0-9]{0,5})?$/;
/** Node's own test for a 100-continue expectation (lib/_http_server.js). */
const CONTINUE = /(?:^|\W)100-continue(?:$|\W)/i;
/** A "%" not starting a percent-encoded octet. */
const BAD_ESCAPE = /%(?![0-9A-Fa-f]{2})/;
/**
 * The last Host value found valid. Nearly every request to a proxy names the same host or a few, so
 * the HOST expression runs once per change of host instead of once per request.
 */
let lastValidHost = '';
/** For refusals after which the rest of the connection cannot be trusted to be framed as the client meant. */
const CLOSE = { connection: 'close' } as const;

export const accept: Phase = {
  name: 'accept',
  run(ctx: RequestContext) {
    const req = ctx.req;
    const rt = ctx.rt;
    const peer = req.socket.remoteAddress ?? '';
    ctx.peer = peer;
    // BlockList.check builds a SocketAddress on every call, a few percent of a pass-through request's
    // CPU: it is skipped when no proxy is trusted, the default.
    ctx.peerTrusted =
      peer !== '' && rt.config.identity.trustedProxies.length > 0 && rt.trustedProxies.check(peer, peer.includes(':') ? 'ipv6' : 'ipv4');
    // An incoming request id is kept only from a trusted proxy: anyone else could reuse ids and break
    // their uniqueness across instances.
    const incomingId = req.headers['x-request-id'];
    ctx.id = ctx.peerTrusted && typeof incomingId === 'string' && REQUEST_ID.test(incomingId) ? incomingId : rt.nextRequestId();

    const method = req.method ?? 'GET';
    const accepts = req.headers.accept;
    ctx.browser = (method === 'GET' || method === 'HEAD') && accepts !== undefined && accepts.includes('text/html');

    // Only HTTP/1.x is spoken here (RFC 9110 section 15.6.6). Node's parser also takes a request line
    // without a version (HTTP/0.9) and "HTTP/2.0" on HTTP/1.1 framing; both were forwarded as HTTP/1.1.
    if (req.httpVersionMajor !== 1) {
      return refuse(ctx, 'ANT_HTTP_VERSION', `HTTP/${req.httpVersion} is not supported here: send HTTP/1.1 (or HTTP/1.0).`, CLOSE);
    }
    if (method === 'CONNECT') return refuse(ctx, 'ANT_BAD_REQUEST', 'CONNECT is not supported: anteroom is a reverse proxy, not a tunnel.');
    // Node hands every request with an Upgrade header to the upgrade path, where only a websocket
    // handshake can go on: anything else was sent upstream as a websocket upgrade, or its connection
    // was dropped without an answer.
    if (ctx.isUpgrade) {
      const upgrade = String(req.headers.upgrade ?? '');
      if (!upgrade.split(',').some((t) => t.trim().toLowerCase() === 'websocket')) {
        return refuse(ctx, 'ANT_BAD_REQUEST', `Upgrade to "${upgrade.slice(0, 50)}" is not supported: only websocket upgrades are proxied. Send the request without Upgrade.`);
      }
      if (method !== 'GET') return refuse(ctx, 'ANT_BAD_REQUEST', `A websocket upgrade must be a GET request, not ${method} (RFC 6455 section 4.1).`);
    }
    // Past the limit Node has dropped fields (see app.ts): what is left is not the request that was sent.
    const fields = req.rawHeaders.length >> 1;
    if (fields > rt.config.listen.maxHeaderCount) {
      return refuse(ctx, 'ANT_HEADERS_TOO_LARGE', `The request has more than ${rt.config.listen.maxHeaderCount} header fields.`, CLOSE);
    }
    // RFC 9112 section 3.2: more than one Host is a 400. Node keeps only the first in req.headers, so
    // the proxy and the upstream could disagree on which host was asked for.
    const scan = scanHeaders(req.rawHeaders);
    if (scan.hosts > 1) return refuse(ctx, 'ANT_BAD_REQUEST', 'The request has more than one Host header.');
    if (scan.alias !== null) {
      const meant = UNDERSCORE_ALIASED.get(scan.alias.toLowerCase().replaceAll('_', '-'))!;
      return refuse(ctx, 'ANT_BAD_REQUEST', `Header "${scan.alias}" is refused: with "_" read as "-" it is ${meant}, which anteroom reads or sets itself.`, CLOSE);
    }
    const host = req.headers.host ?? '';
    // Node's own check (requireHostHeader) answered a bare 400 with no body, id or log line.
    if (req.headers.host === undefined && req.httpVersionMinor === 1) {
      return refuse(ctx, 'ANT_BAD_REQUEST', 'The request has no Host header (HTTP/1.1 requires one, RFC 9112 section 3.2).');
    }
    // RFC 9112 section 3.2 again: an invalid Host is a 400. Forwarded as it was, it reached the upstream
    // (where a host-based tenant or virtual host could read it differently) or failed there as a 502.
    if (host !== '' && host !== lastValidHost) {
      if (!HOST.test(host)) return refuse(ctx, 'ANT_BAD_REQUEST', `Host "${host.slice(0, 100)}" is not a valid host[:port].`);
      lastValidHost = host;
    }
    const colon = host.indexOf(':');
    ctx.host = host.startsWith('[') ? host.slice(0, host.indexOf(']') + 1) : colon === -1 ? host : host.slice(0, colon);

    let url = req.url ?? '/';
    if (url.length > rt.config.listen.maxUrlBytes) {
      return refuse(ctx, 'ANT_URI_TOO_LONG', `The request target is ${url.length} bytes long, over the limit of ${rt.config.listen.maxUrlBytes} bytes.`);
    }
    if (url.charCodeAt(0) !== 47 /* / */) {
      // Absolute form (RFC 9112 section 3.2.2) is accepted; authority and asterisk forms are not proxied.
      if (!/^https?:\/\//i.test(url)) return refuse(ctx, 'ANT_BAD_REQUEST', `Request target "${url.slice(0, 100)}" is not a path.`);
      try {
        const parsed = new URL(url);
        url = parsed.pathname + parsed.search;
      } catch {
        return refuse(ctx, 'ANT_BAD_REQUEST', 'Request target is not a valid URL.');
      }
    }
    ctx.url = url;
    const q = url.indexOf('?');
    ctx.path = q === -1 ? url : url.slice(0, q);
    // RFC 3986 section 2.1: "%" starts a two-hex-digit escape. A path with a broken one is decoded
    // differently by different servers (kept, dropped, or an error), so the route matched here and the
    // resource the upstream serves could differ.
    if (ctx.path.includes('%') && BAD_ESCAPE.test(ctx.path)) {
      return refuse(ctx, 'ANT_BAD_REQUEST', `The request path "${ctx.path.slice(0, 100)}" has a "%" that is not followed by two hex digits.`);
    }

    // RFC 9110 section 10.1.1: an expectation the server cannot meet is a 417. Only 100-continue is
    // known (Node has already answered it), the same test Node applies.
    const expectation = req.headers.expect;
    if (expectation !== undefined && req.httpVersionMinor === 1 && !CONTINUE.test(expectation)) {
      return refuse(ctx, 'ANT_EXPECTATION_FAILED', `Expect "${expectation.slice(0, 100)}" cannot be met: only 100-continue is supported.`);
    }

    const length = req.headers['content-length'];
    if (length !== undefined && Number(length) > rt.config.listen.maxBodyBytes) {
      return refuse(ctx, 'ANT_BODY_TOO_LARGE', `Request body of ${length} bytes is over the limit of ${rt.config.listen.maxBodyBytes} bytes.`);
    }

    if (ctx.path === STATUS_PATH) {
      // Answered by admit, once identify knows the client its ticket must belong to.
      ctx.statusPoll = true;
      return NEXT;
    }
    if (ctx.path.startsWith(OWN_PREFIX)) {
      ctx.decision = 'own';
      ownEndpoint(ctx);
      return ANSWERED;
    }
    return NEXT;
  },
};

/**
 * Headers with a "-" that anteroom interprets (framing) or sets itself (forwarding facts). CGI-style servers
 * (and frameworks built on their environment names, HTTP_X_FORWARDED_FOR) read "_" and "-" alike: a
 * `Transfer_Encoding: chunked` that the proxy forwards as an unknown header is a Transfer-Encoding to
 * them (request smuggling), an `X_Forwarded_For` a client address anteroom never checked.
 */
const UNDERSCORE_ALIASED = new Map(
  ['Content-Length', 'Transfer-Encoding', 'X-Forwarded-For', 'X-Forwarded-Proto', 'X-Forwarded-Host', 'X-Request-Id'].map((h) => [h.toLowerCase(), h]),
);

/** One pass over the raw header names: how many Host lines, and the first name aliasing one of UNDERSCORE_ALIASED. */
function scanHeaders(raw: string[]): { hosts: number; alias: string | null } {
  let hosts = 0;
  let alias: string | null = null;
  for (let i = 0; i < raw.length; i += 2) {
    const name = raw[i]!;
    if (name.length === 4) {
      if (name.toLowerCase() === 'host') hosts++;
    } else if (alias === null && name.includes('_') && UNDERSCORE_ALIASED.has(name.toLowerCase().replaceAll('_', '-'))) {
      alias = name;
    }
  }
  return { hosts, alias };
}
