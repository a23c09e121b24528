import { describe, expect, it } from 'vitest';
import { rootPixelLayout } from '../../capture/x11-pixel-layout.js';
import { ErrorCode, isVncError } from '../../core/errors.js';

function setup(over: { depth?: number; bpp?: number; masks?: [number, number, number]; cls?: number; order?: number } = {}) {
  const depth = over.depth ?? 24;
  const [r, g, b] = over.masks ?? [0xff0000, 0xff00, 0xff];
  const display = { image_byte_order: over.order ?? 0, format: { [depth]: { bits_per_pixel: over.bpp ?? 32, scanline_pad: 32 } } };
  const screen = {
    root_depth: depth,
    root_visual: 0x21,
    depths: { [depth]: { 0x21: { vid: 0x21, class: over.cls ?? 4, red_mask: r, green_mask: g, blue_mask: b } } },
  };
  return { display, screen };
}

describe('rootPixelLayout', () => {
  it('accepts the usual depth-24 TrueColor at 32 bpp, LSBFirst', () => {
    const { display, screen } = setup();
    const l = rootPixelLayout(display, screen);
    expect(l.depth).toBe(24);
    expect(l.visualId).toBe(0x21);
    expect(l.bytesPerLine(333)).toBe(1332);
  });

  it.each([
    ['16-bit depth', { depth: 16, bpp: 16, masks: [0xf800, 0x7e0, 0x1f] as [number, number, number] }],
    ['BGR channel order', { masks: [0xff, 0xff00, 0xff0000] as [number, number, number] }],
    ['24 bits per pixel', { bpp: 24 }],
    ['MSBFirst images', { order: 1 }],
    ['PseudoColor', { cls: 3 }],
  ])('refuses %s with VNC_ERR_DESKTOP', (_name, over) => {
    const { display, screen } = setup(over);
    expect(() => rootPixelLayout(display, screen)).toThrow(/unsupported X screen pixel layout/);
    try {
      rootPixelLayout(display, screen);
    } catch (e) {
      expect(isVncError(e, ErrorCode.Desktop)).toBe(true);
    }
  });
});
