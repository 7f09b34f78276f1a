/**
 * The waiting room's queue, measured: memory per waiter and the cost of the calls the status endpoint
 * and the admit loop make. `npm run build && node --expose-gc dist/test/bench/room.js` (without the
 * flag, the collector is switched on through v8.setFlagsFromString, which works on Node 20 too).
 *
 * Memory: 50,000 browser and 10,000 API waiters over 10 tenants and the three classes, with the ids
 * and seqs an integrator would use (22-character ids, microsecond seqs). The baseline in the same run
 * is the least any queue must keep: the same waiter records in one Map by id. Both are measured after
 * a full collection, as heap growth divided by the waiter count, id strings included.
 *
 * Speed, in operations per CPU second: position() for random waiters (the status poll), with 10 tenants and with 1,000 tenants
 * (position sums over the active tenants), and next() draining the queue.
 *
 * The numbers are a measurement, not a test: a missed target is reported, and the exit code stays 0.
 */
import { randomBytes } from 'node:crypto';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { FairQueue, type WaiterInit } from '../../src/room/fairQueue.js';
import type { RoomClass } from '../../src/room/classes.js';
import { SequenceClock } from '../../src/room/sequence.js';

const BROWSERS = 50_000;
const APIS = 10_000;
const TARGET_BYTES_PER_WAITER = 300;

function collector(): () => void {
  const exposed = (globalThis as { gc?: () => void }).gc;
  if (exposed !== undefined) return exposed;
  setFlagsFromString('--expose-gc');
  return runInNewContext('gc') as () => void;
}
const gc = collector();

async function heapUsed(): Promise<number> {
  // Twice, with a pause: V8 sweeps concurrently after marking, and pages not yet swept still count as
  // used; a single gc() call gave numbers off by 100 B per waiter on a busy machine.
  gc();
  await new Promise((resolve) => setTimeout(resolve, 50));
  gc();
  return process.memoryUsage().heapUsed;
}

/** The waiters, with ids made once so the queue and the baseline hold the very same strings. */
function makeWaiters(tenants: number): WaiterInit[] {
  const seqs = new SequenceClock(Date.now);
  const classes: RoomClass[] = ['critical', 'normal', 'normal', 'normal', 'bulk'];
  const out: WaiterInit[] = [];
  const now = Date.now();
  for (let i = 0; i < BROWSERS + APIS; i++) {
    const api = i >= BROWSERS;
    out.push({
      id: randomBytes(16).toString('base64url'),
      tenant: `tenant-${i % tenants}`,
      cls: api ? 'bulk' : classes[i % classes.length]!,
      seq: seqs.next(),
      enqueuedAt: now,
      kind: api ? 'api' : 'browser',
    });
  }
  return out;
}

function newQueue(): FairQueue {
  return new FairQueue({ now: Date.now, graceMs: 60_000, maxPerTenant: 1_000_000, maxTotal: 1_000_000 });
}

async function memoryOnce(): Promise<{ queue: number; baseline: number }> {
  const n = BROWSERS + APIS;
  let before = await heapUsed();
  let q: FairQueue | null = newQueue();
  // The records are garbage once queued: what stays is what the queue keeps, ids included.
  for (const w of makeWaiters(10)) q.enqueue(w);
  const queue = ((await heapUsed()) - before) / n;
  if (q.size !== n) throw new Error('bench: not every waiter was queued');
  q = null;

  before = await heapUsed();
  let map: Map<string, WaiterInit> | null = new Map();
  for (const w of makeWaiters(10)) map.set(w.id, w);
  const baseline = ((await heapUsed()) - before) / n;
  if (map.size !== n) throw new Error('bench: ids collided');
  map = null;
  return { queue, baseline };
}

/** The median of three measurements, by the queue's number. */
async function memory(): Promise<{ queue: number; baseline: number }> {
  const runs = [await memoryOnce(), await memoryOnce(), await memoryOnce()];
  runs.sort((a, b) => a.queue - b.queue);
  return runs[1]!;
}

/**
 * Operations per CPU second of this process, the median of `rounds` runs: CPU time rather than wall
 * time, so that other work on a shared machine slows the numbers less.
 */
function opsPerSecond(ops: number, run: () => void, rounds = 1): number {
  const rates: number[] = [];
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage();
    run();
    const c = process.cpuUsage(c0);
    rates.push(ops / ((c.user + c.system) / 1e6));
  }
  rates.sort((a, b) => a - b);
  return rates[rates.length >> 1]!;
}

function lookups(tenants: number): number {
  const q = newQueue();
  const waiters = makeWaiters(tenants);
  for (const w of waiters) q.enqueue(w);
  const ids = waiters.map((w) => w.id);
  const probes = 100_000;
  let sink = 0;
  const pick = (k: number) => ids[(k * 7919) % ids.length]!;
  for (let k = 0; k < 20_000; k++) sink += q.position(pick(k))!; // warm-up
  const rate = opsPerSecond(
    probes,
    () => {
      for (let k = 0; k < probes; k++) sink += q.position(pick(k))!;
    },
    7,
  );
  if (sink <= 0) throw new Error('bench: positions went missing');
  return rate;
}

function admissions(): number {
  const q = newQueue();
  for (const w of makeWaiters(10)) q.enqueue(w);
  const n = q.size;
  return opsPerSecond(n, () => {
    while (q.next() !== undefined);
  });
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US');

const mem = await memory();
console.log(`room queue, ${fmt(BROWSERS)} browser + ${fmt(APIS)} API waiters, 10 tenants, Node ${process.version}`);
console.log(`  memory per waiter      ${fmt(mem.queue)} B   (baseline Map of records: ${fmt(mem.baseline)} B, ratio ${(mem.queue / mem.baseline).toFixed(2)}x)`);
console.log(`  position(), 10 tenants     ${fmt(lookups(10))} lookups per CPU s`);
console.log(`  position(), 1,000 tenants  ${fmt(lookups(1000))} lookups per CPU s`);
console.log(`  next(), draining           ${fmt(admissions())} admissions per CPU s`);
if (mem.queue > TARGET_BYTES_PER_WAITER) {
  console.log(`  MISSED: ${fmt(mem.queue)} B per waiter is above the ${TARGET_BYTES_PER_WAITER} B target`);
}
