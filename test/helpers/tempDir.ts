/**
 * A directory of its own for the files a test file writes (config files, keys, pages), removed after
 * the file's (or the describe block's) last test: test files running in parallel never see each
 * other's files, and nothing is left in the system's temporary directory.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

export interface TempDir {
  readonly path: string;
  /** Writes `text` to `name` in the directory; returns the file's path. */
  file(name: string, text: string): string;
}

/** Makes the directory now (named `prefix` and a random suffix) and registers its removal. */
export function tempDir(prefix: string): TempDir {
  const path = mkdtempSync(join(tmpdir(), prefix));
  afterAll(() => rmSync(path, { recursive: true, force: true }));
  return {
    path,
    file(name, text) {
      const file = join(path, name);
      writeFileSync(file, text);
      return file;
    },
  };
}
