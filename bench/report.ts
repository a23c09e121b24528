/**
 * Turns BenchResults into what a person reads: the terminal tables and the SVG chart. Pure
 * functions of the results, so a JSON file from an earlier run can be re-rendered.
 */
import type { BenchResults, Metric } from './lib/results.js';
import { formatBytes, formatMs, formatRatio, formatValue } from './lib/stats.js';
import { renderTable } from './lib/table.js';
import { renderBarChart, type ChartPanel } from './lib/svg-chart.js';

/** The server the others are compared with. */
export const OURS = 'vnc-runner';

function targetText(m: Metric): string {
  if (!m.target) return '';
  return `${m.target.stat} < ${formatValue(m.target.below, m.unit)}`;
}

function metText(m: Metric): string {
  if (!m.target) return '';
  return m.target.met ? 'yes' : 'MISSED';
}

/** Metrics of a group, in recorded order. */
function group(results: BenchResults, name: string): Metric[] {
  return results.metrics.filter((m) => m.group === name);
}

function encodingRows(results: BenchResults): string[][] {
  const rows: string[][] = [];
  const raw = results.metrics.find((m) => m.id === 'encode.raw.bytes');
  for (const ms of results.metrics.filter((m) => m.group === 'encode' && m.id.endsWith('.ms'))) {
    const key = ms.id.slice('encode.'.length, -'.ms'.length);
    const bytes = results.metrics.find((m) => m.id === `encode.${key}.bytes`);
    const name = ms.label.replace(/: encode full frame$/, '');
    const b = bytes?.summary.p50;
    rows.push([
      name,
      String(ms.summary.n),
      formatMs(ms.summary.p50),
      formatMs(ms.summary.p95),
      formatMs(ms.summary.max),
      b === undefined ? 'n/a' : formatBytes(b),
      b === undefined || !raw ? 'n/a' : `${((100 * b) / raw.summary.p50).toFixed(1)} %`,
      b === undefined || !raw ? 'n/a' : `${(raw.summary.p50 / b).toFixed(1)}:1`,
    ]);
  }
  return rows;
}

/** The terminal report (several tables). */
export function renderTextReport(results: BenchResults): string {
  const env = results.environment;
  const out: string[] = [];
  out.push(
    `vnc-runner benchmark (${results.mode}, scene "${results.scene}") — Xvfb ${env.screen}, node ${env.node}, ${env.cpus} CPUs (${env.cpuModel})`,
    `vnc-runner frame clock: ${env.framerate} fps (one frame = ${formatMs(1000 / env.framerate)} ms); run took ${(results.durationMs / 1000).toFixed(1)} s; load average ${env.loadAverage.start.toFixed(1)} → ${env.loadAverage.end.toFixed(1)}`,
    '',
  );
  const capture = group(results, 'capture');
  if (capture.length) {
    out.push('Capture, 1920x1080 per frame (in-process)');
    out.push(
      renderTable(
        [{ header: 'measurement' }, { header: 'n', align: 'right' }, { header: 'p50 ms', align: 'right' }, { header: 'p95 ms', align: 'right' }, { header: 'max ms', align: 'right' }],
        capture.map((m) => [m.label, String(m.summary.n), formatMs(m.summary.p50), formatMs(m.summary.p95), formatMs(m.summary.max)]),
      ),
      '',
    );
  }
  const enc = encodingRows(results);
  if (enc.length) {
    out.push('Encoding one full 1080p frame of the scene (EncodeManager, server pixel format)');
    out.push(
      renderTable(
        [
          { header: 'encoding' }, { header: 'n', align: 'right' }, { header: 'p50 ms', align: 'right' }, { header: 'p95 ms', align: 'right' },
          { header: 'max ms', align: 'right' }, { header: 'bytes', align: 'right' }, { header: 'of Raw', align: 'right' }, { header: 'ratio', align: 'right' },
        ],
        enc,
      ),
      '',
    );
  }
  const e2e = results.metrics.filter((m) => m.server !== undefined);
  if (e2e.length) {
    out.push('End to end over loopback (fresh connection per sample; input latency on one held connection)');
    const rows: string[][] = [];
    const ids = [...new Set(e2e.map((m) => m.id))];
    for (const id of ids) {
      const series = e2e.filter((m) => m.id === id);
      const ours = series.find((m) => m.server === OURS);
      series.forEach((m, i) => {
        rows.push([
          i === 0 ? m.label : '',
          m.server!,
          String(m.summary.n),
          formatMs(m.summary.p50),
          formatMs(m.summary.p95),
          formatMs(m.summary.max),
          targetText(m),
          metText(m),
          m.server === OURS ? '' : formatRatio(ours?.summary.p50, m.summary.p50),
        ]);
      });
    }
    out.push(
      renderTable(
        [
          { header: 'measurement' }, { header: 'server' }, { header: 'n', align: 'right' }, { header: 'p50 ms', align: 'right' },
          { header: 'p95 ms', align: 'right' }, { header: 'max ms', align: 'right' }, { header: 'target' }, { header: 'met' },
          { header: 'ours÷theirs p50', align: 'right' },
        ],
        rows,
      ),
      '(ours÷theirs below 1: vnc-runner is faster)',
      '',
    );
  }
  out.push('Servers');
  out.push(
    renderTable(
      [{ header: 'server' }, { header: 'status' }, { header: 'details' }],
      results.servers.map((s) => [s.id, s.status, s.reason ? `${s.details}${s.details ? '; ' : ''}${s.reason}` : s.details]),
    ),
  );
  if (results.notes.length) {
    out.push('', 'Notes');
    for (const n of results.notes) out.push(`- ${n}`);
  }
  const missed = results.metrics.filter((m) => m.target && !m.target.met);
  out.push('', missed.length ? `Targets missed: ${missed.map((m) => `${m.label} (${m.server ?? 'in-process'})`).join('; ')}` : 'All targets met.');
  return out.join('\n') + '\n';
}

/** The SVG chart: one panel per end-to-end measurement, one for encoding, one for capture. */
export function renderChart(results: BenchResults): string {
  const panels: ChartPanel[] = [];
  const e2e = results.metrics.filter((m) => m.server !== undefined);
  for (const id of [...new Set(e2e.map((m) => m.id))]) {
    const series = e2e.filter((m) => m.id === id);
    const t = series.find((m) => m.target)?.target;
    panels.push({
      title: series[0]!.label,
      unit: 'ms',
      bars: series.map((m) => ({ label: m.server!, p50: m.summary.p50, p95: m.summary.p95 })),
      ...(t ? { target: { value: t.below, label: `target ${t.stat} < ${formatMs(t.below)} ms` } } : {}),
    });
  }
  const raw = results.metrics.find((m) => m.id === 'encode.raw.bytes');
  const encMs = results.metrics.filter((m) => m.group === 'encode' && m.id.endsWith('.ms'));
  if (encMs.length) {
    panels.push({
      title: 'Encode one full 1080p frame (in-process)',
      unit: 'ms',
      bars: encMs.map((m) => {
        const bytes = results.metrics.find((b) => b.id === m.id.replace(/\.ms$/, '.bytes'));
        return {
          label: m.label.replace(/: encode full frame$/, ''),
          p50: m.summary.p50,
          p95: m.summary.p95,
          ...(bytes && raw ? { note: `${formatBytes(bytes.summary.p50)}, ${((100 * bytes.summary.p50) / raw.summary.p50).toFixed(1)} % of Raw` } : {}),
        };
      }),
    });
  }
  const capture = group(results, 'capture');
  if (capture.length) {
    panels.push({ title: 'Capture per 1080p frame (in-process)', unit: 'ms', bars: capture.map((m) => ({ label: m.id.replace(/^capture\./, ''), p50: m.summary.p50, p95: m.summary.p95 })) });
  }
  return renderBarChart({
    title: `vnc-runner benchmark (${results.mode})`,
    subtitle: `${results.startedAt} · Xvfb ${results.environment.screen} · scene ${results.scene} · ${results.environment.framerate} fps · ${results.environment.cpus} CPUs`,
    panels,
    format: formatMs,
  });
}
