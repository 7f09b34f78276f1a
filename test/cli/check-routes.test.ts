/**
 * `anteroom check` lists each route with its class, cost, limits and whether it bypasses the room,
 * compared against a golden file. Regenerate after an intended change with UPDATE_GOLDEN=1.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { describeRoutes } from '../../src/cli/check.js';
import { loadConfigFile } from '../../src/config/load.js';

const fixture = (name: string): string => fileURLToPath(new URL(`./fixtures/${name}`, import.meta.url));

function routesOf(file: string): string {
  const r = loadConfigFile(fixture(file), {});
  if (!r.ok) throw new Error(JSON.stringify(r.errors));
  return describeRoutes(r.config);
}

describe('anteroom check: route listing', () => {
  it('matches the golden listing for a config with bypass, classes, overrides and a shadowed rule', () => {
    const out = routesOf('routes.yaml');
    const golden = fixture('routes.check.txt');
    if (process.env['UPDATE_GOLDEN']) writeFileSync(golden, out);
    expect(out).toBe(readFileSync(golden, 'utf8'));
  });

  it('names bypass routes and warns about what can never pass', () => {
    const out = routesOf('routes.yaml');
    expect(out).toContain('bypass routes (never rate limited, never queued): routes[0] (/static/**)');
    expect(out).toContain('warning: export: cost 10 is above a burst of 3, so its requests are always refused');
    expect(out).toContain('warning: never: never matches, routes[0] takes all its requests');
  });

  it('says so when nothing bypasses the room', () => {
    const out = routesOf('no-routes.yaml');
    expect(out).toContain('no route bypasses rate limits and the waiting room.');
    expect(out).toMatch(/ {2}- {2}default +\(anything else\) +normal +1 +yes +no +app +none configured\n/);
  });
});
