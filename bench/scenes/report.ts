/**
 * The terminal report of the scene benchmark: one table (scene × server × encoding) with the
 * peers' figures next to ours and their ratios, then every missed target spelled out. Pure:
 * returns text.
 */
import { formatBytes } from '../lib/stats.js';
import { renderTable, type Column } from '../lib/table.js';
import { ENCODING_IDS } from './encodings.js';
import { MB, type CellResult, type SceneBenchResults } from './results.js';
import { SCENE_NAMES } from './scene-catalog.js';
import { SERVER_IDS } from './servers.js';

function mbps(bytesPerSecond: number): string {
  const v = bytesPerSecond / MB;
  return v >= 10 ? v.toFixed(1) : v >= 1 ? v.toFixed(2) : v >= 0.01 ? v.toFixed(3) : v.toFixed(4);
}

function num(v: number, digits = 1): string {
  return Number.isFinite(v) ? v.toFixed(digits) : 'n/a';
}

function ratio(a: number, b: number): string {
  if (!(b > 0) || !Number.isFinite(a)) return 'n/a';
  const r = a / b;
  return `×${r >= 10 ? r.toFixed(1) : r.toFixed(2)}`;
}

/** Stable order: scene, then server (ours first), then encoding, as declared. */
export function sortCells(cells: readonly CellResult[]): CellResult[] {
  const key = (c: CellResult): number[] => [SCENE_NAMES.indexOf(c.scene), SERVER_IDS.indexOf(c.server), ENCODING_IDS.indexOf(c.encoding)];
  return [...cells].sort((a, b) => {
    const ka = key(a);
    const kb = key(b);
    for (let i = 0; i < ka.length; i++) if (ka[i] !== kb[i]) return ka[i]! - kb[i]!;
    return 0;
  });
}

const COLUMNS: Column[] = [
  { header: 'scene' },
  { header: 'server' },
  { header: 'encoding' },
  { header: 'MB/s', align: 'right' },
  { header: 'B/update', align: 'right' },
  { header: '÷Raw', align: 'right' },
  { header: 'upd/s', align: 'right' },
  { header: 'CPU %', align: 'right' },
  { header: 'CPU ms/upd', align: 'right' },
  { header: 'key→echo p50/p95 ms', align: 'right' },
  { header: 'settled PSNR', align: 'right' },
  { header: 'ours÷this B/s', align: 'right' },
  { header: 'ours÷this CPU', align: 'right' },
  { header: 'targets' },
];

export function renderSceneTable(results: SceneBenchResults): string {
  const cells = sortCells(results.cells);
  const rows: string[][] = [];
  let lastScene = '';
  for (const c of cells) {
    const ours = c.server === 'vnc-runner' ? undefined : cells.find((o) => o.server === 'vnc-runner' && o.scene === c.scene && o.encoding === c.encoding);
    const met = c.targets.filter((t) => t.met).length;
    rows.push([
      c.scene === lastScene ? '' : c.scene,
      c.server,
      c.encoding,
      mbps(c.bytesPerSecond),
      c.updates ? formatBytes(c.bytesPerUpdate) : '-',
      c.updates ? num(c.ratioToRaw, 3) : '-',
      num(c.updatesPerSecond),
      num(c.cpuPercent),
      c.updates ? num(c.cpuMsPerUpdate, 2) : '-',
      c.latencyMs ? `${num(c.latencyMs.p50)}/${num(c.latencyMs.p95)}` : '',
      c.settledQuality ? (c.settledQuality.identical ? 'exact' : `${num(c.settledQuality.psnrDb)} dB`) : '',
      ours ? ratio(ours.bytesPerSecond, c.bytesPerSecond) : '',
      ours ? ratio(ours.cpuPercent, c.cpuPercent) : '',
      c.targets.length ? `${met === c.targets.length ? '✓' : '✗'} ${met}/${c.targets.length}` : '',
    ]);
    lastScene = c.scene;
  }
  const out: string[] = [];
  out.push(`Scene bandwidth (${results.mode} mode, ${results.environment.screen}, one update request outstanding, compress level ${results.environment.compressLevel}; MB = 10^6 B)`);
  out.push(renderTable(COLUMNS, rows));
  out.push('');
  out.push('÷Raw = wire bytes ÷ the same rectangles sent as Raw without CopyRect. CPU = server process, % of one core (all threads).');
  out.push('ours÷this < 1 means vnc-runner used less than that server on the same scene and encoding.');
  out.push('settled PSNR (lossy cells, and lossless ones with --verify-lossless) = what the viewer shows once the scene stopped and the server went quiet, against the screen; exact = identical pixels.');
  const missed = cells.flatMap((c) => c.targets.filter((t) => !t.met).map((t) => ({ c, t })));
  const total = cells.reduce((n, c) => n + c.targets.length, 0);
  out.push('');
  out.push(`Targets: ${total - missed.length} of ${total} met.`);
  for (const { c, t } of missed) {
    const fmt = (v: number): string =>
      t.id.startsWith('bytes')
        ? v >= 0.01 ? `${v.toFixed(3)} MB/s` : `${(v * 1000).toFixed(2)} kB/s`
        : t.id.startsWith('cpu') ? `${v.toFixed(1)} %`
        : t.id.startsWith('quality') ? `${v.toFixed(1)} dB`
        : `${v.toFixed(1)} ms`;
    out.push(`  ✗ ${c.scene} / ${c.encoding}: ${t.label} — measured ${fmt(t.value)}`);
  }
  for (const s of results.servers.filter((s) => s.status !== 'measured')) out.push(`note: ${s.id} ${s.status}: ${s.reason ?? ''}`);
  for (const n of results.notes) out.push(`note: ${n}`);
  return out.join('\n') + '\n';
}
