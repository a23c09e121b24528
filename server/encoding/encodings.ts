/**
 * RFB encoding numbers used by the encoders and the encode manager (rfbproto "Encodings").
 * Real encodings describe pixel data; pseudo-encodings announce client capabilities.
 */
export const Encoding = {
  Raw: 0,
  CopyRect: 1,
  RRE: 2,
  Hextile: 5,
  Zlib: 6,
  Tight: 7,
  ZRLE: 16,
  TightPNG: -260,
} as const;

export const PseudoEncoding = {
  /** -32 … -23: JPEG quality level 0 … 9. */
  QualityLevel0: -32,
  QualityLevel9: -23,
  /** -256 … -247: compression level 0 … 9. */
  CompressLevel0: -256,
  CompressLevel9: -247,
  DesktopSize: -223,
  LastRect: -224,
  Cursor: -239,
  XCursor: -240,
  QemuExtendedKeyEvent: -258,
  DesktopName: -307,
  ExtendedDesktopSize: -308,
  Fence: -312,
  ContinuousUpdates: -313,
  CursorWithAlpha: -314,
} as const;

const NAMES: Record<number, string> = {
  [Encoding.Raw]: 'Raw',
  [Encoding.CopyRect]: 'CopyRect',
  [Encoding.RRE]: 'RRE',
  [Encoding.Hextile]: 'Hextile',
  [Encoding.Zlib]: 'Zlib',
  [Encoding.Tight]: 'Tight',
  [Encoding.ZRLE]: 'ZRLE',
  [Encoding.TightPNG]: 'TightPNG',
};

/** A readable name for logs and benchmark tables (`enc(<n>)` for numbers we do not emit). */
export function encodingName(encoding: number): string {
  return NAMES[encoding] ?? `enc(${encoding})`;
}

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
