/**
 * RFB wire constants (rfbproto.rst, the community RFB 3.8 specification), one table per
 * namespace. Everything is an `as const` object so call sites read `Encoding.Tight` and the
 * derived union types catch typos at compile time.
 */

/** The version string this server offers (rfbproto "ProtocolVersion"). */
export const RFB_VERSION_3_8 = 'RFB 003.008\n';

/** Client-to-server message types (rfbproto "Client to Server Messages"). */
export const ClientMessageType = {
  SetPixelFormat: 0,
  SetEncodings: 2,
  FramebufferUpdateRequest: 3,
  KeyEvent: 4,
  PointerEvent: 5,
  ClientCutText: 6,
  EnableContinuousUpdates: 150,
  ClientFence: 248,
  SetDesktopSize: 251,
  Qemu: 255,
} as const;
export type ClientMessageTypeValue = (typeof ClientMessageType)[keyof typeof ClientMessageType];

/** Sub-types of the QEMU client message (type 255). */
export const QemuSubtype = {
  ExtendedKeyEvent: 0,
} as const;

/** Server-to-client message types (rfbproto "Server to Client Messages"). */
export const ServerMessageType = {
  FramebufferUpdate: 0,
  SetColourMapEntries: 1,
  Bell: 2,
  ServerCutText: 3,
  EndOfContinuousUpdates: 150,
  ServerFence: 248,
} as const;
export type ServerMessageTypeValue = (typeof ServerMessageType)[keyof typeof ServerMessageType];

/** Real encodings: they carry pixels (rfbproto "Encodings"). */
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
export type EncodingValue = (typeof Encoding)[keyof typeof Encoding];

/**
 * Pseudo-encodings: capability announcements and pseudo-rectangles (rfbproto
 * "Pseudo-encodings"). All values are the signed 32-bit numbers SetEncodings carries.
 */
export const PseudoEncoding = {
  /** JPEG quality 0 (-32) … 9 (-23). */
  QualityLevel0: -32,
  QualityLevel9: -23,
  /** Compression level 0 (-256) … 9 (-247). */
  CompressLevel0: -256,
  CompressLevel9: -247,
  Cursor: -239,
  DesktopSize: -223,
  LastRect: -224,
  QemuExtendedKeyEvent: -258,
  DesktopName: -307,
  ExtendedDesktopSize: -308,
  Fence: -312,
  ContinuousUpdates: -313,
  /** ExtendedMouseButtons: listed only so logs can name it; this server never enables it. */
  ExtendedMouseButtons: -316,
  /** 0xC0A1E5CE read as S32 (= -0x3F5E1A32 = -1063131698), which is how SetEncodings delivers it. */
  ExtendedClipboard: 0xc0a1e5ce | 0,
} as const;
export type PseudoEncodingValue = (typeof PseudoEncoding)[keyof typeof PseudoEncoding];

/** Security types (rfbproto "Security"). Only None and VncAuth are implemented. */
export const SecurityType = {
  Invalid: 0,
  None: 1,
  VncAuth: 2,
  VeNCrypt: 19,
} as const;
export type SecurityTypeValue = (typeof SecurityType)[keyof typeof SecurityType];

/** SecurityResult status words (rfbproto "SecurityResult"). */
export const SecurityResult = {
  Ok: 0,
  Failed: 1,
  TooManyAttempts: 2,
} as const;

/** ClientFence / ServerFence flag bits (rfbproto "ClientFence"). */
export const FenceFlag = {
  BlockBefore: 1 << 0,
  BlockAfter: 1 << 1,
  SyncNext: 1 << 2,
  /** Bit 31. Kept as an unsigned number so `flags & FenceFlag.Request` compares naturally after `>>> 0`. */
  Request: 0x80000000,
} as const;
/** The flags this server understands; a fence reply clears every other bit (rfbproto "ClientFence"). */
export const FENCE_SUPPORTED_FLAGS = FenceFlag.BlockBefore | FenceFlag.BlockAfter | FenceFlag.SyncNext;
/** Largest fence payload the protocol allows. */
export const FENCE_MAX_PAYLOAD_BYTES = 64;

/** Extended Clipboard flag bits (rfbproto "Extended Clipboard Pseudo-Encoding"). */
export const ClipboardFormat = {
  Text: 1 << 0,
  Rtf: 1 << 1,
  Html: 1 << 2,
  Dib: 1 << 3,
  Files: 1 << 4,
} as const;
/** Bits 0–15 of the flags word are formats. */
export const CLIPBOARD_FORMAT_MASK = 0x0000ffff;
export const ClipboardAction = {
  Caps: 1 << 24,
  Request: 1 << 25,
  Peek: 1 << 26,
  Notify: 1 << 27,
  Provide: 1 << 28,
} as const;
/** Bits 24–31 of the flags word are actions (unsigned). */
export const CLIPBOARD_ACTION_MASK = 0xff000000;

/** ExtendedDesktopSize x-position: why the layout changed. */
export const DesktopSizeReason = {
  Server: 0,
  Client: 1,
  OtherClient: 2,
} as const;
/** ExtendedDesktopSize y-position: the result of a SetDesktopSize. */
export const DesktopSizeStatus = {
  Ok: 0,
  Prohibited: 1,
  OutOfResources: 2,
  InvalidLayout: 3,
  Forwarded: 4,
} as const;

/** FramebufferUpdate rectangle count meaning "until a LastRect pseudo-rectangle". */
export const LAST_RECT_COUNT = 0xffff;

const ENCODING_NAMES: ReadonlyMap<number, string> = new Map<number, string>([
  ...Object.entries(Encoding).map(([k, v]) => [v, k] as [number, string]),
  ...Object.entries(PseudoEncoding)
    .filter(([k]) => !/Level\d$/.test(k))
    .map(([k, v]) => [v, k] as [number, string]),
]);

/** A readable name for an encoding or pseudo-encoding number, for logs. Never throws. */
export function encodingName(n: number): string {
  const known = ENCODING_NAMES.get(n);
  if (known !== undefined) return known;
  if (n >= PseudoEncoding.QualityLevel0 && n <= PseudoEncoding.QualityLevel9) {
    return `QualityLevel${n - PseudoEncoding.QualityLevel0}`;
  }
  if (n >= PseudoEncoding.CompressLevel0 && n <= PseudoEncoding.CompressLevel9) {
    return `CompressLevel${n - PseudoEncoding.CompressLevel0}`;
  }
  return `unknown(${n})`;
}
