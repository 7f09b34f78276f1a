/** Escaping for the two contexts a waiting-page value can land in, and the guard on its URLs. */

const HTML_ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

/** Text safe in element content and in quoted attribute values (double or single quotes). */
export function escapeHtml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => HTML_ESCAPES[c] ?? c);
}

/**
 * A value as a JSON literal that is safe inside a `<script>` element: `<`, `>` and `&` become `\u003c`
 * and friends, so neither `</script>` nor `<!--` can end or change the script element (HTML §4.12.1.3),
 * and U+2028/U+2029 are escaped for engines that treat them as line ends inside string literals.
 */
export function jsonForScript(value: unknown): string {
  const json = JSON.stringify(value ?? null) ?? 'null';
  return json.replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** The longest URL the page keeps; a longer one becomes `/` (it also keeps the page under its weight). */
export const MAX_URL_LENGTH = 2048;

/**
 * `url` if it is a path on this origin (`/...`), else `/`. The waiting page sends people to these URLs,
 * so it must never become an open redirect (`//evil.example`, `/\evil.example`, `https://...`) or run
 * code (`javascript:`). Control characters and whitespace are refused because browsers strip them while
 * parsing, which turns `/\t/evil.example` into `//evil.example`.
 */
export function localPath(url: string | undefined): string {
  if (typeof url !== 'string' || url.length === 0 || url.length > MAX_URL_LENGTH) return '/';
  if (url[0] !== '/' || url[1] === '/' || url[1] === '\\') return '/';
  if (/[\u0000-\u0020\u007f\\]/.test(url)) return '/';
  return url;
}
