/**
 * A strict parser of the Prometheus text exposition format (version 0.0.4), for tests: it throws, with
 * the line, on anything Prometheus would reject or that a well-formed exposition never contains
 * (an unknown type, a TYPE after its samples, a family split in two, a duplicate series, a histogram
 * whose buckets are not cumulative or whose +Inf bucket differs from its count), and gives the
 * samples back for assertions.
 * https://prometheus.io/docs/instrumenting/exposition_formats/#text-based-format
 */

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface Family {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string | null;
  samples: Sample[];
}

export class Exposition {
  constructor(readonly families: Map<string, Family>) {}

  /** The family a metric name belongs to (a histogram's `_bucket`, `_sum`, `_count` included). */
  family(name: string): Family {
    const f = this.families.get(name);
    if (f === undefined) throw new Error(`no metric family ${name}`);
    return f;
  }

  /** Every sample of `name` whose labels include `labels`. */
  samples(name: string, labels: Record<string, string> = {}): Sample[] {
    const out: Sample[] = [];
    for (const f of this.families.values()) {
      for (const s of f.samples) if (s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v)) out.push(s);
    }
    return out;
  }

  /** The value of the one sample of `name` with exactly `labels`; undefined when there is none. */
  value(name: string, labels: Record<string, string> = {}): number | undefined {
    const want = Object.keys(labels).length;
    const found = this.samples(name, labels).filter((s) => Object.keys(s.labels).length === want);
    if (found.length > 1) throw new Error(`${found.length} samples of ${name} ${JSON.stringify(labels)}`);
    return found[0]?.value;
  }

  /** The sum of every sample of `name` whose labels include `labels`. */
  sum(name: string, labels: Record<string, string> = {}): number {
    return this.samples(name, labels).reduce((a, s) => a + s.value, 0);
  }
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;
const TYPES = new Set(['counter', 'gauge', 'histogram', 'summary', 'untyped']);

export function parseExposition(text: string): Exposition {
  if (text.length > 0 && !text.endsWith('\n')) throw new Error('the exposition must end with a newline');
  const families = new Map<string, Family>();
  const seen = new Set<string>();
  const typed = new Set<string>();
  let current: Family | null = null;
  const lines = text.split('\n');
  lines.pop();
  lines.forEach((line, i) => {
    const fail = (why: string): never => {
      throw new Error(`line ${i + 1}: ${why}: ${JSON.stringify(line)}`);
    };
    if (line === '') return;
    if (line.startsWith('#')) {
      const m = /^# (HELP|TYPE) (\S+) ?(.*)$/.exec(line);
      if (m === null) return; // a plain comment
      const [, kind, name, rest] = m as unknown as [string, string, string, string];
      if (!METRIC_NAME.test(name)) fail('invalid metric name');
      let f = families.get(name);
      if (f === undefined) {
        f = { name, type: 'untyped', help: null, samples: [] };
        families.set(name, f);
      } else if (f.samples.length > 0) fail(`${kind} after the samples of ${name}`);
      if (kind === 'HELP') {
        if (f.help !== null) fail('second HELP');
        f.help = unescapeHelp(rest, fail);
      } else {
        if (!TYPES.has(rest)) fail('unknown type');
        if (typed.has(name)) fail('second TYPE');
        typed.add(name);
        f.type = rest as Family['type'];
      }
      current = f;
      return;
    }
    const sample = parseSample(line, fail);
    const f = familyOf(families, sample.name) ?? fail('sample of an undeclared family');
    if (f !== current) {
      if (f.samples.length > 0) fail(`the samples of ${f.name} are not together`);
      current = f;
    }
    checkSampleName(f, sample, fail);
    const key = `${sample.name}${JSON.stringify(Object.entries(sample.labels).sort())}`;
    if (seen.has(key)) fail('duplicate series');
    seen.add(key);
    f.samples.push(sample);
  });
  for (const f of families.values()) if (f.type === 'histogram') checkHistogram(f);
  return new Exposition(families);
}

function familyOf(families: Map<string, Family>, name: string): Family | undefined {
  const direct = families.get(name);
  if (direct !== undefined) return direct;
  const m = /^(.*)_(bucket|sum|count)$/.exec(name);
  if (m === null) return undefined;
  const f = families.get(m[1]!);
  return f !== undefined && (f.type === 'histogram' || f.type === 'summary') ? f : undefined;
}

function checkSampleName(f: Family, s: Sample, fail: (why: string) => never): void {
  if (f.type === 'histogram') {
    if (s.name === `${f.name}_bucket`) {
      if (s.labels['le'] === undefined) fail('bucket without le');
    } else if (s.name !== `${f.name}_sum` && s.name !== `${f.name}_count`) fail('histogram sample that is not _bucket, _sum or _count');
    else if (s.labels['le'] !== undefined) fail('le outside a bucket');
  } else if (f.type === 'summary') {
    if (s.name !== f.name && s.name !== `${f.name}_sum` && s.name !== `${f.name}_count`) fail('summary sample of another name');
  } else if (s.name !== f.name) fail('sample name differs from its family');
  if (f.type === 'counter' && !(s.value >= 0)) fail('negative or NaN counter');
}

function checkHistogram(f: Family): void {
  const groups = new Map<string, { buckets: [number, number][]; count?: number }>();
  const keyOf = (labels: Record<string, string>) => JSON.stringify(Object.entries(labels).filter(([k]) => k !== 'le').sort());
  for (const s of f.samples) {
    const g = groups.get(keyOf(s.labels)) ?? { buckets: [] };
    groups.set(keyOf(s.labels), g);
    if (s.name.endsWith('_bucket')) g.buckets.push([parseValue(s.labels['le']!), s.value]);
    else if (s.name.endsWith('_count')) g.count = s.value;
  }
  for (const [key, g] of groups) {
    const where = `histogram ${f.name} ${key}`;
    for (let i = 1; i < g.buckets.length; i++) {
      if (!(g.buckets[i]![0] > g.buckets[i - 1]![0])) throw new Error(`${where}: le not ascending`);
      if (g.buckets[i]![1] < g.buckets[i - 1]![1]) throw new Error(`${where}: buckets not cumulative`);
    }
    const last = g.buckets[g.buckets.length - 1];
    if (last === undefined || last[0] !== Infinity) throw new Error(`${where}: no +Inf bucket`);
    if (g.count !== last[1]) throw new Error(`${where}: +Inf bucket ${last[1]} differs from _count ${g.count}`);
  }
}

function parseSample(line: string, fail: (why: string) => never): Sample {
  let i = 0;
  while (i < line.length && line[i] !== '{' && line[i] !== ' ') i++;
  const name = line.slice(0, i);
  if (!METRIC_NAME.test(name)) fail('invalid metric name');
  const labels: Record<string, string> = {};
  if (line[i] === '{') {
    i++;
    while (line[i] !== '}') {
      const eq = line.indexOf('=', i);
      if (eq < 0) fail('label without =');
      const label = line.slice(i, eq);
      if (!LABEL_NAME.test(label)) fail(`invalid label name ${label}`);
      if (label in labels) fail(`label ${label} twice`);
      if (line[eq + 1] !== '"') fail('label value not quoted');
      let value = '';
      let j = eq + 2;
      for (; ; j++) {
        const c = line[j];
        if (c === undefined) fail('unterminated label value');
        if (c === '"') break;
        if (c === '\\') {
          const n = line[++j];
          if (n === 'n') value += '\n';
          else if (n === '\\' || n === '"') value += n;
          else fail('invalid escape in a label value');
        } else value += c;
      }
      labels[label] = value;
      i = j + 1;
      if (line[i] === ',') i++;
      else if (line[i] !== '}') fail('expected , or } after a label');
    }
    i++;
  }
  if (line[i] !== ' ') fail('expected a space before the value');
  const parts = line.slice(i + 1).split(' ');
  if (parts.length > 2) fail('trailing fields');
  const value = parseValue(parts[0]!);
  if (Number.isNaN(value) && !/^nan$/i.test(parts[0]!)) fail('invalid value');
  if (parts[1] !== undefined && !/^-?\d+$/.test(parts[1])) fail('invalid timestamp');
  return { name, labels, value };
}

/** A float as Go's strconv.ParseFloat reads it (Prometheus's parser), with +Inf, -Inf and NaN. */
function parseValue(s: string): number {
  if (/^[+]?inf$/i.test(s)) return Infinity;
  if (/^-inf$/i.test(s)) return -Infinity;
  if (/^nan$/i.test(s)) return NaN;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/.test(s)) return NaN;
  return Number(s);
}

function unescapeHelp(s: string, fail: (why: string) => never): string {
  return s.replace(/\\(.?)/g, (_, c: string) => (c === 'n' ? '\n' : c === '\\' ? '\\' : fail('invalid escape in HELP')));
}
