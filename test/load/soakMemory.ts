/**
 * The soak's view of the proxy's memory and descriptors (soak.ts): live memory and heap snapshots
 * through the test-only module loaded into it (soakProbe.ts), open descriptors from /proc, and the
 * wait for a quiet proxy before they are counted.
 */
import type { ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { sleep } from './clients.js';
import type { Admin } from './soakAdmin.js';

/** The proxy's live memory after a full collection (soakProbe.ts), in bytes. */
export interface LiveMemory {
  heapUsed: number;
  external: number;
  rss: number;
  /** Used bytes per V8 heap space (old_space, code_space, ...). */
  spaces: Record<string, number>;
}

/** The live heap apart from compiled code, which grows for a while as V8 optimises more of the proxy's functions. */
export function liveData(m: LiveMemory): number {
  return m.heapUsed - (m.spaces['code_space'] ?? 0) - (m.spaces['code_large_object_space'] ?? 0);
}

/** The test-only module in the proxy (soakProbe.ts): full collections and heap snapshots on request. */
export class Probe {
  private readonly replies = new Map<string, ((m: unknown) => void)[]>();

  constructor(private readonly child: ChildProcess) {
    child.on('message', (m: { type?: string }) => this.replies.get(m.type ?? '')?.shift()?.(m));
  }

  private ask<T>(msg: { type: string; [k: string]: unknown }): Promise<T> {
    return new Promise((resolve, reject) => {
      if (!this.child.connected) return reject(new Error('the proxy process has gone'));
      const timer = setTimeout(() => reject(new Error(`the proxy did not answer "${msg.type}" within 60 s`)), 60_000);
      let queue = this.replies.get(msg.type);
      if (queue === undefined) this.replies.set(msg.type, (queue = []));
      queue.push((m) => {
        clearTimeout(timer);
        resolve(m as T);
      });
      this.child.send(msg);
    });
  }

  /**
   * Live memory after full collections: two when the proxy is quiet, one under load (each stops the
   * proxy for tens of milliseconds, more on a busy machine).
   */
  gc(passes: 1 | 2 = 2): Promise<LiveMemory> {
    return this.ask<LiveMemory>({ type: 'gc', passes });
  }

  async snapshot(file: string): Promise<string> {
    return (await this.ask<{ file: string }>({ type: 'snapshot', file })).file;
  }
}

/**
 * SYNs dropped because a listening socket's accept queue was full, machine-wide since boot (the
 * `ListenOverflows` counter of /proc/net/netstat), or null where there is no such file. Other processes
 * count here too: a rise tells when to look, not whose socket it was.
 */
export function listenOverflows(): number | null {
  try {
    const lines = readFileSync('/proc/net/netstat', 'utf8').split('\n');
    for (let i = 0; i + 1 < lines.length; i += 2) {
      const names = lines[i]!.split(/\s+/);
      const values = lines[i + 1]!.split(/\s+/);
      const at = names.indexOf('ListenOverflows');
      if (names[0] === 'TcpExt:' && at > 0) return Number(values[at]);
    }
    return null;
  } catch {
    return null;
  }
}

/** Open descriptors of a process (entries of /proc/<pid>/fd), or null where there is no /proc. */
export function openFds(pid: number): number | null {
  try {
    return readdirSync(`/proc/${pid}/fd`).length;
  } catch {
    return null;
  }
}

export interface Quiet extends LiveMemory {
  fds: number | null;
}

/**
 * Waits until the proxy is quiet: no client connected (the caller closed them), the room's places and
 * sessions expired (`settleMs`: one grace and session lifetime, then a /metrics scrape, which sweeps expired
 * sessions as it counts them), idle upstream connections closed, and the descriptor count unchanged
 * for 2 s (at most 30 s). Then counts its descriptors and collects its garbage.
 */
export async function quiet(pid: number, admin: Admin, probe: Probe, settleMs: number, snapshot: string | null): Promise<Quiet> {
  await sleep(settleMs);
  await admin.metrics();
  await admin.close();
  let last = openFds(pid);
  let since = Date.now();
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline && Date.now() - since < 2_000) {
    await sleep(250);
    const n = openFds(pid);
    if (n !== last) {
      last = n;
      since = Date.now();
    }
  }
  const m = await probe.gc();
  if (snapshot !== null) await probe.snapshot(snapshot);
  return { fds: last, heapUsed: m.heapUsed, external: m.external, rss: m.rss, spaces: m.spaces };
}


export const mb = (bytes: number | null): string => (bytes === null ? 'n/a' : `${(bytes / 1024 / 1024).toFixed(1)} MB`);
