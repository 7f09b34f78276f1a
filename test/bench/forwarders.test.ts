/**
 * The bench's undici forwarders (test/bench/undiciBare.ts) do what their descriptions say: the bare one
 * copies the client's headers as they are; with --required it does the work the proxy core requires
 * of every forwarded request and nothing else. Their req/s and instruction counts are compared with
 * anteroom's, so a forwarder that skipped part of that work would make the comparison meaningless.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countingOrigin, type CountingOrigin } from '../helpers/countingOrigin.js';
import { send, type Reply } from '../helpers/send.js';
import { tempDir } from '../helpers/tempDir.js';
import { stop, waitForListening } from './procs.js';

const SCRIPT = fileURLToPath(new URL('../../dist/test/bench/undiciBare.js', import.meta.url));
const dir = tempDir('anteroom-forwarders-');

let origin: CountingOrigin;
beforeAll(async () => {
  origin = await countingOrigin({
    answer: (_req, res) => {
      res.writeHead(200, [
        'content-type',
        'text/plain',
        'connection',
        'keep-alive, x-upstream-private',
        'x-upstream-private',
        'secret',
        'x-request-id',
        'from-upstream',
        'set-cookie',
        'a=1',
        'set-cookie',
        'b=2',
      ]);
      res.end('ok');
    },
  });
});
afterAll(() => origin.close());

async function startForwarder(args: string[]): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, [SCRIPT, origin.url, '0', ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
  return { child, port: await waitForListening(child, 'forwarder') };
}

/** One request with a forged X-Forwarded-For, a private Connection-named header and Proxy-Authorization. */
function get(port: number): Promise<Reply> {
  return send(port, '/page?q=1', {
    headers: { connection: 'keep-alive, x-client-private', 'x-client-private': '1', 'x-forwarded-for': '6.6.6.6', 'proxy-authorization': 'Basic eA==', 'x-kept': 'yes' },
  }).reply;
}

describe('bench forwarders', () => {
  it('the bare forwarder copies the request headers as they are', async () => {
    const { child, port } = await startForwarder([]);
    try {
      const res = await get(port);
      expect(res.status).toBe(200);
      const seen = origin.arrived.at(-1)!.headers;
      expect(seen['x-client-private']).toBe('1');
      expect(seen['x-forwarded-for']).toBe('6.6.6.6');
      expect(seen['x-request-id']).toBeUndefined();
    } finally {
      await stop(child);
    }
  });

  it('with --required it drops hop-by-hop headers both ways, sets X-Forwarded-* and X-Request-Id, and logs each request', async () => {
    const log = join(dir.path, 'required.log');
    const { child, port } = await startForwarder(['--required', `--log=${log}`]);
    let res;
    try {
      res = await get(port);
    } finally {
      await stop(child);
    }
    expect(res.status).toBe(200);
    expect(res.body).toBe('ok');
    const seen = origin.arrived.at(-1)!.headers;
    expect(seen['x-client-private']).toBeUndefined();
    expect(seen['proxy-authorization']).toBeUndefined();
    expect(seen['x-kept']).toBe('yes');
    expect(seen['x-forwarded-for']).toBe('127.0.0.1');
    expect(seen['x-forwarded-proto']).toBe('http');
    expect(seen['x-forwarded-host']).toBe(`127.0.0.1:${port}`);
    const id = seen['x-request-id'];
    expect(id).toMatch(/^[a-z0-9]+-1$/);
    expect(res.headers['x-request-id']).toBe(id);
    expect(res.headers['x-upstream-private']).toBeUndefined();
    expect(res.headers['set-cookie']).toEqual(['a=1', 'b=2']);

    const lines = readFileSync(log, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(1);
    const line = JSON.parse(lines[0]!) as Record<string, unknown>;
    expect(line).toMatchObject({ level: 30, reqId: id, method: 'GET', path: '/page', status: 200, decision: 'forward', msg: 'request' });
    expect(line['upstreamMs']).toEqual(expect.any(Number));
    expect(Date.parse(line['time'] as string)).not.toBeNaN();
  });
});
