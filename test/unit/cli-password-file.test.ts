import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { deobfuscateVncPassword, obfuscateVncPassword, parsePasswordFile } from '../../cli/password-file.js';
import { encodeWildXauthEntry } from '../../cli/xauthority.js';

const vncpasswd = (input: string): Buffer => execFileSync('vncpasswd', ['-f'], { input });

describe('password files', () => {
  it('matches TigerVNC vncpasswd byte for byte', () => {
    for (const pw of ['a', 'secret', '12345678', 'p@ss w0']) {
      expect(obfuscateVncPassword(pw).toString('hex')).toBe(vncpasswd(`${pw}\n`).toString('hex'));
    }
  });
  it('decodes vncpasswd output, truncating like VNC at 8 bytes', () => {
    expect(deobfuscateVncPassword(vncpasswd('secret\n'))).toEqual(['secret']);
    expect(deobfuscateVncPassword(vncpasswd('longpassword1\n'))).toEqual(['longpass']);
    expect(deobfuscateVncPassword(vncpasswd('full\nview\n'))).toEqual(['full', 'view']);
    expect(() => deobfuscateVncPassword(Buffer.alloc(9))).toThrow(/8 or 16 bytes/);
  });
  it('detects the format', () => {
    const bin = parsePasswordFile(vncpasswd('secret\n'), 'f');
    expect(bin.format).toBe('vncpasswd');
    expect(bin.password.reveal()).toBe('secret');
    const plain = parsePasswordFile(Buffer.from('secret\n'), 'f');
    expect(plain.format).toBe('plain');
    expect(plain.password.reveal()).toBe('secret');
    // 8 printable bytes without newline: a plain password, not DES output
    expect(parsePasswordFile(Buffer.from('password'), 'f')).toMatchObject({ format: 'plain' });
    expect(parsePasswordFile(Buffer.from('pw\r\nrest'), 'f').password.reveal()).toBe('pw');
  });
  it('recognises an all-printable obfuscated file by its NUL padding', () => {
    // Search for a short password whose DES block happens to be printable ASCII.
    let found: string | undefined;
    for (let i = 0; i < 200_000 && found === undefined; i++) {
      const block = obfuscateVncPassword(`p${i}`);
      if (block.every((b) => b >= 0x20 && b < 0x7f)) found = `p${i}`;
    }
    expect(found).toBeDefined();
    const parsed = parsePasswordFile(obfuscateVncPassword(found!), 'f');
    expect(parsed).toMatchObject({ format: 'vncpasswd' });
    expect(parsed.password.reveal()).toBe(found);
  });
  it('rejects binary junk and empty passwords', () => {
    expect(() => parsePasswordFile(Buffer.from([1, 2, 3, 0, 5]), 'f')).toThrow(/neither a text password file nor/);
    expect(() => parsePasswordFile(obfuscateVncPassword(''), 'f')).toThrow(/empty/);
    expect(() => parsePasswordFile(Buffer.from('\n'), 'f')).toThrow(/empty/);
  });
});

describe('Xauthority entry', () => {
  it('encodes a FamilyWild MIT-MAGIC-COOKIE-1 entry with empty address and display', () => {
    const cookie = Buffer.alloc(16, 0xab);
    const e = encodeWildXauthEntry(cookie);
    expect(e.subarray(0, 6).toString('hex')).toBe('ffff00000000');
    expect(e.readUInt16BE(6)).toBe(18);
    expect(e.subarray(8, 26).toString('latin1')).toBe('MIT-MAGIC-COOKIE-1');
    expect(e.readUInt16BE(26)).toBe(16);
    expect(e.subarray(28)).toEqual(cookie);
  });
});
