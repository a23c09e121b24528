/**
 * The encodings the scene benchmark asks for, as the SetEncodings lists a viewer would send.
 * Every list includes CopyRect (all real viewers do, and it is what makes scrolling and window
 * moves cheap) and a compression level, by default 2 — what TigerVNC's vncviewer and noVNC send
 * by default — so that every server is asked the same thing. "tight" asks for no quality level,
 * which every Tight server takes as "lossless, no JPEG"; "tight-jpeg6" adds quality level 6.
 */
import { Enc } from '../lib/rect-framing.js';

export const ENCODING_IDS = ['raw', 'zlib', 'hextile', 'zrle', 'tight', 'tight-jpeg6', 'tightpng'] as const;
export type EncodingId = (typeof ENCODING_IDS)[number];

const HEXTILE = 5;
const COMPRESS_LEVEL_0 = -256;

export interface EncodingConfig {
  readonly id: EncodingId;
  /** The SetEncodings list. */
  readonly list: readonly number[];
  /** JPEG allowed (the bytes compare with lossy figures only). */
  readonly lossy: boolean;
  /** Only vnc-runner is measured with it (x0vncserver has no TightPNG; the issue asks for ours only). */
  readonly oursOnly: boolean;
}

/** The configuration of encoding `id` with compression level `compress` (0–9). */
export function encodingConfig(id: EncodingId, compress = 2): EncodingConfig {
  if (!(Number.isInteger(compress) && compress >= 0 && compress <= 9)) throw new RangeError(`compression level must be 0..9 (got ${compress})`);
  const cl = COMPRESS_LEVEL_0 + compress;
  switch (id) {
    case 'raw': return { id, list: [Enc.Raw, Enc.CopyRect], lossy: false, oursOnly: false };
    case 'zlib': return { id, list: [Enc.Zlib, Enc.CopyRect, cl], lossy: false, oursOnly: false };
    case 'hextile': return { id, list: [HEXTILE, Enc.CopyRect], lossy: false, oursOnly: false };
    case 'zrle': return { id, list: [Enc.ZRLE, Enc.CopyRect, cl], lossy: false, oursOnly: false };
    case 'tight': return { id, list: [Enc.Tight, Enc.CopyRect, cl, Enc.LastRect], lossy: false, oursOnly: false };
    case 'tight-jpeg6': return { id, list: [Enc.Tight, Enc.CopyRect, cl, Enc.QualityLevel0 + 6, Enc.LastRect], lossy: true, oursOnly: false };
    case 'tightpng': return { id, list: [Enc.TightPNG, Enc.CopyRect, cl, Enc.LastRect], lossy: false, oursOnly: true };
  }
}

export function isEncodingId(s: string): s is EncodingId {
  return (ENCODING_IDS as readonly string[]).includes(s);
}
