import { describe, expect, it } from 'vitest';
import { ByteQueue } from '../../server/protocol/byte-queue.js';
import { Encoding, encodingName, PseudoEncoding } from '../../server/protocol/constants.js';
import { splitOneByte, splitRandom } from '../helpers/chunked-feeder.js';

const SAMPLE = Buffer.from('0102fffe80000001deadbeef7fffffff00', 'hex');

function readAll(q: ByteQueue) {
  return [q.readU8(), q.readU8(), q.readU16(), q.readU32(), q.readS32(), q.readS32(), q.readU8()];
}

describe('ByteQueue', () => {
  it('reads big-endian integers identically whatever the chunking', () => {
    const expected = [1, 2, 0xfffe, 0x80000001, 0xdeadbeef | 0, 0x7fffffff, 0];
    for (const chunks of [[SAMPLE], splitOneByte(SAMPLE), splitRandom(SAMPLE, 1, 3), splitRandom(SAMPLE, 2, 5)]) {
      const q = new ByteQueue();
      chunks.forEach((c) => q.push(c));
      expect(q.available).toBe(SAMPLE.length);
      expect(readAll(q)).toEqual(expected);
      expect(q.available).toBe(0);
    }
  });

  it('readBytes spans chunks and copies; within one chunk it is a view', () => {
    const q = new ByteQueue();
    q.push(Buffer.from([1, 2, 3]));
    q.push(Buffer.from([4, 5]));
    expect([...q.readBytes(2)]).toEqual([1, 2]);
    expect([...q.readBytes(3)]).toEqual([3, 4, 5]);
    expect(q.readBytes(0).length).toBe(0);
  });

  it('peekU8 looks ahead across chunks without consuming', () => {
    const q = new ByteQueue();
    splitOneByte(Buffer.from([9, 8, 7])).forEach((c) => q.push(c));
    expect(q.peekU8(0)).toBe(9);
    expect(q.peekU8(2)).toBe(7);
    expect(q.available).toBe(3);
    expect(() => q.peekU8(3)).toThrow(RangeError);
  });

  it('mark/rewind restores the position even across consumed chunks; commit makes it final', () => {
    const q = new ByteQueue();
    splitOneByte(SAMPLE).forEach((c) => q.push(c));
    q.mark();
    expect(q.readU32()).toBe(0x0102fffe);
    q.skip(4);
    q.rewind();
    expect(q.available).toBe(SAMPLE.length);
    expect(q.readU32()).toBe(0x0102fffe);
    q.mark();
    q.readU8();
    q.commit();
    expect(q.available).toBe(SAMPLE.length - 5);
    expect(() => q.rewind()).toThrow();
  });

  it('underflow is a RangeError (a parser bug), not a silent zero', () => {
    const q = new ByteQueue();
    q.push(Buffer.from([1]));
    expect(() => q.readU16()).toThrow(RangeError);
    expect(q.available).toBe(1);
  });

  it('stays linear with many tiny chunks and repeated rewound attempts (no O(n²) concat)', () => {
    const q = new ByteQueue();
    const total = 200_000;
    const start = performance.now();
    // A parser waiting for a 200 kB body retries after every 1-byte chunk.
    for (let i = 0; i < total; i++) {
      q.push(Buffer.from([i & 0xff]));
      q.mark();
      const ready = q.has(total);
      q.rewind();
      if (ready) break;
    }
    const body = q.readBytes(total);
    expect(body[12345]).toBe(12345 & 0xff);
    expect(performance.now() - start).toBeLessThan(3000);
  });

  it('drops spent chunks (memory does not grow with consumed input)', () => {
    const q = new ByteQueue();
    for (let i = 0; i < 10_000; i++) {
      q.push(Buffer.from([1, 2]));
      q.readU16();
    }
    // Private field check: the chunk list is compacted when no mark is held.
    expect((q as unknown as { chunks: Buffer[] }).chunks.length).toBeLessThan(100);
  });

  it('ignores empty chunks and accepts plain Uint8Arrays', () => {
    const q = new ByteQueue();
    q.push(new Uint8Array(0));
    q.push(new Uint8Array([0xab, 0xcd]));
    expect(q.readU16()).toBe(0xabcd);
  });
});

describe('encodingName', () => {
  it('names encodings, pseudo-encodings and level ranges; never throws', () => {
    expect(encodingName(Encoding.Tight)).toBe('Tight');
    expect(encodingName(Encoding.TightPNG)).toBe('TightPNG');
    expect(encodingName(PseudoEncoding.LastRect)).toBe('LastRect');
    expect(encodingName(PseudoEncoding.ExtendedClipboard)).toBe('ExtendedClipboard');
    expect(encodingName(-32)).toBe('QualityLevel0');
    expect(encodingName(-23)).toBe('QualityLevel9');
    expect(encodingName(-256)).toBe('CompressLevel0');
    expect(encodingName(-250)).toBe('CompressLevel6');
    expect(encodingName(12345)).toBe('unknown(12345)');
  });

  it('ExtendedClipboard is 0xC0A1E5CE as the S32 SetEncodings carries', () => {
    // Note: -0x3F5E1A32 (= -1063131698), not -0x3F5A1A32 as sometimes written.
    expect(PseudoEncoding.ExtendedClipboard).toBe(-0x3f5e1a32);
    expect(PseudoEncoding.ExtendedClipboard >>> 0).toBe(0xc0a1e5ce);
  });
});
