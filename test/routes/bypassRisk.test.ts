import { describe, expect, it } from 'vitest';
import { bypassRisk } from '../../src/routes/bypassRisk.js';

describe('bypassRisk', () => {
  it('accepts static files and health checks', () => {
    for (const path of ['/static/**', '/assets/app.css', '/**/*.png', '/*.js', '/img/*', '/favicon.ico', '/robots.txt', '/healthz', '/health/**', '/api/docs/assets/**', '/.well-known/**']) {
      expect(bypassRisk({ path }), path).toBeUndefined();
    }
    expect(bypassRisk({ path: '/static/**', methods: ['GET', 'HEAD'] })).toBeUndefined();
  });

  it('flags a bypass without a path, naming what it is restricted to', () => {
    expect(bypassRisk({})).toMatch(/^every path goes around/);
    expect(bypassRisk({ host: 'internal.example.com', methods: ['GET'] })).toMatch(/^every path \(of GET, internal\.example\.com\) goes around/);
  });

  it('flags catch-all paths unless they end in a static file type', () => {
    expect(bypassRisk({ path: '/**' })).toBe('/** matches every path, so all of that traffic goes around the rate limits and the waiting room');
    expect(bypassRisk({ path: '/*/items' })).toMatch(/matches every path/);
    expect(bypassRisk({ path: '/**/*.woff2' })).toBeUndefined();
  });

  it('names application prefixes, and flags any path without a static shape', () => {
    expect(bypassRisk({ path: '/api/**' })).toBe('/api/** is application traffic (/api), which then gets no rate limit and never waits in the room');
    expect(bypassRisk({ path: '/graphql' })).toMatch(/application traffic \(\/graphql\)/);
    expect(bypassRisk({ path: '/reports/**' })).toMatch(/does not look like static files/);
    expect(bypassRisk({ path: '/export.json' })).toMatch(/does not look like static files/);
  });

  it('flags writes even on static paths', () => {
    expect(bypassRisk({ path: '/static/**', methods: ['GET', 'POST', 'DELETE'] })).toBe('methods POST, DELETE are writes, which static files never need');
    expect(bypassRisk({ path: '/api/**', methods: ['PUT'] })).toMatch(/application traffic \(\/api\).*; methods PUT are writes/);
  });
});
