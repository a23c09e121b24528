/**
 * Options of `node dist/bench/scene-bench.js` and the measurement matrix they select. Pure, so
 * the unit tests check parsing and the matrix (which cells, how long) without running anything.
 */
import { ENCODING_IDS, isEncodingId, type EncodingId } from './encodings.js';
import { SCENE_NAMES, createScene, isSceneName, type SceneName } from './scene-catalog.js';
import { SERVER_IDS, type ServerId } from './servers.js';

export const SCENE_BENCH_USAGE = `Usage: node dist/bench/scene-bench.js [options]

Issue-3 scene benchmark: deterministic 1920x1080 scenes, bytes/s per scene × encoding, with
x0vncserver and x11vnc side by side when they are installed.

  --short               CI mode: 1.5 s per cell (2 frames of a slower scene), vnc-runner only
                        unless --peers (about 75 s)
  --peers               also measure x0vncserver and x11vnc (default in full mode)
  --no-peers            vnc-runner only
  --scenes a,b          scenes (default all): ${SCENE_NAMES.join(', ')}
  --encodings a,b       vnc-runner's encodings (default full: all; short: tight, tight-jpeg6):
                        ${ENCODING_IDS.join(', ')}
  --peer-encodings a,b  the peers' encodings (default: tight, tight-jpeg6, zrle, hextile: what
                        both support, so each of ours has a same-encoding comparison)
  --seconds N           seconds per cell (default full: 10, as the issue's measurements; 3 for
                        raw and hextile, which keep no compression state; short: 1.5, or 2
                        frame intervals of a slower scene)
  --warmup N            seconds the scene plays before each cell's measurement, with the
                        client connected, after which the scene restarts from its first frame
                        (default full: 2; short: 0.5; 0 = none): figures are steady state, not
                        a server's first seconds (a JIT-compiled server compiles its encoder
                        then)
  --compress N          compression level sent to every server, 0..9 (default 2)
  --seed N              scene seed (default 1)
  --json FILE           results (default bench/results/scenes-latest.json)
  --svg FILE            chart (default: the JSON path with .svg)
  --trace FILE          append every update's rectangles to FILE as JSON lines (for finding
                        where the bytes go: scene, server, encoding, t ms, x, y, w, h, enc, bytes)
  --verify-lossless     also decode lossless cells and compare the settled picture with the
                        screen, as lossy cells always are (does a server's viewer end up exact?);
                        the client's decoding then shares the machine with the servers
  --quiet               no progress lines on stderr
  -h, --help            this text
`;

export interface SceneBenchArgs {
  readonly mode: 'full' | 'short';
  readonly help: boolean;
  readonly quiet: boolean;
  readonly scenes: readonly SceneName[];
  readonly servers: readonly ServerId[];
  readonly encodings: readonly EncodingId[];
  readonly peerEncodings: readonly EncodingId[];
  /** Fixed seconds per cell, or null for the mode's defaults. */
  readonly seconds: number | null;
  /** Seconds of scene played before each cell's measurement (see `--warmup`). */
  readonly warmupSeconds: number;
  readonly compress: number;
  readonly seed: number;
  readonly jsonPath: string | null;
  readonly svgPath: string | null;
  /** JSON-lines file receiving every measured update's rectangles, or null. */
  readonly tracePath: string | null;
  /** Decode lossless cells too and report their settled picture (lossy cells always are). */
  readonly verifyLossless: boolean;
}

/**
 * Encodings with nothing to warm up (no compression state across updates, bytes fixed by the
 * pixels): a short cell measures them. Zlib's persistent stream needs the full length: in a
 * 3 s terminal cell its cold start doubled its bytes per second.
 */
const SHORT_CELL: ReadonlySet<EncodingId> = new Set(['raw', 'hextile']);

function list<T extends string>(value: string, flag: string, valid: readonly string[], is: (s: string) => s is T): T[] {
  const items = value.split(',').map((s) => s.trim()).filter(Boolean);
  if (!items.length) throw new RangeError(`${flag} needs a comma-separated list`);
  for (const s of items) if (!is(s)) throw new RangeError(`${flag}: unknown "${s}" (known: ${valid.join(', ')})`);
  return [...new Set(items)] as T[];
}

function decimal(value: string, flag: string, lo: number, hi: number): number {
  const n = Number(value);
  if (!(Number.isFinite(n) && n >= lo && n <= hi)) throw new RangeError(`${flag} must be a number from ${lo} to ${hi} (got "${value}")`);
  return n;
}

function integer(value: string, flag: string, lo: number, hi: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < lo || n > hi) throw new RangeError(`${flag} must be an integer from ${lo} to ${hi} (got "${value}")`);
  return n;
}

/** Parses argv (without node and the script). Throws RangeError with a message on bad usage. */
export function parseSceneBenchArgs(argv: readonly string[]): SceneBenchArgs {
  let short = false;
  let peers: boolean | null = null;
  let help = false;
  let quiet = false;
  let scenes: SceneName[] = [...SCENE_NAMES];
  let encodings: EncodingId[] | null = null;
  let peerEncodings: EncodingId[] = ['tight', 'tight-jpeg6', 'zrle', 'hextile'];
  let seconds: number | null = null;
  let warmup: number | null = null;
  let compress = 2;
  let seed = 1;
  let jsonPath: string | null = null;
  let svgPath: string | null = null;
  let tracePath: string | null = null;
  let verifyLossless = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const value = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new RangeError(`${a} needs a value`);
      return v;
    };
    switch (a) {
      case '--short': short = true; break;
      case '--peers': peers = true; break;
      case '--no-peers': peers = false; break;
      case '--quiet': quiet = true; break;
      case '-h': case '--help': help = true; break;
      case '--scenes': scenes = list(value(), a, SCENE_NAMES, isSceneName); break;
      case '--encodings': encodings = list(value(), a, ENCODING_IDS, isEncodingId); break;
      case '--peer-encodings': peerEncodings = list(value(), a, ENCODING_IDS, isEncodingId); break;
      case '--seconds': seconds = decimal(value(), a, 0.5, 600); break;
      case '--warmup': warmup = decimal(value(), a, 0, 60); break;
      case '--compress': compress = integer(value(), a, 0, 9); break;
      case '--seed': seed = integer(value(), a, 0, 0xffffffff); break;
      case '--json': jsonPath = value(); break;
      case '--svg': svgPath = value(); break;
      case '--trace': tracePath = value(); break;
      case '--verify-lossless': verifyLossless = true; break;
      default: throw new RangeError(`unknown option "${a}"`);
    }
  }
  const withPeers = peers ?? !short;
  return {
    mode: short ? 'short' : 'full',
    help,
    quiet,
    scenes,
    servers: withPeers ? [...SERVER_IDS] : ['vnc-runner'],
    encodings: encodings ?? (short ? ['tight', 'tight-jpeg6'] : [...ENCODING_IDS]),
    peerEncodings: peerEncodings.filter((e) => e !== 'tightpng'),
    seconds,
    warmupSeconds: warmup ?? (short ? 0.5 : 2),
    compress,
    seed,
    jsonPath,
    svgPath,
    tracePath,
    verifyLossless,
  };
}

/**
 * A short (CI) cell: 1.5 s, or two of the scene's frame intervals when that is longer. The
 * slideshow draws its first slide 1 s into the cell, and the update for it is complete only
 * once the client has decoded it (0.4–0.5 s for a 1080p photo in the test decoder): in a 1.5 s
 * cell it ended on either side of the cell's end by chance, and the cell counted no update in
 * about one run of four.
 */
function shortCellSeconds(scene: SceneName, seed: number): number {
  return Math.max(1.5, 2 / createScene(scene, seed).fps);
}

/** One planned measurement. */
export interface PlannedCell {
  readonly scene: SceneName;
  readonly server: ServerId;
  readonly encoding: EncodingId;
  readonly seconds: number;
}

/** The cells to measure, in order (scene, server, encoding), for the servers that can run. */
export function planCells(args: SceneBenchArgs, servers: readonly ServerId[]): PlannedCell[] {
  const out: PlannedCell[] = [];
  for (const scene of args.scenes) {
    for (const server of servers) {
      const encodings = server === 'vnc-runner' ? args.encodings : args.peerEncodings;
      for (const encoding of encodings) {
        const seconds = args.seconds ?? (args.mode === 'short' ? shortCellSeconds(scene, args.seed) : SHORT_CELL.has(encoding) ? 3 : 10);
        out.push({ scene, server, encoding, seconds });
      }
    }
  }
  return out;
}
