/**
 * Mutations of valid byte streams (AFL-style havoc, kept small and deterministic): bit flips,
 * interesting byte values, truncation, length-field extremes, splices with other samples,
 * inserts, deletes and duplications. Every mutation keeps the input under `maxBytes`, so an
 * allocation the decoder makes beyond its configured bound can only come from trusting a
 * length field, never from the input itself being large.
 */
import type { Field, Sample } from './corpus.js';
import type { Rng } from './random.js';

export type MutationName =
  | 'bit-flip'
  | 'interesting-byte'
  | 'truncate'
  | 'length-extreme'
  | 'splice'
  | 'insert-random'
  | 'delete-range'
  | 'duplicate-range';

export const MUTATIONS: readonly MutationName[] = [
  'bit-flip',
  'interesting-byte',
  'truncate',
  'length-extreme',
  'splice',
  'insert-random',
  'delete-range',
  'duplicate-range',
];

const INTERESTING_U8 = [0, 1, 0x7f, 0x80, 0xfe, 0xff];

/**
 * Values written into length and count fields: zero, one, sign boundaries, all-ones, and the
 * configured bounds ± 1 (the off-by-one places a bound check can be wrong).
 */
export function interestingLengths(bounds: readonly number[]): number[] {
  const base = [0, 1, 2, 3, 4, 15, 16, 64, 65, 255, 256, 0x7fff, 0x8000, 0xffff, 0x10000, 0x7fffffff, 0x80000000, 0x80000001, 0xffffffff, 0xfffffffc];
  const around = bounds.flatMap((b) => [b - 1, b, b + 1, -b, -(b + 1)]);
  return [...base, ...around].map((v) => v >>> 0);
}

export interface MutateOptions {
  /** Largest mutated input, bytes. */
  readonly maxBytes: number;
  /** Values for `length-extreme` (see `interestingLengths`). */
  readonly lengths: readonly number[];
  /** Other samples to splice from. */
  readonly donors: readonly Sample[];
}

function writeField(b: Buffer, f: Field, v: number): void {
  if (f.offset + f.size > b.length) return;
  if (f.size === 1) b[f.offset] = v & 0xff;
  else if (f.size === 2) b.writeUInt16BE(v & 0xffff, f.offset);
  else b.writeUInt32BE(v >>> 0, f.offset);
}

/** Applies one named mutation; returns a new Buffer (the input is not modified). */
export function applyMutation(name: MutationName, input: Sample, rng: Rng, opts: MutateOptions): Buffer {
  const src = input.bytes;
  const b = Buffer.from(src);
  const pos = (extra = 0) => rng.int(Math.max(1, b.length + extra));
  switch (name) {
    case 'bit-flip': {
      if (b.length === 0) return b;
      const flips = 1 + rng.int(8);
      for (let i = 0; i < flips; i++) {
        const p = pos();
        b[p] = b[p]! ^ (1 << rng.int(8));
      }
      return b;
    }
    case 'interesting-byte': {
      if (b.length === 0) return b;
      b[pos()] = rng.pick(INTERESTING_U8);
      return b;
    }
    case 'truncate':
      return b.subarray(0, rng.int(b.length + 1));
    case 'length-extreme': {
      // Prefer a known length/count field; otherwise any aligned position.
      const f: Field = input.fields.length > 0 && rng.chance(0.85)
        ? rng.pick(input.fields)
        : { offset: pos(), size: rng.pick([1, 2, 4] as const) };
      writeField(b, f, rng.pick(opts.lengths));
      return b;
    }
    case 'splice': {
      const donor = rng.pick(opts.donors).bytes;
      const from = rng.int(donor.length + 1);
      const piece = donor.subarray(from, from + rng.int(donor.length - from + 1));
      const at = rng.int(b.length + 1);
      const out = rng.chance(0.5)
        ? Buffer.concat([b.subarray(0, at), piece, b.subarray(at)]) // insert
        : Buffer.concat([b.subarray(0, at), piece]); // replace the tail
      return out.subarray(0, opts.maxBytes);
    }
    case 'insert-random': {
      const at = rng.int(b.length + 1);
      const out = Buffer.concat([b.subarray(0, at), rng.bytes(1 + rng.int(16)), b.subarray(at)]);
      return out.subarray(0, opts.maxBytes);
    }
    case 'delete-range': {
      if (b.length === 0) return b;
      const at = rng.int(b.length);
      const n = 1 + rng.int(Math.min(32, b.length - at));
      return Buffer.concat([b.subarray(0, at), b.subarray(at + n)]);
    }
    case 'duplicate-range': {
      if (b.length === 0) return b;
      const at = rng.int(b.length);
      const n = 1 + rng.int(Math.min(64, b.length - at));
      const out = Buffer.concat([b.subarray(0, at + n), b.subarray(at, at + n), b.subarray(at + n)]);
      return out.subarray(0, opts.maxBytes);
    }
  }
}

/** 1..maxMutations random mutations in a row; returns the bytes and the names applied. */
export function mutate(input: Sample, rng: Rng, opts: MutateOptions, maxMutations = 4): { bytes: Buffer; applied: MutationName[] } {
  let cur: Sample = input;
  const applied: MutationName[] = [];
  const n = 1 + rng.int(maxMutations);
  for (let i = 0; i < n; i++) {
    const name = rng.pick(MUTATIONS);
    applied.push(name);
    // Field offsets stay meaningful only until the first length-changing mutation; after that
    // they are still valid positions, just not necessarily length fields.
    cur = { bytes: applyMutation(name, cur, rng, opts), fields: cur.fields };
  }
  return { bytes: cur.bytes.subarray(0, opts.maxBytes), applied };
}
