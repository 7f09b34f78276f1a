/**
 * A number read from an application's own JSON endpoint (pool stats, a queue depth), located with a
 * JSON pointer. One keep-alive connection (an undici Pool of one) is reused for every poll, like
 * the database pollers. A non-2xx answer, a body that is not JSON, or a pointer that names no finite
 * number (numeric strings are accepted) is a failed poll.
 */
import { Pool } from 'undici';
import { parseJsonPointer, resolveJsonPointer } from './jsonPointer.js';
import type { PollDriver, PollReading } from './poller.js';
import { redactUrl } from './redactUrl.js';

export class HttpJsonDriver implements PollDriver {
  readonly description: string;
  private readonly url: URL;
  private readonly tokens: string[];
  private pool: Pool | null = null;

  constructor(
    url: string,
    private readonly pointer: string,
  ) {
    this.url = new URL(url);
    this.tokens = parseJsonPointer(pointer);
    this.description = `http ${redactUrl(url)} at ${pointer === '' ? '(whole document)' : pointer}`;
  }

  isOpen(): boolean {
    return this.pool !== null;
  }

  async connect(timeoutMs: number): Promise<void> {
    // The socket itself is opened by the first request; the pool keeps it alive between polls.
    this.pool = new Pool(this.url.origin, { connections: 1, pipelining: 1, connect: { timeout: timeoutMs } });
  }

  async poll(timeoutMs: number): Promise<PollReading> {
    const pool = this.pool;
    if (pool === null) throw new Error('not connected');
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.url.username !== '') {
      headers['authorization'] = `Basic ${Buffer.from(`${decodeURIComponent(this.url.username)}:${decodeURIComponent(this.url.password)}`).toString('base64')}`;
    }
    const res = await pool.request({
      method: 'GET',
      path: this.url.pathname + this.url.search,
      headers,
      headersTimeout: timeoutMs,
      bodyTimeout: timeoutMs,
    });
    if (res.statusCode < 200 || res.statusCode > 299) {
      await res.body.dump();
      throw new Error(`answered ${res.statusCode}`);
    }
    let doc: unknown;
    try {
      doc = await res.body.json();
    } catch {
      throw new Error('answered with a body that is not JSON');
    }
    const found = resolveJsonPointer(doc, this.tokens);
    const value = typeof found === 'number' ? found : typeof found === 'string' && found.trim() !== '' ? Number(found) : NaN;
    if (!Number.isFinite(value)) {
      throw new Error(found === undefined ? `nothing at ${this.pointer}` : `value at ${this.pointer} is not a number: ${JSON.stringify(found)?.slice(0, 80)}`);
    }
    return { value, capacity: null, detail: `${this.pointer} = ${value}` };
  }

  async close(): Promise<void> {
    const pool = this.pool;
    this.pool = null;
    await pool?.destroy().catch(() => undefined);
  }
}
