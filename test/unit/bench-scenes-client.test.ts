/**
 * The scene benchmark's client counts bytes per update and frames Hextile, which the issue-2
 * framing does not. Checked against our own Hextile encoder (every rectangle consumed exactly,
 * whatever the TCP splits) and against a scripted RFB server on loopback (the handshake, the
 * per-update and per-rectangle byte counts, and the key events the client sends).
 */
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { afterEach, describe, expect, it } from 'vitest';
import { createPixelBuffer } from '../../core/pixel-buffer.js';
import { EncodeManager } from '../../server/encoding/encode-manager.js';
import { Encoding } from '../../server/encoding/encodings.js';
import { NATIVE_PIXEL_FORMAT, PixelConverter } from '../../server/pixel-format.js';
import { ByteReader } from '../../bench/lib/byte-reader.js';
import { skipHextile } from '../../bench/scenes/hextile-framing.js';
import { SceneClient } from '../../bench/scenes/scene-client.js';
import { photoImage } from '../../bench/scenes/photo.js';

async function hextileFrame(w: number, h: number): Promise<{ bytes: Buffer; count: number }> {
  const fb = createPixelBuffer(w, h);
  // Left half photo-like (raw tiles), right half flat with strokes (subrectangles).
  const photo = photoImage(w, h, 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      fb.pixels[y * w + x] = x < w / 2 ? photo.readUInt32LE((y * w + x) * 4) : x % 5 === 0 || y % 7 === 0 ? 0x202020 : 0xf0f0f0;
    }
  }
  const m = new EncodeManager();
  m.setEncodings([Encoding.Hextile]);
  try {
    const out = await m.encodeRegion(fb, [{ x: 0, y: 0, w, h }], { converter: new PixelConverter(NATIVE_PIXEL_FORMAT) });
    return { bytes: Buffer.concat(out.chunks), count: out.count };
  } finally {
    m.dispose();
  }
}

describe('Hextile framing', () => {
  it('consumes every rectangle of our Hextile encoder exactly, in random splits', async () => {
    const { bytes, count } = await hextileFrame(203, 77); // partial tiles at the right and bottom
    const stream = new PassThrough();
    const reader = new ByteReader(stream);
    let seed = 11;
    const feed = (async () => {
      for (let off = 0; off < bytes.length; ) {
        seed = (seed * 48271) % 2147483647;
        const n = Math.min(bytes.length - off, 1 + (seed % 700));
        stream.write(bytes.subarray(off, off + n));
        off += n;
        await new Promise((r) => setImmediate(r));
      }
    })();
    const deadline = performance.now() + 10_000;
    let hextile = 0;
    for (let i = 0; i < count; i++) {
      const h = await reader.read(12, deadline);
      const enc = h.readInt32BE(8);
      if (enc === Encoding.Hextile) {
        hextile++;
        await skipHextile(reader, h.readUInt16BE(4), h.readUInt16BE(6), 4, deadline);
      } else {
        // Only Raw may be mixed in (every client accepts it).
        expect(enc).toBe(Encoding.Raw);
        await reader.skip(h.readUInt16BE(4) * h.readUInt16BE(6) * 4, deadline);
      }
    }
    await feed;
    expect(hextile).toBeGreaterThan(0);
    expect(reader.available).toBe(0);
    expect(reader.received).toBe(bytes.length);
  });
});

describe('SceneClient against a scripted server', () => {
  let server: net.Server | null = null;
  afterEach(() => {
    server?.close();
    server = null;
  });

  it('completes the handshake, counts bytes per update and per rectangle, sends keys, skips other messages', async () => {
    const received: Buffer[] = [];
    const update = Buffer.concat([
      Buffer.from([0, 0, 0, 3]), // FramebufferUpdate, 3 rectangles
      // Raw 2×2 at (0,0): 16 bytes of pixels.
      Buffer.from([0, 0, 0, 0, 0, 2, 0, 2, 0, 0, 0, 0]), Buffer.alloc(16, 7),
      // CopyRect 4×4 at (2,2) from (0,0).
      Buffer.from([0, 2, 0, 2, 0, 4, 0, 4, 0, 0, 0, 1, 0, 0, 0, 0]),
      // Hextile 16×16 at (0,0): one tile, background specified (1 + 4 bytes).
      Buffer.from([0, 0, 0, 0, 0, 16, 0, 16, 0, 0, 0, 5, 2, 1, 2, 3, 4]),
    ]);
    const cutText = Buffer.concat([Buffer.from([3, 0, 0, 0, 0, 0, 0, 5]), Buffer.from('hello')]);
    server = net.createServer((s) => {
      s.write('RFB 003.008\n');
      let stage = 0;
      s.on('data', (d) => {
        received.push(d);
        const all = Buffer.concat(received);
        if (stage === 0 && all.length >= 12) {
          stage = 1;
          s.write(Buffer.from([1, 1])); // one security type: None
        } else if (stage === 1 && all.length >= 13) {
          stage = 2;
          s.write(Buffer.alloc(4)); // SecurityResult OK
        } else if (stage === 2 && all.length >= 14) {
          stage = 3;
          const init = Buffer.alloc(24 + 4);
          init.writeUInt16BE(64, 0);
          init.writeUInt16BE(48, 2);
          Buffer.from([32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0]).copy(init, 4);
          init.writeUInt32BE(4, 20);
          init.write('test', 24);
          s.write(init);
        } else if (stage === 3 && all.length >= 14 + 10) {
          stage = 4;
          // Split the update to exercise resumable reads.
          s.write(update.subarray(0, 7));
          setTimeout(() => s.write(update.subarray(7)), 5);
        } else if (stage === 4 && all.length >= 14 + 10 + 16) {
          // After the keys: the selection changed (x11vnc sends it), and the screen did not.
          stage = 5;
          s.write(cutText);
        } else if (stage === 5 && all.length >= 14 + 10 + 16 + 10) {
          stage = 6;
          s.write(Buffer.concat([Buffer.from([2]), update])); // a Bell, then the update
        }
      });
    });
    await new Promise<void>((r) => server!.listen(0, '127.0.0.1', r));
    const port = (server.address() as net.AddressInfo).port;
    const client = await SceneClient.connect({ host: '127.0.0.1', port, timeoutMs: 5000 });
    try {
      expect([client.width, client.height]).toEqual([64, 48]);
      client.requestUpdate(false);
      const u = await client.readUpdate(5000);
      expect(u.bytes).toBe(update.length);
      expect(u.rects.map((r) => [r.encoding, r.bytes])).toEqual([[0, 28], [1, 16], [5, 17]]);
      expect(u.pixelArea).toBe(4 + 16 + 256);
      expect(u.completedAt).toBeGreaterThanOrEqual(u.startedAt);
      client.tap(0x61);
      await new Promise((r) => setTimeout(r, 50));
      const sent = Buffer.concat(received);
      const keys = sent.subarray(sent.length - 16);
      expect([...keys]).toEqual([4, 1, 0, 0, 0, 0, 0, 0x61, 4, 0, 0, 0, 0, 0, 0, 0x61]);
      // A message that is not an update does not end the wait for one: nothing more is
      // coming, and the bounded wait says so instead of reading on for an update.
      const t0 = performance.now();
      expect(await client.nextUpdate(300, 5000)).toBeNull();
      expect(performance.now() - t0).toBeLessThan(2000);
      // Skipped messages count in the bytes of the update that follows them.
      client.requestUpdate(true);
      const next = await client.nextUpdate(2000, 5000);
      expect(next?.bytes).toBe(1 + update.length);
      expect(next?.rects).toHaveLength(3);
    } finally {
      client.close();
    }
  });
});
