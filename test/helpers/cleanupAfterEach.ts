/**
 * What a test started and must stop, undone after it in reverse order (a proxy before the origin it
 * forwards to, a server before the directory it reads), whether the test passed or failed.
 */
import { afterEach } from 'vitest';

export interface Cleanup {
  /** Registers `undo` to run after the current test. */
  push(undo: () => Promise<void>): void;
}

/**
 * Registers the after-each hook. With `ignoreErrors`, an undo that fails (a server the test already
 * stopped) does not keep the others from running nor fail the test.
 */
export function cleanupAfterEach(options: { ignoreErrors?: boolean } = {}): Cleanup {
  const undos: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const undo of undos.splice(0).reverse()) {
      if (options.ignoreErrors) await undo().catch(() => undefined);
      else await undo();
    }
  });
  return { push: (undo) => void undos.push(undo) };
}
