/**
 * Seeded, reproducible mutations of a config file, for config-fuzz.test.ts: wrong types, unknown and
 * missing keys, deep nesting, huge, negative and non-finite numbers, very long strings, `${VAR}` edge
 * cases (on the parsed structure, written back as block YAML or as JSON, which is YAML too), and YAML
 * alias bombs, recursive aliases, duplicate keys, invalid UTF-8, truncation and stray bytes (on the
 * text). The same seed always gives the same mutants, so a failure names a case that can be replayed.
 */
import { parse, stringify } from 'yaml';
import { prng } from '../room/helpers.js';

export interface Mutant {
  /** Which operator made it, where, and its number: enough to find it again from the seed. */
  name: string;
  bytes: Buffer;
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];

const WRONG_TYPES: Json[] = ['a string', 42, -1, 0, 3.5, true, false, null, [], {}, [1, 2], { a: 1 }, '', '42', 'true'];
const HUGE = [1e308, Number.MAX_SAFE_INTEGER + 2, 2 ** 31, 2 ** 32, 2 ** 53, 1e21, 2_147_483_648, 99_999_999];
const NEGATIVE = [-1, -1e9, -0.5, -0, -65536];
const NON_FINITE = [NaN, Infinity, -Infinity];
const ENV_EDGES = ['${', '${}', '${ANTEROOM_UNSET}', '${1ABC}', '${A:-${B}}', '${A', '$${A:-x}', '${A:-}', '${A:-x}y${B:-z}', '${A:-}}', 'pre${A:-x}post', '${A-B}', '${ A }', '${A:-9999999999999999999999}'];
const TEXT_NUMBERS = ['1e400', '-1e400', '99999999999999999999999', '0x1F', '0o17', '1_000', '.nan', '-.inf', '.inf', '1e-400', '0.1e1', '+12'];
const INVALID_UTF8 = [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0xc0, 0xaf], [0xf8, 0x88, 0x80, 0x80, 0x80], [0xe2, 0x82]];

const BOMB = ['x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x'];
function billionLaughs(key: string): string {
  let text = `${key}:\n  a: &a [${BOMB.map((x) => `"${x}"`).join(', ')}]\n`;
  const names = 'abcdefghi';
  for (let i = 1; i < names.length; i++) text += `  ${names[i]}: &${names[i]} [${Array(10).fill(`*${names[i - 1]}`).join(', ')}]\n`;
  return text;
}

export function mutants(seedText: string, seed: number, count: number): Mutant[] {
  const rand = prng(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const int = (lo: number, hi: number): number => lo + Math.floor(rand() * (hi - lo + 1));
  const base = parse(seedText) as Json;
  const paths = allPaths(base);
  const out: Mutant[] = [];

  const structural: [string, (doc: Json, path: Path) => Json][] = [
    ['wrong type', (doc, path) => set(doc, path, pick(WRONG_TYPES))],
    ['huge number', (doc, path) => set(doc, path, pick(HUGE))],
    ['negative number', (doc, path) => set(doc, path, pick(NEGATIVE))],
    ['non-finite number', (doc, path) => set(doc, path, pick(NON_FINITE))],
    ['long string', (doc, path) => set(doc, path, 'x'.repeat(int(1_000, 2_000_000)))],
    ['env edge', (doc, path) => set(doc, path, pick(ENV_EDGES))],
    ['deleted key', (doc, path) => remove(doc, path)],
    ['unknown key', (doc, path) => addKey(doc, path, rand)],
    ['deep nesting', (doc, path) => set(doc, path, nested(int(10, 600), rand() < 0.5))],
    ['many keys', (doc, path) => set(doc, path, Object.fromEntries(Array.from({ length: int(100, 5_000) }, (_, i) => [`k${i}`, i])))],
  ];

  const textual: [string, (text: Buffer) => Buffer][] = [
    ['alias bomb', (text) => Buffer.concat([text, Buffer.from(billionLaughs(rand() < 0.5 ? 'routes' : 'lol'))])],
    ['alias bomb in a known key', (text) => Buffer.from(`${billionLaughs('x')}${text.toString('utf8').replace(/^routes:.*$/m, 'routes: *i')}`)],
    ['recursive alias', (text) => Buffer.concat([text, Buffer.from(pick(['loop: &r [*r]\n', 'routes: &r [{ path: /a, headers: *r }]\n', 'room: &m { weights: *m }\n']))])],
    ['undefined alias', (text) => Buffer.concat([text, Buffer.from('shutdown: *nowhere\n')])],
    ['duplicate key', (text) => duplicateLine(text, rand)],
    ['invalid UTF-8', (text) => insertAt(text, int(0, text.length), Buffer.from(pick(INVALID_UTF8)))],
    ['truncated', (text) => text.subarray(0, int(0, text.length))],
    ['stray byte', (text) => insertAt(text, int(0, text.length), Buffer.from([int(0, 255)]))],
    ['NUL byte', (text) => insertAt(text, int(0, text.length), Buffer.from([0]))],
    ['tab indent', (text) => Buffer.from(text.toString('utf8').replace(/^( +)/m, '\t'))],
    ['number as text', (text) => replaceNumber(text, pick(TEXT_NUMBERS), rand)],
    ['second document', (text) => Buffer.concat([text, Buffer.from('---\n'), text])],
    ['deep flow nesting', (text) => Buffer.concat([text, Buffer.from(`deep: ${'['.repeat(int(500, 3_000))}${']'.repeat(int(500, 3_000))}\n`)])],
    ['deep block nesting', (text) => Buffer.concat([text, Buffer.from(`deep:\n${Array.from({ length: int(100, 1_500) }, (_, i) => `${' '.repeat(i + 1)}k:`).join('\n')}\n`)])],
    ['byte order mark', (text) => Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), text])],
  ];

  for (let i = 0; i < count; i++) {
    if (rand() < 0.6) {
      const [op, apply] = pick(structural);
      const path = pick(paths);
      const doc = apply(structuredClone(base), path);
      // Block YAML or JSON (a YAML flow document); JSON cannot hold NaN or Infinity, YAML can.
      const asJson = rand() < 0.3 && !containsNonFinite(doc);
      let text: string;
      try {
        text = asJson ? JSON.stringify(doc) : stringify(doc, { lineWidth: 0 });
      } catch {
        text = JSON.stringify(doc, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v));
      }
      out.push({ name: `#${i} ${op} at ${path.join('.') || '(top level)'}${asJson ? ' (JSON)' : ''}`, bytes: Buffer.from(text) });
    } else {
      const [op, apply] = pick(textual);
      out.push({ name: `#${i} ${op}`, bytes: apply(Buffer.from(seedText)) });
    }
  }
  return out;
}

/** Every path into the document, the top level included. */
function allPaths(doc: Json, path: Path = [], out: Path[] = []): Path[] {
  out.push(path);
  if (Array.isArray(doc)) doc.forEach((v, i) => allPaths(v, [...path, i], out));
  else if (doc !== null && typeof doc === 'object') for (const [k, v] of Object.entries(doc)) allPaths(v, [...path, k], out);
  return out;
}

function set(doc: Json, path: Path, value: Json): Json {
  if (path.length === 0) return value;
  const parent = at(doc, path.slice(0, -1)) as Record<string | number, Json>;
  parent[path.at(-1)!] = value;
  return doc;
}

function remove(doc: Json, path: Path): Json {
  if (path.length === 0) return {};
  const parent = at(doc, path.slice(0, -1));
  if (Array.isArray(parent)) parent.splice(path.at(-1) as number, 1);
  else delete (parent as Record<string, Json>)[path.at(-1) as string];
  return doc;
}

/** Adds a key next to the one at `path`: a misspelling of it, or a word that is no key anywhere. */
function addKey(doc: Json, path: Path, rand: () => number): Json {
  const parentPath = path.length === 0 ? [] : path.slice(0, -1);
  const parent = at(doc, parentPath);
  if (parent === null || typeof parent !== 'object' || Array.isArray(parent)) return set(doc, path, { surprise: 1 });
  const near = typeof path.at(-1) === 'string' ? (path.at(-1) as string) : 'key';
  const key = rand() < 0.5 && near.length > 2 ? near.slice(0, -1) : `unexpected${Math.floor(rand() * 1000)}`;
  (parent as Record<string, Json>)[key] = 1;
  return doc;
}

function at(doc: Json, path: Path): Json {
  let node = doc;
  for (const p of path) node = (node as Record<string | number, Json>)[p]!;
  return node;
}

function nested(depth: number, arrays: boolean): Json {
  let node: Json = 'bottom';
  for (let i = 0; i < depth; i++) node = arrays ? [node] : { k: node };
  return node;
}

function containsNonFinite(doc: Json): boolean {
  if (typeof doc === 'number') return !Number.isFinite(doc);
  if (Array.isArray(doc)) return doc.some(containsNonFinite);
  if (doc !== null && typeof doc === 'object') return Object.values(doc).some(containsNonFinite);
  return false;
}

function insertAt(text: Buffer, offset: number, bytes: Buffer): Buffer {
  return Buffer.concat([text.subarray(0, offset), bytes, text.subarray(offset)]);
}

function duplicateLine(text: Buffer, rand: () => number): Buffer {
  const lines = text.toString('utf8').split('\n');
  const keyed = lines.map((l, i) => [l, i] as const).filter(([l]) => /^\s*[A-Za-z]+:/.test(l));
  const [line, i] = keyed[Math.floor(rand() * keyed.length)]!;
  lines.splice(i + 1, 0, line);
  return Buffer.from(lines.join('\n'));
}

function replaceNumber(text: Buffer, replacement: string, rand: () => number): Buffer {
  const s = text.toString('utf8');
  const numbers = [...s.matchAll(/: (\d+)\b/g)];
  if (numbers.length === 0) return text;
  const m = numbers[Math.floor(rand() * numbers.length)]!;
  return Buffer.from(`${s.slice(0, m.index! + 2)}${replacement}${s.slice(m.index! + 2 + m[1]!.length)}`);
}
