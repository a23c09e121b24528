/**
 * The encodings the encoders emit. The numbers and names live in the protocol constants (one
 * source of truth); this module adds only which real encodings this server can produce.
 */
import { Encoding } from '../protocol/constants.js';

export { Encoding, PseudoEncoding, encodingName } from '../protocol/constants.js';

/** The real (pixel) encodings this server can emit. */
export const SUPPORTED_ENCODINGS: readonly number[] = Object.freeze([
  Encoding.Raw,
  Encoding.CopyRect,
  Encoding.RRE,
  Encoding.Hextile,
  Encoding.Zlib,
  Encoding.Tight,
  Encoding.ZRLE,
  Encoding.TightPNG,
]);
