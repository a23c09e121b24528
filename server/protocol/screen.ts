/**
 * The 16-byte SCREEN structure shared by SetDesktopSize and the ExtendedDesktopSize
 * pseudo-rectangle (rfbproto "ExtendedDesktopSize Pseudo-encoding", "Screen Model").
 */
import type { ByteQueue } from './byte-queue.js';

export interface RfbScreen {
  /** Opaque id; a client keeps it to tell a moved screen from a new one. */
  readonly id: number;
  readonly x: number;
  readonly y: number;
  readonly width: number;
  readonly height: number;
  /** Unused by the spec today; preserved as received. */
  readonly flags: number;
}

export const SCREEN_BYTES = 16;

/** Reads one SCREEN; the caller has checked `queue.has(SCREEN_BYTES)`. */
export function readScreen(queue: ByteQueue): RfbScreen {
  return {
    id: queue.readU32(),
    x: queue.readU16(),
    y: queue.readU16(),
    width: queue.readU16(),
    height: queue.readU16(),
    flags: queue.readU32(),
  };
}

/** Writes one SCREEN at `offset` of `out`. */
export function writeScreen(out: Buffer, offset: number, s: RfbScreen): void {
  out.writeUInt32BE(s.id >>> 0, offset);
  out.writeUInt16BE(s.x, offset + 4);
  out.writeUInt16BE(s.y, offset + 6);
  out.writeUInt16BE(s.width, offset + 8);
  out.writeUInt16BE(s.height, offset + 10);
  out.writeUInt32BE(s.flags >>> 0, offset + 12);
}
