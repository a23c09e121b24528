import { describe, it, expect } from 'vitest';
import zlib from 'node:zlib';
import { ZlibStream } from '../../server/encoding/zlib-stream.js';

/** Inflates the concatenation of sync-flushed parts, as one client stream. */
function inflateParts(parts: Buffer[]): Buffer {
  return zlib.inflateSync(Buffer.concat(parts), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
}

describe('ZlibStream', () => {
  it('applies level changes in call order under pipelining (stored blocks at level 0)', async () => {
    const s = new ZlibStream(6);
    const data = Buffer.alloc(20000, 'abcabcabc');
    const levels = [6, 0, 0, 9, 1, 0, 6, 0];
    const outs = await Promise.all(levels.map((l) => s.compress(data, l)));
    levels.forEach((l, i) => {
      if (l === 0) expect(outs[i]!.length, `call ${i} at level 0`).toBeGreaterThanOrEqual(data.length);
      else expect(outs[i]!.length, `call ${i} at level ${l}`).toBeLessThan(data.length / 10);
    });
    expect(inflateParts(outs).equals(Buffer.concat(levels.map(() => data)))).toBe(true);
    s.dispose();
  });

  it('survives 300 pipelined calls with random level changes, output inflates in order', async () => {
    const s = new ZlibStream(1);
    const inputs: Buffer[] = [];
    const pending: Promise<Buffer>[] = [];
    let seed = 3;
    for (let i = 0; i < 300; i++) {
      seed = (Math.imul(seed, 1103515245) + 12345) >>> 0;
      const b = Buffer.alloc(500 + (seed % 5000), String(i));
      inputs.push(b);
      pending.push(s.compress(b, seed % 7 === 0 ? seed % 10 : 3));
    }
    const outs = await Promise.all(pending);
    // Each part ends on a sync flush: inflating the prefix up to part k yields inputs 0..k.
    const inf = zlib.createInflate();
    let got = Buffer.alloc(0);
    for (let k = 0; k < outs.length; k++) {
      got = Buffer.concat([got, await new Promise<Buffer>((resolve) => {
        const chunks: Buffer[] = [];
        const on = (c: Buffer) => chunks.push(c);
        inf.on('data', on);
        inf.write(outs[k]!);
        inf.flush(zlib.constants.Z_SYNC_FLUSH, () => { inf.off('data', on); resolve(Buffer.concat(chunks)); });
      })]);
      expect(got.length).toBe(inputs.slice(0, k + 1).reduce((a, b) => a + b.length, 0));
    }
    expect(got.equals(Buffer.concat(inputs))).toBe(true);
    inf.close();
    s.dispose();
  });

  it('after a lazy level, a fast level (1–3) is applied as 4; a fresh stream keeps level 1', async () => {
    let seed = 9;
    const noisy = Buffer.alloc(60000);
    for (let i = 0; i < noisy.length; i++) noisy[i] = ((i % 1920) >> 3) + (((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) >>> 29));
    const text = Buffer.alloc(30000, 'glyph row, glyph row; ');
    const after = async (first: number, second: number) => {
      const s = new ZlibStream(1);
      await s.compress(text, first);
      const out = await s.compress(noisy, second);
      s.dispose();
      return out;
    };
    expect((await after(6, 1)).equals(await after(6, 4))).toBe(true);
    expect((await after(6, 3)).equals(await after(6, 4))).toBe(true);
    expect((await after(1, 1)).equals(await after(1, 4))).toBe(false);
    expect((await after(6, 0)).length, 'level 0 stays stored').toBeGreaterThanOrEqual(noisy.length);
  });

  it('rejects pending calls on dispose', async () => {
    const s = new ZlibStream(6);
    const p = s.compress(Buffer.alloc(100000, 1), 9);
    s.dispose();
    await expect(p).rejects.toMatchObject({ code: 'VNC_ERR_CLOSED' });
  });
});

describe('ZlibStream dispose', () => {
  it('can be disposed with flushes and a level change in flight, without native errors', async () => {
    for (let i = 0; i < 20; i++) {
      const s = new ZlibStream(1);
      const ps = [s.compress(Buffer.alloc(50000, i), 1), s.compress(Buffer.alloc(50000, i + 1), 8), s.compress(Buffer.alloc(10, 2), 2)];
      if (i % 2) await new Promise((r) => setImmediate(r));
      s.dispose();
      const settled = await Promise.allSettled(ps);
      for (const r of settled) if (r.status === 'rejected') expect(r.reason).toMatchObject({ code: 'VNC_ERR_CLOSED' });
    }
    // Give late native callbacks a chance to surface as unhandled errors in this test.
    await new Promise((r) => setTimeout(r, 50));
  });
});
