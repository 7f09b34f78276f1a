/**
 * Requests that Node's strict HTTP parser rejects (malformed lines, both Content-Length and
 * Transfer-Encoding, oversized headers, timeouts) never reach the pipeline. They get a clear answer
 * with a code from the registry and a log line, and their connection is closed.
 */
import type { ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import { ERRORS, type ErrorCode } from '../errors.js';
import type { Runtime } from '../runtime.js';

export function onClientError(rt: Runtime, err: Error & { code?: string; bytesParsed?: number; rawPacket?: Buffer }, socket: Duplex): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  let code: ErrorCode = 'ANT_BAD_REQUEST';
  let detail = `Malformed HTTP request: ${parserReason(err)}.`;
  if (err.code === 'HPE_HEADER_OVERFLOW') {
    if (requestLineOverflow(err.rawPacket, rt.config.listen.maxHeaderBytes)) {
      // The limit covers the request line too: a target that alone is over it is a 414, not a 431.
      code = 'ANT_URI_TOO_LONG';
      detail = `The request line is longer than ${rt.config.listen.maxHeaderBytes} bytes; the request target may be at most ${rt.config.listen.maxUrlBytes} bytes.`;
    } else {
      code = 'ANT_HEADERS_TOO_LARGE';
      detail = `Request headers are larger than ${rt.config.listen.maxHeaderBytes} bytes.`;
    }
  } else if (err.code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    code = 'ANT_REQUEST_TIMEOUT';
    detail = 'The request was not received in time.';
  }
  const requestId = rt.nextRequestId();
  // A response already under way on this connection (the upstream answered before the client had sent
  // its whole body, then the body stalled or turned malformed) cannot be followed by an answer of our
  // own: it would land inside that response's body. Cutting the connection is the only honest signal.
  const inProgress = (socket as Duplex & { _httpMessage?: ServerResponse | null })._httpMessage;
  if (inProgress?.headersSent === true) {
    rt.log.warn({ reqId: requestId, code, parserCode: err.code, reason: err.message, responseStarted: true }, 'client error');
    socket.destroy();
    return;
  }
  const status = ERRORS[code].status;
  const body = JSON.stringify({ type: `urn:anteroom:error:${code}`, title: ERRORS[code].title, status, detail, code, requestId });
  const answer =
    `HTTP/1.1 ${status} ${ERRORS[code].title}\r\n` +
    `content-type: application/problem+json\r\ncontent-length: ${Buffer.byteLength(body)}\r\n` +
    `x-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`;
  // The bad bytes followed a complete request whose answer is still being prepared (garbage sent after
  // it on a keep-alive connection): that request was valid and may already be at the upstream, so it
  // gets its own answer first, and this one follows it. Answering at once made the client take the 400
  // for the answer to a request that was in fact carried out.
  if (inProgress != null && inProgress.req?.complete === true) {
    rt.log.warn({ reqId: requestId, code, parserCode: err.code, reason: err.message, afterResponse: inProgress.req.url }, 'client error');
    inProgress.once('finish', () => {
      if (socket.writable) socket.end(answer);
    });
    inProgress.once('close', () => {
      if (!inProgress.writableFinished) socket.destroy();
    });
    return;
  }
  rt.log.warn({ reqId: requestId, code, parserCode: err.code, reason: err.message }, 'client error');
  socket.end(answer);
}

/**
 * Whether the bytes being parsed when the header limit was hit start with a request line that is
 * longer than the limit by itself. (Only the packet at hand is known: a request line spread over
 * several packets is reported as oversized headers.)
 */
function requestLineOverflow(packet: Buffer | undefined, limit: number): boolean {
  if (packet === undefined || !/^[A-Z]+ /.test(packet.subarray(0, 16).toString('latin1'))) return false;
  const lineEnd = packet.indexOf(10 /* LF */);
  return lineEnd === -1 || lineEnd > limit;
}

function parserReason(err: Error & { code?: string; reason?: string }): string {
  const reason = (err.reason ?? err.message).replace(/^Parse Error: /, '');
  // llhttp reports a request with both headers as HPE_INVALID_TRANSFER_ENCODING or
  // HPE_INVALID_CONTENT_LENGTH, whichever header came second; those codes also cover plain invalid
  // values, so only the reason tells the smuggling shape apart. (HPE_UNEXPECTED_CONTENT_LENGTH is a
  // duplicate Content-Length, which llhttp's own reason describes well.)
  if (/can't be present with/.test(reason)) return 'Content-Length together with Transfer-Encoding is not allowed (RFC 9112 section 6.3)';
  return reason;
}
