/**
 * A raw TCP client for byte-exact HTTP: send exactly what a test writes, read responses one at a time
 * (so keep-alive reuse can be checked) or everything until the server closes the connection.
 */
import { connect, type Socket } from 'node:net';

export interface RawResponse {
  status: number;
  /** The status line and header lines as received. */
  head: string;
  /** Lower-cased names; a repeated header keeps every value. */
  headers: Record<string, string[]>;
  body: Buffer;
  /** The first value of a header, or undefined. */
  header(name: string): string | undefined;
}

export class RawClient {
  readonly socket: Socket;
  private buffer: Buffer = Buffer.alloc(0);
  private ended = false;
  private wake: (() => void) | null = null;
  /** Resolves when the server has closed the connection (or it failed). */
  readonly closed: Promise<void>;

  private constructor(socket: Socket) {
    this.socket = socket;
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.notify();
    });
    this.closed = new Promise((resolve) => {
      const done = (): void => {
        this.ended = true;
        this.notify();
        resolve();
      };
      socket.once('end', done);
      socket.once('close', done);
    });
    socket.on('error', () => undefined);
  }

  static connect(port: number, host = '127.0.0.1'): Promise<RawClient> {
    return new Promise((resolve, reject) => {
      const socket = connect(port, host, () => {
        socket.off('error', reject);
        resolve(new RawClient(socket));
      });
      socket.once('error', reject);
    });
  }

  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Reads one response. `noBody` for answers to HEAD (and 1xx/204/304, which are detected anyway). */
  async readResponse(noBody = false): Promise<RawResponse> {
    const headEnd = await this.waitFor(() => this.buffer.indexOf('\r\n\r\n'));
    const head = this.buffer.subarray(0, headEnd).toString('latin1');
    this.buffer = this.buffer.subarray(headEnd + 4);
    const [statusLine, ...lines] = head.split('\r\n');
    const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine!)?.[1] ?? NaN);
    const headers: Record<string, string[]> = {};
    for (const line of lines) {
      const colon = line.indexOf(':');
      const name = line.slice(0, colon).trim().toLowerCase();
      (headers[name] ??= []).push(line.slice(colon + 1).trim());
    }
    let body: Buffer = Buffer.alloc(0);
    const length = headers['content-length']?.[0];
    if (noBody || status === 204 || status === 304 || (status >= 100 && status < 200)) {
      // no body
    } else if (headers['transfer-encoding']?.[0]?.toLowerCase() === 'chunked') {
      body = await this.readChunked();
    } else if (length !== undefined) {
      const n = Number(length);
      await this.waitFor(() => (this.buffer.length >= n ? n : -1));
      body = this.buffer.subarray(0, n);
      this.buffer = this.buffer.subarray(n);
    } else {
      await this.closed;
      body = this.buffer;
      this.buffer = Buffer.alloc(0);
    }
    return { status, head, headers, body, header: (name) => headers[name.toLowerCase()]?.[0] };
  }

  /** Everything still to come until the server closes the connection. */
  async readToEnd(): Promise<Buffer> {
    await this.closed;
    const rest = this.buffer;
    this.buffer = Buffer.alloc(0);
    return rest;
  }

  /** Bytes received but not consumed by readResponse. */
  get pending(): Buffer {
    return this.buffer;
  }

  close(): void {
    this.socket.destroy();
  }

  private async readChunked(): Promise<Buffer> {
    const parts: Buffer[] = [];
    for (;;) {
      const lineEnd = await this.waitFor(() => this.buffer.indexOf('\r\n'));
      const size = parseInt(this.buffer.subarray(0, lineEnd).toString('latin1'), 16);
      this.buffer = this.buffer.subarray(lineEnd + 2);
      if (size === 0) {
        // Trailer lines, if any, up to the final blank line.
        for (;;) {
          const end = await this.waitFor(() => this.buffer.indexOf('\r\n'));
          this.buffer = this.buffer.subarray(end + 2);
          if (end === 0) return Buffer.concat(parts);
        }
      }
      await this.waitFor(() => (this.buffer.length >= size + 2 ? size : -1));
      parts.push(this.buffer.subarray(0, size));
      this.buffer = this.buffer.subarray(size + 2);
    }
  }

  /** Waits until `probe` returns a non-negative index; fails if the connection ends first. */
  private async waitFor(probe: () => number): Promise<number> {
    for (;;) {
      const i = probe();
      if (i >= 0) return i;
      if (this.ended) throw new Error(`connection closed before a complete response; received ${JSON.stringify(this.buffer.toString('latin1').slice(0, 200))}`);
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
  }

  private notify(): void {
    const wake = this.wake;
    this.wake = null;
    wake?.();
  }
}

/** One request on a fresh connection; returns the first response. */
export async function rawRequest(port: number, request: string | Buffer, noBody = false): Promise<RawResponse> {
  const client = await RawClient.connect(port);
  try {
    client.write(request);
    return await client.readResponse(noBody);
  } finally {
    client.close();
  }
}
