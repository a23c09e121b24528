/**
 * Deterministic fuzz input generation: input `index` of run `seed` is always the same bytes, so
 * a finding is reproduced with `--seed S --index I`.
 */
import { concatSamples, handshakeCorpus, messageCorpus, messageSequence, type Sample, type SecurityConfig } from './corpus.js';
import { interestingLengths, mutate, type MutationName } from './mutate.js';
import { Rng } from './random.js';
import type { TargetMode } from './protocol-target.js';

export interface FuzzInput {
  readonly bytes: Buffer;
  readonly mode: TargetMode;
  /** How the input was made, for reports. */
  readonly origin: 'random' | MutationName[];
}

export interface InputGeneratorOptions {
  /** Largest input, bytes. */
  readonly maxInputBytes: number;
  /** Bounds the decoder enforces; their neighbours are written into length fields. */
  readonly bounds: readonly number[];
  /** Security configurations handshake inputs are generated for. */
  readonly securities: readonly SecurityConfig[];
  /** Share of inputs that start with a handshake (the rest start after ClientInit). */
  readonly handshakeShare: number;
}

/** A per-input seed: different inputs of one run, and equal indices of different runs, differ. */
export function inputSeed(seed: number, index: number): number {
  let h = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index >>> 0, 0x85ebca6b)) >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x7feb352d) >>> 0;
  return (h ^ (h >>> 15)) >>> 0;
}

export class InputGenerator {
  private readonly messages: Sample[] = messageCorpus();
  private readonly handshakes: Map<SecurityConfig, Sample[]>;
  private readonly donors: Sample[];
  private readonly lengths: number[];

  constructor(private readonly opts: InputGeneratorOptions) {
    this.handshakes = new Map(opts.securities.map((s) => [s, handshakeCorpus(s)]));
    this.donors = [...this.messages, ...[...this.handshakes.values()].flat()];
    this.lengths = interestingLengths(opts.bounds);
  }

  generate(seed: number, index: number): FuzzInput {
    const rng = new Rng(inputSeed(seed, index));
    const withHandshake = rng.chance(this.opts.handshakeShare);
    const mode: TargetMode = withHandshake ? { kind: 'handshake', security: rng.pick(this.opts.securities) } : { kind: 'messages' };
    if (rng.chance(0.04)) {
      // Pure noise, sometimes behind a valid handshake so it reaches the message decoder.
      const noise = rng.bytes(rng.int(Math.min(256, this.opts.maxInputBytes) + 1));
      const prefix = mode.kind === 'handshake' && rng.chance(0.5) ? rng.pick(this.handshakes.get(mode.security)!).bytes : Buffer.alloc(0);
      return { bytes: Buffer.concat([prefix, noise]).subarray(0, this.opts.maxInputBytes), mode, origin: 'random' };
    }
    let base = messageSequence(rng, this.messages, 8);
    if (mode.kind === 'handshake') base = concatSamples([rng.pick(this.handshakes.get(mode.security)!), base]);
    const m = mutate(base, rng, { maxBytes: this.opts.maxInputBytes, lengths: this.lengths, donors: this.donors });
    return { bytes: m.bytes, mode, origin: m.applied };
  }
}
