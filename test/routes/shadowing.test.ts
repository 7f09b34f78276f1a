import { describe, expect, it } from 'vitest';
import { covers, findShadowed } from '../../src/routes/shadowing.js';

describe('covers', () => {
  it('sees that a catch-all or a /prefix/** takes everything under it', () => {
    expect(covers({}, { path: '/x' })).toBe(true);
    expect(covers({ path: '/**' }, { path: '/x/y', methods: ['GET'] })).toBe(true);
    expect(covers({ path: '/api/**' }, { path: '/api/export/**' })).toBe(true);
    expect(covers({ path: '/api/**' }, { path: '/api' })).toBe(true);
    expect(covers({ path: '/api/**' }, { path: '/api/*/items' })).toBe(true);
    expect(covers({ path: '/api/v1' }, { path: '/api/v1' })).toBe(true);
  });

  it('does not claim cover it cannot be sure of', () => {
    expect(covers({ path: '/api/**' }, { path: '/apix/1' })).toBe(false);
    expect(covers({ path: '/api/**' }, {})).toBe(false);
    expect(covers({ path: '/api/*' }, { path: '/api/x' })).toBe(false);
    expect(covers({ path: '/a/*/b/**' }, { path: '/a/x/b/c' })).toBe(false);
  });

  it('compares methods as sets', () => {
    expect(covers({ methods: ['GET', 'POST'] }, { methods: ['POST'] })).toBe(true);
    expect(covers({ methods: ['GET'] }, { methods: ['GET', 'POST'] })).toBe(false);
    expect(covers({ methods: ['GET'] }, {})).toBe(false);
    expect(covers({}, { methods: ['GET'] })).toBe(true);
  });

  it('compares hosts, wildcards covering deeper names but not the apex', () => {
    expect(covers({ host: '*.example.com' }, { host: 'a.example.com' })).toBe(true);
    expect(covers({ host: '*.example.com' }, { host: '*.eu.example.com' })).toBe(true);
    expect(covers({ host: '*.example.com' }, { host: 'example.com' })).toBe(false);
    expect(covers({ host: '*.example.com' }, { host: 'badexample.com' })).toBe(false);
    expect(covers({ host: 'a.example.com' }, { host: 'b.example.com' })).toBe(false);
    expect(covers({ host: 'a.example.com' }, {})).toBe(false);
  });

  it('treats header conditions as covering only when identical', () => {
    expect(covers({ headers: { 'x-a': '1' } }, { headers: { 'x-a': '1', 'x-b': '2' } })).toBe(true);
    expect(covers({ headers: { 'x-a': '1' } }, { headers: { 'x-a': '2' } })).toBe(false);
    expect(covers({ headers: { 'x-a': '/./' } }, {})).toBe(false);
  });
});

describe('findShadowed', () => {
  it('reports each dead rule once, with the first rule that shadows it', () => {
    expect(findShadowed([{ path: '/api/**' }, { path: '/**' }, { path: '/api/x' }, { path: '/z' }])).toEqual([
      { index: 2, by: 0 },
      { index: 3, by: 1 },
    ]);
    expect(findShadowed([{ path: '/a/**', methods: ['GET'] }, { path: '/a/b', methods: ['POST'] }])).toEqual([]);
  });
});
