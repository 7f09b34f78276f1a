/** Calls to a running proxy's admin API over a real socket. */
import type { Proxy } from '../helpers/index.js';

export const TOKEN = 'admin-test-token-0123456789';

export interface AdminReply {
  status: number;
  headers: Headers;
  text: string;
  json(): Record<string, unknown>;
}

export function adminUrl(proxy: Proxy): string {
  const a = proxy.app.adminAddress;
  if (a === null) throw new Error('the admin listener is not started');
  return `http://127.0.0.1:${a.port}`;
}

/** One admin request; `token` null sends no Authorization header. */
export async function admin(proxy: Proxy, method: string, path: string, body?: unknown, token: string | null = TOKEN): Promise<AdminReply> {
  const headers: Record<string, string> = {};
  if (token !== null) headers['authorization'] = `Bearer ${token}`;
  let payload: string | undefined;
  if (body !== undefined) {
    headers['content-type'] = 'application/json';
    payload = typeof body === 'string' ? body : JSON.stringify(body);
  }
  const res = await fetch(`${adminUrl(proxy)}${path}`, { method, headers, body: payload });
  const text = await res.text();
  return { status: res.status, headers: res.headers, text, json: () => JSON.parse(text) as Record<string, unknown> };
}

/** The same, failing the test unless the status is `expected`. */
export async function adminOk(proxy: Proxy, method: string, path: string, body?: unknown, expected = method === 'POST' && path === '/blocks' ? 201 : 200): Promise<Record<string, unknown>> {
  const r = await admin(proxy, method, path, body);
  if (r.status !== expected) throw new Error(`${method} ${path}: expected ${expected}, got ${r.status}: ${r.text}`);
  return r.json();
}
