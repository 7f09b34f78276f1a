/**
 * Loaded into the soak's anteroom with `node --expose-gc --import <this file> dist/src/cli/main.js
 * start ...` (test/load/soak.ts), never in production: it lets the soak ask for a full garbage
 * collection over the IPC channel, so that heap figures count what the proxy keeps alive rather than
 * garbage that a collection would free whenever V8 gets to it.
 *
 *   <- { type: 'gc', passes }  -> { type: 'gc', heapUsed, heapTotal, external, arrayBuffers, rss, spaces }
 *                          (bytes, after `passes` full collections (1 or 2: the second frees what the
 *                          finalizers run by the first let go); `spaces`: used bytes per V8 heap space,
 *                          e.g. code_space apart from old_space)
 *   <- { type: 'snapshot', file }  -> { type: 'snapshot', file } once a heap snapshot is written there
 *
 * The proxy itself is untouched: the CLI runs as deployed, with this module and its listener beside it.
 */
import { getHeapSpaceStatistics, writeHeapSnapshot } from 'node:v8';

const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined || process.send === undefined) {
  throw new Error('soakProbe: load it with node --expose-gc --import, in a child with an IPC channel');
}
const send = process.send.bind(process);

process.on('message', (msg: { type?: string; file?: string; passes?: number }) => {
  if (msg?.type === 'gc') {
    gc();
    if (msg.passes !== 1) gc();
    const m = process.memoryUsage();
    const spaces = Object.fromEntries(getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size]));
    send({ type: 'gc', heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss, spaces });
  } else if (msg?.type === 'snapshot' && typeof msg.file === 'string') {
    send({ type: 'snapshot', file: writeHeapSnapshot(msg.file) });
  }
});
// The soak stops the proxy with SIGTERM; if the soak itself dies first, the proxy must not outlive it.
process.on('disconnect', () => process.kill(process.pid, 'SIGTERM'));
