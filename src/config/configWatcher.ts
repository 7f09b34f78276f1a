/**
 * Watches the config file and calls `onChange` when its content changes, debounced, so that one save
 * is one reload.
 *
 * The file's directory is watched, not the file: editors save by writing a new file and renaming it
 * over the old one (a watch on the file would stay on the old inode and miss every later save), and a
 * Kubernetes ConfigMap volume updates by swapping its `..data` symlink in that directory. When the
 * path leads through symlinks, the directory of the file it resolves to is watched as well, and
 * re-resolved after every change, because a ConfigMap swap replaces that directory.
 *
 * Any event leads to a content check, and only new content counts: a touch, another file in the
 * directory or a swap to identical content reloads nothing. Where the directory cannot be watched
 * (inotify limits), the file is polled once a second instead.
 */
import { createHash } from 'node:crypto';
import { readFileSync, realpathSync, unwatchFile, watch, watchFile, type FSWatcher, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';

export interface ConfigWatcherOptions {
  /** Quiet time after the last event before the file is read (ms); default 250. */
  debounceMs?: number;
  /** Longest a stream of events can put the check off (ms); default 4 x debounceMs. */
  maxDelayMs?: number;
  log?: Logger;
}

export class ConfigWatcher {
  readonly file: string;
  /** Content checks made so far (each after a debounced run of events). */
  checks = 0;
  private readonly onChange: () => void;
  private readonly debounceMs: number;
  private readonly maxDelayMs: number;
  private readonly log: Logger | undefined;
  private fingerprint: string | null = null;
  private readonly watchers = new Map<string, FSWatcher>();
  private polling: ((curr: Stats, prev: Stats) => void) | null = null;
  private timer: NodeJS.Timeout | null = null;
  /** When the first event of the run being debounced arrived. */
  private firstEventAt = 0;
  private missing = false;
  private closed = false;

  constructor(file: string, onChange: () => void, options: ConfigWatcherOptions = {}) {
    this.file = resolve(file);
    this.onChange = onChange;
    this.debounceMs = options.debounceMs ?? 250;
    this.maxDelayMs = options.maxDelayMs ?? 4 * this.debounceMs;
    this.log = options.log;
  }

  /** Remembers the file's content as the running one and starts watching. */
  start(): void {
    this.fingerprint = this.read();
    this.arm();
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    if (this.polling !== null) unwatchFile(this.file, this.polling);
    this.polling = null;
  }

  /** Watches the file's directory and, through symlinks, the directory of the file it resolves to. */
  private arm(): void {
    if (this.closed || this.polling !== null) return;
    const home = dirname(this.file);
    const dirs = new Set([home]);
    try {
      dirs.add(dirname(realpathSync(this.file)));
    } catch {
      // Missing for a moment (being replaced): the directory watch brings the next event.
    }
    for (const [dir, w] of this.watchers) {
      if (dirs.has(dir)) continue;
      w.close();
      this.watchers.delete(dir);
    }
    for (const dir of dirs) {
      if (this.watchers.has(dir)) continue;
      try {
        const w = watch(dir, { persistent: false }, () => this.poke());
        // The directory of an old ConfigMap revision goes away; the next check re-resolves the path.
        w.on('error', () => {
          w.close();
          this.watchers.delete(dir);
          this.poke();
        });
        this.watchers.set(dir, w);
      } catch (err) {
        if (dir === home) return this.poll(err as Error);
      }
    }
  }

  private poll(err: Error): void {
    for (const w of this.watchers.values()) w.close();
    this.watchers.clear();
    this.log?.warn({ file: this.file, err: err.message }, 'cannot watch the config directory; polling the config file every second instead');
    this.polling = () => this.poke();
    watchFile(this.file, { interval: 1_000, persistent: false }, this.polling);
  }

  private poke(): void {
    if (this.closed) return;
    const now = performance.now();
    if (this.timer === null) this.firstEventAt = now;
    else clearTimeout(this.timer);
    const delay = Math.min(this.debounceMs, Math.max(0, this.firstEventAt + this.maxDelayMs - now));
    this.timer = setTimeout(() => this.check(), delay);
    this.timer.unref();
  }

  private check(): void {
    this.timer = null;
    if (this.closed) return;
    this.checks++;
    this.arm();
    const content = this.read();
    if (content === null || content === this.fingerprint) return;
    this.fingerprint = content;
    this.onChange();
  }

  /** A digest of the file's content, or null when it cannot be read (logged once until it can be again). */
  private read(): string | null {
    try {
      const digest = createHash('sha256').update(readFileSync(this.file)).digest('base64url');
      this.missing = false;
      return digest;
    } catch (err) {
      if (!this.missing) this.log?.warn({ file: this.file, err: (err as Error).message }, 'cannot read the config file; the running config stays');
      this.missing = true;
      return null;
    }
  }
}
