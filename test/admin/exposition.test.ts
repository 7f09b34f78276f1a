/**
 * The strict exposition parser the metrics tests rely on: it must reject what Prometheus rejects, or
 * the tests that say "the output parses" could not fail.
 */
import { describe, expect, it } from 'vitest';
import { parseExposition } from './exposition.js';

const VALID = `# HELP a_total Things, with a \\\\ and a \\n in the help.
# TYPE a_total counter
a_total{x="1",y="q\\"uote\\\\back\\nline"} 3
a_total{x="2"} 1e3

# HELP h_seconds A histogram.
# TYPE h_seconds histogram
h_seconds_bucket{le="0.1"} 1
h_seconds_bucket{le="1"} 2
h_seconds_bucket{le="+Inf"} 2
h_seconds_sum 0.6
h_seconds_count 2
# TYPE g gauge
g -Inf
g{k="v"} Nan
`;

describe('parseExposition', () => {
  it('reads a valid exposition: escapes, exponents, histograms, infinities and NaN', () => {
    const e = parseExposition(VALID);
    expect(e.family('a_total').help).toBe('Things, with a \\ and a \n in the help.');
    expect(e.value('a_total', { x: '1', y: 'q"uote\\back\nline' })).toBe(3);
    expect(e.value('a_total', { x: '2' })).toBe(1000);
    expect(e.value('h_seconds_count')).toBe(2);
    expect(e.value('h_seconds_bucket', { le: '+Inf' })).toBe(2);
    expect(e.value('g')).toBe(-Infinity);
    expect(e.value('g', { k: 'v' })).toBeNaN();
    expect(e.sum('a_total')).toBe(1003);
  });

  it.each([
    ['no final newline', 'x 1'],
    ['an undeclared family', '# TYPE a counter\nb 1\n'],
    ['an unknown type', '# TYPE a countr\na 1\n'],
    ['a TYPE after samples', '# TYPE a gauge\na 1\n# TYPE a gauge\n'],
    ['a family split in two', '# TYPE a gauge\n# TYPE b gauge\na 1\nb 1\na{x="1"} 2\n'],
    ['a duplicate series', '# TYPE a gauge\na{x="1"} 1\na{x="1"} 2\n'],
    ['an unquoted label value', '# TYPE a gauge\na{x=1} 1\n'],
    ['a bad escape', '# TYPE a gauge\na{x="\\t"} 1\n'],
    ['an unterminated label value', '# TYPE a gauge\na{x="1} 1\n'],
    ['an invalid label name', '# TYPE a gauge\na{1x="1"} 1\n'],
    ['a value that is not a number', '# TYPE a gauge\na 1,5\n'],
    ['a missing value', '# TYPE a gauge\na{x="1"}\n'],
    ['a negative counter', '# TYPE a counter\na -1\n'],
    ['an invalid metric name', '# TYPE a-b gauge\na-b 1\n'],
    ['buckets that are not cumulative', '# TYPE h histogram\nh_bucket{le="1"} 2\nh_bucket{le="+Inf"} 1\nh_sum 1\nh_count 1\n'],
    ['a histogram without +Inf', '# TYPE h histogram\nh_bucket{le="1"} 1\nh_sum 1\nh_count 1\n'],
    ['a +Inf bucket that differs from the count', '# TYPE h histogram\nh_bucket{le="+Inf"} 2\nh_sum 1\nh_count 1\n'],
    ['a bucket without le', '# TYPE h histogram\nh_bucket 1\n'],
  ])('rejects %s', (_what, text) => {
    expect(() => parseExposition(text)).toThrow();
  });
});
