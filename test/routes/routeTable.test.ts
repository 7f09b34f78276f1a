import type { IncomingHttpHeaders } from 'node:http';
import { describe, expect, it } from 'vitest';
import { FALLBACK_MATCH, RouteTable } from '../../src/routes/routeTable.js';
import { routesSchema } from '../../src/routes/schema.js';

function table(rules: unknown[]): RouteTable {
  return new RouteTable(routesSchema.parse(rules));
}

const get = (t: RouteTable, path: string, headers: IncomingHttpHeaders = {}, host = 'app.example.com', method = 'GET') => t.match(method, host, path, headers);

describe('RouteTable.match', () => {
  it('matches path globs', () => {
    const t = table([{ path: '/static/**', bypass: true }, { path: '/api/*/items', class: 'bulk', cost: 5 }, { path: '/inbox/**', class: 'critical' }]);
    expect(get(t, '/static/app.js')).toMatchObject({ index: 0, route: { name: 'routes[0]', bypass: true } });
    expect(get(t, '/api/7/items')).toMatchObject({ index: 1, route: { class: 'bulk', cost: 5, bypass: false } });
    expect(get(t, '/api/7/items/1')).toBe(FALLBACK_MATCH);
    expect(get(t, '/inbox')).toMatchObject({ index: 2, route: { class: 'critical' } });
  });

  it('returns the fallback route when nothing matches', () => {
    const t = table([{ path: '/static/**', bypass: true }]);
    const m = get(t, '/checkout');
    expect(m).toBe(FALLBACK_MATCH);
    expect(m).toEqual({ index: -1, route: { name: 'default', class: 'normal', cost: 1, bypass: false, longPoll: false } });
    expect(get(table([]), '/anything')).toBe(FALLBACK_MATCH);
  });

  it('returns the first matching rule, in order', () => {
    const t = table([
      { name: 'export', path: '/api/export/**', class: 'bulk' },
      { name: 'api', path: '/api/**', class: 'critical' },
    ]);
    expect(get(t, '/api/export/x.csv').route.name).toBe('export');
    expect(get(t, '/api/users').route.name).toBe('api');
    const reversed = table([
      { name: 'api', path: '/api/**', class: 'critical' },
      { name: 'export', path: '/api/export/**', class: 'bulk' },
    ]);
    expect(get(reversed, '/api/export/x.csv').route.name).toBe('api');
  });

  it('matches methods', () => {
    const t = table([{ name: 'writes', methods: ['post', 'PUT', 'DELETE'], path: '/api/**', class: 'bulk' }]);
    expect(get(t, '/api/x', {}, 'h', 'POST').route.name).toBe('writes');
    expect(get(t, '/api/x', {}, 'h', 'DELETE').route.name).toBe('writes');
    expect(get(t, '/api/x', {}, 'h', 'GET')).toBe(FALLBACK_MATCH);
    expect(get(t, '/api/x', {}, 'h', 'HEAD')).toBe(FALLBACK_MATCH);
  });

  it('matches exact and wildcard hosts, case-insensitively', () => {
    const t = table([
      { name: 'admin', host: 'Admin.Example.com', class: 'critical' },
      { name: 'tenants', host: '*.example.com', class: 'bulk' },
    ]);
    expect(get(t, '/', {}, 'admin.example.com').route.name).toBe('admin');
    expect(get(t, '/', {}, 'ADMIN.example.COM').route.name).toBe('admin');
    expect(get(t, '/', {}, 'acme.example.com').route.name).toBe('tenants');
    expect(get(t, '/', {}, 'a.b.example.com').route.name).toBe('tenants');
    expect(get(t, '/', {}, 'example.com')).toBe(FALLBACK_MATCH);
    expect(get(t, '/', {}, '.example.com')).toBe(FALLBACK_MATCH);
    expect(get(t, '/', {}, 'notexample.com')).toBe(FALLBACK_MATCH);
    expect(get(t, '/', {}, 'example.com.evil.org')).toBe(FALLBACK_MATCH);
  });

  it('matches header conditions: exact values and regexes, all of them', () => {
    const t = table([
      { name: 'mobile-bot', headers: { 'X-Client': 'mobile', 'user-agent': '/bot|crawler/i' }, class: 'bulk' },
      { name: 'mobile', headers: { 'x-client': 'mobile' }, class: 'critical' },
      { name: 'slashy', headers: { 'x-path': '/not-a-regex' } },
    ]);
    expect(get(t, '/', { 'x-client': 'mobile', 'user-agent': 'GoogleBot/2.1' }).route.name).toBe('mobile-bot');
    expect(get(t, '/', { 'x-client': 'mobile', 'user-agent': 'Mozilla/5.0' }).route.name).toBe('mobile');
    expect(get(t, '/', { 'x-client': 'Mobile' })).toBe(FALLBACK_MATCH);
    expect(get(t, '/', { 'x-client': 'mobile-web' })).toBe(FALLBACK_MATCH);
    expect(get(t, '/', { 'user-agent': 'bot' })).toBe(FALLBACK_MATCH);
    expect(get(t, '/', { 'x-path': '/not-a-regex' }).route.name).toBe('slashy');
  });

  it('gives the same answer to the same header every time (no stateful regex)', () => {
    const t = table([{ name: 'bot', headers: { 'user-agent': '/bot/' } }]);
    for (let i = 0; i < 3; i++) expect(get(t, '/', { 'user-agent': 'a bot' }).route.name).toBe('bot');
  });

  it('requires every condition of a rule', () => {
    const t = table([{ name: 'all', host: 'api.example.com', methods: ['POST'], path: '/v1/**', headers: { 'x-batch': '1' } }]);
    const ok = () => t.match('POST', 'api.example.com', '/v1/jobs', { 'x-batch': '1' });
    expect(ok().route.name).toBe('all');
    expect(t.match('GET', 'api.example.com', '/v1/jobs', { 'x-batch': '1' })).toBe(FALLBACK_MATCH);
    expect(t.match('POST', 'www.example.com', '/v1/jobs', { 'x-batch': '1' })).toBe(FALLBACK_MATCH);
    expect(t.match('POST', 'api.example.com', '/v2/jobs', { 'x-batch': '1' })).toBe(FALLBACK_MATCH);
    expect(t.match('POST', 'api.example.com', '/v1/jobs', {})).toBe(FALLBACK_MATCH);
  });

  it('matches the normalised path: dot segments cannot ride a bypass route (regression for incident 003)', () => {
    const t = table([{ name: 'static', path: '/static/**', bypass: true }]);
    for (const sneaky of ['/static/../api/export', '/static/%2e%2e/api/export', '/static//..//api/export', '/static/..\\api/export']) {
      expect(get(t, sneaky).route.bypass, sneaky).toBe(false);
    }
    expect(get(t, '/static/./app.js').route.bypass).toBe(true);
  });

  it('returns frozen routes, and the same object for every match of a rule', () => {
    const t = table([{ name: 'a', path: '/a/**', limits: { rate: '5/s', concurrency: 2 }, methods: ['GET'] }]);
    const m = get(t, '/a/1');
    expect(get(t, '/a/2')).toBe(m);
    expect(Object.isFrozen(m)).toBe(true);
    expect(Object.isFrozen(m.route)).toBe(true);
    expect(Object.isFrozen(m.route.limits)).toBe(true);
    expect(Object.isFrozen(m.route.methods)).toBe(true);
    expect(Object.isFrozen(FALLBACK_MATCH.route)).toBe(true);
    expect(m.route).toEqual({ name: 'a', class: 'normal', cost: 1, bypass: false, longPoll: false, path: '/a/**', methods: ['GET'], limits: { rate: 5, concurrency: 2 } });
  });

  it('carries upstream and limit overrides', () => {
    const t = table([{ path: '/reports/**', upstream: 'reports', limits: { rate: '3/min', burst: 2 } }]);
    expect(get(t, '/reports/q1').route).toMatchObject({ upstream: 'reports', limits: { rate: 0.05, burst: 2 } });
  });

  it('matches a rule without conditions for every request', () => {
    const t = table([{ name: 'everything', class: 'bulk' }]);
    expect(t.match('PATCH', 'x', '/anything/at/all', {}).route.name).toBe('everything');
  });
});

describe('RouteTable.describe', () => {
  it('lists every route with its match, class, cost, limits and bypass, then the fallback', () => {
    const t = table([
      { path: '/static/**', bypass: true },
      { name: 'exports', methods: ['GET', 'POST'], host: '*.example.com', path: '/api/export/**', headers: { 'x-client': '/batch/i' }, class: 'bulk', cost: 10, upstream: 'reports', limits: { rate: '3/min', burst: 3, concurrency: 2 } },
      { name: 'inbox', path: '/inbox/**', class: 'critical' },
    ]);
    expect(t.describe()).toEqual([
      { index: 0, name: 'routes[0]', match: '/static/**', class: 'normal', cost: 1, bypass: true, upstream: undefined, limits: '', shadowedBy: undefined },
      {
        index: 1,
        name: 'exports',
        match: 'GET,POST *.example.com /api/export/** x-client=/batch/i',
        class: 'bulk',
        cost: 10,
        bypass: false,
        upstream: 'reports',
        limits: 'rate 3/min, burst 3, concurrency 2',
        shadowedBy: undefined,
      },
      { index: 2, name: 'inbox', match: '/inbox/**', class: 'critical', cost: 1, bypass: false, upstream: undefined, limits: '', shadowedBy: undefined },
      { index: -1, name: 'default', match: '(anything else)', class: 'normal', cost: 1, bypass: false, upstream: undefined, limits: '', shadowedBy: undefined },
    ]);
    expect(t.bypassRoutes().map((r) => r.name)).toEqual(['routes[0]']);
  });

  it('names the earlier rule that shadows a later one', () => {
    const t = table([{ name: 'api', path: '/api/**' }, { name: 'export', path: '/api/export/**', class: 'bulk' }, { name: 'other', path: '/other' }]);
    expect(t.shadowed()).toEqual([{ index: 1, by: 0 }]);
    expect(t.describe()[1]).toMatchObject({ name: 'export', shadowedBy: 'api' });
    expect(t.describe()[2]).toMatchObject({ shadowedBy: undefined });
  });
});
