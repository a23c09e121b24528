/**
 * A small strict command-line tokenizer. It knows only the shape of each flag (switch or
 * value-taking), not what the values mean: validation belongs to `options.ts`.
 *
 * Accepted forms: `--flag`, `--flag=value`, `--flag value`. A value is taken verbatim, so it may
 * contain spaces, `@`, `=` or start with `-` (orchestrators pass `--agent-label "Jane Doe@host"`).
 * Rejected with a `UsageError`: unknown flags, a switch given a value, a value flag without one,
 * a flag given twice, and positional arguments unless the caller allows them.
 */
import { ErrorCode, VncError } from '../core/errors.js';

export type FlagKind = 'switch' | 'value';

/** Flag name (without `--`) → kind. */
export type FlagSpec = Readonly<Record<string, FlagKind>>;

export interface ParsedArgv {
  /** Switches map to `true`, value flags to their value. Each flag appears at most once. */
  readonly flags: ReadonlyMap<string, string | true>;
  /** Non-option arguments, in order (everything after `--` included). */
  readonly positionals: readonly string[];
}

/**
 * A command-line mistake: the process should print `message` and exit with `exitCode` (2, the
 * usual "usage error" status of getopt-style tools).
 */
export class UsageError extends VncError {
  readonly exitCode = 2;
  constructor(message: string) {
    super(ErrorCode.Config, message);
    this.name = 'UsageError';
  }
}

/** Short aliases; only the universally expected ones. */
const SHORT: Readonly<Record<string, string>> = { '-h': 'help' };

export function tokenizeArgv(argv: readonly string[], spec: FlagSpec): ParsedArgv {
  const flags = new Map<string, string | true>();
  const positionals: string[] = [];
  const set = (name: string, value: string | true): void => {
    if (flags.has(name)) throw new UsageError(`--${name} was given more than once`);
    flags.set(name, value);
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      positionals.push(...argv.slice(i + 1));
      break;
    }
    const short = SHORT[arg];
    if (short !== undefined && spec[short] !== undefined) {
      set(short, true);
      continue;
    }
    if (!arg.startsWith('--') || arg === '--') {
      if (arg.startsWith('-') && arg !== '-') throw new UsageError(`unknown option ${arg} (see --help)`);
      positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = arg.slice(2, eq === -1 ? undefined : eq);
    const kind = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (kind === undefined) throw new UsageError(`unknown option --${name} (see --help)`);
    if (kind === 'switch') {
      if (eq !== -1) throw new UsageError(`--${name} does not take a value`);
      set(name, true);
      continue;
    }
    if (eq !== -1) {
      set(name, arg.slice(eq + 1));
      continue;
    }
    const next = argv[i + 1];
    if (next === undefined) throw new UsageError(`--${name} needs a value`);
    // `--agent-label --insecure` almost surely lost its value; a value that really starts with
    // the name of one of our flags can still be passed as --agent-label=--insecure.
    const nextName = next.startsWith('--') ? next.slice(2).split('=', 1)[0]! : undefined;
    if (nextName !== undefined && Object.hasOwn(spec, nextName)) {
      throw new UsageError(`--${name} needs a value, but the next argument is the option ${next} (write --${name}=VALUE if that is the value)`);
    }
    set(name, next);
    i++;
  }
  return { flags, positionals };
}
