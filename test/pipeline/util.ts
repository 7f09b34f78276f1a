/**
 * Small tools for the pipeline tests: one HTTP request on its own connection (so the proxy sees each
 * request as it would from a separate client), an origin that counts what it has in flight and can
 * hold requests until the test lets them go, and polling for a condition.
 */
import { startOrigin, type Origin } from '../helpers/index.js';
import { send, type Reply, type SendOptions } from '../helpers/send.js';

export { countingOrigin, type CountingOrigin } from '../helpers/countingOrigin.js';
export type { Reply } from '../helpers/send.js';
export { sleep, until } from '../helpers/until.js';

/** One request on a fresh connection (no keep-alive agent), read to the end. */
export function get(port: number, path: string, options: Omit<SendOptions, 'body'> = {}): Promise<Reply> {
  return send(port, path, options).reply;
}

/** Sends `n` requests one after another; returns the replies in order. */
export async function sequential(n: number, send: (i: number) => Promise<Reply>): Promise<Reply[]> {
  const out: Reply[] = [];
  for (let i = 0; i < n; i++) out.push(await send(i));
  return out;
}

export function statuses(replies: readonly Reply[]): number[] {
  return replies.map((r) => r.status);
}

export function count(replies: readonly Reply[], status: number): number {
  return replies.filter((r) => r.status === status).length;
}

/** An origin that answers 200 at once and remembers each request's path and headers. */
export async function quickOrigin(): Promise<Origin> {
  return startOrigin((_req, res) => {
    res.setHeader('content-type', 'text/plain');
    res.end('ok');
  });
}
