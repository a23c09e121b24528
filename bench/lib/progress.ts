/**
 * Progress lines on stderr while the benchmark runs (stdout is kept for the result table, so
 * `npm run bench > table.txt` stays clean). One line per step, prefixed with the elapsed time.
 */
export interface Progress {
  /** A step starts or finishes: one line. */
  step(message: string): void;
  /** Something was skipped or degraded; printed with a "note:" marker and kept for the report. */
  note(message: string): void;
  /** The notes so far, in order. */
  readonly notes: readonly string[];
}

export interface ProgressOptions {
  /** Where lines go; default process.stderr. Tests pass a collecting function. */
  write?: (line: string) => void;
  /** Clock in ms; default performance.now. */
  now?: () => number;
  /** Print nothing (notes are still collected). */
  quiet?: boolean;
}

export function createProgress(options: ProgressOptions = {}): Progress {
  const write = options.write ?? ((line: string) => void process.stderr.write(line + '\n'));
  const now = options.now ?? (() => performance.now());
  const t0 = now();
  const notes: string[] = [];
  const stamp = (): string => `[bench ${((now() - t0) / 1000).toFixed(1).padStart(5)} s]`;
  return {
    step(message) {
      if (!options.quiet) write(`${stamp()} ${message}`);
    },
    note(message) {
      notes.push(message);
      if (!options.quiet) write(`${stamp()} note: ${message}`);
    },
    get notes() {
      return notes;
    },
  };
}
