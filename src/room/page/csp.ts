/**
 * A Content-Security-Policy for the waiting page: only the page's own inline style and script (pinned by
 * hash), polling on its own origin, no other fetches, no framing. Even if a value escaped its escaping, an
 * injected script would not run. Holds for any template whose only style and script are the partials.
 */
import { createHash } from 'node:crypto';
import { PAGE_SCRIPT } from './script.js';
import { PAGE_STYLE } from './style.js';

function sha256(text: string): string {
  return `'sha256-${createHash('sha256').update(text, 'utf8').digest('base64')}'`;
}

export const WAITING_PAGE_CSP = [
  "default-src 'none'",
  `script-src ${sha256(PAGE_SCRIPT)}`,
  `style-src ${sha256(PAGE_STYLE)}`,
  "connect-src 'self'",
  'img-src data:',
  "base-uri 'none'",
  "form-action 'self'",
  "frame-ancestors 'none'",
].join('; ');
