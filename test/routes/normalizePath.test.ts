import { describe, expect, it } from 'vitest';
import { normalizePath } from '../../src/routes/normalizePath.js';

describe('normalizePath', () => {
  it('returns ordinary paths unchanged (the same string)', () => {
    const p = '/api/v1/items';
    expect(normalizePath(p)).toBe(p);
    expect(normalizePath('/')).toBe('/');
    expect(normalizePath('/a/b/')).toBe('/a/b/');
    expect(normalizePath('/file.tar.gz')).toBe('/file.tar.gz');
  });

  it('removes dot segments', () => {
    expect(normalizePath('/static/../api/export')).toBe('/api/export');
    expect(normalizePath('/a/./b')).toBe('/a/b');
    expect(normalizePath('/a/b/..')).toBe('/a/');
    expect(normalizePath('/../../etc')).toBe('/etc');
    expect(normalizePath('/a/.')).toBe('/a/');
    expect(normalizePath('/..')).toBe('/');
    expect(normalizePath('/a/.hidden/..x')).toBe('/a/.hidden/..x');
  });

  it('decodes encoded unreserved characters, so %2e%2e is a dot segment', () => {
    expect(normalizePath('/static/%2e%2e/api')).toBe('/api');
    expect(normalizePath('/static/%2E./api')).toBe('/api');
    expect(normalizePath('/%61pi/x')).toBe('/api/x');
    // Reserved characters stay encoded: %2F is not a separator here.
    expect(normalizePath('/a%2fb')).toBe('/a%2Fb');
    expect(normalizePath('/a%zz')).toBe('/a%zz');
  });

  it('merges empty segments and reads backslashes as slashes', () => {
    expect(normalizePath('//api///x')).toBe('/api/x');
    expect(normalizePath('/static/..\\api')).toBe('/api');
  });

  it('leaves non-origin-form targets alone', () => {
    expect(normalizePath('*')).toBe('*');
  });
});
