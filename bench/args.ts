/**
 * Command line of `npm run bench` (`node dist/bench/run.js [options]`), parsed into one typed
 * object with the sample counts of the chosen mode.
 */
import { ErrorCode, VncError } from '../core/errors.js';

export interface SampleCounts {
  readonly shmGrab: number;
  readonly getImageGrab: number;
  readonly diff: number;
  readonly idlePoll: number;
  readonly encode: number;
  readonly serverInit: number;
  readonly firstFrameRaw: number;
  /** Zlib and Tight first frames (informational, slower per sample). */
  readonly firstFrameCompressed: number;
  readonly inputLatency: number;
}

/** Full: about two minutes with the two comparison servers. Short (CI): well under a minute. */
export const SAMPLES: Readonly<Record<'full' | 'short', SampleCounts>> = Object.freeze({
  full: { shmGrab: 200, getImageGrab: 40, diff: 200, idlePoll: 100, encode: 12, serverInit: 100, firstFrameRaw: 40, firstFrameCompressed: 12, inputLatency: 80 },
  short: { shmGrab: 30, getImageGrab: 8, diff: 30, idlePoll: 20, encode: 3, serverInit: 20, firstFrameRaw: 8, firstFrameCompressed: 3, inputLatency: 12 },
});

export const ALL_SERVERS = ['vnc-runner', 'x0vncserver', 'x11vnc'] as const;

export interface BenchArgs {
  readonly mode: 'full' | 'short';
  readonly samples: SampleCounts;
  /** Where the JSON goes; default bench/results/latest.json. */
  readonly jsonPath?: string;
  /** Where the SVG goes; default next to the JSON with an .svg extension. */
  readonly svgPath?: string;
  readonly scene: string;
  /** Servers to measure end to end, in order. */
  readonly servers: readonly string[];
  readonly framerate: number;
  /** No progress lines on stderr. */
  readonly quiet: boolean;
  readonly help: boolean;
}

export const USAGE = `Usage: npm run bench [-- options]   (or: node dist/bench/run.js [options])

Measures vnc-runner on a private 1920x1080 Xvfb: capture, tile diff, encoders, connection
set-up and input latency, side by side with x0vncserver and x11vnc when they are installed.

Options:
  --short               a few seconds per measurement (CI), under a minute in total
  --json FILE           write the results here (default bench/results/latest.json)
  --svg FILE            write the chart here (default: the JSON path with .svg)
  --servers LIST        comma-separated subset of ${ALL_SERVERS.join(',')} (default all)
  --scene NAME          desktop scene to paint (default office)
  --framerate N         vnc-runner's frame rate, 1-240 (default 30)
  --quiet               no progress lines on stderr
  -h, --help            this text
`;

export function parseBenchArgs(argv: readonly string[]): BenchArgs {
  let mode: 'full' | 'short' = 'full';
  let jsonPath: string | undefined;
  let svgPath: string | undefined;
  let scene = 'office';
  let servers: string[] = [...ALL_SERVERS];
  let framerate = 30;
  let quiet = false;
  let help = false;
  const value = (i: number, name: string): string => {
    const v = argv[i + 1];
    if (v === undefined || v.startsWith('--')) throw new VncError(ErrorCode.Config, `${name} needs a value`);
    return v;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    switch (a) {
      case '--short': mode = 'short'; break;
      case '--full': mode = 'full'; break;
      case '--json': jsonPath = value(i++, a); break;
      case '--svg': svgPath = value(i++, a); break;
      case '--scene': scene = value(i++, a); break;
      case '--servers': {
        servers = value(i++, a).split(',').map((s) => s.trim()).filter(Boolean);
        const bad = servers.filter((s) => !(ALL_SERVERS as readonly string[]).includes(s));
        if (bad.length || servers.length === 0) throw new VncError(ErrorCode.Config, `--servers: unknown ${bad.join(', ') || '(empty list)'}; known: ${ALL_SERVERS.join(', ')}`);
        break;
      }
      case '--framerate': {
        framerate = Number(value(i++, a));
        if (!Number.isInteger(framerate) || framerate < 1 || framerate > 240) throw new VncError(ErrorCode.Config, '--framerate must be an integer 1-240');
        break;
      }
      case '--quiet': quiet = true; break;
      case '-h': case '--help': help = true; break;
      default: throw new VncError(ErrorCode.Config, `unknown option ${a}`);
    }
  }
  return {
    mode,
    samples: SAMPLES[mode],
    ...(jsonPath !== undefined ? { jsonPath } : {}),
    ...(svgPath !== undefined ? { svgPath } : {}),
    scene,
    servers,
    framerate,
    quiet,
    help,
  };
}
