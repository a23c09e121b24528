import { afterEach, describe, expect, it } from 'vitest';
import { createPixelBuffer, solidPixelBuffer, type PixelBuffer } from '../../core/pixel-buffer.js';
import type { Rect } from '../../core/geometry.js';
import { Region } from '../../core/region.js';
import { findGlyphBlocks, findWords, hashPixels } from '../../server/updates/glyph-blocks.js';
import { textPitch } from '../../server/updates/glyph-pieces.js';
import { GlyphIndex, MAX_BLOCKS, MAX_STORED_PIXELS, POSITIONS_PER_KEY, blockPixels } from '../../server/updates/glyph-index.js';
import { planGlyphCopies } from '../../server/updates/glyph-copies.js';
import { VncServer } from '../../server/vnc-server.js';
import { listenTcp, type TcpListener } from '../../server/listeners/tcp-listener.js';
import { RfbTestDecoder } from '../../bench/lib/rfb-decoders.js';
import { SyntheticDesktop } from '../helpers/synthetic-desktop.js';
import { RfbClient, type RectEvent } from '../helpers/rfb-client.js';
import { xorshift32 } from '../helpers/rng.js';

const BG = 0x1e1e1e;
const CELL_W = 6;
const CELL_H = 9;

interface Glyph { readonly w: number; readonly h: number; readonly px: Uint32Array }

/**
 * A glyph set: each glyph's ink fills its cell but for the last column and row (the gap keeps
 * blocks apart), in 3 shades.
 */
function makeGlyphs(count: number, seed: number, w = CELL_W, h = CELL_H): Glyph[] {
  const rnd = xorshift32(seed);
  const shades = [0xd4d4d4, 0x8a8a8a, 0x4b4b4b];
  return Array.from({ length: count }, () => {
    const px = new Uint32Array(w * h).fill(BG);
    // strokes along the first column and row put ink at the box's edges
    for (let y = 0; y < h - 1; y++) px[y * w] = shades[0]!;
    for (let x = 0; x < w - 1; x++) px[x] = shades[1]!;
    for (let y = 1; y < h - 1; y++) {
      for (let x = 1; x < w - 1; x++) if (rnd() % 3 === 0) px[y * w + x] = shades[rnd() % 3]!;
    }
    return { w, h, px };
  });
}

function drawGlyph(fb: PixelBuffer, g: Glyph, x: number, y: number): void {
  for (let j = 0; j < g.h; j++) for (let i = 0; i < g.w; i++) fb.pixels[(y + j) * fb.stride + x + i] = g.px[j * g.w + i]!;
}

function hashBlock(fb: PixelBuffer, b: Rect): number {
  return hashPixels(blockPixels(fb, b), 0, b.w, b.h);
}

/** Where the index says the client shows `fb`'s block `b`, outside `avoid`. */
function sourceFor(index: GlyphIndex, fb: PixelBuffer, b: Rect, avoid = new Region()): { x: number; y: number } | null {
  const key = hashBlock(fb, b);
  return index.pixelsOf(key, b.w, b.h, blockPixels(fb, b), 0) ? index.positionOutside(key, avoid) : null;
}

function filled(w: number, h: number, colour: number): PixelBuffer {
  const fb = createPixelBuffer(w, h);
  fb.pixels.fill(colour);
  return fb;
}

describe('findGlyphBlocks', () => {
  it('cuts text into one block per glyph, trimmed to its ink, band by band', () => {
    const fb = filled(60, 30, BG);
    const [a, b] = makeGlyphs(2, 7);
    drawGlyph(fb, a!, 2, 2);
    drawGlyph(fb, b!, 14, 2);
    drawGlyph(fb, a!, 20, 15);
    const cut = findGlyphBlocks(fb, { x: 0, y: 0, w: 60, h: 30 });
    expect(cut?.background).toBe(BG);
    expect(cut?.blocks).toEqual([
      { x: 2, y: 2, w: 5, h: 8, band: 0 },
      { x: 14, y: 2, w: 5, h: 8, band: 0 },
      { x: 20, y: 15, w: 5, h: 8, band: 1 },
    ]);
    // equal glyphs hash equal wherever they are
    expect(hashBlock(fb, cut!.blocks[0]!)).toBe(hashBlock(fb, cut!.blocks[2]!));
    expect(hashBlock(fb, cut!.blocks[0]!)).not.toBe(hashBlock(fb, cut!.blocks[1]!));
  });

  it('keeps touching glyphs together and trims each block to its own rows', () => {
    const fb = filled(40, 20, BG);
    for (let x = 3; x < 9; x++) fb.pixels[5 * 40 + x] = 0xffffff; // a bar on row 5, columns 3-8
    for (let y = 4; y < 12; y++) fb.pixels[y * 40 + 9] = 0xffffff; // touching a stem in column 9
    fb.pixels[15 * 40 + 30] = 0x00ff00; // a dot in another band
    const cut = findGlyphBlocks(fb, { x: 0, y: 0, w: 40, h: 20 });
    expect(cut?.blocks).toEqual([
      { x: 3, y: 4, w: 7, h: 8, band: 0 },
      { x: 30, y: 15, w: 1, h: 1, band: 1 },
    ]);
  });

  it('leaves photo-like content and oversized rectangles whole', () => {
    const rnd = xorshift32(3);
    const photo = createPixelBuffer(64, 32);
    for (let i = 0; i < photo.pixels.length; i++) photo.pixels[i] = rnd() & 0xffffff;
    expect(findGlyphBlocks(photo, { x: 0, y: 0, w: 64, h: 32 })).toBeNull();
    expect(findGlyphBlocks(filled(64, 32, BG), { x: 0, y: 0, w: 64, h: 32 }, 1000)).toBeNull();
    expect(findGlyphBlocks(filled(64, 32, BG), { x: 0, y: 0, w: 64, h: 32 })?.blocks).toEqual([]);
  });
});

describe('GlyphIndex', () => {
  const fb = filled(100, 60, BG);
  const [g] = makeGlyphs(1, 11);
  drawGlyph(fb, g!, 10, 10);
  const block: Rect = { x: 10, y: 10, w: 5, h: 8 };
  const key = hashBlock(fb, block);

  it('finds a recorded position only for the very same pixels, outside what the update overwrites', () => {
    const index = new GlyphIndex();
    index.learn({ x: 50, y: 40, w: 5, h: 8 }, key, blockPixels(fb, block));
    expect(sourceFor(index, fb, block)).toEqual({ x: 50, y: 40 });
    expect(sourceFor(index, fb, block, Region.of({ x: 52, y: 47, w: 1, h: 1 }))).toBeNull();
    // same hash, other pixels (a collision): no source
    const other = filled(100, 60, BG);
    drawGlyph(other, makeGlyphs(2, 12)[1]!, 10, 10);
    expect(index.pixelsOf(key, 5, 8, blockPixels(other, block), 0)).toBeNull();
  });

  it('moves positions with the copies the client applies and forgets what they or updates overwrite', () => {
    const index = new GlyphIndex();
    const pixels = blockPixels(fb, block);
    index.learn({ x: 10, y: 30, w: 5, h: 8 }, key, pixels); // inside the scrolled area's source
    index.learn({ x: 10, y: 2, w: 5, h: 8 }, key, pixels); // scrolled over, not inside a source
    index.learn({ x: 80, y: 30, w: 5, h: 8 }, key, pixels); // untouched
    index.moved([{ x: 0, y: 0, w: 60, h: 51 }], 0, -9);
    expect(sourceFor(index, fb, block)).toEqual({ x: 80, y: 30 });
    expect(sourceFor(index, fb, block, Region.of({ x: 80, y: 30, w: 1, h: 1 }))).toEqual({ x: 10, y: 21 });
    expect(index.size).toBe(2);
    index.overwritten(Region.of({ x: 14, y: 28, w: 1, h: 1 }));
    expect(index.size).toBe(1);
    index.overwritten(Region.of({ x: 84, y: 37, w: 1, h: 1 }));
    expect(index.size).toBe(0);
    expect(index.pixelsStored).toBe(0);
  });

  it('stays bounded in positions per block and in stored pixels', () => {
    const index = new GlyphIndex();
    const pixels = blockPixels(fb, block);
    for (let i = 0; i < 10; i++) index.learn({ x: i * 6, y: 0, w: 5, h: 8 }, key, pixels);
    expect(index.size).toBe(POSITIONS_PER_KEY);
    for (let k = 0; k < 20_000; k++) index.learn({ x: 0, y: 0, w: 4, h: 4 }, 1000 + k, new Uint32Array(16).fill(k));
    expect(index.size).toBe(MAX_BLOCKS); // one position each
    for (let k = 0; k < 20_000; k++) index.learn({ x: 0, y: 0, w: 60, h: 60 }, 50_000 + k, new Uint32Array(3600).fill(k));
    expect(index.pixelsStored).toBeLessThanOrEqual(MAX_STORED_PIXELS);
    expect(index.pixelsStored).toBeGreaterThan(MAX_STORED_PIXELS / 2);
  });
});

/**
 * A screen whose first line shows glyphs 0 and 1 of a new set, and an index that records the
 * client showing them there.
 */
function screenShowingTwo(count: number, seed: number): { fb: PixelBuffer; glyphs: Glyph[]; index: GlyphIndex } {
  const fb = filled(120, 40, BG);
  const glyphs = makeGlyphs(count, seed);
  drawGlyph(fb, glyphs[0]!, 0, 0);
  drawGlyph(fb, glyphs[1]!, 6, 0);
  const index = new GlyphIndex();
  for (const b of findGlyphBlocks(fb, { x: 0, y: 0, w: 12, h: 9 })!.blocks) index.learn(b, hashBlock(fb, b), blockPixels(fb, b));
  return { fb, glyphs, index };
}

describe('planGlyphCopies', () => {
  it('sends a line whose glyphs the client shows as background fill, copies and the rest as pixels', () => {
    const { fb, glyphs, index } = screenShowingTwo(4, 5);
    // the new line: 0 1 2 3 0
    const line: Rect = { x: 0, y: 20, w: 30, h: 9 };
    [0, 1, 2, 3, 0].forEach((g, i) => drawGlyph(fb, glyphs[g]!, i * CELL_W, 20));
    const plan = planGlyphCopies(fb, [line], Region.of(line), index, 2);
    expect(plan.fills).toEqual([{ rect: line, colour: BG }]);
    expect(plan.copies).toEqual([
      { dest: { x: 0, y: 20, w: 5, h: 8 }, srcX: 0, srcY: 0 },
      { dest: { x: 6, y: 20, w: 5, h: 8 }, srcX: 6, srcY: 0 },
      { dest: { x: 24, y: 20, w: 5, h: 8 }, srcX: 0, srcY: 0 },
    ]);
    expect(plan.pixels).toEqual([{ x: 12, y: 20, w: 11, h: 8 }]); // glyphs 2 and 3, joined
    // the line as one word (its glyphs are a column apart), then each glyph
    expect(plan.learn.map((l) => l.at.x)).toEqual([0, 0, 6, 12, 18, 24]);
    expect(plan.learn[0]!.at).toEqual({ x: 0, y: 20, w: 29, h: 8 });
    // An encoding that spends less on the glyphs than a copy costs: pixels.
    expect(planGlyphCopies(fb, [line], Region.of(line), index, 0.2)).toMatchObject({ fills: [], copies: [], pixels: [line] });
    // Nothing known: the line goes as pixels, and its blocks are learned.
    const cold = planGlyphCopies(fb, [line], Region.of(line), new GlyphIndex(), 2);
    expect(cold).toMatchObject({ fills: [], copies: [], pixels: [line] });
    expect(cold.learn).toHaveLength(6);
  });
});

describe('planGlyphCopies with touching glyphs', () => {
  it('copies the glyphs of a block it does not know whole, piece by piece, and sends the rest as pixels', () => {
    const { fb, glyphs, index } = screenShowingTwo(3, 21);
    // "0" and "1" touching (ink 5 wide, drawn 5 apart), then an unknown glyph touching "1"
    const line: Rect = { x: 0, y: 20, w: 40, h: 9 };
    drawGlyph(fb, glyphs[0]!, 10, 20);
    drawGlyph(fb, glyphs[1]!, 15, 20);
    drawGlyph(fb, glyphs[2]!, 20, 20);
    const cut = findGlyphBlocks(fb, line)!;
    expect(cut.blocks).toEqual([{ x: 10, y: 20, w: 15, h: 8, band: 0 }]);
    const plan = planGlyphCopies(fb, [line], Region.of(line), index, 2);
    expect(plan.copies).toEqual([
      { dest: { x: 10, y: 20, w: 5, h: 8 }, srcX: 0, srcY: 0 },
      { dest: { x: 15, y: 20, w: 5, h: 8 }, srcX: 6, srcY: 0 },
    ]);
    expect(plan.pixels).toEqual([{ x: 20, y: 20, w: 5, h: 8 }]);
    expect(plan.fills).toEqual([{ rect: line, colour: BG }]);
    // The whole block is recorded too, for the next time it appears.
    expect(plan.learn.map((l) => l.at)).toEqual([{ x: 10, y: 20, w: 15, h: 8 }]);
  });
});

/** Applies what a plan teaches, as the update sender does once the update is out. */
function learnPlan(index: GlyphIndex, plan: ReturnType<typeof planGlyphCopies>): void {
  for (const { key, at, pixels } of plan.learn) index.learn(at, key, pixels);
}

/** Draws `cells` (glyph numbers, null for a space) from column 0 at `pitch`; returns the line's rectangle. */
function drawLine(fb: PixelBuffer, glyphs: readonly Glyph[], cells: readonly (number | null)[], y: number, pitch = CELL_W): Rect {
  cells.forEach((g, i) => { if (g !== null) drawGlyph(fb, glyphs[g]!, i * pitch, y); });
  return { x: 0, y, w: cells.length * pitch + 1, h: CELL_H };
}

describe('words', () => {
  it('groups blocks closer than a space, and a word the client shows whole goes as one copy', () => {
    const fb = filled(120, 60, BG);
    const glyphs = makeGlyphs(4, 8);
    // "01 2  30": glyphs a column apart form words, a blank cell splits them
    const first = drawLine(fb, glyphs, [0, 1, null, 2, null, null, 3, 0], 0);
    const cut = findGlyphBlocks(fb, first)!;
    expect(findWords(cut)).toEqual([
      { rect: { x: 0, y: 0, w: 11, h: 8 }, first: 0, end: 2 },
      { rect: { x: 36, y: 0, w: 11, h: 8 }, first: 3, end: 5 },
    ]);
    const index = new GlyphIndex();
    learnPlan(index, planGlyphCopies(fb, [first], Region.of(first), index, 2));
    // a new line "30 01" (with a known, but differently spaced, pair of glyphs)
    const second = drawLine(fb, glyphs, [null, 3, 0, null, 0, 1], 30);
    const plan = planGlyphCopies(fb, [second], Region.of(second), index, 2);
    expect(plan.copies).toEqual([
      { dest: { x: 6, y: 30, w: 11, h: 8 }, srcX: 36, srcY: 0 },
      { dest: { x: 24, y: 30, w: 11, h: 8 }, srcX: 0, srcY: 0 },
    ]);
    expect(plan.pixels).toEqual([]);
    // The glyphs of a word copied whole are recorded too, as sources for other words.
    expect(plan.learn.map((l) => `${l.at.x}:${l.at.w}`)).toEqual(['6:11', '6:5', '12:5', '24:11', '24:5', '30:5']);
  });
});

describe('character cells', () => {
  it('finds the pitch of monospace text from its repeated glyphs, and none in proportional text', () => {
    const fb = filled(200, 40, BG);
    const glyphs = makeGlyphs(3, 12);
    const keysOf = (r: Rect) => {
      const cut = findGlyphBlocks(fb, r)!;
      return { blocks: cut.blocks, keys: cut.blocks.map((b) => hashBlock(fb, b)) };
    };
    const mono = drawLine(fb, glyphs, [0, null, 1, 0, null, 2, null, 0, 1], 0);
    const m = keysOf(mono);
    expect(textPitch(m.blocks, m.keys)).toBe(CELL_W);
    // glyph 0 at 0, 13 and 28: distances 13 and 28 have no common divisor of 4 or more
    for (const x of [0, 13, 28]) drawGlyph(fb, glyphs[0]!, x, 20);
    const p = keysOf({ x: 0, y: 20, w: 40, h: CELL_H });
    expect(textPitch(p.blocks, p.keys)).toBe(0);
  });

  it('cuts a run of touching glyphs that fill their cells into cells, and copies the cells the client shows', () => {
    const fb = filled(120, 60, BG);
    // Ink 6 columns wide with a blank seventh, drawn 6 apart: every run of them touches (digits).
    const glyphs = makeGlyphs(4, 31, CELL_W + 1, CELL_H);
    const index = new GlyphIndex();
    // "0 1 0 2  0": single glyphs the client is shown first; the repeats of 0 give the pitch
    const first = drawLine(fb, glyphs, [0, null, 1, null, 0, null, 2, null, null, 0], 0);
    learnPlan(index, planGlyphCopies(fb, [first], Region.of(first), index, 2));
    // "2013": one block; the line alone shows no pitch, the index remembers it
    const run = drawLine(fb, glyphs, [2, 0, 1, 3], 30);
    expect(findGlyphBlocks(fb, run)!.blocks).toEqual([{ x: 0, y: 30, w: 24, h: 8, band: 0 }]);
    const plan = planGlyphCopies(fb, [run], Region.of(run), index, 2);
    expect(plan.copies).toEqual([
      { dest: { x: 0, y: 30, w: 6, h: 8 }, srcX: 36, srcY: 0 },
      { dest: { x: 6, y: 30, w: 6, h: 8 }, srcX: 54, srcY: 0 },
      { dest: { x: 12, y: 30, w: 6, h: 8 }, srcX: 12, srcY: 0 },
    ]);
    expect(plan.pixels).toEqual([{ x: 18, y: 30, w: 6, h: 8 }]); // glyph 3, never shown
    // the run, then each of its cells, is recorded: glyph 3's cell is a source from now on
    expect(plan.learn.map((l) => l.at)).toEqual([
      { x: 0, y: 30, w: 24, h: 8 },
      ...[0, 6, 12, 18].map((x) => ({ x, y: 30, w: 6, h: 8 })),
    ]);
  });
});

describe('solidPixelBuffer', () => {
  it('reads as one colour everywhere', () => {
    const s = solidPixelBuffer(30, 20, 0x123456);
    for (const [x, y] of [[0, 0], [29, 19], [7, 13]] as const) expect(s.pixels[y * s.stride + x]).toBe(0x123456);
  });
});

// ---------------------------------------------------------------------------------------------
// Through the server, with real encoders and an independent decoder per client.

interface Rig { server: VncServer; listener: TcpListener; desktop: SyntheticDesktop; port: number }
const rigs: Rig[] = [];
const clients: RfbClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) c.close();
  for (const r of rigs.splice(0)) {
    await r.server.close();
    await r.listener.close();
  }
});

describe('glyph copies through the server', () => {
  it('keeps every client exact through text, scrolls, overwrites and captures ahead of their damage, and copies glyphs', async () => {
    // Glyphs of 7×11 ink: copying them pays with every encoding (ZRLE needs ~50 px).
    const cw = 8;
    const ch = 12;
    const W = 26 * cw;
    const H = 10 * ch;
    const desktop = new SyntheticDesktop(W, H);
    const server = new VncServer(desktop, { authFailureDelayMs: 0 });
    await server.ensureDesktop();
    const listener = await listenTcp({ host: '127.0.0.1', port: 0, onConnection: (s, i) => server.handleConnection(s, i) });
    rigs.push({ server, listener, desktop, port: listener.address.port });
    const fb = desktop.framebuffer;
    desktop.paint({ x: 0, y: 0, w: W, h: H }, () => BG);
    await desktop.poll();

    const viewers = [];
    for (const encodings of [[1, 5], [1, 6], [1, 16], [1, 7], [1, -260], [1, 2]]) {
      const c = new RfbClient({ port: listener.address.port, timeoutMs: 3000 });
      clients.push(c);
      await c.connect();
      const dec = new RfbTestDecoder(c.serverFormat, c.width, c.height);
      // The test client decodes Raw and Zlib into its own `fb`; every other encoding is decoded
      // by the independent decoder and copied there, and CopyRects are applied there.
      const fbPixels = () => new Uint32Array(c.fb.buffer, c.fb.byteOffset, c.width * c.height);
      const decodeRect = async (h: RectEvent): Promise<void> => {
        const px = fbPixels();
        if (h.encoding !== 1) {
          await dec.decodeRect(h, c);
          for (let y = h.y; y < h.y + h.h; y++) px.set(dec.pixels.subarray(y * c.width + h.x, y * c.width + h.x + h.w), y * c.width + h.x);
          return;
        }
        const src = await c.read(4);
        const sx = src.readUInt16BE(0);
        const sy = src.readUInt16BE(2);
        const copy = new Uint32Array(h.w * h.h);
        for (let y = 0; y < h.h; y++) copy.set(px.subarray((sy + y) * c.width + sx, (sy + y) * c.width + sx + h.w), y * h.w);
        for (let y = 0; y < h.h; y++) px.set(copy.subarray(y * h.w, (y + 1) * h.w), (h.y + y) * c.width + h.x);
      };
      c.setEncodings(encodings);
      c.requestUpdate(false);
      await c.readUpdate({ decodeRect });
      viewers.push({ c, dec, decodeRect, pixels: fbPixels, name: encodings.join(','), glyphCopies: 0, wordCopies: 0 });
    }

    const glyphs = makeGlyphs(10, 99, cw, ch);
    const rnd = xorshift32(2024);
    const vocabulary = Array.from({ length: 8 }, () => Array.from({ length: 1 + (rnd() % 4) }, () => rnd() % glyphs.length));
    /**
     * A line of words from `vocabulary`, a blank cell after each; one line in three packs the
     * glyphs a column closer, so that they touch and fill their cells (digits).
     */
    const line = (row: number, cols: number) => {
      const pitch = rnd() % 3 === 0 ? cw - 1 : cw;
      for (let i = 0; i < cols; i++) {
        for (const g of vocabulary[rnd() % vocabulary.length]!) if (i < cols) drawGlyph(fb, glyphs[g]!, i++ * pitch, row * ch);
        if (i < cols) for (let y = row * ch; y < (row + 1) * ch; y++) fb.pixels.fill(BG, y * fb.stride + i * pitch, y * fb.stride + (i + 1) * pitch);
      }
      return { x: 0, y: row * ch, w: cols * cw, h: ch };
    };
    /** Areas our framebuffer changed without damage yet: the clients may differ there. */
    let unreported: Rect[] = [];
    for (let step = 0; step < 120; step++) {
      const op = rnd() % 10;
      if (op < 4) {
        // a terminal: scroll one line up, write a new bottom line
        fb.pixels.copyWithin(0, ch * fb.stride, H * fb.stride);
        desktop.events!.copy!({ x: 0, y: 0, w: W, h: H - ch }, 0, -ch);
        unreported = unreported.map((r) => ({ ...r, y: Math.max(0, r.y - ch) }));
        fb.pixels.fill(BG, (H - ch) * fb.stride);
        line(H / ch - 1, 1 + (rnd() % 26));
        desktop.paint({ x: 0, y: H - ch, w: W, h: ch }, (x, y) => fb.pixels[y * fb.stride + x]!);
      } else if (op < 6) {
        // glyphs written somewhere
        const row = rnd() % (H / ch);
        const r = line(row, 1 + (rnd() % 26));
        desktop.paint(r, (x, y) => fb.pixels[y * fb.stride + x]!);
      } else if (op < 8) {
        // something else overwrites part of the screen (sources there must die)
        const r = { x: rnd() % (W - 20), y: rnd() % (H - 12), w: 1 + (rnd() % 20), h: 1 + (rnd() % 12) };
        const c = rnd() & 0xffffff;
        desktop.paint(r, (x, y) => (x + y) % 3 === 0 ? c : BG);
      } else {
        // the capture's framebuffer gets a glyph before its damage is reported (a poll in
        // flight), then the same glyph is written, with damage, elsewhere
        const g = glyphs[rnd() % glyphs.length]!;
        const x = (rnd() % 26) * cw;
        const y = (rnd() % 10) * ch;
        drawGlyph(fb, g, x, y);
        unreported.push({ x, y, w: cw, h: ch });
        const x2 = (rnd() % 26) * cw;
        const y2 = (rnd() % 10) * ch;
        drawGlyph(fb, g, x2, y2);
        desktop.paint({ x: x2, y: y2, w: cw, h: ch }, (px, py) => fb.pixels[py * fb.stride + px]!);
      }
      await desktop.poll();
      for (const v of viewers) {
        v.c.requestUpdate(true);
        const u = await v.c.readUpdate({ decodeRect: v.decodeRect });
        v.glyphCopies += u.rects.filter((q) => q.encoding === 1 && q.w * q.h < W * ch).length;
        v.wordCopies += u.rects.filter((q) => q.encoding === 1 && q.w > cw && q.h <= ch).length;
        expectSame(v.pixels(), fb, unreported, `${v.name} step ${step}`);
      }
      if (rnd() % 4 === 0 && unreported.length) {
        // the late damage arrives
        for (const r of unreported) desktop.paint(r, (x, y) => fb.pixels[y * fb.stride + x]!);
        unreported = [];
        await desktop.poll();
        for (const v of viewers) {
          v.c.requestUpdate(true);
          await v.c.readUpdate({ decodeRect: v.decodeRect });
          expectSame(v.pixels(), fb, [], `${v.name} step ${step} (late damage)`);
        }
      }
    }
    for (const v of viewers) {
      v.dec.dispose();
      // every client was sent glyphs as copies (RRE included: fills are cheap there too)
      expect(v.glyphCopies, v.name).toBeGreaterThan(200);
      expect(v.wordCopies, v.name).toBeGreaterThan(20);
    }
  }, 60_000);
});

function expectSame(client: Uint32Array, fb: PixelBuffer, except: readonly Rect[], what: string): void {
  for (let y = 0; y < fb.height; y++) {
    for (let x = 0; x < fb.width; x++) {
      if (except.some((r) => x >= r.x && x < r.x + r.w && y >= r.y && y < r.y + r.h)) continue;
      const want = fb.pixels[y * fb.stride + x]! & 0xffffff;
      const got = client[y * fb.width + x]! & 0xffffff;
      if (want !== got) throw new Error(`${what}: pixel ${x},${y} is ${got.toString(16)}, screen ${want.toString(16)}`);
    }
  }
}
