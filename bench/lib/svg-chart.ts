/**
 * A small, dependency-free SVG bar chart for the benchmark results: one panel per group of
 * bars, each panel with its own scale (connect → ServerInit is ~1 ms, a Zlib frame ~100 ms;
 * one shared axis would flatten the small ones), the p50 as the bar, the p95 as a tick, and an
 * optional target as a dashed red line. Pure: returns the SVG text.
 */

export interface ChartBar {
  /** Series label, e.g. the server name. */
  readonly label: string;
  readonly p50: number;
  readonly p95?: number;
  /** Extra text after the value (e.g. "12 % of Raw"). */
  readonly note?: string;
}

export interface ChartPanel {
  readonly title: string;
  readonly unit: string;
  readonly bars: readonly ChartBar[];
  /** Target line (same unit), e.g. 10 for "p95 under 10 ms". */
  readonly target?: { readonly value: number; readonly label: string };
}

export interface ChartOptions {
  readonly title: string;
  readonly subtitle?: string;
  readonly panels: readonly ChartPanel[];
  /** Formats a value for the labels; default two decimals. */
  readonly format?: (v: number) => string;
}

const WIDTH = 960;
const LABEL_W = 170;
const BAR_AREA = 520;
const BAR_H = 16;
const BAR_GAP = 6;
const PANEL_GAP = 22;
const COLOURS = ['#2b6cb0', '#dd6b20', '#38a169', '#805ad5', '#d53f8c', '#319795', '#718096'];

/** Escapes text for SVG content and attributes. */
export function escapeXml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

export function renderBarChart(opts: ChartOptions): string {
  const fmt = opts.format ?? ((v: number) => v.toFixed(2));
  const parts: string[] = [];
  let y = 34;
  parts.push(`<text x="16" y="${y}" font-size="18" font-weight="bold">${escapeXml(opts.title)}</text>`);
  if (opts.subtitle) {
    y += 20;
    parts.push(`<text x="16" y="${y}" font-size="12" fill="#555">${escapeXml(opts.subtitle)}</text>`);
  }
  y += 16;
  const seriesColour = new Map<string, string>();
  const colour = (label: string): string => {
    let c = seriesColour.get(label);
    if (!c) {
      c = COLOURS[seriesColour.size % COLOURS.length]!;
      seriesColour.set(label, c);
    }
    return c;
  };
  for (const panel of opts.panels) {
    y += PANEL_GAP;
    parts.push(`<text x="16" y="${y}" font-size="14" font-weight="bold">${escapeXml(panel.title)}</text>`);
    y += 8;
    const values = panel.bars.flatMap((b) => [b.p50, b.p95 ?? b.p50]).concat(panel.target ? [panel.target.value] : []);
    const max = Math.max(...values.filter((v) => Number.isFinite(v)), 1e-9) * 1.08;
    const scale = (v: number): number => Math.max(0, Math.min(BAR_AREA, (v / max) * BAR_AREA));
    const top = y;
    for (const bar of panel.bars) {
      const by = y + BAR_GAP;
      const w = scale(bar.p50);
      parts.push(`<text x="${LABEL_W - 8}" y="${by + BAR_H - 3}" font-size="12" text-anchor="end">${escapeXml(bar.label)}</text>`);
      parts.push(`<rect x="${LABEL_W}" y="${by}" width="${w.toFixed(1)}" height="${BAR_H}" fill="${colour(bar.label)}" />`);
      let text = `${fmt(bar.p50)} ${panel.unit}`;
      if (bar.p95 !== undefined) {
        const px = LABEL_W + scale(bar.p95);
        parts.push(`<line x1="${px.toFixed(1)}" y1="${by - 2}" x2="${px.toFixed(1)}" y2="${by + BAR_H + 2}" stroke="#222" stroke-width="2" />`);
        text += ` (p95 ${fmt(bar.p95)})`;
      }
      if (bar.note) text += ` · ${bar.note}`;
      const tx = LABEL_W + Math.max(w, bar.p95 !== undefined ? scale(bar.p95) : 0) + 8;
      parts.push(`<text x="${tx.toFixed(1)}" y="${by + BAR_H - 3}" font-size="12">${escapeXml(text)}</text>`);
      y = by + BAR_H;
    }
    if (panel.target) {
      const tx = LABEL_W + scale(panel.target.value);
      parts.push(
        `<line x1="${tx.toFixed(1)}" y1="${top}" x2="${tx.toFixed(1)}" y2="${y + 4}" stroke="#e53e3e" stroke-width="1.5" stroke-dasharray="4 3" />`,
        `<text x="${tx.toFixed(1)}" y="${y + 16}" font-size="11" fill="#e53e3e" text-anchor="middle">${escapeXml(panel.target.label)}</text>`,
      );
      y += 16;
    }
  }
  y += 24;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="DejaVu Sans, Arial, sans-serif">`,
    `<rect width="100%" height="100%" fill="#ffffff" />`,
    ...parts,
    `<text x="16" y="${y - 8}" font-size="10" fill="#777">bar = p50, black tick = p95, dashed red = target</text>`,
    '</svg>',
    '',
  ].join('\n');
}
