/**
 * Loaded into the soak's anteroom with `node --expose-gc --import <this file> dist/src/cli/main.js
 * start ...` (test/load/soak.ts), never in production: it lets the soak ask for a full garbage
 * collection over the IPC channel, so that heap figures count what the proxy keeps alive rather than
 * garbage that a collection would free whenever V8 gets to it.
 *
 *   <- { type: 'gc' }   -> { type: 'memory', heapUsed, heapTotal, external, arrayBuffers, rss } (bytes,
 *                          after two full collections: the second frees what finalizers of the first let go)
 *
 * The proxy itself is untouched: the CLI runs as deployed, with this module and its listener beside it.
 */
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined || process.send === undefined) {
  throw new Error('soakProbe: load it with node --expose-gc --import, in a child with an IPC channel');
}
const send = process.send.bind(process);

process.on('message', (msg: { type?: string }) => {
  if (msg?.type !== 'gc') return;
  gc();
  gc();
  const m = process.memoryUsage();
  send({ type: 'memory', heapUsed: m.heapUsed, heapTotal: m.heapTotal, external: m.external, arrayBuffers: m.arrayBuffers, rss: m.rss });
});
// The parent going away must not leave the proxy behind waiting on a dead channel; the parent stops
// the proxy with SIGTERM in any case.
process.on('disconnect', () => undefined);
