/**
 * The scene benchmark's chart: bytes per second per scene, one bar per server and encoding, on
 * a logarithmic axis shared by all panels (the scenes span 1 kB/s to tens of MB/s, and a
 * shared axis lets a reader compare scenes too). Targets with an absolute limit are drawn as a
 * dashed red line. Pure: returns SVG text.
 */
import { escapeXml } from '../lib/svg-chart.js';
import { MB, type SceneBenchResults } from './results.js';
import { sortCells } from './report.js';

const WIDTH = 1000;
const LABEL_W = 220;
const BAR_AREA = 600;
const BAR_H = 13;
const GAP = 4;
const SERVER_COLOURS: Record<string, string> = { 'vnc-runner': '#2b6cb0', x0vncserver: '#dd6b20', x11vnc: '#38a169' };
const LIMITS_MBPS: Record<string, number> = { terminal: 0.05, 'window-drag': 0.1 };

function fmtRate(bps: number): string {
  if (bps >= MB) return `${(bps / MB).toFixed(bps >= 10 * MB ? 1 : 2)} MB/s`;
  if (bps >= 1000) return `${(bps / 1000).toFixed(bps >= 10_000 ? 0 : 1)} kB/s`;
  return `${Math.round(bps)} B/s`;
}

export function renderSceneChart(results: SceneBenchResults): string {
  const cells = sortCells(results.cells).filter((c) => c.bytesPerSecond > 0);
  const values = cells.map((c) => c.bytesPerSecond);
  const lo = Math.pow(10, Math.floor(Math.log10(Math.max(1, Math.min(...values, 1000)))));
  const hi = Math.pow(10, Math.ceil(Math.log10(Math.max(...values, 10_000))));
  const x = (v: number): number => LABEL_W + (BAR_AREA * (Math.log10(Math.max(v, lo)) - Math.log10(lo))) / (Math.log10(hi) - Math.log10(lo));
  const parts: string[] = [];
  let y = 30;
  parts.push(`<text x="16" y="${y}" font-size="18" font-weight="bold">vnc-runner scene bandwidth: bytes per second (log scale)</text>`);
  y += 18;
  parts.push(`<text x="16" y="${y}" font-size="12" fill="#555">${escapeXml(`${results.mode} mode, ${results.environment.screen}, ${results.startedAt}; bars: server · encoding`)}</text>`);
  y += 10;
  const axisTop = y + 10;
  for (const scene of [...new Set(cells.map((c) => c.scene))]) {
    y += 24;
    parts.push(`<text x="16" y="${y}" font-size="14" font-weight="bold">${escapeXml(scene)}</text>`);
    const top = y + 4;
    for (const c of cells.filter((c) => c.scene === scene)) {
      const by = y + GAP;
      parts.push(`<text x="${LABEL_W - 8}" y="${by + BAR_H - 2}" font-size="11" text-anchor="end">${escapeXml(`${c.server} · ${c.encoding}`)}</text>`);
      parts.push(`<rect x="${LABEL_W}" y="${by}" width="${(x(c.bytesPerSecond) - LABEL_W).toFixed(1)}" height="${BAR_H}" fill="${SERVER_COLOURS[c.server] ?? '#718096'}" />`);
      parts.push(`<text x="${(x(c.bytesPerSecond) + 6).toFixed(1)}" y="${by + BAR_H - 2}" font-size="11">${escapeXml(fmtRate(c.bytesPerSecond))}</text>`);
      y = by + BAR_H;
    }
    const limit = LIMITS_MBPS[scene];
    if (limit !== undefined) {
      const lx = x(limit * MB).toFixed(1);
      parts.push(`<line x1="${lx}" y1="${top}" x2="${lx}" y2="${y + 3}" stroke="#e53e3e" stroke-width="1.5" stroke-dasharray="4 3" />`);
      parts.push(`<text x="${lx}" y="${top - 2}" font-size="10" fill="#e53e3e" text-anchor="middle">${escapeXml(`target ${limit} MB/s`)}</text>`);
    }
  }
  y += 20;
  // Decade grid lines and labels.
  for (let v = lo; v <= hi * 1.001; v *= 10) {
    const gx = x(v).toFixed(1);
    parts.unshift(`<line x1="${gx}" y1="${axisTop}" x2="${gx}" y2="${y - 12}" stroke="#e2e8f0" />`);
    parts.push(`<text x="${gx}" y="${y}" font-size="10" fill="#555" text-anchor="middle">${escapeXml(fmtRate(v))}</text>`);
  }
  y += 24;
  const legend = Object.entries(SERVER_COLOURS)
    .map(([id, colour], i) => `<rect x="${16 + i * 140}" y="${y - 10}" width="12" height="12" fill="${colour}" /><text x="${32 + i * 140}" y="${y}" font-size="12">${escapeXml(id)}</text>`)
    .join('');
  parts.push(legend);
  y += 14;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${y}" viewBox="0 0 ${WIDTH} ${y}" font-family="DejaVu Sans, Arial, sans-serif">`,
    '<rect width="100%" height="100%" fill="#ffffff" />',
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}
