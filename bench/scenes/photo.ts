/**
 * Photo-like images for the slideshow and video scenes, generated from a seed (nothing is
 * downloaded or committed). What matters to an encoder is the statistics, not the subject: a
 * real photo is continuous-tone (tens of thousands of colours, so palette and RLE encodings
 * fail), has smooth regions (sky, walls) next to textured ones (foliage, fabric), sharp-ish
 * object edges, and a little sensor grain that makes lossless compression expensive. The
 * generator layers exactly that: a two-colour gradient, soft-edged coloured blobs, three octaves
 * of value noise for texture, and per-pixel grain. Pure function; BGRX output.
 */
import { createPrng, subSeed, type Prng } from './prng.js';

export interface PhotoOptions {
  /** Amplitude of the per-pixel grain in levels (default 3; 0 = none). */
  readonly grain?: number;
}

/** Smooth value noise: random values on a `cell`-pixel lattice, smoothstep-interpolated. */
function valueNoise(w: number, h: number, cell: number, prng: Prng): Float32Array {
  const gw = Math.ceil(w / cell) + 2;
  const gh = Math.ceil(h / cell) + 2;
  const lattice = new Float32Array(gw * gh);
  for (let i = 0; i < lattice.length; i++) lattice[i] = prng.next() * 2 - 1;
  const out = new Float32Array(w * h);
  // Weights per column are the same on every row: compute them once.
  const cx = new Int32Array(w);
  const wx = new Float32Array(w);
  for (let x = 0; x < w; x++) {
    const f = x / cell;
    cx[x] = Math.floor(f);
    const t = f - cx[x]!;
    wx[x] = t * t * (3 - 2 * t);
  }
  for (let y = 0; y < h; y++) {
    const fy = y / cell;
    const gy = Math.floor(fy);
    const ty = fy - gy;
    const wy = ty * ty * (3 - 2 * ty);
    const r0 = gy * gw;
    const r1 = r0 + gw;
    let o = y * w;
    for (let x = 0; x < w; x++, o++) {
      const g = cx[x]!;
      const a = lattice[r0 + g]! + (lattice[r0 + g + 1]! - lattice[r0 + g]!) * wx[x]!;
      const b = lattice[r1 + g]! + (lattice[r1 + g + 1]! - lattice[r1 + g]!) * wx[x]!;
      out[o] = a + (b - a) * wy;
    }
  }
  return out;
}

function clamp255(v: number): number {
  return v < 0 ? 0 : v > 255 ? 255 : Math.round(v);
}

/** A `width`×`height` photo-like BGRX image, the same for the same seed. */
export function photoImage(width: number, height: number, seed: number, options: PhotoOptions = {}): Buffer {
  if (!(Number.isInteger(width) && Number.isInteger(height) && width > 0 && height > 0)) {
    throw new RangeError(`photo size must be positive integers (got ${width}x${height})`);
  }
  const grain = options.grain ?? 3;
  const prng = createPrng(seed);
  const rgb = (): [number, number, number] => [prng.int(20, 235), prng.int(20, 235), prng.int(20, 235)];
  const top = rgb();
  const bottom = rgb();
  const angle = prng.next() * Math.PI;
  const ax = Math.cos(angle) / width;
  const ay = Math.sin(angle) / height;
  const scale = Math.min(width, height);
  const blobs = Array.from({ length: prng.int(6, 12) }, () => ({
    cx: prng.next() * width,
    cy: prng.next() * height,
    rx: (0.05 + prng.next() * 0.3) * scale,
    ry: (0.05 + prng.next() * 0.3) * scale,
    soft: 0.05 + prng.next() * 0.4,
    alpha: 0.5 + prng.next() * 0.5,
    rgb: rgb(),
  }));
  const octaves = [
    { n: valueNoise(width, height, Math.max(8, Math.round(scale / 6)), createPrng(subSeed(seed, 1))), amp: 26 },
    { n: valueNoise(width, height, Math.max(4, Math.round(scale / 24)), createPrng(subSeed(seed, 2))), amp: 14 },
    { n: valueNoise(width, height, Math.max(2, Math.round(scale / 90)), createPrng(subSeed(seed, 3))), amp: 8 },
  ];
  const tint = valueNoise(width, height, Math.max(8, Math.round(scale / 4)), createPrng(subSeed(seed, 4)));
  const r = new Float32Array(width * height);
  const g = new Float32Array(width * height);
  const b = new Float32Array(width * height);
  // Gradient.
  for (let y = 0, i = 0; y < height; y++) {
    for (let x = 0; x < width; x++, i++) {
      const t = Math.min(1, Math.max(0, 0.5 + (x - width / 2) * ax + (y - height / 2) * ay));
      r[i] = top[0] + (bottom[0] - top[0]) * t;
      g[i] = top[1] + (bottom[1] - top[1]) * t;
      b[i] = top[2] + (bottom[2] - top[2]) * t;
    }
  }
  // Soft-edged blobs ("objects"), each within its bounding box only.
  for (const o of blobs) {
    const x0 = Math.max(0, Math.floor(o.cx - o.rx));
    const x1 = Math.min(width - 1, Math.ceil(o.cx + o.rx));
    const y0 = Math.max(0, Math.floor(o.cy - o.ry));
    const y1 = Math.min(height - 1, Math.ceil(o.cy + o.ry));
    for (let y = y0; y <= y1; y++) {
      const dy = (y - o.cy) / o.ry;
      for (let x = x0; x <= x1; x++) {
        const dx = (x - o.cx) / o.rx;
        const d = Math.sqrt(dx * dx + dy * dy);
        if (d >= 1) continue;
        const k = d < 1 - o.soft ? 1 : (1 - d) / o.soft;
        const a = k * k * (3 - 2 * k) * o.alpha;
        const i = y * width + x;
        r[i] = r[i]! + (o.rgb[0] - r[i]!) * a;
        g[i] = g[i]! + (o.rgb[1] - g[i]!) * a;
        b[i] = b[i]! + (o.rgb[2] - b[i]!) * a;
      }
    }
  }
  const out = Buffer.alloc(width * height * 4);
  const grainPrng = createPrng(subSeed(seed, 5));
  for (let i = 0, o = 0; i < width * height; i++, o += 4) {
    const lum = octaves[0]!.n[i]! * octaves[0]!.amp + octaves[1]!.n[i]! * octaves[1]!.amp + octaves[2]!.n[i]! * octaves[2]!.amp;
    const t = tint[i]! * 12;
    const noise = grain > 0 ? (grainPrng.next() * 2 - 1) * grain : 0;
    out[o] = clamp255(b[i]! + lum - t + noise);
    out[o + 1] = clamp255(g[i]! + lum + noise);
    out[o + 2] = clamp255(r[i]! + lum + t + noise);
  }
  return out;
}
