/**
 * The log's destination batches lines and never blocks the proxy: lines keep their order, flush waits
 * for the bytes to be written, and a consumer that stops reading costs dropped lines (counted, and
 * said so in the log), never a stalled event loop or unbounded memory.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, openSync, closeSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { LineSink } from '../../src/lineSink.js';

const DIST_SINK = new URL('../../dist/src/lineSink.js', import.meta.url).pathname;

function tempFile(): { path: string; fd: number } {
  const path = join(mkdtempSync(join(tmpdir(), 'anteroom-sink-')), 'out.log');
  return { path, fd: openSync(path, 'w') };
}

describe('LineSink', () => {
  it('writes every line once, in order, across many batches; flush calls back once they are written', async () => {
    const { path, fd } = tempFile();
    const sink = new LineSink({ fd, maxDelayMs: 50 });
    const n = 20_000;
    for (let i = 0; i < n; i++) sink.write(`{"i":${i},"s":"${'é'.repeat(i % 7)}"}\n`);
    await new Promise<void>((resolve, reject) => sink.flush((err) => (err ? reject(err) : resolve())));
    closeSync(fd);
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(n);
    lines.forEach((l, i) => expect((JSON.parse(l) as { i: number }).i).toBe(i));
  });

  it('writes a lone line within its delay, with no flush asked for', async () => {
    const { path, fd } = tempFile();
    const sink = new LineSink({ fd, maxDelayMs: 20 });
    sink.write('{"one":1}\n');
    expect(readFileSync(path, 'utf8')).toBe('');
    const deadline = Date.now() + 5_000;
    while (readFileSync(path, 'utf8') === '' && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(readFileSync(path, 'utf8')).toBe('{"one":1}\n');
    closeSync(fd);
  });

  it('flushSync writes what is pending before returning', () => {
    const { path, fd } = tempFile();
    const sink = new LineSink({ fd, maxDelayMs: 10_000 });
    sink.write('{"a":1}\n');
    sink.write('{"b":2}\n');
    sink.flushSync();
    closeSync(fd);
    expect(readFileSync(path, 'utf8')).toBe('{"a":1}\n{"b":2}\n');
  });

  it('drops and counts lines when its consumer stops reading, then says how many once it reads again', async () => {
    // The child writes 4 MB of lines in one go to a pipe that nobody reads yet, with 256 KB allowed to wait.
    const script = `
      import { LineSink } from ${JSON.stringify(DIST_SINK)};
      const sink = new LineSink({ fd: 1, maxPendingBytes: 256 * 1024 });
      const pad = 'x'.repeat(1000);
      let accepted = 0;
      for (let i = 0; i < 4000; i++) if (sink.write('{"i":' + i + ',"pad":"' + pad + '"}\\n')) accepted++;
      process.stderr.write(JSON.stringify({ accepted, dropped: sink.droppedLines }) + '\\n');
      setTimeout(() => sink.flush(() => process.exit(0)), 300);
    `;
    const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (b: Buffer) => (err += b.toString()));
    child.stdout.pause();
    // Reading starts only once the child has written everything it could.
    while (!err.includes('\n') && child.exitCode === null) await new Promise((r) => setTimeout(r, 20));
    const chunks: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => chunks.push(b));
    child.stdout.resume();
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    expect(code).toBe(0);
    const { accepted, dropped } = JSON.parse(err.trim()) as { accepted: number; dropped: number };
    expect(dropped).toBeGreaterThan(0);
    expect(accepted + dropped).toBe(4000);
    const lines = Buffer.concat(chunks).toString().trimEnd().split('\n').map((l) => JSON.parse(l) as { i?: number; msg?: string });
    const kept = lines.filter((l) => l.i !== undefined).map((l) => l.i!);
    expect(kept).toHaveLength(accepted);
    // In order, and the first lines (written before the bound was reached) are the ones kept.
    expect(kept).toEqual([...kept].sort((a, b) => a - b));
    expect(kept[0]).toBe(0);
    const notice = lines.find((l) => l.msg !== undefined);
    expect(notice?.msg).toContain(`${dropped} lines were dropped`);
  });
});
