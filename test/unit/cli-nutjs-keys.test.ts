import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { nutKeyName, printableChar } from '../../cli/nutjs/keysym-to-nut-key.js';

describe('nut-js backend (mapping only: the backend itself is not verified on real hardware)', () => {
  it('maps named keysyms and leaves printable ones to text input', () => {
    expect(nutKeyName(0xff0d)).toBe('Enter');
    expect(nutKeyName(0xffbe)).toBe('F1');
    expect(nutKeyName(0xffbe + 23)).toBe('F24');
    expect(nutKeyName(0xffb7)).toBe('NumPad7');
    expect(nutKeyName(0x41)).toBeUndefined();
    expect(printableChar(0x21)).toBe('!');
    expect(printableChar(0xe9)).toBe('é');
    expect(printableChar(0x01004e2d)).toBe('中');
    expect(printableChar(0xff0d)).toBeUndefined();
  });

  it('is never imported statically, so Linux never loads nut-js', () => {
    const main = readFileSync(new URL('../../cli/main.ts', import.meta.url), 'utf8');
    expect(main).not.toMatch(/from ['"].*nut-js/);
    expect(main).not.toMatch(/from ['"]\.\/nutjs\/nutjs-desktop/);
  });
});
