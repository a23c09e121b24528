/**
 * The private Xvfb launcher against the real Xvfb: display chosen by -displayfd, cookie auth
 * enforced, --run program started with DISPLAY/XAUTHORITY, close() leaves no process behind,
 * crash reporting, and the missing-binary message.
 */
import { execFile } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { acquireDisplay } from '../../cli/display.js';
import { probeXDisplay } from '../../cli/x-display-probe.js';
import { type ProcessExit, startXvfb } from '../../cli/xvfb.js';
import { silentLogger } from '../../core/log.js';

const run = promisify(execFile);
const work = await mkdtemp(join(tmpdir(), 'cli-xvfb-test-'));
afterAll(() => rm(work, { recursive: true, force: true }));

/** Alive and not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('private Xvfb', () => {
  it('starts, enforces its cookie, runs --run, and close() leaves nothing behind', async () => {
    const out = join(work, 'run.txt');
    const xvfb = await startXvfb({
      width: 640,
      height: 480,
      logger: silentLogger,
      run: `echo "$DISPLAY $XAUTHORITY" > ${out}; sleep 1000 & echo $! >> ${out}; wait`,
    });
    try {
      expect(xvfb.display).toMatch(/^:\d+$/);
      const info = await run('xdpyinfo', ['-display', xvfb.display], { env: { ...process.env, XAUTHORITY: xvfb.xauthorityPath }, timeout: 10_000 });
      expect(info.stdout).toMatch(/dimensions:\s+640x480 pixels/);
      expect(info.stdout).toMatch(/depth of root window:\s+24 planes/);

      // Without the cookie the server refuses the client.
      const denied = await run('xdpyinfo', ['-display', xvfb.display], { env: { ...process.env, XAUTHORITY: '/dev/null' }, timeout: 10_000 }).then(
        () => 'connected',
        (err: { stderr?: string }) => err.stderr ?? 'failed',
      );
      expect(denied).toMatch(/unable to open display|Authorization required/i);
      // ...and TCP is off
      expect(await probeXDisplay(`127.0.0.1${xvfb.display}`, 1000)).toBe(false);

      const lines = await waitFor('the --run output', async () => {
        const text = existsSync(out) ? await readFile(out, 'utf8') : '';
        const l = text.trim().split('\n');
        return l.length >= 2 ? l : undefined;
      });
      expect(lines[0]).toBe(`${xvfb.display} ${xvfb.xauthorityPath}`);
      const sleepPid = Number(lines[1]);
      expect(alive(sleepPid)).toBe(true);
      expect(xvfb.xAuth()).toMatchObject({ name: 'MIT-MAGIC-COOKIE-1' });
      expect(xvfb.xAuth().data).toHaveLength(16);

      const t0 = Date.now();
      await xvfb.close();
      expect(Date.now() - t0).toBeLessThan(8000);
      expect(alive(xvfb.xvfbPid)).toBe(false);
      expect(alive(xvfb.programPid!)).toBe(false);
      // the program's own child, started by `sh -c`, is gone too
      await waitFor('sleep to be reaped', () => (alive(sleepPid) ? undefined : true), 3000);
      expect(existsSync(dirname(xvfb.xauthorityPath))).toBe(false);
      expect(await probeXDisplay(xvfb.display, 500)).toBe(false);
      await xvfb.close(); // idempotent
    } finally {
      await xvfb.close();
    }
  });

  it('reports a crash of Xvfb through the callback', async () => {
    let crash: (ProcessExit & { stderrTail: string }) | undefined;
    const xvfb = await startXvfb({ width: 320, height: 200, logger: silentLogger, onXvfbExit: (e) => (crash = e) });
    try {
      process.kill(xvfb.xvfbPid, 'SIGKILL');
      const c = await waitFor('the crash callback', () => crash);
      expect(c.signal).toBe('SIGKILL');
    } finally {
      await xvfb.close();
    }
  });

  it('reports an exiting --run program and does not report close() as a crash', async () => {
    let programExit: ProcessExit | undefined;
    let crashed = false;
    const xvfb = await startXvfb({
      width: 320, height: 200, logger: silentLogger, run: 'exit 3',
      onProgramExit: (e) => (programExit = e),
      onXvfbExit: () => (crashed = true),
    });
    try {
      expect((await waitFor('program exit', () => programExit)).code).toBe(3);
    } finally {
      await xvfb.close();
    }
    expect(crashed).toBe(false);
  });

  it('tells the user how to install Xvfb when it is missing', async () => {
    const before = new Set((await run('ls', [tmpdir()])).stdout.split('\n').filter((n) => n.startsWith('vnc-runner-xvfb-')));
    await expect(startXvfb({ width: 320, height: 200, logger: silentLogger, xvfbPath: '/nonexistent/Xvfb' })).rejects.toThrow(
      /scripts\/install-deps\.sh --runtime/,
    );
    const after = (await run('ls', [tmpdir()])).stdout.split('\n').filter((n) => n.startsWith('vnc-runner-xvfb-'));
    expect(after.filter((n) => !before.has(n))).toEqual([]);
  });

  it('acquireDisplay falls back to a private Xvfb when DISPLAY does not answer, and refuses a dead --display', async () => {
    const d = await acquireDisplay({ choice: { kind: 'env', name: ':65001' }, width: 320, height: 200, logger: silentLogger });
    try {
      expect(d.xvfb).toBeDefined();
      expect(await probeXDisplay(d.display)).toBe(true);
      // an answering DISPLAY is used as it is
      const same = await acquireDisplay({ choice: { kind: 'env', name: d.display }, width: 320, height: 200, logger: silentLogger });
      expect(same.display).toBe(d.display);
      expect(same.xvfb).toBeUndefined();
    } finally {
      await d.close();
    }
    await expect(
      acquireDisplay({ choice: { kind: 'explicit', name: ':65001' }, width: 320, height: 200, logger: silentLogger }),
    ).rejects.toThrow(/does not answer/);
  });
});
