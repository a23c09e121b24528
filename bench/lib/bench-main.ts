/**
 * What both benchmark entry points share: their command-line handling, writing the JSON + SVG
 * outputs, and running the body inside one ResourceScope that is disposed on success, on error
 * and on SIGINT/SIGTERM (exit 130), with errors mapped to exit codes (2 bad configuration, 1
 * anything else).
 */
import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { ErrorCode, isVncError } from '../../core/errors.js';
import { ResourceScope } from './processes.js';

/**
 * Parses an entry point's argv with `parse` (which throws a RangeError on bad usage). Returns
 * the arguments, or the exit code when there is nothing to run: 2 after printing the error and
 * `usage` on stderr, 0 after printing `usage` for `--help`.
 */
export function parseOrExitCode<A extends { readonly help: boolean }>(
  name: string,
  argv: readonly string[],
  parse: (argv: readonly string[]) => A,
  usage: string,
): A | number {
  let args: A;
  try {
    args = parse(argv);
  } catch (err) {
    process.stderr.write(`${name}: ${(err as Error).message}\n${usage}`);
    return 2;
  }
  if (!args.help) return args;
  process.stdout.write(usage);
  return 0;
}

/** Writes `results` as JSON to `jsonPath` and `svg` next to it (or to `svgPath`). */
export async function writeResults(results: unknown, svgText: string, jsonPath: string, svgPath?: string): Promise<{ json: string; svg: string }> {
  const json = resolve(jsonPath);
  const svg = resolve(svgPath ?? json.replace(/\.json$/i, '') + '.svg');
  await mkdir(dirname(json), { recursive: true });
  await mkdir(dirname(svg), { recursive: true });
  await writeFile(json, JSON.stringify(results, null, 2) + '\n');
  await writeFile(svg, svgText);
  return { json, svg };
}

/** Runs `body` with a scope that is always disposed; returns the process exit code. */
export async function runScoped(name: string, body: (scope: ResourceScope) => Promise<number>): Promise<number> {
  const scope = new ResourceScope();
  let interrupted = false;
  const onSignal = (sig: NodeJS.Signals): void => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${name}: ${sig}, stopping everything it started…\n`);
    void scope.dispose().finally(() => process.exit(130));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  try {
    return await body(scope);
  } catch (err) {
    if (interrupted) return 130;
    const msg = isVncError(err) ? `${err.message} [${err.code}]` : ((err as Error)?.stack ?? String(err));
    process.stderr.write(`${name}: failed: ${msg}\n`);
    return isVncError(err, ErrorCode.Config) ? 2 : 1;
  } finally {
    const failures = await scope.dispose();
    for (const f of failures) process.stderr.write(`${name}: cleanup: ${f}\n`);
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}

/** Runs `main` and exits with its code (the entry points call this at the bottom). */
export function runMain(name: string, main: (argv: readonly string[]) => Promise<number>): void {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (err) => {
      process.stderr.write(`${name}: fatal: ${(err as Error)?.stack ?? String(err)}\n`);
      process.exit(1);
    },
  );
}
