import { afterEach, describe, expect, it } from 'vitest';
import net from 'node:net';
import { VncServer } from '../../server/vnc-server.js';
import { refreshQuietMs } from '../../server/update-sender.js';
import { listenTcp, type TcpListener } from '../../server/listeners/tcp-listener.js';
import { SyntheticDesktop } from '../helpers/synthetic-desktop.js';
import { RfbClient } from '../helpers/rfb-client.js';

interface Rig { server: VncServer; listener: TcpListener; desktop: SyntheticDesktop; port: number }
const rigs: Rig[] = [];
const clients: RfbClient[] = [];

async function rig(opts: ConstructorParameters<typeof VncServer>[1] = {}, size: [number, number] = [64, 48], reportsChanges = false): Promise<Rig> {
  const desktop = new SyntheticDesktop(size[0], size[1], reportsChanges);
  const server = new VncServer(desktop, { authFailureDelayMs: 0, ...opts });
  await server.ensureDesktop();
  const listener = await listenTcp({ host: '127.0.0.1', port: 0, onConnection: (s, i) => server.handleConnection(s, i) });
  const r = { server, listener, desktop, port: listener.address.port };
  rigs.push(r);
  return r;
}

async function client(port: number, extra: Partial<ConstructorParameters<typeof RfbClient>[0]> = {}): Promise<RfbClient> {
  const c = new RfbClient({ port, timeoutMs: 3000, ...extra });
  clients.push(c);
  return c.connect();
}

afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const r of rigs.splice(0)) {
    await r.server.close();
    await r.listener.close();
  }
});

function expectedFb(d: SyntheticDesktop): Buffer {
  return Buffer.from(d.framebuffer.data.subarray(0, d.framebuffer.width * d.framebuffer.height * 4));
}

const waitFor = async (cond: () => boolean, ms = 2000) => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not met in time');
    await new Promise((r) => setTimeout(r, 5));
  }
};

describe('VncServer sessions (synthetic desktop)', () => {
  it('answers a non-incremental request with one update covering the whole screen, starting at (0,0)', async () => {
    const r = await rig();
    const c = await client(r.port);
    expect([c.width, c.height]).toEqual([64, 48]);
    expect(c.serverFormat).toMatchObject({ bitsPerPixel: 32, depth: 24, bigEndian: false, trueColour: true, redShift: 16, greenShift: 8, blueShift: 0 });
    c.setEncodings([0]);
    c.requestUpdate(false);
    const u = await c.readUpdate();
    expect(u.rects[0]).toMatchObject({ x: 0, y: 0 });
    expect(u.rects.reduce((a, q) => a + q.w * q.h, 0)).toBe(64 * 48);
    expect(c.fb.equals(expectedFb(r.desktop))).toBe(true);
  });

  it('holds an incremental request until something changes, then sends only the change (zlib)', async () => {
    const r = await rig();
    const c = await client(r.port);
    c.setEncodings([6]);
    c.requestUpdate(false);
    await c.readUpdate();
    c.requestUpdate(true);
    const early = c.readUpdate({ timeoutMs: 150 }).then(() => 'update', () => 'nothing');
    expect(await early).toBe('nothing');
    r.desktop.paint({ x: 8, y: 4, w: 10, h: 6 }, () => 0xff0000);
    const u = await c.readUpdate();
    const area = u.rects.reduce((a, q) => a + q.w * q.h, 0);
    expect(area).toBe(60);
    expect(c.fb.equals(expectedFb(r.desktop))).toBe(true);
  });

  it('applies input in order and releases held keys and buttons on disconnect', async () => {
    const r = await rig();
    const c = await client(r.port);
    c.key(0xffe1, true); // Shift_L held
    c.key(0x41, true);
    c.key(0x41, false);
    c.pointer(10, 20, 1); // button 1 held
    c.socket.end();
    await waitFor(() => r.server.sessionCount === 0);
    expect(r.desktop.input).toEqual([
      { kind: 'key', keysym: 0xffe1, down: true },
      { kind: 'key', keysym: 0x41, down: true },
      { kind: 'key', keysym: 0x41, down: false },
      { kind: 'pointer', x: 10, y: 20, mask: 1 },
      { kind: 'key', keysym: 0xffe1, down: false },
      { kind: 'pointer', x: 10, y: 20, mask: 0 },
    ]);
  });

  it('closes a client that sends garbage and keeps serving the others', async () => {
    const r = await rig();
    const good = await client(r.port);
    const bad = await client(r.port);
    bad.socket.write(Buffer.from([0x99, 1, 2, 3]));
    await new Promise<void>((res) => bad.socket.once('close', () => res()));
    good.setEncodings([0]);
    good.requestUpdate(false);
    await good.readUpdate();
    expect(r.server.sessionCount).toBe(1);
  });

  it('refuses a colour-map pixel format by closing that client', async () => {
    const r = await rig();
    const c = await client(r.port);
    c.setPixelFormat({ bitsPerPixel: 8, depth: 8, bigEndian: false, trueColour: false, redMax: 0, greenMax: 0, blueMax: 0, redShift: 0, greenShift: 0, blueShift: 0 });
    await new Promise<void>((res) => c.socket.once('close', () => res()));
  });

  it('authenticates with VNC auth and refuses a wrong password', async () => {
    const r = await rig({ password: 'secret12' });
    const ok = await client(r.port, { password: 'secret12' });
    expect(ok.width).toBe(64);
    await expect(client(r.port, { password: 'wrong' })).rejects.toThrow(/auth failed/);
  });

  it('survives banner-only probes and connect-and-close', async () => {
    const r = await rig();
    for (let i = 0; i < 20; i++) {
      await new Promise<void>((res) => {
        const s = net.connect(r.port, '127.0.0.1', () => (i % 2 ? s.destroy() : s.once('data', () => s.destroy())));
        s.on('close', () => res());
        s.on('error', () => res());
      });
    }
    const c = await client(r.port);
    c.requestUpdate(false);
    await c.readUpdate();
    await waitFor(() => r.server.sessionCount === 1);
  });

  it('drops a client that never finishes the handshake', async () => {
    const r = await rig({ handshakeTimeoutMs: 200 });
    const s = net.connect(r.port, '127.0.0.1');
    s.resume(); // read the banner, else 'end'/'close' never fire
    await new Promise<void>((res) => s.once('close', () => res()));
  });

  it('gives a non-shared client exclusive access', async () => {
    const r = await rig();
    const first = await client(r.port);
    const closed = new Promise<void>((res) => first.socket.once('close', () => res()));
    await client(r.port, { shared: false });
    await closed;
  });

  it('sends the cursor shape with pixels, never as a pseudo-only update', async () => {
    const r = await rig();
    const c = await client(r.port);
    c.setEncodings([0, -239]);
    c.requestUpdate(false);
    await c.readUpdate();
    c.requestUpdate(true);
    r.desktop.emitCursor({ width: 2, height: 2, hotX: 0, hotY: 0, argb: new Uint32Array([0xffffffff, 0, 0, 0xff000000]) });
    const u = await c.readUpdate();
    expect(u.rects.some((q) => q.encoding === -239)).toBe(true);
    expect(u.rects.some((q) => q.encoding === 0)).toBe(true);
  });

  it('announces a new desktop name to clients that list DesktopName, and in ServerInit to new clients', async () => {
    const r = await rig({ desktopName: 'configured' });
    const named = await client(r.port);
    const plain = await client(r.port);
    expect(named.name).toBe('configured');
    named.setEncodings([0, -307]);
    plain.setEncodings([0]);
    for (const c of [named, plain]) {
      c.requestUpdate(false);
      await c.readUpdate();
      c.requestUpdate(true);
    }
    r.server.setDesktopName('renamed – ünïcode');
    const u = await named.readUpdate();
    expect(u.rects.some((q) => q.encoding === -307)).toBe(true);
    expect(u.rects.some((q) => q.encoding === 0)).toBe(true); // never pseudo-only
    expect(named.desktopNames).toEqual(['renamed – ünïcode']);
    // The other client did not ask: nothing is sent to it (its request stays pending).
    await expect(plain.readUpdate({ timeoutMs: 300 })).rejects.toThrow();
    expect(plain.desktopNames).toEqual([]);
    const later = await client(r.port);
    expect(later.name).toBe('renamed – ünïcode');
    // Back to the configured name.
    named.requestUpdate(true);
    r.server.setDesktopName(null);
    await named.readUpdate();
    expect(named.desktopNames).toEqual(['renamed – ünïcode', 'configured']);
  });

  it('cuts a long desktop name to 255 UTF-8 bytes on a character boundary', async () => {
    const r = await rig();
    const c = await client(r.port);
    c.setEncodings([0, -307]);
    c.requestUpdate(false);
    await c.readUpdate();
    c.requestUpdate(true);
    r.server.setDesktopName('€'.repeat(200)); // 600 bytes
    await c.readUpdate();
    expect(c.desktopNames[0]).toBe('€'.repeat(85)); // 255 bytes
  });
});

/** Pixels of a photo-like picture: smooth shades plus a few levels of grain. */
function photoLike(seed: number): (x: number, y: number) => number {
  return (x, y) => {
    seed = (seed * 1103515245 + 12345) >>> 0;
    const grain = (seed >>> 8) & 7;
    const r = 100 + Math.round(60 * Math.sin(x / 17 + y / 29)) + grain;
    const g = 120 + Math.round(60 * Math.cos(x / 23 - y / 13)) + grain;
    return (r << 16) | (g << 8) | (((x + y) >> 3) & 0xff);
  };
}

/**
 * A synthetic desktop of `size`, a client on Tight with a JPEG quality, its first frame decoded
 * and, if that was JPEG, its lossless refresh too (the screen has been quiet since the start, so
 * the refresh answers the next request): the client holds the exact screen.
 */
async function jpegSession(size: [number, number], quality: number, reportsChanges = false) {
  const { RfbTestDecoder } = await import('../../bench/lib/rfb-decoders.js');
  const r = await rig({}, size, reportsChanges);
  const c = await client(r.port, { timeoutMs: 5000 });
  const dec = new RfbTestDecoder(c.serverFormat, c.width, c.height);
  const decodeRect = (h: { x: number; y: number; w: number; h: number; encoding: number }) => dec.decodeRect(h, c);
  c.setEncodings([7, quality]);
  c.requestUpdate(false);
  await c.readUpdate({ decodeRect, timeoutMs: 5000 });
  const exact = () => dec.pixels.every((p, i) => (p & 0xffffff) === (r.desktop.framebuffer.pixels[i]! & 0xffffff));
  if (!exact()) {
    c.requestUpdate(true);
    await c.readUpdate({ decodeRect, timeoutMs: 5000 });
    expect(exact(), 'the first frame refreshed losslessly').toBe(true);
  }
  return { r, c, dec, decodeRect, exact };
}

describe('lossy updates and CopyRect through a session (synthetic desktop)', () => {
  it('sends a photo-like area as JPEG, then refreshes it losslessly once the screen is quiet', async () => {
    const { r, c, dec, decodeRect, exact } = await jpegSession([64, 48], -23); // Tight + JPEG quality 9
    // photo-like (smooth shades plus grain): too many colours for a palette, no hard edges → JPEG
    r.desktop.paint({ x: 0, y: 0, w: 64, h: 48 }, photoLike(7));
    c.requestUpdate(true);
    await c.readUpdate({ decodeRect });
    const jpegSeen = dec.seen.get(7) ?? 0;
    expect(exact()).toBe(false); // lossy for now
    c.requestUpdate(true);
    const t0 = Date.now();
    await c.readUpdate({ decodeRect, timeoutMs: 2000 });
    expect(Date.now() - t0).toBeGreaterThanOrEqual(50); // waited for quiet
    expect(dec.seen.get(7)! > jpegSeen).toBe(true);
    expect(exact()).toBe(true);
    dec.dispose();
  });

  it('with an event-driven clock, the lossless refresh follows the quiet time, not the next idle poll', async () => {
    // The desktop hints its changes (as X DAMAGE does): without changes the clock polls only
    // every 250 ms. The refresh must not wait for such a poll, which finds nothing anyway.
    const { r, c, dec, decodeRect, exact } = await jpegSession([64, 48], -23, true);
    r.desktop.paint({ x: 0, y: 0, w: 64, h: 48 }, photoLike(7));
    c.requestUpdate(true);
    await c.readUpdate({ decodeRect });
    const painted = performance.now();
    expect(exact()).toBe(false); // JPEG for now
    const polls = r.desktop.polls;
    c.requestUpdate(true);
    await c.readUpdate({ decodeRect, timeoutMs: 2000 });
    expect(exact(), 'refreshed losslessly').toBe(true);
    expect(r.desktop.polls, 'sent on its own timer, before the clock polled again').toBe(polls);
    expect(performance.now() - painted).toBeGreaterThanOrEqual(50); // waited for quiet
    dec.dispose();
  });

  it('a large churning JPEG area waits longer for its lossless refresh (refreshQuietMs grows with the area)', async () => {
    const { r, c, dec, decodeRect, exact } = await jpegSession([1200, 800], -26); // Tight + JPEG quality 6
    r.desktop.paint({ x: 0, y: 0, w: 1200, h: 800 }, photoLike(3));
    c.requestUpdate(true);
    await c.readUpdate({ decodeRect, timeoutMs: 5000 });
    // A second picture over the JPEG one before its refresh: the area churns (a slideshow).
    r.desktop.paint({ x: 0, y: 0, w: 1200, h: 800 }, photoLike(4));
    c.requestUpdate(true);
    await c.readUpdate({ decodeRect, timeoutMs: 5000 });
    const painted = performance.now();
    c.requestUpdate(true);
    await c.readUpdate({ decodeRect, timeoutMs: 5000 });
    const waited = performance.now() - painted;
    // 0.96 Mpx: 100 ms + 0.96 × 750 ms ≈ 820 ms (a 64×48 area: ~102 ms).
    expect(refreshQuietMs(1200 * 800)).toBeGreaterThan(800);
    expect(refreshQuietMs(64 * 48)).toBeLessThan(110);
    expect(waited).toBeGreaterThanOrEqual(refreshQuietMs(1200 * 800) - 50);
    expect(exact()).toBe(true);
    dec.dispose();
  });

  it('refreshes a large JPEG area while a small area elsewhere keeps changing (a blinking cursor)', async () => {
    const { r, c, dec, decodeRect } = await jpegSession([1200, 800], -26); // Tight + JPEG quality 6
    const photo = { x: 0, y: 0, w: 1000, h: 800 };
    r.desktop.paint(photo, photoLike(5));
    const fb = r.desktop.framebuffer;
    const photoExact = () => {
      for (let y = 0; y < photo.h; y += 3) for (let x = 0; x < photo.w; x++) {
        if ((dec.pixels[y * fb.stride + x]! & 0xffffff) !== (fb.pixels[y * fb.stride + x]! & 0xffffff)) return false;
      }
      return true;
    };
    let on = false;
    let blinks = 0;
    const blink = setInterval(() => {
      on = !on;
      blinks++;
      r.desktop.paint({ x: 1100, y: 40, w: 8, h: 16 }, () => (on ? 0xffffff : 0));
    }, 150);
    try {
      const t0 = performance.now();
      let sawLossy = false;
      while (performance.now() - t0 < 4000) {
        c.requestUpdate(true);
        await c.readUpdate({ decodeRect, timeoutMs: 5000 });
        if (!photoExact()) sawLossy = true;
        else if (sawLossy) break;
      }
      expect(sawLossy, 'the photo went as JPEG first').toBe(true);
      expect(photoExact(), 'refreshed losslessly despite the blinking').toBe(true);
      expect(blinks, 'the cursor blinked all along').toBeGreaterThan(4);
    } finally {
      clearInterval(blink);
      dec.dispose();
    }
  });

  it('turns a reported copy into CopyRect rectangles for clients that list it', async () => {
    const { RfbTestDecoder } = await import('../../bench/lib/rfb-decoders.js');
    const r = await rig();
    const c = await client(r.port);
    const dec = new RfbTestDecoder(c.serverFormat, c.width, c.height);
    const decodeRect = (h: { x: number; y: number; w: number; h: number; encoding: number }) => dec.decodeRect(h, c);
    c.setEncodings([1, 5]); // CopyRect + Hextile (decoded by the independent test decoder)
    c.requestUpdate(false);
    await c.readUpdate({ decodeRect });
    // scroll the whole screen up by 8 rows, new content at the bottom
    const fb = r.desktop.framebuffer;
    fb.pixels.copyWithin(0, 8 * fb.stride, fb.height * fb.stride);
    r.desktop.events!.copy!({ x: 0, y: 0, w: 64, h: 40 }, 0, -8);
    r.desktop.paint({ x: 0, y: 40, w: 64, h: 8 }, (x, y) => x * y);
    await r.desktop.poll(); // the same poll reports the exposed strip, after the copy
    c.requestUpdate(true);
    const u = await c.readUpdate({ decodeRect });
    expect(u.rects[0], JSON.stringify(u.rects)).toMatchObject({ encoding: 1, x: 0, y: 0, w: 64, h: 40 });
    expect(u.rects.filter((q) => q.encoding === 5).reduce((a, q) => a + q.w * q.h, 0), JSON.stringify(u.rects)).toBe(64 * 8);
    const bad = [...dec.pixels].findIndex((p, i) => (p & 0xffffff) !== (fb.pixels[i]! & 0xffffff));
    expect(bad, `first mismatch at ${bad % 64},${Math.floor(bad / 64)}: ${dec.pixels[bad]?.toString(16)} vs ${fb.pixels[bad]?.toString(16)}`).toBe(-1);
    dec.dispose();
  });
});

describe('large updates', () => {
  it('encodes a large update in slices from a snapshot, exactly, even while the screen keeps changing', async () => {
    const { RfbTestDecoder } = await import('../../bench/lib/rfb-decoders.js');
    const r = await rig({}, [800, 600]);
    const c = await client(r.port);
    for (const encodings of [[16], [7], [5]]) {
      const dec = new RfbTestDecoder(c.serverFormat, c.width, c.height);
      const decodeRect = (h: { x: number; y: number; w: number; h: number; encoding: number }) => dec.decodeRect(h, c);
      c.setEncodings(encodings);
      let seed = encodings[0]!;
      r.desktop.paint({ x: 0, y: 0, w: 800, h: 600 }, (x, y) => ((x >> 3) * 0x10101 + (y >> 4) * 0x30000 + ((seed = (seed * 69069 + 1) >>> 0) >>> 30)) & 0xffffff);
      const expected = Uint32Array.from(r.desktop.framebuffer.pixels);
      c.requestUpdate(false);
      // Change the screen while the update is being encoded: the update must still be the
      // consistent snapshot taken when it started.
      setTimeout(() => r.desktop.paint({ x: 0, y: 0, w: 800, h: 600 }, () => 0x123456), 2);
      const u = await c.readUpdate({ decodeRect });
      expect(u.rects.reduce((a, q) => a + q.w * q.h, 0)).toBe(800 * 600);
      // Whichever frame the update was taken from, it must be that frame entirely: never torn.
      const isB = (dec.pixels[0]! & 0xffffff) === 0x123456 && (expected[0]! & 0xffffff) !== 0x123456;
      const bad = [...dec.pixels].findIndex((p, i) => (p & 0xffffff) !== (isB ? 0x123456 : expected[i]! & 0xffffff));
      expect(bad, `encoding ${encodings}: first mismatch at pixel ${bad} (frame ${isB ? 'B' : 'A'})`).toBe(-1);
      dec.dispose();
      await r.desktop.poll();
    }
  });
});

describe('rectangle order', () => {
  it('starts a full refresh at (0,0) even when a large solid area is found elsewhere', async () => {
    const { RfbTestDecoder } = await import('../../bench/lib/rfb-decoders.js');
    const r = await rig({}, [320, 240]);
    r.desktop.paint({ x: 0, y: 0, w: 320, h: 240 }, (x, y) => (x * 7919 + y * 104729) & 0xffffff);
    r.desktop.paint({ x: 100, y: 80, w: 200, h: 150 }, () => 0x336699); // solid, not at the origin
    await r.desktop.poll();
    const c = await client(r.port);
    const dec = new RfbTestDecoder(c.serverFormat, c.width, c.height);
    for (const enc of [7, 16, 5]) {
      c.setEncodings([enc]);
      c.requestUpdate(false);
      const u = await c.readUpdate({ decodeRect: (h) => dec.decodeRect(h, c) });
      expect(u.rects[0], `encoding ${enc}`).toMatchObject({ x: 0, y: 0 });
      const sorted = [...u.rects].sort((a, b) => a.y - b.y || a.x - b.x);
      expect(u.rects).toEqual(sorted);
    }
    dec.dispose();
  });
});
