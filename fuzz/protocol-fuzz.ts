/**
 * Part (a) of the fuzzer: millions of generated inputs through the in-process target, each fed
 * whole and in a random split. Findings:
 * - crash: anything other than a VncError escaped (a parser bug such as a ByteQueue underflow);
 * - split: the outcome depends on how the bytes were cut;
 * - bound: the decoder waited for more than its bound, or did not rewind after an error;
 * - allocation: a Buffer larger than the configured bound was allocated;
 * - heap: heapUsed or external memory after GC grew by more than the allowed margin;
 * - server: (server-fuzz.ts) the real server did not do what the model predicted.
 */
import { resolveClientMessageOptions, type ClientMessageOptions } from '../server/protocol/client-messages.js';
import { AllocationWatch, type AllocationReport } from './alloc-watch.js';
import { InputGenerator, inputSeed, type FuzzInput } from './inputs.js';
import { settledMemory, MiB, type MemorySample } from './memory.js';
import { randomSplit, Rng } from './random.js';
import { maxClientMessageBytes, runProtocolTarget, TargetCrash, type TargetMode } from './protocol-target.js';

export type FindingKind = 'crash' | 'split' | 'bound' | 'allocation' | 'heap' | 'server';

export interface Finding {
  readonly kind: FindingKind;
  readonly seed: number;
  /** Input index (replay with `--seed S --index I`); -1 for run-wide findings. */
  readonly index: number;
  readonly mode: string;
  /** The input as hex (the reproducer). */
  readonly hex: string;
  readonly detail: string;
}

export interface ProtocolFuzzOptions {
  readonly inputs: number;
  readonly seed: number;
  /** First input index (replay one input with `firstIndex: I, inputs: 1`). Default 0. */
  readonly firstIndex?: number;
  /** Largest generated input. Default 4 KiB. */
  readonly maxInputBytes?: number;
  /** Decoder bounds. Default: 64 KiB cut text, 1024 encodings, 16 screens. */
  readonly clientOptions?: Partial<ClientMessageOptions>;
  /** Allowed heapUsed and external growth (after GC) from start to end. Default 32 MiB. */
  readonly heapMarginBytes?: number;
  /** Stop collecting findings after this many. Default 20. */
  readonly maxFindings?: number;
  /** A full GC, for heap checkpoints (see memory.ts `getGc`). */
  readonly gc?: (() => void) | null;
  /** Called every `progressEvery` inputs. */
  readonly onProgress?: (done: number, findings: number) => void;
  readonly progressEvery?: number;
  /** The target; default `runProtocolTarget`. Tests inject a broken one to prove findings are caught. */
  readonly target?: typeof runProtocolTarget;
}

export interface ProtocolFuzzReport {
  readonly inputs: number;
  readonly seconds: number;
  readonly inputsPerSecond: number;
  readonly findings: readonly Finding[];
  /** How inputs ended: error code, "accepted" (all decoded) or "incomplete". */
  readonly outcomes: Readonly<Record<string, number>>;
  readonly messagesDecoded: number;
  readonly allocation: AllocationReport;
  readonly allocationLimit: number;
  readonly heapStart: MemorySample;
  readonly heapEnd: MemorySample;
  readonly peakRss: number;
}

function modeName(m: TargetMode): string {
  return m.kind === 'handshake' ? `handshake/${m.security}` : 'messages';
}

/** Inputs between two turns of the event loop. */
const YIELD_EVERY = 1000;

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Runs the in-process fuzzer; never throws for a finding (they are in the report). */
export async function runProtocolFuzz(o: ProtocolFuzzOptions): Promise<ProtocolFuzzReport> {
  const target = o.target ?? runProtocolTarget;
  const clientOptions = resolveClientMessageOptions({ maxCutTextBytes: 64 * 1024, ...o.clientOptions });
  const maxInputBytes = o.maxInputBytes ?? 4096;
  const maxFindings = o.maxFindings ?? 20;
  const first = o.firstIndex ?? 0;
  const gen = new InputGenerator({
    maxInputBytes,
    bounds: [clientOptions.maxCutTextBytes, clientOptions.maxEncodings, clientOptions.maxScreens, 64],
    securities: ['none', 'vnc-auth'],
    handshakeShare: 0.3,
  });
  // The largest legitimate allocation: a whole message at its bound, an inflated clipboard at
  // its bound (+1 KiB headroom, +zlib's last chunk), or the harness's own copy of an input.
  const allocationLimit = Math.max(maxClientMessageBytes(clientOptions) + 1024 + 16 * 1024, 4 * maxInputBytes);
  const watch = new AllocationWatch(allocationLimit);
  const findings: Finding[] = [];
  const outcomes: Record<string, number> = {};
  let messagesDecoded = 0;
  let peakRss = 0;
  const add = (f: Finding) => {
    if (findings.length < maxFindings) findings.push(f);
  };
  const finding = (kind: FindingKind, index: number, input: FuzzInput, detail: string) =>
    add({ kind, seed: o.seed, index, mode: modeName(input.mode), hex: input.bytes.toString('hex'), detail });

  const heapStart = settledMemory(o.gc ?? null);
  const every = o.progressEvery ?? 100_000;
  const t0 = performance.now();
  watch.install();
  try {
    for (let i = first; i < first + o.inputs; i++) {
      const input = gen.generate(o.seed, i);
      const splitRng = new Rng(inputSeed(o.seed ^ 0x5eed, i));
      const maxChunk = splitRng.pick([1, 2, 3, 7, 16, 64]);
      let whole;
      let split;
      try {
        whole = target([input.bytes], input.mode, clientOptions);
        split = target(randomSplit(input.bytes, splitRng, maxChunk), input.mode, clientOptions);
      } catch (e) {
        if (!(e instanceof TargetCrash)) throw e;
        const orig = e.original as Error;
        finding('crash', i, input, `${e.message}\n${orig?.stack ?? ''}`);
        continue;
      }
      const key = whole.error ? whole.error.code : whole.leftover > 0 ? 'incomplete' : 'accepted';
      outcomes[key] = (outcomes[key] ?? 0) + 1;
      messagesDecoded += whole.messages;
      if (whole.signature !== split.signature) {
        finding('split', i, input, `whole vs split (≤${maxChunk}-byte chunks) differ:\n--- whole\n${whole.signature}\n--- split\n${split.signature}`);
      }
      for (const v of [...whole.violations, ...split.violations]) finding('bound', i, input, v);
      // zlib releases a handle that failed on bad data only from a later tick: without turns of
      // the event loop a synchronous loop would look like a leak of ~32 KiB per bad inflate.
      if ((i - first + 1) % YIELD_EVERY === 0) {
        peakRss = Math.max(peakRss, process.memoryUsage.rss());
        await turn();
      }
      if ((i - first + 1) % every === 0) {
        o.onProgress?.(i - first + 1, findings.length);
      }
    }
  } finally {
    watch.uninstall();
  }
  const seconds = (performance.now() - t0) / 1000;
  const allocation = watch.report();
  if (allocation.overLimit > 0) {
    add({ kind: 'allocation', seed: o.seed, index: -1, mode: '-', hex: '', detail: `${allocation.overLimit} allocations over ${allocationLimit} bytes, largest ${allocation.largest}\n${allocation.firstOverLimitStack}` });
  }
  await turn();
  const heapEnd = settledMemory(o.gc ?? null);
  peakRss = Math.max(peakRss, process.memoryUsage().rss);
  const margin = o.heapMarginBytes ?? 32 * MiB;
  for (const k of ['heapUsed', 'external'] as const) {
    if (heapEnd[k] - heapStart[k] > margin) {
      add({ kind: 'heap', seed: o.seed, index: -1, mode: '-', hex: '', detail: `${k} grew from ${heapStart[k]} to ${heapEnd[k]} bytes after GC (margin ${margin})` });
    }
  }
  return {
    inputs: o.inputs,
    seconds,
    inputsPerSecond: o.inputs / Math.max(seconds, 1e-9),
    findings,
    outcomes,
    messagesDecoded,
    allocation,
    allocationLimit,
    heapStart,
    heapEnd,
    peakRss,
  };
}
