/**
 * `anteroom check` on sample configs, compared with exact expected output files
 * (fixtures/NAME.check.txt: stdout, or stderr for an invalid file, with the fixture's absolute path
 * written as test/cli/fixtures/NAME.yaml). Regenerate after an intended change with UPDATE_GOLDEN=1
 * and read the diff.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { check } from '../../src/cli/check.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

const CASES = [
  { name: 'clean', code: 0, strict: 0, about: 'a config with nothing to report' },
  { name: 'bypass', code: 0, strict: 2, about: 'bypass rules that carry application traffic, next to ones that are fine' },
  { name: 'mistakes', code: 1, strict: 1, about: 'an open admin API, a cost no burst can pay, thresholds that never trigger, limits that never apply' },
  { name: 'routes', code: 1, strict: 1, about: 'classes, overrides, a shadowed rule and a cost above the burst' },
  { name: 'no-routes', code: 0, strict: 2, about: 'the smallest config: no secret, a room that never holds anyone' },
  { name: 'invalid', code: 1, strict: 1, about: 'schema errors, each with its key path' },
] as const;

describe('anteroom check: golden output', () => {
  for (const c of CASES) {
    it(`${c.name}: ${c.about} (exit ${c.code}, ${c.strict} with --strict)`, () => {
      const file = fixture(`${c.name}.yaml`);
      const out = check(file, { env: {} });
      const text = (out.stdout + out.stderr).replaceAll(file, `test/cli/fixtures/${c.name}.yaml`);
      const golden = fixture(`${c.name}.check.txt`);
      if (process.env['UPDATE_GOLDEN']) writeFileSync(golden, text);
      expect(text).toBe(readFileSync(golden, 'utf8'));
      expect(out.code).toBe(c.code);
      expect(check(file, { env: {}, strict: true }).code).toBe(c.strict);
    });
  }
});
