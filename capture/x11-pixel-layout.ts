/**
 * Checks that the root window's pixels can be read as our internal BGRX format without any
 * conversion: a TrueColor/DirectColor visual with 8-bit channels at 0xff0000/0xff00/0xff, a
 * 32-bits-per-pixel ZPixmap format for the root depth, and LSBFirst image byte order. That is
 * what Xvfb, Xorg and Xwayland give at depth 24 (and 32); anything else is refused clearly
 * instead of producing swapped colours.
 */
import { ErrorCode, VncError } from '../core/errors.js';

/** What the grabber needs to know about the root's pixels. */
export interface RootPixelLayout {
  readonly depth: number;
  readonly visualId: number;
  /** Bytes per row of a ZPixmap image `width` pixels wide (always width*4 here). */
  bytesPerLine(width: number): number;
}

const TRUE_COLOR = 4;
const DIRECT_COLOR = 5;
const LSB_FIRST = 0;

/**
 * Reads the layout from the raw setup block (`display`, `screen` as given by the `x11`
 * package). Throws `VNC_ERR_DESKTOP` when the root visual is not BGRX-compatible.
 */
export function rootPixelLayout(display: any, screen: any): RootPixelLayout {
  const depth: number = screen.root_depth;
  const visualId: number = screen.root_visual;
  const visual = screen.depths?.[depth]?.[visualId];
  const format = display.format?.[depth];
  const problems: string[] = [];
  if (!visual) problems.push(`root visual 0x${Number(visualId).toString(16)} not found at depth ${depth}`);
  else {
    if (visual.class !== TRUE_COLOR && visual.class !== DIRECT_COLOR) problems.push(`visual class ${visual.class} is not TrueColor`);
    if (visual.red_mask !== 0xff0000 || visual.green_mask !== 0xff00 || visual.blue_mask !== 0xff) {
      problems.push(
        `channel masks r=0x${visual.red_mask.toString(16)} g=0x${visual.green_mask.toString(16)} b=0x${visual.blue_mask.toString(16)} are not 8-bit RGB`,
      );
    }
  }
  if (depth !== 24 && depth !== 32) problems.push(`root depth ${depth} (need 24 or 32)`);
  if (!format) problems.push(`no pixmap format for depth ${depth}`);
  else if (format.bits_per_pixel !== 32) problems.push(`${format.bits_per_pixel} bits per pixel (need 32)`);
  if (display.image_byte_order !== LSB_FIRST) problems.push('image byte order is MSBFirst');
  if (problems.length) {
    throw new VncError(ErrorCode.Desktop, `unsupported X screen pixel layout: ${problems.join('; ')}`);
  }
  const pad = (format.scanline_pad as number) || 32;
  return {
    depth,
    visualId,
    // At 32 bpp every row is already a multiple of any legal scanline pad (8/16/32 bits).
    bytesPerLine: (width: number) => Math.ceil((width * 32) / pad) * (pad / 8),
  };
}
