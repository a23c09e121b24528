#!/usr/bin/env node
/**
 * `npm run bench`: runs both benchmarks one after the other, each in its own process (each
 * starts and cleans up its own Xvfb and servers):
 *   1. dist/bench/run.js          capture, encoding, connect and input latency (issue 2 figures);
 *   2. dist/bench/scene-bench.js  bandwidth and CPU per scene × encoding, side by side with
 *                                 x11vnc and x0vncserver when installed (issue 3 figures).
 * `--short` is passed to both (CI mode). `--only latency|scenes` runs one of them; any other
 * argument is passed to the scene benchmark (see `node dist/bench/scene-bench.js --help`).
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const HERE = fileURLToPath(new URL('.', import.meta.url));

function runNode(script: string, args: readonly string[]): Promise<number> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [HERE + script, ...args], { stdio: 'inherit' });
    const forward = (sig: NodeJS.Signals) => child.kill(sig);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 130 : 1));
    });
  });
}

const USAGE = `Usage: npm run bench [-- options]

Runs the latency benchmark (dist/bench/run.js, about 2 minutes in full mode) and then the scene
benchmark (dist/bench/scene-bench.js, about 20 minutes with the peers installed).

  --short           CI mode for both (about a minute and a half in all)
  --only latency    only the latency benchmark;  --only scenes  only the scene benchmark
  other options     go to the scene benchmark (below)

`;

async function main(argv: readonly string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    // Print every part's options; run nothing.
    process.stdout.write(USAGE);
    await runNode('run.js', ['--help']);
    process.stdout.write('\n');
    return runNode('scene-bench.js', ['--help']);
  }
  const short = argv.includes('--short');
  const onlyAt = argv.indexOf('--only');
  const only = onlyAt >= 0 ? argv[onlyAt + 1] : undefined;
  if (only !== undefined && only !== 'latency' && only !== 'scenes') {
    process.stderr.write('bench: --only takes latency or scenes\n');
    return 2;
  }
  const rest = argv.filter((a, i) => a !== '--short' && i !== onlyAt && i !== onlyAt + 1);
  let code = 0;
  if (only !== 'scenes') {
    code = await runNode('run.js', short ? ['--short'] : []);
    if (code !== 0) return code;
  }
  if (only !== 'latency') {
    // The scene benchmark measures the peers by default in full mode, not in short mode.
    code = await runNode('scene-bench.js', [...(short ? ['--short'] : []), ...rest]);
  }
  return code;
}

main(process.argv.slice(2)).then((code) => process.exit(code));
