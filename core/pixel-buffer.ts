/**
 * The one internal pixel format of vnc-runner: 32-bit little-endian BGRX, which is what X11
 * ZPixmap at depth 24 delivers. Read as a little-endian uint32 a pixel is `0x00RRGGBB`.
 * Conversion to a client's pixel format happens only at the edge (server/pixel-format.ts).
 */
export interface PixelBuffer {
  readonly width: number;
  readonly height: number;
  /** Distance between rows, in pixels: >= width, or 0 in a solid view (`solidPixelBuffer`). */
  readonly stride: number;
  /** BGRX bytes, `stride * height * 4` long at least. */
  readonly data: Buffer;
  /** The same memory as `data`, one element per pixel (`0x00RRGGBB` on little-endian hosts). */
  readonly pixels: Uint32Array;
}

/** Allocates a zero-filled (black) buffer. */
export function createPixelBuffer(width: number, height: number, stride = width): PixelBuffer {
  const data = Buffer.alloc(stride * height * 4);
  return wrapPixelBuffer(data, width, height, stride);
}

/** Wraps existing BGRX bytes without copying. `data.byteOffset` must be 4-byte aligned. */
export function wrapPixelBuffer(data: Buffer, width: number, height: number, stride = width): PixelBuffer {
  if (data.length < stride * height * 4) throw new RangeError('pixel data shorter than stride*height*4');
  if (data.byteOffset % 4 !== 0) {
    // Uint32Array views need alignment: copy once rather than fail.
    data = Buffer.from(data);
  }
  const pixels = new Uint32Array(data.buffer, data.byteOffset, stride * height);
  return { width, height, stride, data, pixels };
}

/**
 * A read-only `width`×`height` view in which every pixel is `colour` (`0x00RRGGBB`): one row
 * of pixels with stride 0, so every row reads that row. Lets an encoder paint a solid area
 * (glyph copies' background fill) through its usual path without a frame-sized buffer.
 */
export function solidPixelBuffer(width: number, height: number, colour: number): PixelBuffer {
  const data = Buffer.alloc(width * 4);
  const pixels = new Uint32Array(data.buffer, data.byteOffset, width).fill(colour);
  return { width, height, stride: 0, data, pixels };
}
