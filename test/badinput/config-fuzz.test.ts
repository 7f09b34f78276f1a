/**
 * Config files that load but could not run, and limits the schema did not have: each is an error
 * naming its key when the config is loaded (and so in `anteroom check`), instead of a failure at start.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { formatConfigError, validateConfig, type LoadResult } from '../../src/config/load.js';

const dir = mkdtempSync(join(tmpdir(), 'anteroom-fuzz-test-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function errorsOf(result: LoadResult): string[] {
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.errors.map(formatConfigError);
}

describe('what the fuzzing found', () => {
  it('listen.headersTimeoutMs longer than listen.requestTimeoutMs is an error at its key; `anteroom start` stopped with a stack trace', () => {
    const errors = errorsOf(validateConfig({ upstreams: { app: { url: 'http://a' } }, listen: { headersTimeoutMs: 10_000, requestTimeoutMs: 5_000 } }));
    expect(errors).toEqual(['listen.headersTimeoutMs: must not be longer than listen.requestTimeoutMs (5000): the headers are part of the request (got 10000)']);
  });

  it('a waiting page template that cannot be read or compiled is an error at load (`anteroom check` said ok, `start` threw)', () => {
    const missing = join(dir, 'missing.html');
    expect(errorsOf(validateConfig({ upstreams: { app: { url: 'http://a' } }, room: { page: { template: missing } } }))).toEqual([
      `room.page.template: cannot read the template: ENOENT: no such file or directory, open '${missing}' (got ${JSON.stringify(missing)})`,
    ]);
    const bad = join(dir, 'bad.html');
    writeFileSync(bad, '<!doctype html><p>{{nope}}</p>');
    const [error] = errorsOf(validateConfig({ upstreams: { app: { url: 'http://a' } }, room: { page: { template: bad } } }));
    expect(error).toMatch(/^room\.page\.template: unknown variable \{\{nope\}\}/);
  });

  it('durations over 2^31 - 1 ms are refused: Node fires such a timer after 1 ms (a huge hold.apiMs held nobody)', () => {
    const errors = errorsOf(
      validateConfig({
        upstreams: { app: { url: 'http://a', timeoutMs: 2 ** 31 } },
        listen: { keepAliveTimeoutMs: 2 ** 40 },
        room: { hold: { apiMs: 2 ** 31 } },
        limits: { wait: { timeoutMs: 2 ** 32 } },
        shutdown: { graceMs: 1e15 },
      }),
    );
    expect(errors.sort()).toEqual(
      [
        'listen.keepAliveTimeoutMs: expected at most 2147483647 (got 1099511627776)',
        'upstreams.app.timeoutMs: expected at most 2147483647 (got 2147483648)',
        'room.hold.apiMs: expected at most 2147483647 (got 2147483648)',
        'limits.wait.timeoutMs: expected at most 2147483647 (got 4294967296)',
        'shutdown.graceMs: expected at most 2147483647 (got 1000000000000000)',
      ].sort(),
    );
  });
});
