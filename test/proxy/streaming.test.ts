/**
 * 50 MB each way through a proxy running in its own process, which samples its live memory (after a
 * full GC) while the body streams. A proxy that held the body, or let it pile up in a buffer, would
 * show tens of megabytes of growth; a streaming one shows a few socket buffers' worth.
 */
import { fork, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { request, type IncomingMessage } from 'node:http';
import { fileURLToPath } from 'node:url';
import { pipeline } from 'node:stream/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DigestSink, patternDigest, patternStream, startOrigin, type Origin } from '../helpers/index.js';

const MB = 1024 * 1024;
const SIZE = 50 * MB;
/** Growth allowed while 50 MB pass through: well under the body, well over socket buffers. */
const BOUND = 16 * MB;

const CHILD = fileURLToPath(new URL('../../dist/test/helpers/proxyProcess.js', import.meta.url));

let origin: Origin;
let child: ChildProcess;
let proxyPort: number;
let expectedDigest: string;

/** Messages from the child, in order of arrival. */
function nextMessage<T>(): Promise<T> {
  return new Promise((resolve, reject) => {
    child.once('message', (m) => resolve(m as T));
    child.once('exit', (code) => reject(new Error(`proxy process exited with ${code}`)));
  });
}

async function measure(transfer: () => Promise<void>): Promise<number> {
  const reset = nextMessage<{ reset: true }>();
  child.send('reset');
  await reset;
  await transfer();
  const report = nextMessage<{ baseline: number; peak: number }>();
  child.send('report');
  const { baseline, peak } = await report;
  return peak - baseline;
}

beforeAll(async () => {
  if (!existsSync(CHILD)) throw new Error(`${CHILD} is missing: run "npm run build" first (npm test does)`);
  expectedDigest = await patternDigest(SIZE);
  origin = await startOrigin((req, res) => {
    if (req.method === 'GET') {
      res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(SIZE) });
      patternStream(SIZE).pipe(res);
      return;
    }
    const sink = new DigestSink();
    pipeline(req, sink).then(
      () => res.end(JSON.stringify({ bytes: sink.bytes, digest: sink.digest })),
      () => res.destroy(),
    );
  });
  const config = {
    listen: { host: '127.0.0.1', port: 0, maxBodyBytes: 100 * MB },
    upstreams: { app: { url: origin.url } },
    log: { level: 'silent' },
  };
  child = fork(CHILD, [], {
    execArgv: ['--expose-gc'],
    env: { ...process.env, ANTEROOM_TEST_CONFIG: JSON.stringify(config) },
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  proxyPort = (await nextMessage<{ port: number }>()).port;
});

afterAll(async () => {
  if (child?.connected) {
    const exited = new Promise((resolve) => child.once('exit', resolve));
    child.send('stop');
    await exited;
  }
  await origin?.close();
});

function get(path: string): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    request({ host: '127.0.0.1', port: proxyPort, path, agent: false }, resolve).on('error', reject).end();
  });
}

describe('streaming 50 MB bodies', () => {
  it('downloads 50 MB intact with bounded proxy memory', async () => {
    let bytes = 0;
    let digest = '';
    const growth = await measure(async () => {
      const res = await get('/big');
      expect(res.statusCode).toBe(200);
      expect(res.headers['content-length']).toBe(String(SIZE));
      const sink = new DigestSink();
      await pipeline(res, sink);
      bytes = sink.bytes;
      digest = sink.digest;
    });
    expect(bytes).toBe(SIZE);
    expect(digest).toBe(expectedDigest);
    expect(growth).toBeLessThan(BOUND);
  });

  it.each([
    ['with Content-Length', { 'content-length': String(SIZE) }],
    ['chunked', { 'transfer-encoding': 'chunked' }],
  ])('uploads 50 MB %s intact with bounded proxy memory', async (_name, headers) => {
    let answer: { bytes: number; digest: string } | undefined;
    const growth = await measure(async () => {
      const res = await new Promise<IncomingMessage>((resolve, reject) => {
        const req = request({ host: '127.0.0.1', port: proxyPort, path: '/upload', method: 'POST', headers, agent: false }, resolve);
        req.on('error', reject);
        patternStream(SIZE).pipe(req);
      });
      expect(res.statusCode).toBe(200);
      const parts: Buffer[] = [];
      for await (const c of res) parts.push(c as Buffer);
      answer = JSON.parse(Buffer.concat(parts).toString()) as { bytes: number; digest: string };
    });
    expect(answer).toEqual({ bytes: SIZE, digest: expectedDigest });
    expect(growth).toBeLessThan(BOUND);
  });
});
