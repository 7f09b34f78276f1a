/**
 * An origin that reads requests the way a strict HTTP/1.1 server must (RFC 9112 section 6: a body is
 * framed by Content-Length or by chunked Transfer-Encoding, nothing else) and records every request
 * head it sees, with its X-Request-Id, whether its body arrived whole and whether its connection has
 * closed since. What reaches it can be compared with what the proxy says it forwarded: a request the
 * proxy did not see, hidden in another one's body, would show up here as an extra head.
 *
 * It answers `GET /raw/big` with BIG_BYTES written as fast as the proxy takes them (to find out whether
 * the proxy keeps reading from the upstream when its client does not read); `POST /raw/early` with a
 * chunked 200 whose head and first chunk go out as soon as the request head arrives and whose end
 * follows the request body; anything else with 200 `ok <target>` once the body is complete. Framing it cannot accept (both Content-Length and
 * Transfer-Encoding, an unknown coding, a bad chunk) is recorded as an anomaly and the connection is cut.
 */
import type { Server, Socket } from 'node:net';
import { listenTcp } from '../helpers/tcpListener.js';

export const BIG_BYTES = 64 * 1024 * 1024;

export interface SeenRequest {
  method: string;
  target: string;
  /** Lower-cased names; a repeated header keeps every value. */
  headers: Record<string, string[]>;
  requestId: string | undefined;
  body: Buffer;
  /** The body (if any) arrived whole. */
  complete: boolean;
  /** The connection it came on has closed. */
  socketClosed: boolean;
  /** For /raw/big: bytes of the answer written so far. */
  written: number;
}

export interface StrictOrigin {
  server: Server;
  port: number;
  url: string;
  /** Every request head, in order of arrival. */
  requests: SeenRequest[];
  /** Framing the origin could not accept; a correct proxy never sends any. */
  anomalies: string[];
  /** Connections open now. */
  readonly connections: number;
  close(): Promise<void>;
}

export async function startStrictOrigin(): Promise<StrictOrigin> {
  const requests: SeenRequest[] = [];
  const anomalies: string[] = [];
  const tcp = await listenTcp((socket) => {
    const mine: SeenRequest[] = [];
    socket.once('close', () => {
      for (const r of mine) r.socketClosed = true;
    });
    let buffer: Buffer = Buffer.alloc(0);
    let current: { seen: SeenRequest; length: number | 'chunked' } | null = null;
    const fail = (why: string): void => {
      anomalies.push(why);
      socket.destroy();
    };
    socket.on('data', (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        if (current === null) {
          const end = buffer.indexOf('\r\n\r\n');
          if (end === -1) return;
          const lines = buffer.subarray(0, end).toString('latin1').split('\r\n');
          buffer = buffer.subarray(end + 4);
          const [method = '', target = ''] = lines[0]!.split(' ');
          const headers: Record<string, string[]> = {};
          for (const line of lines.slice(1)) {
            const colon = line.indexOf(':');
            if (colon <= 0) return fail(`bad header line ${JSON.stringify(line)}`);
            (headers[line.slice(0, colon).toLowerCase()] ??= []).push(line.slice(colon + 1).trim());
          }
          const seen: SeenRequest = { method, target, headers, requestId: headers['x-request-id']?.[0], body: Buffer.alloc(0), complete: false, socketClosed: false, written: 0 };
          requests.push(seen);
          mine.push(seen);
          const te = headers['transfer-encoding'];
          const cl = headers['content-length'];
          if (te !== undefined && cl !== undefined) return fail(`${method} ${target}: both Transfer-Encoding and Content-Length`);
          if (te !== undefined && (te.length !== 1 || te[0]!.toLowerCase() !== 'chunked')) return fail(`${method} ${target}: Transfer-Encoding ${te.join(', ')}`);
          if (cl !== undefined && (cl.length !== 1 || !/^\d+$/.test(cl[0]!))) return fail(`${method} ${target}: Content-Length ${cl.join(', ')}`);
          current = { seen, length: te !== undefined ? 'chunked' : Number(cl?.[0] ?? 0) };
          if (method === 'POST' && target.startsWith('/raw/early')) socket.write('HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\n\r\n5\r\nearly\r\n');
        }
        const body = current.length === 'chunked' ? takeChunked(buffer) : buffer.length >= current.length ? { body: buffer.subarray(0, current.length), rest: buffer.subarray(current.length) } : null;
        if (body === 'bad') return fail(`${current.seen.method} ${current.seen.target}: bad chunk`);
        if (body === null) return;
        buffer = body.rest;
        const seen = current.seen;
        current = null;
        seen.body = Buffer.from(body.body);
        seen.complete = true;
        answer(socket, seen);
      }
    });
  });
  return {
    server: tcp.server,
    port: tcp.port,
    url: tcp.url,
    requests,
    anomalies,
    get connections() {
      return tcp.connections;
    },
    close: () => tcp.close(),
  };
}

function answer(socket: Socket, seen: SeenRequest): void {
  if (seen.method === 'POST' && seen.target.startsWith('/raw/early')) {
    socket.write('0\r\n\r\n');
    return;
  }
  if (seen.method === 'GET' && seen.target.startsWith('/raw/big')) {
    socket.write(`HTTP/1.1 200 OK\r\ncontent-type: application/octet-stream\r\ncontent-length: ${BIG_BYTES}\r\n\r\n`);
    const block = Buffer.alloc(64 * 1024, 0x61);
    const pump = (): void => {
      while (seen.written < BIG_BYTES && !socket.destroyed) {
        seen.written += block.length;
        if (!socket.write(block)) {
          socket.once('drain', pump);
          return;
        }
      }
    };
    pump();
    return;
  }
  const text = `ok ${seen.target}`;
  socket.write(`HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ncontent-length: ${Buffer.byteLength(text)}\r\n\r\n${text}`);
}

/** A whole chunked body at the start of `buf` (and what follows it), null if incomplete, 'bad' if malformed. */
function takeChunked(buf: Buffer): { body: Buffer; rest: Buffer } | null | 'bad' {
  const parts: Buffer[] = [];
  let at = 0;
  for (;;) {
    const lineEnd = buf.indexOf('\r\n', at);
    if (lineEnd === -1) return null;
    const sizeText = buf.subarray(at, lineEnd).toString('latin1').split(';')[0]!;
    if (!/^[0-9A-Fa-f]{1,8}$/.test(sizeText)) return 'bad';
    const size = parseInt(sizeText, 16);
    at = lineEnd + 2;
    if (size === 0) {
      // Trailer lines up to the blank line.
      for (;;) {
        const end = buf.indexOf('\r\n', at);
        if (end === -1) return null;
        const blank = end === at;
        at = end + 2;
        if (blank) return { body: Buffer.concat(parts), rest: buf.subarray(at) };
      }
    }
    if (buf.length < at + size + 2) return null;
    parts.push(buf.subarray(at, at + size));
    if (buf[at + size] !== 13 || buf[at + size + 1] !== 10) return 'bad';
    at += size + 2;
  }
}
