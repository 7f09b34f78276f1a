/**
 * Follows websocket frame boundaries in a byte stream without decoding payloads, so that anteroom can
 * put its own close frame on a proxied connection between two frames instead of inside one.
 * RFC 6455 section 5.2: 2 header bytes, then 0, 2 or 8 bytes of extended length, then 4 bytes of
 * mask when the MASK bit is set, then the payload.
 */
export class FrameBoundary {
  /** Payload bytes of the current frame still to come. */
  private remaining = 0;
  private header = Buffer.alloc(14);
  private headerLength = 0;

  get atBoundary(): boolean {
    return this.remaining === 0 && this.headerLength === 0;
  }

  /**
   * Consumes `chunk` and returns how many of its bytes complete the frame in progress (0 when at a
   * boundary already), so a caller can forward exactly up to the next boundary.
   */
  bytesToBoundary(chunk: Buffer): number {
    if (this.atBoundary) return 0;
    let i = 0;
    while (i < chunk.length && !this.atBoundary) i = this.step(chunk, i);
    return i;
  }

  feed(chunk: Buffer): void {
    let i = 0;
    while (i < chunk.length) i = this.step(chunk, i);
  }

  private step(chunk: Buffer, i: number): number {
    if (this.remaining > 0) {
      const take = Math.min(this.remaining, chunk.length - i);
      this.remaining -= take;
      return i + take;
    }
    this.header[this.headerLength++] = chunk[i]!;
    const needed = this.neededHeaderBytes();
    if (needed !== -1 && this.headerLength === needed) {
      this.remaining = this.payloadLength();
      this.headerLength = 0;
    }
    return i + 1;
  }

  private neededHeaderBytes(): number {
    if (this.headerLength < 2) return -1;
    const b1 = this.header[1]!;
    const len7 = b1 & 0x7f;
    return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (b1 & 0x80 ? 4 : 0);
  }

  private payloadLength(): number {
    const len7 = this.header[1]! & 0x7f;
    if (len7 === 126) return this.header.readUInt16BE(2);
    if (len7 === 127) return Number(this.header.readBigUInt64BE(2));
    return len7;
  }
}

/** A close frame (opcode 0x8) with a status code and a UTF-8 reason of at most 123 bytes. */
export function closeFrame(code: number, reason: string, masked: boolean): Buffer {
  let payload = Buffer.from(reason, 'utf8');
  if (payload.length > 123) payload = payload.subarray(0, 123);
  const body = Buffer.alloc(2 + payload.length);
  body.writeUInt16BE(code, 0);
  payload.copy(body, 2);
  if (!masked) return Buffer.concat([Buffer.from([0x88, body.length]), body]);
  const mask = Buffer.from([
    (Math.random() * 256) | 0,
    (Math.random() * 256) | 0,
    (Math.random() * 256) | 0,
    (Math.random() * 256) | 0,
  ]);
  for (let i = 0; i < body.length; i++) body[i]! ^= mask[i & 3]!;
  return Buffer.concat([Buffer.from([0x88, 0x80 | body.length]), mask, body]);
}
