/** Rendering the waiting page: the variables a page needs, their defaults and limits, and the template. */
import { compileTemplate, type CompiledTemplate, type TemplateSchema } from './compile.js';
import { jsonForScript, localPath } from './escape.js';
import { formatEta, formatPosition } from './format.js';
import { pickLanguage } from './language.js';
import { PAGE_SCRIPT, SCRIPT_STRING_KEYS } from './script.js';
import { STATUS_PATH, statusUrlFor } from './status.js';
import { PAGE_LANGUAGES, PAGE_STRINGS, DEFAULT_LANGUAGE } from './strings.js';
import { PAGE_STYLE } from './style.js';
import { DEFAULT_TEMPLATE, TEMPLATE_PARTIALS, TEMPLATE_VARIABLES } from './template.js';

/** What the admit phase knows when it puts a browser navigation in the waiting room. */
export interface WaitingPageVars {
  /** Place in line, 1 = next; null when unknown. */
  position: number | null;
  /** Wait estimate in seconds as a range; null when it cannot be measured (the page says "unknown"). */
  etaSeconds: { low: number; high: number } | null;
  /** The signed ticket; the page sends it with every status poll. */
  ticket: string;
  /** The path and query the person asked for; they go there when admitted. Not a local path: `/`. */
  originalUrl: string;
  /** The first polling interval; later ones come from each status answer. */
  pollAfterMs: number;
  /** The tenant's message, plain text; cut to `MAX_MESSAGE_LENGTH` characters. */
  message?: string;
  /** The request's `Accept-Language`; picks the page's language. */
  acceptLanguage?: string;
  /** A language to use instead (one of `PAGE_LANGUAGES`); wins over `acceptLanguage`. */
  lang?: string;
  /** What the room is doing; `full` and `maintenance` replace the position sentence. Default `waiting`. */
  state?: 'waiting' | 'full' | 'maintenance';
  /** The status endpoint's path. Default `/__anteroom/status`. */
  statusPath?: string;
  /**
   * The no-JavaScript "check my place" link. Default: the original URL, where the proxy finds the ticket
   * in its cookie and answers with an updated waiting page, or with the site once the person is admitted.
   */
  checkUrl?: string;
}

export const MAX_MESSAGE_LENGTH = 1000;

const SCHEMA: TemplateSchema = {
  variables: new Map(TEMPLATE_VARIABLES.map((v) => [v.name, { scriptOnly: v.scriptOnly === true }])),
  partials: new Set(TEMPLATE_PARTIALS),
};

// Compiled templates by source: an operator's template is compiled once, not per page view. Bounded
// because templates could in principle come from per-tenant config that changes on reload.
const compiled = new Map<string, CompiledTemplate>();
const MAX_COMPILED = 32;

/**
 * Compiles (and caches) a waiting-page template. Throws `TemplateError` naming the problem; call it when
 * the config is loaded so that a broken template is refused before it is applied.
 */
export function compileWaitingPageTemplate(source: string): CompiledTemplate {
  let template = compiled.get(source);
  if (!template) {
    template = compileTemplate(source, SCHEMA);
    if (compiled.size >= MAX_COMPILED) compiled.delete(compiled.keys().next().value as string);
    compiled.set(source, template);
  }
  return template;
}

function clip(message: string | undefined): string {
  if (!message) return '';
  const chars = Array.from(message);
  return chars.length <= MAX_MESSAGE_LENGTH ? message : `${chars.slice(0, MAX_MESSAGE_LENGTH - 1).join('')}…`;
}

/**
 * The waiting page as HTML (UTF-8; send it with `Content-Type: text/html; charset=utf-8` and
 * `Cache-Control: no-store`). `template` defaults to `DEFAULT_TEMPLATE`; every value is escaped for where
 * it stands. Throws `TemplateError` only for a broken `template`.
 */
export function renderWaitingPage(vars: WaitingPageVars, template: string = DEFAULT_TEMPLATE): string {
  const lang =
    vars.lang !== undefined && PAGE_LANGUAGES.includes(vars.lang)
      ? vars.lang
      : pickLanguage(vars.acceptLanguage, PAGE_LANGUAGES);
  const strings = PAGE_STRINGS[lang] ?? PAGE_STRINGS[DEFAULT_LANGUAGE]!;
  const state = vars.state ?? 'waiting';
  const position = typeof vars.position === 'number' && Number.isFinite(vars.position) ? vars.position : null;
  const originalUrl = localPath(vars.originalUrl);
  const statusPath = localPath(vars.statusPath ?? STATUS_PATH);
  const pollAfterMs = Number.isFinite(vars.pollAfterMs) && vars.pollAfterMs > 0 ? Math.round(vars.pollAfterMs) : 5000;
  const message = clip(vars.message);
  const statusText =
    state === 'full' ? strings.full : state === 'maintenance' ? strings.maintenance : formatPosition(position, strings, lang);

  const values = {
    lang,
    state,
    position,
    statusText,
    etaText: formatEta(vars.etaSeconds, strings),
    etaSeconds: vars.etaSeconds,
    message,
    originalUrl,
    checkUrl: vars.checkUrl === undefined ? originalUrl : localPath(vars.checkUrl),
    statusUrl: statusUrlFor(vars.ticket, statusPath),
    ticket: vars.ticket,
    pollAfterMs,
    strings,
    ...Object.fromEntries(Object.entries(strings).map(([key, text]) => [`strings.${key}`, text])),
  };
  // The script's data travels in a JSON block, escaped for the script context; the script itself is a
  // constant, so a CSP can pin it by hash.
  const scriptStrings = Object.fromEntries(SCRIPT_STRING_KEYS.map((key) => [key, strings[key]]));
  const data = { lang, ticket: vars.ticket, statusPath, originalUrl, pollAfterMs, strings: scriptStrings };
  const partials = {
    style: `<style>${PAGE_STYLE}</style>`,
    script: `<script type="application/json" id="anteroom-data">${jsonForScript(data)}</script>\n<script>${PAGE_SCRIPT}</script>`,
  };
  return compileWaitingPageTemplate(template).render(values, partials);
}
