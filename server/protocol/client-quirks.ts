/**
 * Bug-compatibility with clients that deviate from the spec in ways a server can absorb.
 *
 * asyncvnc (barneygale/asyncvnc, a Python asyncio client used by AI agents; read at release
 * 1.3.0, asyncvnc.py) does the following — each item checked in its source:
 * - Handshake (`Client.create`): reads our version line and always answers `RFB 003.008\n`;
 *   picks security type 33 (Apple), else 1 (None), else 2 (VNC auth), in that order; VNC auth
 *   key = ASCII password[:8] zero-padded with each byte's bits mirrored, TripleDES-ECB with that
 *   8-byte key (= single DES); then reads a U32 SecurityResult (0 ok, 1/2 failed, any other value
 *   is taken as a reason length). ClientInit is `01` (shared).
 * - `Video.create`: reads ServerInit; if the pixel format is not one of four 32-bpp layouts it
 *   sends SetPixelFormat (RGBA); ours (BGRX LE) is one of them, so it sends none. Then it sends
 *   SetEncodings `02 00 00 01 00 00 00 06`: exactly one encoding, Zlib (6).
 * - `Client.read` / `UpdateType`: VIDEO = 0, CLIPBOARD = 2, BELL = 3 — Bell and ServerCutText
 *   swapped (the spec has Bell = 2, ServerCutText = 3). For type 2 it reads 3 padding bytes,
 *   a U32 length and Latin-1 text; for type 3 it reads nothing more; any other type raises
 *   ValueError (so no fences, no EndOfContinuousUpdates, no colour maps). In FramebufferUpdate
 *   rectangles it accepts only Raw (0) and Zlib (6) — no pseudo-rectangles.
 * - `Clipboard.write`: `b'\x06\x00' + len(data).to_bytes(4, 'big') + data`, Latin-1 — one
 *   padding byte where the spec has three.
 *
 * So for such a client the session must: decode ClientCutText with `cutTextPaddingBytes: 1`,
 * encode ServerCutText with type 2 and never send Bell (a spec Bell, type 2, would make
 * asyncvnc read 7 following bytes as padding+length). Sending nothing but FramebufferUpdate
 * (Raw/Zlib rectangles only) and type-2 cut text keeps it in sync. The session should send no
 * Bell or ServerCutText before the client's first SetEncodings, when the client is not yet
 * identified.
 */

/** Client behaviours the session must adapt to. */
export interface ClientQuirks {
  /**
   * The client behaves like asyncvnc: swapped Bell/ServerCutText numbers and one-byte
   * ClientCutText padding.
   */
  readonly asyncvnc: boolean;
}

export const NO_QUIRKS: ClientQuirks = Object.freeze({ asyncvnc: false });

/**
 * Recognises a client from its SetEncodings list. asyncvnc's list is exactly `[6]`; no other
 * known viewer asks for Zlib alone (noVNC, TigerVNC, TightVNC, vncdotool, vncsnapshot all list
 * Raw and/or several encodings and pseudo-encodings), so this is specific enough.
 */
export function detectClientQuirks(encodings: readonly number[]): ClientQuirks {
  return encodings.length === 1 && encodings[0] === 6 ? Object.freeze({ asyncvnc: true }) : NO_QUIRKS;
}
