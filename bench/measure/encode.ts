/**
 * Cost of encoding one full 1920×1080 frame of the scene, per encoding, through the same
 * EncodeManager a session uses (solid-area detection, splitting, persistent zlib streams,
 * sharp for JPEG/PNG). Records ms and wire bytes per encoding; the ratio to Raw is derived
 * when reporting.
 */
import type { PixelBuffer } from '../../core/pixel-buffer.js';
import { EncodeManager } from '../../server/encoding/encode-manager.js';
import { Encoding, PseudoEncoding } from '../../server/encoding/encodings.js';
import { NATIVE_PIXEL_FORMAT, PixelConverter } from '../../server/pixel-format.js';
import type { MetricCollector } from '../lib/results.js';

/** An encoding setup as a client would ask for it. */
export interface EncodingCase {
  /** Key used in metric ids: `encode.<key>.ms`, `encode.<key>.bytes`. */
  readonly key: string;
  readonly label: string;
  /** SetEncodings list. */
  readonly encodings: readonly number[];
}

export const ENCODING_CASES: readonly EncodingCase[] = [
  { key: 'raw', label: 'Raw', encodings: [Encoding.Raw] },
  { key: 'zlib', label: 'Zlib', encodings: [Encoding.Zlib] },
  { key: 'zrle', label: 'ZRLE', encodings: [Encoding.ZRLE] },
  { key: 'hextile', label: 'Hextile', encodings: [Encoding.Hextile] },
  { key: 'tight', label: 'Tight', encodings: [Encoding.Tight] },
  { key: 'tight-jpeg6', label: 'Tight+JPEG q6', encodings: [Encoding.Tight, PseudoEncoding.QualityLevel0 + 6] },
  { key: 'tightpng', label: 'TightPNG', encodings: [Encoding.TightPNG] },
];

/** Encodes `fb` `samples` times per case (after one warm-up) and records ms and bytes. */
export async function measureEncodings(
  fb: PixelBuffer,
  samples: number,
  out: MetricCollector,
  onCase: (label: string) => void = () => {},
): Promise<void> {
  const converter = new PixelConverter(NATIVE_PIXEL_FORMAT);
  const full = [{ x: 0, y: 0, w: fb.width, h: fb.height }];
  for (const c of ENCODING_CASES) {
    onCase(c.label);
    const manager = new EncodeManager();
    manager.setEncodings(c.encodings);
    try {
      const ms: number[] = [];
      const bytes: number[] = [];
      for (let i = 0; i <= samples; i++) {
        const t0 = performance.now();
        const encoded = await manager.encodeRegion(fb, full, { converter });
        const dt = performance.now() - t0;
        if (i === 0) continue; // warm-up: lazy encoder creation, sharp/zlib thread start
        ms.push(dt);
        bytes.push(encoded.chunks.reduce((a, b) => a + b.length, 0));
      }
      out.add({ id: `encode.${c.key}.ms`, group: 'encode', label: `${c.label}: encode full frame`, unit: 'ms' }, ms);
      out.add({ id: `encode.${c.key}.bytes`, group: 'encode', label: `${c.label}: bytes per full frame`, unit: 'bytes' }, bytes);
    } finally {
      manager.dispose();
    }
  }
}
