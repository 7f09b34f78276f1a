/**
 * A small SVG line chart, written by hand so the load results need no charting dependency: panels
 * stacked vertically (one per proxy), each with one or more plots sharing the time axis, each plot
 * with a left axis and optionally a right one, horizontal reference lines (a limit) and vertical
 * markers (the spike's start and end). Pure: a spec in, a string out.
 */

export interface Series {
  name: string;
  color: string;
  /** [x, y] in data units, x ascending. */
  points: readonly (readonly [number, number])[];
  /** Plotted against the right axis. */
  right?: boolean;
  dash?: string;
}

export interface Plot {
  yLabel: string;
  rightLabel?: string;
  series: Series[];
  /** Axis maxima; default: the series' maxima, rounded up to a nice number. */
  yMax?: number;
  rightMax?: number;
  /** Dashed horizontal lines on the left axis, e.g. the in-flight limit. */
  hLines?: { y: number; label: string; color: string }[];
}

export interface Panel {
  title: string;
  plots: Plot[];
}

export interface ChartSpec {
  title: string;
  subtitle?: string;
  xLabel: string;
  xMax: number;
  panels: Panel[];
  /** Vertical lines across every plot. */
  markers?: { x: number; label: string }[];
  width?: number;
  plotHeight?: number;
}

const FONT = 'font-family="DejaVu Sans, Arial, Helvetica, sans-serif"';
const MARGIN = { left: 64, right: 64, top: 64, bottom: 44 };
const PANEL_TITLE = 30;
const LEGEND = 22;
const PLOT_GAP = 18;
const PANEL_GAP = 26;
/** Room under a panel's last plot for its time ticks. */
const X_TICKS = 20;

export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** The smallest of 1, 2, 2.5, 5 times a power of ten that is at least `v` (1 for nothing to show). */
export function niceMax(v: number): number {
  if (!(v > 0) || !Number.isFinite(v)) return 1;
  const p = 10 ** Math.floor(Math.log10(v));
  for (const m of [1, 2, 2.5, 5, 10]) if (m * p >= v * (1 - 1e-9)) return m * p;
  return 10 * p;
}

function fmtTick(v: number): string {
  if (Math.abs(v) >= 10_000) return `${Math.round(v / 1000)}k`;
  return Number.isInteger(v) ? String(v) : v.toFixed(1);
}

/** The height of the whole chart for a spec (panels and plots). */
export function chartHeight(spec: ChartSpec): number {
  const ph = spec.plotHeight ?? 150;
  let h = MARGIN.top + MARGIN.bottom;
  spec.panels.forEach((p, i) => {
    h += PANEL_TITLE + p.plots.length * (ph + LEGEND) + (p.plots.length - 1) * PLOT_GAP + (i > 0 ? PANEL_GAP : 0) + X_TICKS;
  });
  return h;
}

export function chartSvg(spec: ChartSpec): string {
  const width = spec.width ?? 960;
  const ph = spec.plotHeight ?? 150;
  const height = chartHeight(spec);
  const plotW = width - MARGIN.left - MARGIN.right;
  const xMax = spec.xMax > 0 ? spec.xMax : 1;
  const sx = (x: number): number => MARGIN.left + (Math.min(Math.max(x, 0), xMax) / xMax) * plotW;
  const out: string[] = [];
  out.push(`<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" ${FONT} font-size="12">`);
  out.push(`<rect width="${width}" height="${height}" fill="#ffffff"/>`);
  out.push(`<text x="${MARGIN.left}" y="26" font-size="17" font-weight="bold" fill="#111">${escapeXml(spec.title)}</text>`);
  if (spec.subtitle) out.push(`<text x="${MARGIN.left}" y="46" font-size="12" fill="#444">${escapeXml(spec.subtitle)}</text>`);

  const xStep = niceMax(xMax / 8);
  let y = MARGIN.top;
  spec.panels.forEach((panel, pi) => {
    if (pi > 0) y += PANEL_GAP;
    out.push(`<text x="${MARGIN.left}" y="${y + 18}" font-size="14" font-weight="bold" fill="#111">${escapeXml(panel.title)}</text>`);
    y += PANEL_TITLE;
    panel.plots.forEach((plot, qi) => {
      if (qi > 0) y += PLOT_GAP;
      // Legend above the plot.
      let lx = MARGIN.left;
      for (const s of [...plot.series, ...(plot.hLines ?? []).map((h) => ({ name: h.label, color: h.color, dash: '6 4' }))]) {
        out.push(`<line x1="${lx}" y1="${y + 8}" x2="${lx + 18}" y2="${y + 8}" stroke="${s.color}" stroke-width="2.5"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''}/>`);
        out.push(`<text x="${lx + 23}" y="${y + 12}" fill="#222">${escapeXml(s.name)}</text>`);
        lx += 36 + s.name.length * 6.6;
      }
      y += LEGEND;
      const top = y;
      const bottom = y + ph;
      const leftSeries = plot.series.filter((s) => !s.right);
      const rightSeries = plot.series.filter((s) => s.right);
      const dataMax = (ss: Series[], extra: number[] = []): number => Math.max(0, ...extra, ...ss.flatMap((s) => s.points.map((p) => p[1])));
      const yMax = plot.yMax ?? niceMax(dataMax(leftSeries, (plot.hLines ?? []).map((h) => h.y)));
      const rMax = plot.rightMax ?? niceMax(dataMax(rightSeries));
      const syL = (v: number): number => bottom - (Math.min(Math.max(v, 0), yMax) / yMax) * ph;
      const syR = (v: number): number => bottom - (Math.min(Math.max(v, 0), rMax) / rMax) * ph;

      // Frame, grid and axes.
      out.push(`<rect x="${MARGIN.left}" y="${top}" width="${plotW}" height="${ph}" fill="#fafafa" stroke="#bbb"/>`);
      for (let i = 0; i <= 4; i++) {
        const v = (yMax * i) / 4;
        const yy = syL(v);
        out.push(`<line x1="${MARGIN.left}" y1="${yy}" x2="${MARGIN.left + plotW}" y2="${yy}" stroke="#e4e4e4"/>`);
        out.push(`<text x="${MARGIN.left - 6}" y="${yy + 4}" text-anchor="end" fill="#444">${fmtTick(v)}</text>`);
        if (rightSeries.length > 0) out.push(`<text x="${MARGIN.left + plotW + 6}" y="${syR((rMax * i) / 4) + 4}" fill="#444">${fmtTick((rMax * i) / 4)}</text>`);
      }
      for (let x = 0; x <= xMax + 1e-9; x += xStep) {
        const xx = sx(x);
        out.push(`<line x1="${xx}" y1="${top}" x2="${xx}" y2="${bottom}" stroke="#eee"/>`);
        out.push(`<text x="${xx}" y="${bottom + 15}" text-anchor="middle" fill="#444">${fmtTick(x)}</text>`);
      }
      const mid = (top + bottom) / 2;
      out.push(`<text transform="translate(${MARGIN.left - 44} ${mid}) rotate(-90)" text-anchor="middle" fill="#222">${escapeXml(plot.yLabel)}</text>`);
      if (plot.rightLabel && rightSeries.length > 0) out.push(`<text transform="translate(${MARGIN.left + plotW + 50} ${mid}) rotate(90)" text-anchor="middle" fill="#222">${escapeXml(plot.rightLabel)}</text>`);

      (spec.markers ?? []).forEach((m, mi) => {
        const xx = sx(m.x);
        out.push(`<line x1="${xx}" y1="${top}" x2="${xx}" y2="${bottom}" stroke="#999" stroke-dasharray="3 3"/>`);
        // Labels one under the other, so markers close together stay readable.
        if (qi === 0) out.push(`<text x="${xx + 3}" y="${top + 24 + 13 * mi}" fill="#555" font-size="11">${escapeXml(m.label)}</text>`);
      });
      for (const h of plot.hLines ?? []) {
        out.push(`<line x1="${MARGIN.left}" y1="${syL(h.y)}" x2="${MARGIN.left + plotW}" y2="${syL(h.y)}" stroke="${h.color}" stroke-width="1.5" stroke-dasharray="6 4"/>`);
      }
      for (const s of plot.series) {
        if (s.points.length === 0) continue;
        const sy = s.right ? syR : syL;
        const pts = s.points.map(([px, py]) => `${sx(px).toFixed(1)},${sy(py).toFixed(1)}`).join(' ');
        out.push(`<polyline fill="none" stroke="${s.color}" stroke-width="1.8" stroke-linejoin="round"${s.dash ? ` stroke-dasharray="${s.dash}"` : ''} points="${pts}"/>`);
      }
      y = bottom;
    });
    y += X_TICKS;
  });
  out.push(`<text x="${MARGIN.left + plotW / 2}" y="${height - 12}" text-anchor="middle" fill="#222">${escapeXml(spec.xLabel)}</text>`);
  out.push('</svg>');
  return `${out.join('\n')}\n`;
}
