/**
 * The log's destination: lines are copied into a preallocated buffer and written to the file
 * descriptor in batches, off the event loop. This replaces pino's default SonicBoom destination, which
 * measures the byte length of its whole pending batch again on every line (the batch is a JavaScript
 * string, so each line cost a walk over up to 16 KB): at one request line per request, that was the
 * largest single cost of a proxied request after the sockets themselves.
 *
 * Ordering is kept: every line, request lines and pino's own, goes through the same sink. A consumer
 * that stops reading never blocks the proxy: pending output is bounded, and lines beyond the bound are
 * dropped and counted; a line saying how many were dropped is written once the consumer reads again.
 */
import { fstatSync, write as fsWrite, writeSync } from 'node:fs';

const CHUNK_BYTES = 64 * 1024;
/** A batch this large is written at once; smaller ones wait for `maxDelayMs`. */
const WRITE_AT_BYTES = 16 * 1024;
const RETRY_MS = 10;

export interface LineSinkOptions {
  /** File descriptor to write to (1 for stdout). */
  fd: number;
  /** Longest a line may wait before it is written, so a quiet proxy's lines are seen promptly. */
  maxDelayMs?: number;
  /** Bytes that may wait for a slow consumer before lines are dropped. */
  maxPendingBytes?: number;
  /**
   * Write batches synchronously. Default: for a regular file or a character device (a terminal,
   * /dev/null), which cannot hold a write back for long, as Node writes process.stdout to them; a pipe
   * or socket, whose reader may stop reading, is written asynchronously.
   */
  sync?: boolean;
}

interface Chunk {
  buf: Buffer;
  len: number;
}

export class LineSink {
  private readonly fd: number;
  private readonly maxDelayMs: number;
  private readonly maxPendingBytes: number;
  /** Filled chunks waiting for the writer, oldest first; the last one is the one being filled. */
  private readonly chunks: Chunk[] = [];
  private pendingBytes = 0;
  private writing = false;
  private timer: NodeJS.Timeout | null = null;
  private dropped = 0;
  private failed = false;
  private waiters: ((err?: Error) => void)[] = [];
  /** Written chunks kept for reuse: a fresh 64 KB buffer per batch was external memory for the GC to chase. */
  private readonly spare: Buffer[] = [];
  private readonly sync: boolean;

  constructor(options: LineSinkOptions) {
    this.fd = options.fd;
    this.sync = options.sync ?? writesCannotStall(options.fd);
    this.maxDelayMs = options.maxDelayMs ?? 100;
    this.maxPendingBytes = options.maxPendingBytes ?? 16 * 1024 * 1024;
  }

  /** Lines dropped so far because the consumer did not keep up. */
  get droppedLines(): number {
    return this.dropped;
  }

  /** Appends one line (with its newline). Never blocks. */
  write(line: string): boolean {
    if (this.failed) return true;
    // A UTF-16 unit takes at most 3 bytes of UTF-8.
    const worst = line.length * 3;
    if (this.pendingBytes + worst > this.maxPendingBytes) {
      this.dropped++;
      return false;
    }
    let chunk = this.chunks[this.chunks.length - 1];
    if (chunk === undefined || chunk.len + worst > chunk.buf.length) {
      chunk = { buf: worst <= CHUNK_BYTES ? this.freshBuffer() : Buffer.allocUnsafe(worst), len: 0 };
      this.chunks.push(chunk);
    }
    const n = chunk.buf.write(line, chunk.len);
    chunk.len += n;
    this.pendingBytes += n;
    if (!this.writing) {
      if (this.pendingBytes >= WRITE_AT_BYTES) this.startWrite();
      else if (this.timer === null) this.timer = setTimeout(() => this.onTimer(), this.maxDelayMs).unref();
    }
    return true;
  }

  /** Writes what is pending; `cb` runs once it has been handed to the descriptor. */
  flush(cb?: (err?: Error) => void): void {
    if (cb !== undefined) {
      if (this.pendingBytes === 0 && !this.writing) {
        process.nextTick(cb);
        return;
      }
      this.waiters.push(cb);
    }
    if (!this.writing) this.startWrite();
  }

  /** Writes everything pending before returning: for the process's last moments. */
  flushSync(): void {
    if (this.failed) return;
    this.noteDropped();
    // A chunk already handed to the descriptor is not written twice.
    const from = this.writing ? 1 : 0;
    for (const chunk of this.chunks.slice(from)) {
      let off = 0;
      let spins = 0;
      while (off < chunk.len) {
        try {
          off += writeSync(this.fd, chunk.buf, off, chunk.len - off);
        } catch (err) {
          // A non-blocking pipe that is full: try a while, then give up rather than hang the exit.
          if ((err as NodeJS.ErrnoException).code === 'EAGAIN' && ++spins < 1000) continue;
          this.failed = true;
          return;
        }
      }
    }
    this.chunks.length = from;
    this.pendingBytes = from === 1 ? this.chunks[0]!.len : 0;
  }

  private freshBuffer(): Buffer {
    return this.spare.pop() ?? Buffer.allocUnsafe(CHUNK_BYTES);
  }

  private onTimer(): void {
    this.timer = null;
    if (!this.writing) this.startWrite();
  }

  private noteDropped(): void {
    if (this.dropped === 0) return;
    const n = this.dropped;
    this.dropped = 0;
    const line = `{"level":40,"time":"${new Date().toISOString()}","msg":"the log consumer did not keep up; ${n} lines were dropped"}\n`;
    const chunk = { buf: Buffer.from(line), len: Buffer.byteLength(line) };
    // Ahead of everything not yet handed to the descriptor (a chunk being written stays first).
    this.chunks.splice(this.writing ? 1 : 0, 0, chunk);
    this.pendingBytes += chunk.len;
  }

  private startWrite(): void {
    if (this.timer !== null) {
      clearTimeout(this.timer);
      this.timer = null;
    }
    this.noteDropped();
    const chunk = this.chunks[0];
    if (chunk === undefined || chunk.len === 0) {
      this.settle();
      return;
    }
    // The chunk being written is never filled further: new lines go to a fresh one.
    if (this.chunks.length === 1) this.chunks.push({ buf: this.freshBuffer(), len: 0 });
    this.writing = true;
    if (this.sync) this.writeNow(chunk);
    else this.writeFrom(chunk, 0);
  }

  /**
   * The synchronous path: a batch handed to the thread pool cost a wake-up of a pool thread per
   * batch, which, on a proxy given one CPU, took that CPU from the event loop; a file or /dev/null
   * takes the batch in one call. A descriptor that turns out not to take it all at once (EAGAIN) is
   * finished on the asynchronous path.
   */
  private writeNow(chunk: Chunk): void {
    let off = 0;
    while (off < chunk.len) {
      try {
        off += writeSync(this.fd, chunk.buf, off, chunk.len - off);
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code === 'EAGAIN') this.writeFrom(chunk, off);
        else this.fail(err as Error);
        return;
      }
    }
    this.written(chunk);
  }

  private writeFrom(chunk: Chunk, off: number): void {
    fsWrite(this.fd, chunk.buf, off, chunk.len - off, null, (err, written) => {
      if (err) {
        if (err.code === 'EAGAIN') {
          setTimeout(() => this.writeFrom(chunk, off), RETRY_MS).unref();
          return;
        }
        this.fail(err);
        return;
      }
      off += written;
      if (off < chunk.len) {
        this.writeFrom(chunk, off);
        return;
      }
      this.written(chunk);
    });
  }

  /** The descriptor is gone (EPIPE, EBADF): the proxy goes on without its log. */
  private fail(err: Error): void {
    this.failed = true;
    this.writing = false;
    this.chunks.length = 0;
    this.pendingBytes = 0;
    this.settle(err);
  }

  /** `chunk`, the first, is written: the next batch starts if one is due. */
  private written(chunk: Chunk): void {
    this.pendingBytes -= chunk.len;
    this.chunks.shift();
    if (chunk.buf.length === CHUNK_BYTES && this.spare.length < 4) this.spare.push(chunk.buf);
    this.writing = false;
    const next = this.chunks[0];
    if (next !== undefined && (this.chunks.length > 1 || next.len >= WRITE_AT_BYTES || this.waiters.length > 0)) this.startWrite();
    else {
      if (next !== undefined && next.len > 0 && this.timer === null) this.timer = setTimeout(() => this.onTimer(), this.maxDelayMs).unref();
      this.settle();
    }
  }

  private settle(err?: Error): void {
    if (this.writing || this.waiters.length === 0) return;
    if (err === undefined && this.pendingBytes > 0) return;
    const waiters = this.waiters;
    this.waiters = [];
    // Never from inside flush(): on the synchronous path the write is over before flush returns.
    for (const cb of waiters) process.nextTick(cb, err);
  }
}

/** A regular file or a character device: a write to it completes without waiting for a reader. */
function writesCannotStall(fd: number): boolean {
  try {
    const st = fstatSync(fd);
    return st.isFile() || st.isCharacterDevice();
  } catch {
    return false;
  }
}
