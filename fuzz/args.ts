/**
 * Command-line options of `npm run fuzz` (see run.ts for the usage text).
 */
import { ErrorCode, VncError } from '../core/errors.js';

/** What one fuzz run does. `index` replays a single input of `seed`. */
export interface FuzzCliOptions {
  readonly inputs: number;
  readonly serverInputs: number;
  readonly seed: number;
  readonly index: number | null;
}

function intArg(name: string, v: string | undefined, min: number): number {
  const n = Number(v);
  if (v === undefined || !Number.isInteger(n) || n < min) throw new VncError(ErrorCode.Config, `${name} needs an integer ≥ ${min} (got ${v})`);
  return n;
}

/** Parses argv (without node and script); throws VNC_ERR_CONFIG for bad arguments. */
export function parseFuzzArgs(argv: readonly string[], now = Date.now()): FuzzCliOptions {
  let short = false;
  let inputs: number | null = null;
  let serverInputs: number | null = null;
  let seed = now % 0x7fffffff;
  let index: number | null = null;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--short') short = true;
    else if (a === '--inputs') inputs = intArg(a, argv[++i], 0);
    else if (a === '--server-inputs') serverInputs = intArg(a, argv[++i], 0);
    else if (a === '--seed') seed = intArg(a, argv[++i], 0);
    else if (a === '--index') index = intArg(a, argv[++i], 0);
    else throw new VncError(ErrorCode.Config, `unknown argument ${a} (see fuzz/run.ts)`);
  }
  if (index !== null) return { inputs: 1, serverInputs: 1, seed, index };
  return { inputs: inputs ?? (short ? 50_000 : 1_000_000), serverInputs: serverInputs ?? (short ? 200 : 5_000), seed, index };
}

