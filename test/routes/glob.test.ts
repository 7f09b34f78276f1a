import { describe, expect, it } from 'vitest';
import { compileGlob, globProblem } from '../../src/routes/glob.js';

function matches(glob: string, path: string): boolean {
  return compileGlob(glob).test(path);
}

describe('compileGlob', () => {
  it('matches a literal path exactly', () => {
    expect(matches('/health', '/health')).toBe(true);
    expect(matches('/health', '/health/')).toBe(false);
    expect(matches('/health', '/healthz')).toBe(false);
    expect(matches('/a.b', '/axb')).toBe(false);
  });

  it('matches ** at the end at any depth, and the bare prefix', () => {
    for (const p of ['/static', '/static/', '/static/a', '/static/a/b/c.css']) expect(matches('/static/**', p), p).toBe(true);
    for (const p of ['/staticx', '/stati', '/other/static/a', '/']) expect(matches('/static/**', p), p).toBe(false);
  });

  it('matches /** everything', () => {
    for (const p of ['/', '/a', '/a/b/c']) expect(matches('/**', p)).toBe(true);
  });

  it('matches * as exactly one non-empty segment', () => {
    expect(matches('/api/*/items', '/api/42/items')).toBe(true);
    expect(matches('/api/*/items', '/api/a-b.c/items')).toBe(true);
    expect(matches('/api/*/items', '/api/items')).toBe(false);
    expect(matches('/api/*/items', '/api//items')).toBe(false);
    expect(matches('/api/*/items', '/api/1/2/items')).toBe(false);
    expect(matches('/api/*/items', '/api/1/items/x')).toBe(false);
    expect(matches('/api/*', '/api/x')).toBe(true);
    expect(matches('/api/*', '/api/')).toBe(false);
  });

  it('matches * inside a segment', () => {
    expect(matches('/img/*.png', '/img/cat.png')).toBe(true);
    expect(matches('/img/*.png', '/img/.png')).toBe(true);
    expect(matches('/img/*.png', '/img/a/cat.png')).toBe(false);
    expect(matches('/img/*.png', '/img/catxpng')).toBe(false);
    expect(matches('/v*/users', '/v2/users')).toBe(true);
  });

  it('matches ** in the middle as zero or more segments', () => {
    for (const p of ['/a/b', '/a/x/b', '/a/x/y/z/b']) expect(matches('/a/**/b', p), p).toBe(true);
    for (const p of ['/a/xb', '/a/b/c', '/ab']) expect(matches('/a/**/b', p), p).toBe(false);
    expect(matches('/api/**/export/**', '/api/v1/t/export/x.csv')).toBe(true);
    expect(matches('/api/**/export/**', '/api/v1/t/exports')).toBe(false);
  });

  it('treats regex characters literally', () => {
    expect(matches('/a+b/(x)', '/a+b/(x)')).toBe(true);
    expect(matches('/a+b/*', '/aab/x')).toBe(false);
    expect(matches('/$x/*', '/$x/1')).toBe(true);
  });

  it('stays fast on a hostile path', () => {
    const matcher = compileGlob('/a/**/b/*/c*');
    const hostile = '/a' + '/x'.repeat(8000) + '/b';
    const started = performance.now();
    expect(matcher.test(hostile)).toBe(false);
    expect(performance.now() - started).toBeLessThan(50);
  });
});

describe('globProblem', () => {
  it('explains globs it refuses', () => {
    expect(globProblem('static/**')).toBe('a route path starts with /, like /api/**');
    expect(globProblem('/a**')).toMatch(/whole segments only/);
    expect(globProblem('/**b/c')).toMatch(/whole segments only/);
    expect(globProblem('/a/**/b/**/c')).toBe('at most one ** may stand before the last segment');
    expect(globProblem('/a/*x*')).toBe('at most one * inside a segment, as in /files/*.png');
    expect(globProblem('/search?q=*')).toMatch(/without the query string/);
    expect(() => compileGlob('/a/*x*')).toThrow('at most one *');
  });

  it('accepts the documented forms', () => {
    for (const g of ['/', '/**', '/static/**', '/api/*/items', '/a/**/b', '/a/**/b/**', '/img/*.png']) expect(globProblem(g), g).toBeUndefined();
  });
});
