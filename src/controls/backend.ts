/**
 * Where the switches live beyond this process. The memory backend keeps nothing (`store.kind:
 * memory`: one instance, and a restart starts clean); the Redis backend (redisBackend.ts) persists
 * every entry and tells every instance about every change.
 */
import type { ControlEntry } from './model.js';

export interface ControlsBackend {
  readonly kind: 'memory' | 'redis';
  /** Whether the last exchange with the shared store succeeded; always true in memory. */
  readonly synced: boolean;
  /**
   * Starts following the shared state: `apply` gets every new snapshot (all entries). `current`
   * returns this instance's entries, to write back into a store that lost its data.
   */
  start(apply: (entries: ControlEntry[]) => void, current: () => ControlEntry[]): void;
  /** Resolves once the first snapshot has been applied, or after `timeoutMs`; tells which. */
  ready(timeoutMs: number): Promise<boolean>;
  /**
   * Stores `entry` under `key` (null removes it). Resolves true once it is in the shared store;
   * false when the store cannot be reached: the change holds on this instance and is written when
   * the store answers again.
   */
  write(key: string, entry: ControlEntry | null): Promise<boolean>;
  close(): Promise<void>;
}

export class MemoryBackend implements ControlsBackend {
  readonly kind = 'memory';
  readonly synced = true;

  start(): void {}

  async ready(): Promise<boolean> {
    return true;
  }

  async write(): Promise<boolean> {
    return true;
  }

  async close(): Promise<void> {}
}
