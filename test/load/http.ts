/**
 * HTTP for the load clients: one undici Agent with enough connections that no client ever queues
 * inside the load generator (held requests each keep one open), a per-request timeout, and a cookie
 * jar per simulated browser.
 */
import { Agent, request } from 'undici';

export interface Answer {
  /** 0 when there was no HTTP answer (connection refused or reset, timeout). */
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  /** Why there was no answer. */
  error?: string;
}

export interface RequestOptions {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  timeoutMs: number;
}

export class HttpClient {
  private readonly agent: Agent;

  constructor(
    readonly base: string,
    connections = 6_000,
    connectTimeoutMs = 5_000,
  ) {
    this.agent = new Agent({ connections, pipelining: 1, keepAliveTimeout: 4_000, connect: { timeout: connectTimeoutMs } });
  }

  async request(path: string, o: RequestOptions): Promise<Answer> {
    try {
      const res = await request(this.base + path, {
        dispatcher: this.agent,
        method: (o.method ?? 'GET') as 'GET',
        headers: o.headers,
        body: o.body,
        headersTimeout: o.timeoutMs,
        bodyTimeout: o.timeoutMs,
      });
      const body = await res.body.text();
      return { status: res.statusCode, headers: res.headers, body };
    } catch (err) {
      const e = err as { code?: string; message?: string };
      return { status: 0, headers: {}, body: '', error: e.code ?? e.message ?? 'error' };
    }
  }

  close(): Promise<void> {
    return this.agent.close();
  }
}

/** Cookies of one client, as a browser keeps them for one site (Path=/ only; Max-Age=0 deletes). */
export class CookieJar {
  private readonly cookies = new Map<string, string>();

  set(name: string, value: string): void {
    this.cookies.set(name, value);
  }

  get(name: string): string | undefined {
    return this.cookies.get(name);
  }

  absorb(setCookie: string | string[] | undefined): void {
    if (setCookie === undefined) return;
    for (const line of Array.isArray(setCookie) ? setCookie : [setCookie]) {
      const [pair, ...attrs] = line.split(';');
      const eq = pair!.indexOf('=');
      if (eq <= 0) continue;
      const name = pair!.slice(0, eq).trim();
      const value = pair!.slice(eq + 1).trim();
      const expired = attrs.some((a) => /^\s*max-age\s*=\s*0\s*$/i.test(a));
      if (expired || value === '') this.cookies.delete(name);
      else this.cookies.set(name, value);
    }
  }

  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

/** One header's value as a string (the first when repeated). */
export function headerValue(h: Answer['headers'], name: string): string | undefined {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
}

/** Retry-After in ms (delta-seconds form), or null. */
export function retryAfterMs(h: Answer['headers']): number | null {
  const v = headerValue(h, 'retry-after');
  if (v === undefined || !/^\d+$/.test(v.trim())) return null;
  return Number(v) * 1000;
}
