/**
 * The scene benchmark (`node dist/bench/scene-bench.js --short`) end to end on a real Xvfb, so
 * it cannot rot: every scene × encoding cell must come back with finite figures — bytes,
 * updates and CPU positive — the typing scene with key-echo latencies, and the JSON, the table
 * and the SVG chart must be written. Needs a build (`npm test` builds first). Peers are not run
 * (CI does not install them); the full run with peers is `node dist/bench/scene-bench.js`.
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missingCommands, runCommand } from '../helpers/processes.js';

const ENTRY = join(import.meta.dirname, '../../dist/bench/scene-bench.js');
const missing = missingCommands(['Xvfb', 'xterm', 'xdotool']);
const SCENES = ['idle', 'terminal', 'typing', 'window-drag', 'slideshow', 'video', 'web-scroll'];
const ENCODINGS = ['tight', 'tight-jpeg6'];

interface Cell {
  scene: string;
  server: string;
  encoding: string;
  [k: string]: unknown;
  latencyMs?: { n: number; p50: number; p95: number };
  targets: { id: string; met: boolean }[];
}

describe.skipIf(missing.length > 0)('scene benchmark --short', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-scenes-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('measures every scene × encoding and writes JSON, table and SVG', async () => {
    expect(existsSync(ENTRY), `${ENTRY} missing: run npm run build first`).toBe(true);
    const json = join(dir, 'scenes.json');
    const r = await runCommand(process.execPath, [ENTRY, '--short', '--json', json], { timeoutMs: 150_000 });
    expect(r.code, `scene bench failed:\n${r.stderr.slice(-3000)}`).toBe(0);
    expect(r.stderr).not.toMatch(/cleanup:|failed/);
    const stdout = r.stdout.toString('utf8');
    expect(stdout).toContain('Scene bandwidth (short mode');
    expect(stdout).toMatch(/Targets: \d+ of \d+ met\./);

    const results = JSON.parse(readFileSync(json, 'utf8')) as { schema: string; mode: string; cells: Cell[] };
    expect(results.schema).toBe('vnc-runner-scene-bench/1');
    expect(results.mode).toBe('short');
    const got = results.cells.map((c) => `${c.scene}/${c.server}/${c.encoding}`).sort();
    expect(got).toEqual(SCENES.flatMap((s) => ENCODINGS.map((e) => `${s}/vnc-runner/${e}`)).sort());
    for (const c of results.cells) {
      const tag = `${c.scene}/${c.encoding}`;
      for (const k of ['seconds', 'updates', 'bytes', 'bytesPerSecond', 'bytesPerUpdate', 'ratioToRaw', 'updatesPerSecond', 'cpuPercent', 'cpuMsPerUpdate']) {
        const v = c[k] as number;
        expect(Number.isFinite(v) && v > 0, `${tag} ${k} = ${v}`).toBe(true);
      }
      expect(c.ratioToRaw as number, `${tag} ratio to Raw`).toBeLessThanOrEqual(1.05);
      if (c.scene === 'typing') {
        expect(c.latencyMs, `${tag} latency`).toBeDefined();
        expect(c.latencyMs!.n).toBeGreaterThan(10);
        expect(Number.isFinite(c.latencyMs!.p95) && c.latencyMs!.p95 >= c.latencyMs!.p50 && c.latencyMs!.p50 > 0).toBe(true);
        expect(c.targets.map((t) => t.id)).toEqual(expect.arrayContaining(['latency.p50', 'latency.p95']));
      } else {
        expect(c.latencyMs).toBeUndefined();
      }
      // Lossy cells were decoded and compared with the screen once settled: our server
      // refreshes JPEG areas losslessly, so the viewer ends up with the exact screen.
      const q = c.settledQuality as { identical: boolean; differingPixels: number } | undefined;
      if (c.lossy) expect(q, `${tag} settled quality`).toMatchObject({ identical: true, differingPixels: 0 });
      else expect(q).toBeUndefined();
    }
    // Scene motion really reached the server: the moving scenes send far more than idle.
    const bps = (scene: string): number => results.cells.find((c) => c.scene === scene && c.encoding === 'tight')!.bytesPerSecond as number;
    expect(bps('video')).toBeGreaterThan(100 * bps('idle'));
    const svg = readFileSync(join(dir, 'scenes.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('web-scroll');
  }, 180_000);
});
