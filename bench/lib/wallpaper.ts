/**
 * A generated wallpaper: a smooth diagonal gradient with a few soft light discs, in BGRX. It is
 * continuous-tone like a photo wallpaper (thousands of colours, where JPEG pays off and palette
 * encodings do not) yet deterministic and cheap to make. Pure function.
 */
export function wallpaperImage(width: number, height: number): Buffer {
  const out = Buffer.alloc(width * height * 4);
  const discs = [
    { x: 0.18, y: 0.3, r: 0.22, rgb: [255, 196, 120] },
    { x: 0.72, y: 0.2, r: 0.16, rgb: [140, 220, 255] },
    { x: 0.55, y: 0.78, r: 0.28, rgb: [255, 140, 200] },
    { x: 0.9, y: 0.65, r: 0.12, rgb: [200, 255, 160] },
  ].map((d) => ({ cx: d.x * width, cy: d.y * height, r: d.r * Math.min(width, height) * 1.6, rgb: d.rgb }));
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const t = (x / width + y / height) / 2;
      let r = 24 + 40 * t;
      let g = 48 + 70 * t;
      let b = 96 + 110 * (1 - t);
      for (const d of discs) {
        const dx = x - d.cx;
        const dy = y - d.cy;
        const k = Math.max(0, 1 - Math.sqrt(dx * dx + dy * dy) / d.r);
        const a = k * k * 0.45;
        r += (d.rgb[0]! - r) * a;
        g += (d.rgb[1]! - g) * a;
        b += (d.rgb[2]! - b) * a;
      }
      const i = (y * width + x) * 4;
      out[i] = Math.round(b);
      out[i + 1] = Math.round(g);
      out[i + 2] = Math.round(r);
    }
  }
  return out;
}
