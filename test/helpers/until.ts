/**
 * Waiting for a state instead of sleeping for a guessed time: the machine is shared and noisy, so a
 * test waits for what it needs (and fails, naming it, only when it never comes).
 */
import { performance } from 'node:perf_hooks';

/** Polls `check` (every event-loop turn for the first ms, then every ms) until it holds. */
export async function until(check: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let spins = 0;
  while (!check()) {
    if (performance.now() > deadline) throw new Error(`timed out waiting for: ${what}`);
    await (spins++ < 50 ? new Promise<void>((r) => setImmediate(r)) : sleep(1));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
