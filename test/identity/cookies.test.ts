import { describe, expect, it } from 'vitest';
import { readCookie } from '../../src/identity/cookies.js';

describe('readCookie', () => {
  it('finds a cookie among others', () => {
    expect(readCookie('a=1; session_id=abc; b=2', 'session_id')).toBe('abc');
    expect(readCookie('session_id=abc', 'session_id')).toBe('abc');
    expect(readCookie('a=1;b=2', 'b')).toBe('2');
  });

  it('is undefined when the cookie or the header is missing', () => {
    expect(readCookie('a=1; b=2', 'session_id')).toBeUndefined();
    expect(readCookie(undefined, 'a')).toBeUndefined();
    expect(readCookie('', 'a')).toBeUndefined();
  });

  it('takes the first of duplicate names', () => {
    expect(readCookie('tenant=first; tenant=second', 'tenant')).toBe('first');
  });

  it('matches whole names only, case-sensitively', () => {
    expect(readCookie('xsession_id=evil; session_idx=evil', 'session_id')).toBeUndefined();
    expect(readCookie('Session_Id=x', 'session_id')).toBeUndefined();
  });

  it('removes one pair of quotes and surrounding whitespace', () => {
    expect(readCookie('a="quoted value"', 'a')).toBe('quoted value');
    expect(readCookie('  a  =  spaced  ; b=2', 'a')).toBe('spaced');
    expect(readCookie('a="', 'a')).toBe('"');
    expect(readCookie('a=""', 'a')).toBe('');
  });

  it('keeps = inside values and does not percent-decode', () => {
    expect(readCookie('tok=abc==; x=1', 'tok')).toBe('abc==');
    expect(readCookie('v=a%20b', 'v')).toBe('a%20b');
  });

  it('survives garbage', () => {
    expect(readCookie(';;; =; novalue; =x; a=1;', 'a')).toBe('1');
    expect(readCookie('novalue; a', 'a')).toBeUndefined();
    expect(readCookie('a=1; ;;', 'novalue')).toBeUndefined();
    expect(readCookie('\u0000\uffff=; a=\u00e9', 'a')).toBe('\u00e9');
  });

  it('reads a header given as a list', () => {
    expect(readCookie(['a=1', 'b=2'], 'b')).toBe('2');
  });
});
