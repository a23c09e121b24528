/**
 * X clipboard both ways on a real Xvfb, with xclip as the other X client.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../core/log.js';
import { isVncError } from '../../core/errors.js';
import { openX11, type X11Connection } from '../../core/x11-connection.js';
import { X11Clipboard } from '../../input/x11-clipboard.js';
import { missingCommands, runCommand, sleep, suiteScope, waitFor } from '../helpers/processes.js';
import { startXvfb, xclipRead, xclipWrite, xEnv, type XvfbHandle } from '../helpers/x-env.js';

const missing = missingCommands(['Xvfb', 'xclip']);

describe.skipIf(missing.length > 0)('X11Clipboard on Xvfb', () => {
  const scope = suiteScope();
  let xvfb: XvfbHandle;
  let conn: X11Connection;
  let clip: X11Clipboard;
  const changes: string[] = [];

  const xclipTarget = (selection: string, target: string) =>
    runCommand('xclip', ['-o', '-selection', selection, '-target', target], { timeoutMs: 10_000, env: xEnv(xvfb.display) });

  beforeAll(async () => {
    xvfb = await startXvfb({ width: 640, height: 480, scope });
    conn = await openX11({ display: xvfb.display });
    scope.defer('close X connection', () => conn.close());
    clip = await X11Clipboard.open({ conn, onChange: (t) => changes.push(t) });
    scope.defer('close clipboard', () => clip.close());
  }, 30_000);

  it('serves setText() as CLIPBOARD and PRIMARY in UTF8_STRING, STRING and TEXT', async () => {
    clip.setText('héllo ✓');
    await conn.sync();
    expect(await xclipRead(xvfb.display, 'clipboard')).toBe('héllo ✓');
    expect(await xclipRead(xvfb.display, 'primary')).toBe('héllo ✓');
    const latin1 = await xclipTarget('clipboard', 'STRING');
    expect(latin1.code).toBe(0);
    expect(latin1.stdout).toEqual(Buffer.from('h\xe9llo ?', 'latin1'));
    expect((await xclipTarget('clipboard', 'TEXT')).stdout.toString('utf8')).toBe('héllo ✓');
    const targets = (await xclipTarget('clipboard', 'TARGETS')).stdout.toString('utf8').split('\n');
    expect(targets).toEqual(expect.arrayContaining(['TARGETS', 'UTF8_STRING', 'STRING', 'TEXT']));
  });

  it('refuses targets it does not offer', async () => {
    const r = await xclipTarget('clipboard', 'image/png');
    expect(r.code).not.toBe(0);
    expect(r.stdout.length).toBe(0);
  });

  it('does not report its own setText() back through onChange', async () => {
    const before = changes.length;
    clip.setText('mine');
    await conn.sync();
    await sleep(200);
    expect(changes.length).toBe(before);
  });

  it('reports text another client puts on CLIPBOARD', async () => {
    const owner = await xclipWrite(xvfb.display, 'clipboard', 'foo', { scope });
    await waitFor(() => changes.includes('foo'), { timeoutMs: 5_000, what: "onChange('foo')" });
    await owner.close();
  });

  it('serves and reads payloads larger than one X request (INCR both ways)', async () => {
    const big = 'αβγ-0123456789\n'.repeat(40_000); // ≈ 720 KB of UTF-8
    clip.setText(big);
    await conn.sync();
    const r = await runCommand('xclip', ['-o', '-selection', 'clipboard'], { timeoutMs: 20_000, env: xEnv(xvfb.display) });
    expect(r.stdout.toString('utf8') === big).toBe(true);

    const other = 'ünïcode-line\n'.repeat(50_000);
    const owner = await xclipWrite(xvfb.display, 'clipboard', other, { scope, timeoutMs: 20_000 });
    await waitFor(() => changes.includes(other), { timeoutMs: 10_000, what: 'the large clipboard text' });
    await owner.close();
  });

  it('bounds sizes: refuses to set or read text above maxBytes', async () => {
    const lines: string[] = [];
    const got: string[] = [];
    const small = await X11Clipboard.open({
      conn,
      maxBytes: 1000,
      onChange: (t) => got.push(t),
      log: createLogger({ level: 'warn', write: (l) => lines.push(l) }),
    });
    try {
      expect(() => small.setText('x'.repeat(1001))).toThrowError(expect.objectContaining({ code: 'VNC_ERR_TOO_LARGE' }));
      let thrown: unknown;
      try {
        small.setText('y'.repeat(2000));
      } catch (e) {
        thrown = e;
      }
      expect(isVncError(thrown, 'VNC_ERR_TOO_LARGE')).toBe(true);
      const owner = await xclipWrite(xvfb.display, 'clipboard', 'z'.repeat(5000), { scope });
      await waitFor(() => lines.some((l) => l.includes('cannot read the X clipboard') && l.includes('limit')), {
        timeoutMs: 5_000,
        what: 'a size-limit warning',
      });
      expect(got).toEqual([]);
      await owner.close();
    } finally {
      await small.close();
    }
  });
});
