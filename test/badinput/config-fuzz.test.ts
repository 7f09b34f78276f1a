/**
 * Fuzzed config files. Seeded mutations (configFuzz.ts) of the shipped config/anteroom.yaml and of a
 * richer sample (fixtures/rich.yaml) each either load or are refused with errors that each name a key
 * path or the top level: never an exception, never a hang (each seed runs in a worker thread that is
 * stopped if a case makes no progress). A sample also goes through `anteroom check` as a child process.
 * Then one test per problem the fuzzing found, named after it.
 *
 * ANTEROOM_FUZZ_SEED=<n> runs other seeds than the fixed ones (the default run is reproducible).
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import { describe, expect, it } from 'vitest';
import { formatConfigError, loadConfigFile, parseConfigText, validateConfig, type LoadResult } from '../../src/config/load.js';
import { completion, spawnCli } from '../cli/cli.js';
import { mutants } from './configFuzz.js';
import { tempDir } from '../helpers/tempDir.js';

const WORKER = fileURLToPath(new URL('../../dist/test/badinput/configFuzzWorker.js', import.meta.url));
const SEEDS = {
  'config/anteroom.yaml': fileURLToPath(new URL('../../config/anteroom.yaml', import.meta.url)),
  'fixtures/rich.yaml': fileURLToPath(new URL('./fixtures/rich.yaml', import.meta.url)),
};
const SEED = Number(process.env['ANTEROOM_FUZZ_SEED'] ?? 20_260_601);
const COUNT = 80;
/** A case that makes no progress for this long is a hang (a generous bound, not a speed requirement). */
const STALL_MS = 20_000;

const dir = tempDir('anteroom-fuzz-test-').path;

interface FuzzReport {
  loaded: number;
  refused: number;
  failures: { name: string; problem: string }[];
}

function fuzz(seedFile: string, seed: number, count: number): Promise<FuzzReport> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, { workerData: { seedFile, seed, count } });
    let current = '(starting)';
    let timer: NodeJS.Timeout;
    const watchdog = (): void => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        void worker.terminate();
        reject(new Error(`config fuzz seed ${seed}: no progress for ${STALL_MS} ms in case ${current} (a hang)`));
      }, STALL_MS);
    };
    watchdog();
    worker.on('message', (m: { at?: number; name?: string; done?: boolean } & FuzzReport) => {
      if (m.done) {
        clearTimeout(timer);
        resolve(m);
        return;
      }
      current = m.name!;
      watchdog();
    });
    worker.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
  });
}

describe('fuzzed config files', () => {
  it.each(Object.entries(SEEDS))(`${COUNT} mutants of %s (seed ${SEED}) each load or are refused with errors naming a key path, never an exception or a hang`, { timeout: 120_000 }, async (_name, file) => {
    const report = await fuzz(file, SEED, COUNT);
    expect(report.failures).toEqual([]);
    // Both outcomes occur, or the mutations would not be testing much.
    expect(report.refused).toBeGreaterThan(COUNT / 4);
    expect(report.loaded).toBeGreaterThan(0);
  });

  it('`anteroom check` on one mutant of each hard kind exits 0 or 1 with one line per error, never a stack trace or a warning', { timeout: 120_000 }, async () => {
    const kinds = ['alias bomb', 'recursive alias', 'invalid UTF-8', 'deep flow nesting', 'long string', 'env edge', 'wrong type'];
    const all = mutants(await readSeed(SEEDS['fixtures/rich.yaml']), SEED + 1, 300);
    const sample = kinds.map((kind) => all.find((m) => m.name.replace(/^#\d+ /, '').startsWith(kind))).filter((m) => m !== undefined);
    expect(sample.length).toBeGreaterThanOrEqual(kinds.length - 1);
    const files = sample.map((m, i) => {
      const file = join(dir, `check-${i}.yaml`);
      writeFileSync(file, m.bytes);
      return { file, name: m.name };
    });
    const results = await Promise.all(
      files.map(async ({ file, name }) => {
        const child = spawnCli(['check', '--config', file]);
        const timer = setTimeout(() => child.kill('SIGKILL'), STALL_MS);
        const r = await completion(child);
        clearTimeout(timer);
        return { name, file, ...r };
      }),
    );
    for (const r of results) {
      expect(r.signal, `${r.name}: killed (a hang)`).toBeNull();
      expect([0, 1], r.name).toContain(r.code);
      expect(r.stderr, r.name).not.toMatch(/Warning|\n\s+at |Error:/);
      if (r.stderr !== '') {
        // Refused: one line per error, each naming its key path or the top level.
        expect(r.code, r.name).toBe(1);
        const [first, ...lines] = r.stderr.trimEnd().split('\n');
        expect(first, r.name).toBe(`${r.file}: ${lines.length} error(s)`);
        for (const line of lines) expect(line, r.name).toMatch(/^ {2}(\(top level\)|[^\s:][^:]*): ./);
      } else {
        // Loaded: the summary line (ok, or what check found wrong with it) and the overview.
        expect(r.stdout.split('\n')[0], r.name).toMatch(new RegExp(`^${r.file.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: (ok|\\d+ (error|warning))`));
      }
    }
    expect(results.some((r) => r.stderr !== '')).toBe(true);
  });
});

async function readSeed(file: string): Promise<string> {
  const { readFile } = await import('node:fs/promises');
  return readFile(file, 'utf8');
}

const UPSTREAM = 'upstreams:\n  app:\n    url: http://127.0.0.1:3000\n';

function errorsOf(result: LoadResult): string[] {
  expect(result.ok).toBe(false);
  return result.ok ? [] : result.errors.map(formatConfigError);
}

describe('what the fuzzing found', () => {
  it('a YAML alias bomb (billion laughs) is refused at the top level at once, not thrown as a ReferenceError', () => {
    const names = 'abcdefghi';
    let bomb = 'lol:\n  a: &a ["x","x","x","x","x","x","x","x","x","x"]\n';
    for (let i = 1; i < names.length; i++) bomb += `  ${names[i]}: &${names[i]} [${Array(10).fill(`*${names[i - 1]}`).join(',')}]\n`;
    const errors = errorsOf(parseConfigText(UPSTREAM + bomb, {}));
    expect(errors).toEqual(['(top level): YAML aliases: Excessive alias count indicates a resource exhaustion attack']);
  });

  it('a handful of aliases still works', () => {
    const result = parseConfigText(`${UPSTREAM}limits:\n  tenants:\n    acme: &big { rate: 100/s, concurrency: 5 }\n    globex: *big\n`, {});
    expect(result.ok && result.config.limits.tenants['globex']).toMatchObject({ concurrency: 5 });
  });

  it('a value that contains itself through an alias is reported; printing the error used to throw (circular JSON)', () => {
    const errors = errorsOf(parseConfigText(`${UPSTREAM}routes: &r [{ path: /a, headers: *r }]\n`, {}));
    expect(errors).toHaveLength(1);
    expect(errors).toEqual(['routes.0.headers: expected record (got [{"path":"/a","headers":"[recursive]"}])']);
  });

  it('a very long bad value is shown cut short in its error line', () => {
    const errors = errorsOf(parseConfigText(`${UPSTREAM}listen:\n  port: "${'9'.repeat(100_000)}"\n`, {}));
    expect(errors).toEqual([`listen.port: expected number (got "${'9'.repeat(119)}... (100002 characters))`]);
  });

  it('a file that is not valid UTF-8 is refused with the offset of the first bad byte, not read with U+FFFD in its place', () => {
    const file = join(dir, 'latin1.yaml');
    writeFileSync(file, Buffer.concat([Buffer.from(`${UPSTREAM}secret: "caf`), Buffer.from([0xe9]), Buffer.from('-0123456789abcdef0123456789"\n')]));
    const errors = errorsOf(loadConfigFile(file, {}));
    expect(errors).toEqual([`(top level): ${file} is not valid UTF-8 (first bad byte at offset ${UPSTREAM.length + 12})`]);
  });

  it('a "${" that is not a complete reference is an error at its key; it was kept as text (a secret anyone could read)', () => {
    for (const value of ['${ANTEROOM_SECRET', '${}', '${A:-${B}}', '${1X}', 'pre-${']) {
      const errors = errorsOf(parseConfigText(`${UPSTREAM}secret: "${value}"\n`, { ANTEROOM_SECRET: 'x' }));
      expect(errors, value).toEqual([`secret: has a "\${" that is not a complete reference; write \${NAME} or \${NAME:-default} (NAME of letters, digits and _, no reference inside a default) (got ${JSON.stringify(value)})`]);
    }
    const ok = parseConfigText(`${UPSTREAM}secret: "$\${A:-x}-\${B:-y}"\n`, {});
    expect(ok.ok && ok.config.secret).toBe('$x-y');
  });

  it('listen.headersTimeoutMs longer than listen.requestTimeoutMs is an error at its key; `anteroom start` stopped with a stack trace', () => {
    const errors = errorsOf(validateConfig({ upstreams: { app: { url: 'http://a' } }, listen: { headersTimeoutMs: 10_000, requestTimeoutMs: 5_000 } }));
    expect(errors).toEqual(['listen.headersTimeoutMs: must not be longer than listen.requestTimeoutMs (5000): the headers are part of the request (got 10000)']);
  });

  it('a waiting page template that cannot be read or compiled is an error at load (`anteroom check` said ok, `start` threw)', () => {
    const missing = join(dir, 'missing.html');
    expect(errorsOf(validateConfig({ upstreams: { app: { url: 'http://a' } }, room: { page: { template: missing } } }))).toEqual([
      `room.page.template: unusable waiting page template: ENOENT: no such file or directory, open '${missing}' (got ${JSON.stringify(missing)})`,
    ]);
    const bad = join(dir, 'bad.html');
    writeFileSync(bad, '<!doctype html><p>{{nope}}</p>');
    const [error] = errorsOf(validateConfig({ upstreams: { app: { url: 'http://a' } }, room: { page: { template: bad } } }));
    expect(error).toMatch(/^room\.page\.template: unusable waiting page template: unknown variable \{\{nope\}\}/);
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

  it('a YAML syntax error is reported where it starts, with a count of what follows, not as hundreds of lines', () => {
    const errors = errorsOf(parseConfigText(`${UPSTREAM}identity:\n  tenant:\n    - { pathPrefix: /t/{tenant}/ }\n  client: [{ ip: true }]\nlog: { level: info }\n`, {}));
    expect(errors.length).toBeLessThanOrEqual(6);
    expect(errors[0]).toMatch(/^\(top level\): YAML syntax: .* at line 6, column \d+$/);
    expect(errors.at(-1)).toMatch(/^\(top level\): YAML syntax: \d+ more error\(s\) after these, most likely caused by them$/);
  });

  it('a YAML merge key gets an error that says merge keys are not supported', () => {
    const errors = errorsOf(parseConfigText(`upstreams:\n  app: &app { url: "http://a" }\n  b:\n    <<: *app\n    url: http://b\n`, {}));
    expect(errors).toEqual(['upstreams.b.<<: YAML merge keys ("<<") are not supported; write the keys out, or use an alias (*name) for the whole value']);
  });
});
