/**
 * A builtin prototype left in V8's dictionary mode makes every method call on its values a generic
 * lookup in optimized code. ioredis 6 leaves String.prototype so (its `class VerbatimString extends
 * String`), and anteroom loads ioredis whatever store is configured: src/limits/redisClient.ts takes
 * it back to fast mode. V8's own check (%HasFastProperties) is only reachable with
 * --allow-natives-syntax, so each check runs in a child process of its own.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';

const DIST_APP = new URL('../../dist/src/app.js', import.meta.url).pathname;

/** Runs `body` (ES module code) in a fresh node with natives syntax; returns what it reported with `report(value)`. */
function probe(body: string): unknown {
  const script = `
    const protos = { String: String.prototype, Object: Object.prototype, Array: Array.prototype, Function: Function.prototype,
      Buffer: Buffer.prototype, Uint8Array: Uint8Array.prototype, Map: Map.prototype, Set: Set.prototype, Promise: Promise.prototype,
      RegExp: RegExp.prototype, Number: Number.prototype, Error: Error.prototype };
    const slow = () => Object.entries(protos).filter(([, p]) => !%HasFastProperties(p)).map(([n]) => n);
    // V8's protectors: once a library patches what one guards (Array.prototype[Symbol.iterator],
    // Promise species...), the fast paths behind it are off for the life of the process.
    const broken = () => [%ArraySpeciesProtector() || 'ArraySpecies', %ArrayIteratorProtector() || 'ArrayIterator',
      %MapIteratorProtector() || 'MapIterator', %SetIteratorProtector() || 'SetIterator', %StringIteratorProtector() || 'StringIterator',
      %PromiseSpeciesProtector() || 'PromiseSpecies', %RegExpSpeciesProtector() || 'RegExpSpecies',
      %TypedArraySpeciesProtector() || 'TypedArraySpecies'].filter((x) => x !== true);
    // Marked, so that log lines the process writes to stdout are told apart.
    const report = (value) => console.log('PROBE ' + JSON.stringify(value));
    ${body}
  `;
  const r = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8', cwd: new URL('../..', import.meta.url).pathname });
  expect(r.stderr).toBe('');
  const line = r.stdout.split('\n').find((l) => l.startsWith('PROBE '));
  expect(line, r.stdout).toBeDefined();
  return JSON.parse(line!.slice('PROBE '.length));
}

describe('builtin prototypes in a process running anteroom', () => {
  it('are all in fast mode, and V8\'s protectors intact, once anteroom is loaded and running', () => {
    const slow = probe(`
      const before = slow();
      const { Anteroom } = await import(${JSON.stringify(DIST_APP)});
      const { parseConfigText } = await import(${JSON.stringify(DIST_APP.replace('/app.js', '/config/load.js'))});
      const loaded = parseConfigText('secret: ' + 'k'.repeat(32) + '\\nlisten:\\n  port: 0\\nadmin:\\n  port: 0\\nupstreams:\\n  app:\\n    url: http://127.0.0.1:9\\n', {});
      if (!loaded.ok) throw new Error(JSON.stringify(loaded.errors));
      const app = new Anteroom(loaded.config, {});
      const after = slow();
      report({ before, after, protectorsBroken: broken() });
      process.exit(0);
    `);
    expect(slow).toEqual({ before: [], after: [], protectorsBroken: [] });
  });

  it('stay in fast mode once a Redis client has connected and run commands', () => {
    const slow = probe(`
      const { createRedisClient } = await import(${JSON.stringify(DIST_APP.replace('/app.js', '/limits/redisClient.js'))});
      const client = createRedisClient({ url: 'redis://127.0.0.1:6379' }, 2000, 2000);
      await new Promise((resolve, reject) => { client.once('ready', resolve); client.once('error', reject); });
      await client.set('anteroom:test:string-prototype', 'x', 'PX', 1000);
      const value = await client.get('anteroom:test:string-prototype');
      client.disconnect();
      report({ value, slow: slow() });
    `);
    expect(slow).toEqual({ value: 'x', slow: [] });
  });

  it('(why: ioredis alone leaves String.prototype in dictionary mode; if this changes, the restoration in redisClient.ts can go)', () => {
    const slow = probe(`
      await import('ioredis');
      report(slow());
    `);
    expect(slow).toEqual(['String']);
  });
});
