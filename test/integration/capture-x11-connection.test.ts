/**
 * core/x11-connection.ts against a real Xvfb: errors are VncErrors with the right codes, every
 * wait is bounded even when the server stops answering, and the end of the connection is
 * reported once.
 */
import { existsSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { openX11 } from '../../core/x11-connection.js';
import { ErrorCode, isVncError, type VncError } from '../../core/errors.js';
import { startXvfb } from '../helpers/x-env.js';
import { waitFor } from '../helpers/processes.js';

describe('openX11', () => {
  it('connects, answers requests, routes X errors to the request, closes once', async () => {
    const xvfb = await startXvfb({ width: 320, height: 200 });
    try {
      const conn = await openX11({ display: xvfb.display });
      expect([conn.width, conn.height, conn.depth]).toEqual([320, 200, 24]);
      const geom = await conn.request<{ width: number }>((cb) => conn.X.GetGeometry(conn.root, cb), { what: 'GetGeometry' });
      expect(geom.width).toBe(320);
      // BadWindow goes to the caller, not to onError.
      const unclaimed: VncError[] = [];
      conn.onError((e) => unclaimed.push(e));
      const bad: Error = await conn.request((cb) => conn.X.GetGeometry(0x1234567, cb), { what: 'GetGeometry(bogus)' }).then(
        () => new Error('resolved'),
        (e: Error) => e,
      );
      expect(isVncError(bad, ErrorCode.Desktop)).toBe(true);
      expect(String(bad.message)).toMatch(/GetGeometry\(bogus\).*code 9/);
      // Without a callback the same error is unclaimed and surfaces through onError.
      conn.X.MapWindow(0x1234567);
      await conn.sync();
      await waitFor(() => unclaimed.length > 0, { timeoutMs: 2000, what: 'the unclaimed BadWindow' });
      expect(unclaimed[0]!.code).toBe(ErrorCode.Desktop);

      const damage = await conn.require('damage');
      expect(await conn.require('damage')).toBe(damage);
      await expect(conn.require('no-such-extension')).rejects.toSatisfy((e) => isVncError(e, ErrorCode.Desktop));

      const ends: Array<VncError | null> = [];
      conn.onClose((e) => ends.push(e));
      await conn.close();
      await conn.close();
      expect(ends).toEqual([null]);
      expect(conn.closed).toBe(true);
      await expect(conn.sync()).rejects.toSatisfy((e) => isVncError(e, ErrorCode.Desktop));
    } finally {
      await xvfb.close();
    }
  });

  it('fails fast with VNC_ERR_DESKTOP on a display nobody serves, VNC_ERR_CONFIG without one', async () => {
    // A display number without a socket: unix ENOENT, then the TCP fallback is refused.
    let n = 5000;
    while (existsSync(`/tmp/.X11-unix/X${n}`)) n++;
    const t0 = Date.now();
    const err = await openX11({ display: `:${n}`, timeoutMs: 5000 }).catch((e) => e);
    expect(isVncError(err, ErrorCode.Desktop)).toBe(true);
    expect(Date.now() - t0).toBeLessThan(4000);
    // Out of TCP range: refused up front instead of crashing inside the x11 package.
    const far = await openX11({ display: ':65000', timeoutMs: 5000 }).catch((e) => e);
    expect(isVncError(far, ErrorCode.Desktop)).toBe(true);
    const saved = process.env.DISPLAY;
    delete process.env.DISPLAY;
    try {
      await expect(openX11({})).rejects.toSatisfy((e) => isVncError(e, ErrorCode.Config));
    } finally {
      if (saved !== undefined) process.env.DISPLAY = saved;
    }
  });

  it('bounds requests and close() when the server stops answering, and reports its death', async () => {
    const xvfb = await startXvfb({ width: 320, height: 200 });
    try {
      const conn = await openX11({ display: xvfb.display, requestTimeoutMs: 300 });
      const other = await openX11({ display: xvfb.display });
      const ends: Array<VncError | null> = [];
      conn.onClose((e) => ends.push(e));
      process.kill(xvfb.process.pid, 'SIGSTOP');
      try {
        const c0 = Date.now();
        await other.close(); // the polite round trip cannot finish: bounded, then destroyed
        expect(Date.now() - c0).toBeLessThan(2500);
        expect(other.closed).toBe(true);
        const t0 = Date.now();
        await expect(conn.sync()).rejects.toSatisfy((e) => isVncError(e, ErrorCode.Timeout));
        expect(Date.now() - t0).toBeLessThan(2000);
        // Opening against a stopped server times out too (the socket accepts, setup never ends).
        await expect(openX11({ display: xvfb.display, timeoutMs: 300 })).rejects.toSatisfy((e) => isVncError(e, ErrorCode.Timeout));
      } finally {
        process.kill(xvfb.process.pid, 'SIGCONT');
      }
      await conn.sync();
      const pending = conn.request((cb) => conn.X.GetInputFocus(cb), { timeoutMs: 10_000 });
      process.kill(xvfb.process.pid, 'SIGKILL');
      // Either the reply made it out before the kill, or the loss rejects it at once.
      await pending.catch((e) => expect(isVncError(e, ErrorCode.Desktop)).toBe(true));
      await waitFor(() => ends.length > 0, { timeoutMs: 5000, what: 'the close callback' });
      expect(isVncError(ends[0], ErrorCode.Desktop)).toBe(true);
      await conn.close(); // still resolves
    } finally {
      await xvfb.close();
    }
  });
});
