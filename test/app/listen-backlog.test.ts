/**
 * listen.backlog reaches the kernel: the listening socket's accept queue is the configured size (as
 * `ss` reports it), not Node's default of 511, which overflowed when thousands of clients came back
 * at once after a room mode change.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { proxyRig } from '../helpers/proxyRig.js';
import { startOrigin, type Origin } from '../helpers/servers.js';

function ssAvailable(): boolean {
  try {
    execFileSync('ss', ['-V'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** The accept queue size of the socket listening on 127.0.0.1:port (ss's Send-Q for a listener). */
function acceptQueue(port: number): number {
  const out = execFileSync('ss', ['-Hltn', `sport = :${port}`], { encoding: 'utf8' });
  const fields = out.trim().split(/\s+/);
  return Number(fields[2]);
}

const somaxconn = Number(readFileSync('/proc/sys/net/core/somaxconn', 'utf8'));

describe.skipIf(!ssAvailable())('listen.backlog', () => {
  const rig = proxyRig<Origin>();

  it('sizes the accept queue of the public listener', async () => {
    rig.origin = await startOrigin((_req, res) => res.end('ok'));
    const proxy = await rig.startProxy(rig.origin.url, { listen: { backlog: 1000 } });
    expect(acceptQueue(proxy.port)).toBe(Math.min(1000, somaxconn));
  });

  it('defaults to 4096 (capped by net.core.somaxconn), not Node\'s 511', async () => {
    rig.origin = await startOrigin((_req, res) => res.end('ok'));
    const proxy = await rig.startProxy(rig.origin.url);
    expect(acceptQueue(proxy.port)).toBe(Math.min(4096, somaxconn));
  });
});
