/**
 * `npm run bench -- --short` end to end, so the benchmark cannot rot: it must run on a real
 * Xvfb, measure every metric, write JSON + SVG, and stop everything it started — also when
 * interrupted with Ctrl-C. Needs a build (`npm test` builds first).
 */
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { missingCommands, runCommand, testScope, waitFor } from '../helpers/processes.js';

const RUN_JS = join(import.meta.dirname, '../../dist/bench/run.js');
const missing = missingCommands(['Xvfb', 'xterm', 'xdotool']);

/** Metrics every run must have (vnc-runner end to end, capture, encoders). */
const IN_PROCESS = [
  'capture.grab.shm', 'capture.grab.getimage', 'capture.diff.none', 'capture.diff.10pct', 'capture.poll.idle',
  ...['raw', 'zlib', 'zrle', 'hextile', 'tight', 'tight-jpeg6', 'tightpng'].flatMap((k) => [`encode.${k}.ms`, `encode.${k}.bytes`]),
];
const END_TO_END = ['connect.serverinit', 'connect.firstframe.raw', 'connect.firstframe.zlib', 'connect.firstframe.tight', 'input.key-to-echo'];

interface Summary { n: number; min: number; p50: number; p95: number; max: number; mean: number }
interface Metric { id: string; server?: string; unit: string; summary: Summary; target?: { met: boolean } }
interface Results { schema: string; mode: string; metrics: Metric[]; servers: { id: string; status: string; reason?: string }[] }

describe.skipIf(missing.length > 0)('npm run bench -- --short', () => {
  const dir = mkdtempSync(join(tmpdir(), 'bench-short-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('measures every metric and writes JSON and SVG', async () => {
    expect(existsSync(RUN_JS), `${RUN_JS} missing: run npm run build first`).toBe(true);
    const json = join(dir, 'short.json');
    const r = await runCommand(process.execPath, [RUN_JS, '--short', '--json', json], { timeoutMs: 150_000 });
    const stdout = r.stdout.toString('utf8');
    expect(r.code, `bench failed:\n${r.stderr.slice(-3000)}`).toBe(0);
    expect(r.stderr).not.toMatch(/cleanup:/);
    expect(stdout).toContain('End to end over loopback');

    const results = JSON.parse(readFileSync(json, 'utf8')) as Results;
    expect(results.schema).toBe('vnc-runner-bench/1');
    expect(results.mode).toBe('short');
    const ids = new Set(results.metrics.map((m) => `${m.id}@${m.server ?? ''}`));
    for (const id of IN_PROCESS) expect(ids, id).toContain(`${id}@`);
    for (const id of END_TO_END) expect(ids, id).toContain(`${id}@vnc-runner`);
    // Third-party servers: either measured completely or skipped/failed with a reason.
    for (const s of results.servers.filter((x) => x.id !== 'vnc-runner')) {
      if (s.status === 'measured') for (const id of END_TO_END) expect(ids, `${id}@${s.id}`).toContain(`${id}@${s.id}`);
      else expect(s.reason).toBeTruthy();
    }
    for (const m of results.metrics) {
      // An event-loop lag sample may be exactly 0 (the timer ran on time); everything else is > 0.
      const zeroOk = m.id.startsWith('loop.');
      for (const [k, v] of Object.entries(m.summary)) {
        expect(Number.isFinite(v) && (v > 0 || (zeroOk && v === 0)), `${m.id}@${m.server ?? ''} ${k} = ${v}`).toBe(true);
      }
    }
    expect(ids.has('loop.lag-under-load@vnc-runner')).toBe(true);
    expect(ids.has('input.key-to-echo-under-load@vnc-runner')).toBe(true);
    const svg = readFileSync(join(dir, 'short.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('connect → ServerInit');
  }, 180_000);

  it('stops Xvfb and everything else when interrupted', async () => {
    const scope = testScope();
    const proc = scope.spawn(process.execPath, [RUN_JS, '--short', '--json', join(dir, 'interrupted.json')]);
    const m = await proc.waitForOutput(/scene on :(\d+)/, 60_000);
    const socket = `/tmp/.X11-unix/X${m[1]}`;
    expect(existsSync(socket)).toBe(true);
    await proc.waitForOutput(/capture:/, 60_000);
    proc.child.kill('SIGINT');
    const exit = await Promise.race([proc.exited, new Promise<null>((r) => setTimeout(() => r(null), 30_000))]);
    expect(exit, 'bench did not exit within 30 s of SIGINT').not.toBeNull();
    expect(exit!.code).toBe(130);
    await waitFor(() => !existsSync(socket), { timeoutMs: 5_000, what: `${socket} to disappear` });
    expect(existsSync(join(dir, 'interrupted.json'))).toBe(false);
  }, 120_000);
});
