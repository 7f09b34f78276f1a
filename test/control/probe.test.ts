/**
 * The active probe against a real node:http upstream on port 0: results feed the windows, failures
 * count as max latency, three failures in a row mean down, and the first success after that is a
 * recovery (which starts a ramp).
 */
import { createServer, type Server } from 'node:http';
import { describe, expect, it } from 'vitest';
import { Probe } from '../../src/control/probe.js';
import { cleanupAfterEach } from '../helpers/cleanupAfterEach.js';
import { closedPort } from '../helpers/servers.js';
import { eventually } from './services.js';

const cleanup = cleanupAfterEach();

async function upstream(handler: (path: string) => number | null): Promise<{ url: string; port: number; server: Server; hits: string[] }> {
  const hits: string[] = [];
  const server = createServer((req, res) => {
    hits.push(req.url!);
    const status = handler(req.url!);
    if (status === null) return; // never answer
    res.writeHead(status).end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const port = (server.address() as { port: number }).port;
  return { url: `http://127.0.0.1:${port}`, port, server, hits };
}

function probe(url: string, opts: Partial<ConstructorParameters<typeof Probe>[0]> = {}): { probe: Probe; results: [number, boolean][]; recoveries: number[] } {
  const results: [number, boolean][] = [];
  const recoveries: number[] = [];
  const p = new Probe({
    url,
    path: '/health',
    everyMs: 50,
    timeoutMs: 300,
    onResult: (ms, ok) => results.push([ms, ok]),
    onRecover: () => recoveries.push(results.length),
    ...opts,
  });
  cleanup.push(() => p.close());
  return { probe: p, results, recoveries };
}

describe('Probe', () => {
  it('probes the health path and reports its latency as a result', async () => {
    const up = await upstream(() => 200);
    const { probe: p, results } = probe(up.url + '/ignored/base');
    const r = await p.probeOnce();
    expect(r.ok).toBe(true);
    expect(up.hits).toEqual(['/health']);
    expect(results).toHaveLength(1);
    expect(results[0]![1]).toBe(true);
    expect(results[0]![0]).toBeLessThan(300);
    expect(p.read(Date.now())).toMatchObject({ name: 'probe', value: 0, threshold: 2, state: 'ok' });
    expect(p.up).toBe(true);
  });

  it('counts a refused connection, a 503 and a timeout as failures at max latency; down after three, recovery after', async () => {
    let status: number | null = 503;
    const up = await upstream(() => status);
    const { probe: p, results, recoveries } = probe(up.url);
    await p.probeOnce(); // 503
    status = null;
    await p.probeOnce(); // timeout
    expect(p.up).toBe(null);
    expect(p.read(Date.now()).state).toBe('ok');
    status = 503;
    const third = await p.probeOnce();
    expect(third.outcome).toMatch(/status 503/);
    expect(results.map(([ms, ok]) => [ms, ok])).toEqual([
      [300, false],
      [300, false],
      [300, false],
    ]);
    expect(p.up).toBe(false);
    const down = p.read(Date.now());
    expect(down).toMatchObject({ value: 3, threshold: 2, state: 'over' });
    expect(down.detail).toMatch(/down/);
    expect(recoveries).toEqual([]);
    status = 200;
    await p.probeOnce();
    expect(p.up).toBe(true);
    expect(recoveries).toEqual([4]);
    expect(p.read(Date.now())).toMatchObject({ value: 0, state: 'ok' });
  });

  it('survives an upstream that is not there at all', async () => {
    const { probe: p, results } = probe(`http://127.0.0.1:${await closedPort()}`);
    const r = await p.probeOnce();
    expect(r).toMatchObject({ ok: false, latencyMs: 300 });
    expect(r.outcome).toMatch(/ECONNREFUSED/);
    expect(results).toEqual([[300, false]]);
  });

  it('probes on its own at the interval once started, and stops on close', async () => {
    const up = await upstream(() => 200);
    const { probe: p } = probe(up.url);
    p.start();
    await eventually(() => up.hits.length >= 3, 5_000, 'three probes');
    await p.close();
    const n = up.hits.length;
    await new Promise((r) => setTimeout(r, 200));
    expect(up.hits.length).toBe(n);
    // With probing stopped the last result goes stale.
    expect(p.read(Date.now() + 10_000).state).toBe('unknown');
  });
});
