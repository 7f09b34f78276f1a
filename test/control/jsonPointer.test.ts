import { describe, expect, it } from 'vitest';
import { parseJsonPointer, resolveJsonPointer } from '../../src/control/jsonPointer.js';

// The example document of RFC 6901, section 5.
const doc = { foo: ['bar', 'baz'], '': 0, 'a/b': 1, 'c%d': 2, 'e^f': 3, 'g|h': 4, 'i\\j': 5, 'k"l': 6, ' ': 7, 'm~n': 8 };

describe('JSON pointer (RFC 6901)', () => {
  it('resolves every example of section 5', () => {
    const cases: [string, unknown][] = [
      ['', doc],
      ['/foo', ['bar', 'baz']],
      ['/foo/0', 'bar'],
      ['/', 0],
      ['/a~1b', 1],
      ['/c%d', 2],
      ['/e^f', 3],
      ['/g|h', 4],
      ['/i\\j', 5],
      ['/k"l', 6],
      ['/ ', 7],
      ['/m~0n', 8],
    ];
    for (const [p, want] of cases) expect(resolveJsonPointer(doc, parseJsonPointer(p))).toEqual(want);
  });

  it('resolves the URI fragment form of section 6', () => {
    expect(resolveJsonPointer(doc, parseJsonPointer('#/c%25d'))).toBe(2);
    expect(resolveJsonPointer(doc, parseJsonPointer('#/a~1b'))).toBe(1);
    expect(resolveJsonPointer(doc, parseJsonPointer('#'))).toBe(doc);
  });

  it('decodes ~1 before ~0', () => {
    expect(parseJsonPointer('/~01')).toEqual(['~1']);
  });

  it('rejects malformed pointers with a reason', () => {
    expect(() => parseJsonPointer('foo')).toThrow(/start with "\/"/);
    expect(() => parseJsonPointer('/a~2')).toThrow(/~/);
    expect(() => parseJsonPointer('/a~')).toThrow(/~/);
  });

  it('finds nothing for missing keys, bad indices and prototype properties', () => {
    const d = { pool: { active: 3, list: [1, 2] } };
    expect(resolveJsonPointer(d, parseJsonPointer('/pool/idle'))).toBeUndefined();
    expect(resolveJsonPointer(d, parseJsonPointer('/pool/list/2'))).toBeUndefined();
    expect(resolveJsonPointer(d, parseJsonPointer('/pool/list/01'))).toBeUndefined();
    expect(resolveJsonPointer(d, parseJsonPointer('/pool/list/-'))).toBeUndefined();
    expect(resolveJsonPointer(d, parseJsonPointer('/pool/active/x'))).toBeUndefined();
    expect(resolveJsonPointer(d, parseJsonPointer('/constructor'))).toBeUndefined();
    expect(resolveJsonPointer(d, parseJsonPointer('/pool/toString'))).toBeUndefined();
  });
});
