/**
 * A small template language with escaping decided by where a variable stands, so that an operator's
 * template cannot forget to escape:
 *
 * - `{{name}}` in text or in a quoted attribute value: HTML-escaped.
 * - `{{name}}` inside `<script>...</script>`: a JSON literal escaped for scripts (`"text"`, `3`, `null`).
 * - `{{name}}` inside `<style>`, inside a tag outside a quoted value (`href={{x}}`), or an unknown name:
 *   a `TemplateError` when the template is compiled, so a bad template is refused at config load.
 * - `{{#name}}...{{/name}}`: the inside only when the value is set (not null, empty or false); no nesting.
 * - `{{> name}}`: a partial, markup the renderer owns (the page's style and script), in text only.
 */

import { escapeHtml, jsonForScript } from './escape.js';

export class TemplateError extends Error {
  override name = 'TemplateError';
}

/** Which variables and partials a template may use; `scriptOnly` ones are objects, usable in scripts. */
export interface TemplateSchema {
  variables: ReadonlyMap<string, { scriptOnly: boolean }>;
  partials: ReadonlySet<string>;
}

type Context = 'text' | 'tag' | 'attrDq' | 'attrSq' | 'scriptTag' | 'script' | 'styleTag' | 'style';

type Part =
  | { kind: 'text'; text: string }
  | { kind: 'var'; name: string; script: boolean }
  | { kind: 'partial'; name: string }
  | { kind: 'section'; name: string; parts: Part[] };

export type TemplateValue = string | number | boolean | null | undefined | object;

export interface CompiledTemplate {
  /** Partials are inserted as they are: they are trusted markup, never user input. */
  render(values: Readonly<Record<string, TemplateValue>>, partials: Readonly<Record<string, string>>): string;
}

const TOKEN = /\{\{\s*([#/>]?)\s*([A-Za-z][\w.]*)\s*\}\}/g;

/** The context after `text`, starting in `context`: a small HTML tokenizer, enough to place variables. */
function advance(context: Context, text: string): Context {
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    switch (context) {
      case 'text': {
        const lt = text.indexOf('<', i);
        if (lt < 0) return 'text';
        const rest = text.slice(lt, lt + 8).toLowerCase();
        if (text.startsWith('<!--', lt)) {
          const end = text.indexOf('-->', lt + 4);
          if (end < 0) throw new TemplateError('unterminated <!-- comment');
          i = end + 3;
        } else if (/^<script[\s>/]/.test(rest)) {
          context = 'scriptTag';
          i = lt + 7;
        } else if (/^<style[\s>/]/.test(rest)) {
          context = 'styleTag';
          i = lt + 6;
        } else if (/^<[a-z/!?]/.test(rest)) {
          context = 'tag';
          i = lt + 1;
        } else i = lt + 1;
        break;
      }
      case 'tag':
      case 'scriptTag':
      case 'styleTag':
        if (c === '"') context = context === 'tag' ? 'attrDq' : context;
        else if (c === "'") context = context === 'tag' ? 'attrSq' : context;
        else if (c === '>') context = context === 'tag' ? 'text' : context === 'scriptTag' ? 'script' : 'style';
        i++;
        break;
      case 'attrDq':
      case 'attrSq': {
        const end = text.indexOf(context === 'attrDq' ? '"' : "'", i);
        if (end < 0) return context;
        context = 'tag';
        i = end + 1;
        break;
      }
      case 'script':
      case 'style': {
        const close = text.toLowerCase().indexOf(context === 'script' ? '</script' : '</style', i);
        if (close < 0) return context;
        context = 'tag';
        i = close + 2;
        break;
      }
    }
  }
  return context;
}

/** Compiles `source` against `schema`; throws `TemplateError` naming the first problem. */
export function compileTemplate(source: string, schema: TemplateSchema): CompiledTemplate {
  const root: Part[] = [];
  let parts = root;
  let section: { name: string; outer: Part[] } | undefined;
  let context: Context = 'text';
  let last = 0;
  const where = (index: number): string => {
    const line = source.slice(0, index).split('\n').length;
    return `line ${line}`;
  };

  for (const match of source.matchAll(TOKEN)) {
    const index = match.index;
    const text = source.slice(last, index);
    if (text) parts.push({ kind: 'text', text });
    context = advance(context, text);
    last = index + match[0].length;
    const sigil = match[1] ?? '';
    const name = match[2] ?? '';

    if (sigil === '>') {
      if (!schema.partials.has(name)) {
        throw new TemplateError(`unknown partial {{> ${name}}} at ${where(index)}; known: ${[...schema.partials].join(', ')}`);
      }
      if (context !== 'text') throw new TemplateError(`{{> ${name}}} at ${where(index)} must stand in text, outside any tag`);
      parts.push({ kind: 'partial', name });
      continue;
    }
    const spec = schema.variables.get(name);
    if (!spec) {
      throw new TemplateError(
        `unknown variable {{${name}}} at ${where(index)}; known: ${[...schema.variables.keys()].join(', ')}`,
      );
    }
    if (sigil === '#') {
      if (section) throw new TemplateError(`{{#${name}}} at ${where(index)}: sections do not nest (inside {{#${section.name}}})`);
      const inner: Part[] = [];
      parts.push({ kind: 'section', name, parts: inner });
      section = { name, outer: parts };
      parts = inner;
      continue;
    }
    if (sigil === '/') {
      if (!section || section.name !== name) throw new TemplateError(`{{/${name}}} at ${where(index)} closes no open section`);
      parts = section.outer;
      section = undefined;
      continue;
    }
    if (context === 'style' || context === 'styleTag') {
      throw new TemplateError(`{{${name}}} at ${where(index)}: variables are not allowed in <style>`);
    }
    if (context === 'tag' || context === 'scriptTag') {
      throw new TemplateError(`{{${name}}} at ${where(index)}: inside a tag, a variable must be a quoted attribute value ("{{${name}}}")`);
    }
    const script = context === 'script';
    if (spec.scriptOnly && !script) {
      throw new TemplateError(`{{${name}}} at ${where(index)} is an object: use it inside <script> only`);
    }
    parts.push({ kind: 'var', name, script });
  }
  if (section) throw new TemplateError(`{{#${section.name}}} is never closed with {{/${section.name}}}`);
  const tail = source.slice(last);
  if (tail) root.push({ kind: 'text', text: tail });
  const end = advance(context, tail);
  if (end !== 'text') throw new TemplateError(`the template ends inside ${end === 'script' ? 'a <script>' : end === 'style' ? 'a <style>' : 'a tag'}`);

  return {
    render(values, partials) {
      const out: string[] = [];
      const emit = (list: Part[]): void => {
        for (const part of list) {
          switch (part.kind) {
            case 'text':
              out.push(part.text);
              break;
            case 'partial':
              out.push(partials[part.name] ?? '');
              break;
            case 'section': {
              const v = values[part.name];
              if (v !== null && v !== undefined && v !== false && v !== '') emit(part.parts);
              break;
            }
            case 'var': {
              const v = values[part.name];
              if (part.script) out.push(jsonForScript(v));
              else out.push(v === null || v === undefined ? '' : escapeHtml(String(v)));
              break;
            }
          }
        }
      };
      emit(root);
      return out.join('');
    },
  };
}
