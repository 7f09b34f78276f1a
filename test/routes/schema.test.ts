import { describe, expect, it } from 'vitest';
import { routesSchema } from '../../src/routes/schema.js';

function issues(rules: unknown): { path: string; message: string }[] {
  const r = routesSchema.safeParse(rules);
  return r.success ? [] : r.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
}

describe('routesSchema', () => {
  it('fills defaults and parses rates', () => {
    expect(routesSchema.parse(undefined)).toEqual([]);
    expect(routesSchema.parse([{ path: '/static/**' }])).toEqual([{ path: '/static/**', class: 'normal', cost: 1, bypass: false, longPoll: false }]);
    expect(routesSchema.parse([{ methods: ['get'], host: 'API.Example.com.', limits: { rate: '20/s', burst: 40 } }])[0]).toMatchObject({
      methods: ['GET'],
      host: 'api.example.com',
      limits: { rate: 20, burst: 40 },
    });
  });

  it('explains what is wrong with a rule, at its path', () => {
    expect(
      issues([
        { path: 'static/**' },
        { class: 'urgent' },
        { limits: { rate: '20/fortnight' } },
        { headers: { 'x-a': '/(/' } },
        { headers: { 'x-a': '/a/g' } },
        { host: 'exa mple.com' },
        { host: 'a.*.example.com' },
        { cost: -1 },
        { methods: [] },
        { name: 'default' },
        { patth: '/x' },
        { limits: { rate: '1/s', burts: 2 } },
      ]),
    ).toEqual([
      { path: '0.path', message: 'a route path starts with /, like /api/**' },
      { path: '1.class', message: expect.stringMatching(/critical|Invalid option/) },
      { path: '2.limits.rate', message: 'expected a rate like 20/s, 3/min or 100/h' },
      { path: '3.headers.x-a', message: expect.stringMatching(/^invalid regex/) },
      { path: '4.headers.x-a', message: 'unsupported regex flag in /a/g; use i, m, s or u' },
      { path: '5.host', message: 'expected a host like example.com or *.example.com' },
      { path: '6.host', message: 'expected a host like example.com or *.example.com' },
      { path: '7.cost', message: expect.any(String) },
      { path: '8.methods', message: expect.any(String) },
      { path: '9.name', message: 'the name "default" is reserved for requests no rule matches' },
      { path: '10', message: expect.stringMatching(/Unrecognized key/) },
      { path: '11.limits', message: expect.stringMatching(/Unrecognized key/) },
    ]);
  });

  it('refuses duplicate names, naming the first', () => {
    expect(issues([{ name: 'a' }, { name: 'b' }, { name: 'a' }])).toEqual([{ path: '2.name', message: 'routes[0] already has this name' }]);
  });
});
