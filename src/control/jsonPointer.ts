/**
 * JSON Pointer (RFC 6901): `/pool/active` names `doc.pool.active`; `~1` stands for `/` and `~0` for
 * `~` in a key (section 4: `~1` is decoded before `~0`, so `~01` is the key `~1`). A leading `#` is
 * the URI fragment form (section 6), percent-decoded. Only own properties are followed, so a pointer
 * like `/constructor` finds nothing instead of an object's prototype.
 */

/** The pointer's reference tokens; throws a RangeError that says what is wrong with it. */
export function parseJsonPointer(pointer: string): string[] {
  let p = pointer;
  if (p.startsWith('#')) {
    try {
      p = decodeURIComponent(p.slice(1));
    } catch {
      throw new RangeError(`JSON pointer ${JSON.stringify(pointer)} has invalid percent-encoding`);
    }
  }
  if (p === '') return [];
  if (!p.startsWith('/')) throw new RangeError(`JSON pointer ${JSON.stringify(pointer)} must be empty or start with "/"`);
  return p
    .slice(1)
    .split('/')
    .map((token) => {
      if (/~[^01]|~$/.test(token)) throw new RangeError(`JSON pointer ${JSON.stringify(pointer)} has "~" not followed by 0 or 1`);
      return token.replace(/~1/g, '/').replace(/~0/g, '~');
    });
}

/** The value the tokens name in `doc`, or undefined when there is none. */
export function resolveJsonPointer(doc: unknown, tokens: readonly string[]): unknown {
  let cur: unknown = doc;
  for (const token of tokens) {
    if (Array.isArray(cur)) {
      // Array indices are decimal without leading zeros (section 4); "-" names no element when reading.
      if (!/^(0|[1-9][0-9]*)$/.test(token)) return undefined;
      const i = Number(token);
      if (i >= cur.length) return undefined;
      cur = cur[i];
    } else if (cur !== null && typeof cur === 'object') {
      if (!Object.hasOwn(cur, token)) return undefined;
      cur = (cur as Record<string, unknown>)[token];
    } else {
      return undefined;
    }
  }
  return cur;
}
