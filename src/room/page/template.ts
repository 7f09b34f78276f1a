/**
 * The default waiting page, and the reference for operators who write their own (`room.page.template`).
 *
 * A template is an HTML file with `{{...}}` tags. Escaping is automatic and depends on where a tag
 * stands: HTML-escaped in text and in quoted attribute values, a JSON literal inside `<script>`. A tag in
 * `<style>`, in an unquoted attribute, or with an unknown name is refused when the template is loaded.
 *
 * Variables:
 *   {{lang}}           language of the page (en, de, fr, es), chosen from Accept-Language
 *   {{state}}          waiting | full | maintenance, when the page was rendered
 *   {{position}}       place in line, 1 = next; empty (null in a script) when unknown
 *   {{statusText}}     the sentence for the live region: "You are number 3 in line.", or the full /
 *                      maintenance note
 *   {{etaText}}        the wait estimate in words: "about 2–4 minutes", or "unknown"
 *   {{etaSeconds}}     scripts only: { "low": seconds, "high": seconds } or null
 *   {{message}}        the tenant's message, plain text (at most 1000 characters); empty when none
 *   {{originalUrl}}    where the person goes once admitted (a path on this site; anything else is "/")
 *   {{checkUrl}}       the no-JavaScript "check my place" link: the original URL, where the proxy answers
 *                      with an updated page or, once admitted, the site itself
 *   {{statusUrl}}      the status endpoint (JSON) with this ticket: /__anteroom/status?ticket=...
 *   {{ticket}}         the ticket (opaque)
 *   {{pollAfterMs}}    the server's polling interval in milliseconds
 *   {{strings}}        scripts only: every string below, as an object
 *   {{strings.KEY}}    one string in the page's language; KEY is one of: title, heading, intro, keepOpen,
 *                      position, positionNext, positionUnknown, etaLabel, etaUnknown, etaUnderMinute,
 *                      etaOneMinute, etaMinutes, etaMinuteRange, etaOneHour, etaHours, etaHourRange,
 *                      admitted, full, maintenance, lost, retrying, checkLink, noScript, messageHeading
 * Sections:
 *   {{#NAME}}...{{/NAME}}  the inside only when the variable is set (e.g. {{#message}}); no nesting
 * Partials (markup anteroom owns; put them in text, outside any tag):
 *   {{> style}}        the default stylesheet, as a <style> element
 *   {{> script}}       the page's data (JSON) and the script that follows the place in line; it updates
 *                      #anteroom-position (inside a role="status" region), #anteroom-eta, #anteroom-note
 *                      and #anteroom-message when they exist, shows #anteroom-js (what is true only
 *                      while the script runs) and hides #anteroom-nojs (the hint for when the page cannot
 *                      update itself: without JavaScript, or when the script was blocked)
 *
 * A template that uses only these two partials for style and script works under `WAITING_PAGE_CSP`.
 */
import { PAGE_STRING_KEYS } from './strings.js';

/** One template variable, for validation and for the README's reference table. */
export interface TemplateVariable {
  name: string;
  description: string;
  /** An object: usable inside `<script>` only. */
  scriptOnly?: boolean;
}

export const TEMPLATE_VARIABLES: readonly TemplateVariable[] = Object.freeze([
  { name: 'lang', description: 'language of the page (en, de, fr, es), chosen from Accept-Language' },
  { name: 'state', description: 'waiting | full | maintenance, when the page was rendered' },
  { name: 'position', description: 'place in line, 1 = next; empty (null in a script) when unknown' },
  { name: 'statusText', description: 'the sentence for the live region (the position, or the full/maintenance note)' },
  { name: 'etaText', description: 'the wait estimate in words ("about 2–4 minutes"), or "unknown"' },
  { name: 'etaSeconds', description: '{ low, high } in seconds, or null', scriptOnly: true },
  { name: 'message', description: "the tenant's message, plain text (at most 1000 characters); empty when none" },
  { name: 'originalUrl', description: 'where the person goes once admitted (a path on this site)' },
  { name: 'checkUrl', description: 'the no-JavaScript "check my place" link' },
  { name: 'statusUrl', description: 'the status endpoint (JSON) with this ticket' },
  { name: 'ticket', description: 'the ticket (opaque)' },
  { name: 'pollAfterMs', description: "the server's polling interval in milliseconds" },
  { name: 'strings', description: 'every string of the page language, as an object', scriptOnly: true },
  ...PAGE_STRING_KEYS.map((key) => ({ name: `strings.${key}`, description: `the "${key}" string in the page language` })),
]);

/** Partials: markup anteroom owns, inserted by `{{> name}}`. */
export const TEMPLATE_PARTIALS: readonly string[] = Object.freeze(['style', 'script']);

export const DEFAULT_TEMPLATE = `<!DOCTYPE html>
<html lang="{{lang}}">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="robots" content="noindex, nofollow">
<title>{{strings.title}}</title>
<link rel="icon" href="data:,">
{{> style}}
</head>
<body>
<main>
  <h1>{{strings.heading}}</h1>
  <p>{{strings.intro}}</p>
  <div role="status" aria-live="polite">
    <p id="anteroom-position" class="position">{{statusText}}</p>
    <p id="anteroom-note" class="note" hidden></p>
  </div>
  <div class="progress" aria-hidden="true"><span></span></div>
  <dl class="facts">
    <dt>{{strings.etaLabel}}</dt>
    <dd id="anteroom-eta">{{etaText}}</dd>
  </dl>
  {{#message}}
  <section class="message" aria-labelledby="anteroom-message-heading">
    <h2 id="anteroom-message-heading">{{strings.messageHeading}}</h2>
    <p id="anteroom-message">{{message}}</p>
  </section>
  {{/message}}
  <p id="anteroom-js" class="muted" hidden>{{strings.keepOpen}}</p>
  <p id="anteroom-nojs" class="muted">{{strings.noScript}}</p>
  <p><a class="check" href="{{checkUrl}}">{{strings.checkLink}}</a></p>
</main>
{{> script}}
</body>
</html>
`;
