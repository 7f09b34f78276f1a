/**
 * The chart builder and the README writer of the load harness: what the SVG draws and where, text
 * escaping, nice axis maxima, and the table written between the README markers.
 */
import { describe, expect, it } from 'vitest';
import type { Figure } from './harness.js';
import { README_BEGIN, README_END, readmeTable, replaceBetweenMarkers, type SavedScenario } from './report.js';
import { chartHeight, chartSvg, escapeXml, niceMax, type ChartSpec } from './svg.js';

const spec = (): ChartSpec => ({
  title: 'spike <test> & "chart"',
  xLabel: 'seconds',
  xMax: 10,
  width: 600,
  plotHeight: 100,
  markers: [{ x: 5, label: 'spike' }],
  panels: [
    {
      title: 'anteroom',
      plots: [
        {
          yLabel: 'in flight',
          rightLabel: 'arrivals/s',
          yMax: 20,
          rightMax: 40,
          hLines: [{ y: 10, label: 'limit', color: '#f00' }],
          series: [
            { name: 'in flight', color: '#00f', points: [[0, 0], [5, 10], [10, 20]] },
            { name: 'arrivals', color: '#0f0', points: [[0, 0], [10, 40]], right: true },
          ],
        },
      ],
    },
    { title: 'nginx', plots: [{ yLabel: 'waiting', series: [{ name: 'waiting', color: '#909', points: [] }] }] },
  ],
});

/** The points of every polyline, as numbers. */
function polylines(svg: string): [number, number][][] {
  return [...svg.matchAll(/<polyline [^>]*points="([^"]*)"/g)].map((m) => m[1]!.split(' ').map((p) => p.split(',').map(Number) as [number, number]));
}

describe('chartSvg', () => {
  it('draws one line per series with points, scaled into its plot, the right axis on its own scale', () => {
    const s = spec();
    const svg = chartSvg(s);
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg" width="600"')).toBe(true);
    expect(svg).toContain(`height="${chartHeight(s)}"`);
    const [inflight, arrivals] = polylines(svg);
    // The empty series draws nothing.
    expect(polylines(svg)).toHaveLength(2);
    expect(inflight).toHaveLength(3);
    // x: 0 -> left margin, 10 -> right edge of the plot; y: 0 -> bottom, yMax -> top.
    const [x0, yBottom] = inflight![0]!;
    const [x10, yTop] = inflight![2]!;
    expect(x10 - x0).toBeCloseTo(600 - 64 - 64, 0);
    expect(yBottom - yTop).toBeCloseTo(100, 0);
    // 10 of 20 is half way up.
    expect(inflight![1]![1]).toBeCloseTo((yBottom + yTop) / 2, 0);
    // The right axis has its own maximum (40): its last point is at the top too.
    expect(arrivals![1]![1]).toBeCloseTo(yTop, 0);
  });

  it('draws the limit as a dashed line at its height, and the markers across the plots', () => {
    const svg = chartSvg(spec());
    const [inflight] = polylines(svg);
    const limit = /<line x1="[\d.]+" y1="([\d.]+)" x2="[\d.]+" y2="[\d.]+" stroke="#f00" stroke-width="1.5" stroke-dasharray="6 4"\/>/.exec(svg);
    expect(limit).not.toBeNull();
    expect(Number(limit![1])).toBeCloseTo(inflight![1]![1], 0);
    expect(svg).toContain('>spike</text>');
  });

  it('escapes text, so a label cannot break the document', () => {
    const svg = chartSvg(spec());
    expect(svg).toContain('spike &lt;test&gt; &amp; &quot;chart&quot;');
    expect(svg).not.toContain('<test>');
    expect(escapeXml(`<a href="x">&</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&amp;&lt;/a&gt;');
  });

  it('rounds axis maxima up to 1, 2, 2.5 or 5 times a power of ten', () => {
    expect(niceMax(7)).toBe(10);
    expect(niceMax(10)).toBe(10);
    expect(niceMax(11)).toBe(20);
    expect(niceMax(230)).toBe(250);
    expect(niceMax(0.3)).toBe(0.5);
    expect(niceMax(0)).toBe(1);
    expect(niceMax(NaN)).toBe(1);
  });
});

describe('the README results', () => {
  const figures = (entries: [string, string][]): Figure[] => entries.map(([key, text]) => ({ key, label: `label of ${key}`, value: 1, text }));
  const saved = (id: string, anteroom: Figure[], nginx?: Figure[]): SavedScenario => ({
    id,
    title: `title ${id}`,
    summary: '',
    date: '2026-01-01T00:00:00.000Z',
    scale: 1,
    machine: { node: 'v20', cpus: 2, cpuModel: 'cpu' },
    figures: nginx ? { anteroom, nginx } : { anteroom },
    chart: {},
    files: {},
  });

  it('lists the headline figures of each scenario with both columns, "not run" where a proxy was not', () => {
    const table = readmeTable([
      saved('003', figures([['lost', '0'], ['tau', '0.99'], ['other', 'x']]), figures([['lost', '12 | 3'], ['tau', '0.4']])),
      saved('004', figures([['failed', '0 of 10']])),
    ]);
    const lines = table.split('\n');
    expect(lines[0]).toBe('| incident | figure | anteroom | nginx |');
    expect(lines).toContain('| 003 title 003 | label of lost | 0 | 12 \\| 3 |');
    expect(lines).toContain('|  | label of tau | 0.99 | 0.4 |');
    expect(lines).toContain('| 004 title 004 | label of failed | 0 of 10 | not run |');
    expect(table).not.toContain('label of other');
  });

  it('replaces only what is between the markers, and says how to add them when they are missing', () => {
    const readme = `# x\n\n${README_BEGIN}\nold table\n${README_END}\n\n## after\n`;
    const out = replaceBetweenMarkers(readme, 'new table');
    expect(out).toBe(`# x\n\n${README_BEGIN}\nnew table\n${README_END}\n\n## after\n`);
    expect(replaceBetweenMarkers(out, 'again')).toBe(`# x\n\n${README_BEGIN}\nagain\n${README_END}\n\n## after\n`);
    expect(() => replaceBetweenMarkers('# no markers\n', 'x')).toThrow(/has no load results markers/);
  });
});
