/**
 * Refusing a websocket upgrade so that a browser can act on it. A browser's WebSocket API cannot read
 * the status of a refused handshake: every failure looks the same, and reconnect loops retry at once
 * (incident 000). So the handshake is completed (RFC 6455 section 4.2.2) and the connection closed
 * straight away with 1013 "try again later" and a JSON reason carrying `retryAfterMs`, which the
 * client's close handler can read and obey.
 */
import { createHash } from 'node:crypto';
import type { ErrorCode } from '../errors.js';
import type { RequestContext } from '../pipeline/context.js';
import { ANSWERED, type PhaseOutcome } from '../pipeline/phase.js';
import { closeFrame } from '../proxy/wsFrames.js';
import { refuse } from './answer.js';

/** RFC 6455 section 1.3. A wrong digit here makes every client fail the handshake instead of reading the 1013. */
const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

/** Close code 1013, "Try Again Later" (IANA WebSocket Close Code registry). */
export const TRY_AGAIN_LATER = 1013;

/** `extraHeaders`: whole header lines (`name: value`) for the handshake response, e.g. a ticket cookie. */
export function refuseUpgrade(ctx: RequestContext, code: ErrorCode, detail: string, retryAfterMs: number, mode: 'close' | 'http', retryAfterSeconds: number, extraHeaders: string[] = []): PhaseOutcome {
  const key = ctx.req.headers['sec-websocket-key'];
  if (mode === 'http' || typeof key !== 'string' || key.length === 0) {
    const headers: Record<string, string> = { 'retry-after': String(retryAfterSeconds) };
    for (const line of extraHeaders) {
      const i = line.indexOf(':');
      headers[line.slice(0, i)] = line.slice(i + 1).trim();
    }
    return refuse(ctx, code, detail, headers, { retryAfterMs });
  }
  ctx.decision = 'refuse';
  ctx.refusal = code;
  ctx.refusalDetail = detail;
  ctx.status = 101;
  const socket = ctx.socket!;
  if (socket.destroyed || !socket.writable) return ANSWERED;
  const accept = createHash('sha1').update(key + GUID).digest('base64');
  const reason = JSON.stringify({ code, retryAfterMs });
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: Upgrade\r\nsec-websocket-accept: ${accept}\r\nx-request-id: ${ctx.id}\r\n${extraHeaders.map((h) => `${h}\r\n`).join('')}\r\n`,
  );
  socket.end(closeFrame(TRY_AGAIN_LATER, reason, false));
  // Read (and drop) the client's answering close frame: a paused socket never sees the client's FIN,
  // so it would stay open until the timer below, one idle socket per refusal in a reconnect storm.
  socket.resume();
  // A client that never answers the close must not hold the socket.
  setTimeout(() => socket.destroy(), 2_000).unref();
  return ANSWERED;
}
