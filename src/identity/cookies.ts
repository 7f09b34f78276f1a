/**
 * Reads one cookie out of a Cookie header without building a map of all of them: identity needs one
 * or two names per request. Lenient the way browsers and the `cookie` package are (RFC 6265 section
 * 5.4 is what user agents send; servers see worse): pairs without `=` are skipped, whitespace around
 * names and values is dropped, one pair of double quotes around a value is removed.
 */

/**
 * The value of the first cookie called `name`, or undefined. When a name repeats, the first wins: user
 * agents list cookies with longer paths first (RFC 6265 5.4 step 2), so the first is the most specific.
 * Values are returned as sent, not percent-decoded: they are hashed or validated as they are.
 */
export function readCookie(header: string | string[] | undefined, name: string): string | undefined {
  if (header === undefined) return undefined;
  const text = typeof header === 'string' ? header : header.join('; ');
  const len = text.length;
  let start = 0;
  while (start < len) {
    let end = text.indexOf(';', start);
    if (end === -1) end = len;
    const eq = text.indexOf('=', start);
    if (eq !== -1 && eq < end && text.slice(start, eq).trim() === name) {
      let value = text.slice(eq + 1, end).trim();
      if (value.length >= 2 && value.charCodeAt(0) === 34 && value.charCodeAt(value.length - 1) === 34) value = value.slice(1, -1);
      return value;
    }
    start = end + 1;
  }
  return undefined;
}
