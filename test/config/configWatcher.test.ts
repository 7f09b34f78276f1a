/**
 * ConfigWatcher on a real directory: an edit in place, a save by rename (how editors write), a
 * Kubernetes ConfigMap symlink swap, a burst of writes as one change, and no change for the same
 * content.
 */
import { mkdirSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { ConfigWatcher } from '../../src/config/configWatcher.js';
import { until } from '../pipeline/util.js';
import { tempDir } from '../helpers/tempDir.js';

const root = tempDir('anteroom-watch-').path;

let watcher: ConfigWatcher | undefined;
afterEach(() => {
  watcher?.close();
  watcher = undefined;
});

let n = 0;
function freshDir(): string {
  const dir = join(root, String(++n));
  mkdirSync(dir);
  return dir;
}

function watchFile(file: string): { changes: () => number; w: ConfigWatcher } {
  let changes = 0;
  watcher = new ConfigWatcher(file, () => changes++, { debounceMs: 50 });
  watcher.start();
  return { changes: () => changes, w: watcher };
}

describe('ConfigWatcher', () => {
  it('sees an edit in place', async () => {
    const file = join(freshDir(), 'anteroom.yaml');
    writeFileSync(file, 'a: 1\n');
    const { changes } = watchFile(file);
    writeFileSync(file, 'a: 2\n');
    await until(() => changes() === 1, 'the edit seen', 10_000);
  });

  it('sees a save that renames a new file over the old one, again and again', async () => {
    const dir = freshDir();
    const file = join(dir, 'anteroom.yaml');
    writeFileSync(file, 'a: 1\n');
    const { changes } = watchFile(file);
    for (let i = 2; i <= 3; i++) {
      writeFileSync(join(dir, '.anteroom.yaml.swp'), `a: ${i}\n`);
      renameSync(join(dir, '.anteroom.yaml.swp'), file);
      await until(() => changes() === i - 1, `save ${i - 1} seen`, 10_000);
    }
  });

  it('sees a ConfigMap update: the ..data symlink swapped to a new revision directory', async () => {
    const dir = freshDir();
    mkdirSync(join(dir, '..rev1'));
    writeFileSync(join(dir, '..rev1', 'anteroom.yaml'), 'a: 1\n');
    symlinkSync('..rev1', join(dir, '..data'));
    symlinkSync('..data/anteroom.yaml', join(dir, 'anteroom.yaml'));
    const { changes } = watchFile(join(dir, 'anteroom.yaml'));
    for (let i = 2; i <= 3; i++) {
      // What kubelet's atomic writer does: write the new revision, point ..data_tmp at it, rename over ..data.
      mkdirSync(join(dir, `..rev${i}`));
      writeFileSync(join(dir, `..rev${i}`, 'anteroom.yaml'), `a: ${i}\n`);
      symlinkSync(`..rev${i}`, join(dir, '..data_tmp'));
      renameSync(join(dir, '..data_tmp'), join(dir, '..data'));
      rmSync(join(dir, `..rev${i - 1}`), { recursive: true });
      await until(() => changes() === i - 1, `revision ${i} seen`, 10_000);
    }
  });

  it('takes a burst of writes as one change', async () => {
    const file = join(freshDir(), 'anteroom.yaml');
    writeFileSync(file, 'a: 0\n');
    const { changes, w } = watchFile(file);
    // Synchronous, so every event of the burst is queued before the watcher sees the first.
    for (let i = 1; i <= 20; i++) writeFileSync(file, `a: ${i}\n`);
    await until(() => w.checks >= 1 && changes() === 1, 'the burst seen', 10_000);
    expect(w.checks).toBe(1);
  });

  it('does not call back when the content is the same', async () => {
    const file = join(freshDir(), 'anteroom.yaml');
    writeFileSync(file, 'a: 1\n');
    const { changes, w } = watchFile(file);
    writeFileSync(file, 'a: 1\n');
    await until(() => w.checks === 1, 'the rewrite checked', 10_000);
    expect(changes()).toBe(0);
    writeFileSync(file, 'a: 2\n');
    await until(() => changes() === 1, 'the real change seen', 10_000);
  });

  it('stops calling back once closed', async () => {
    const file = join(freshDir(), 'anteroom.yaml');
    writeFileSync(file, 'a: 1\n');
    const { changes, w } = watchFile(file);
    w.close();
    writeFileSync(file, 'a: 2\n');
    // A second watcher on the same file sees the change; by then the closed one would have too.
    let seen = 0;
    const other = new ConfigWatcher(file, () => seen++, { debounceMs: 50 });
    other.start();
    writeFileSync(file, 'a: 3\n');
    await until(() => seen === 1, 'the other watcher saw the change', 10_000);
    other.close();
    expect(changes()).toBe(0);
  });
});
