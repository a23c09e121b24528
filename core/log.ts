/**
 * Minimal levelled logger. Everything goes to stderr so stdout stays free for the one-line
 * lifecycle messages that orchestrators read. Never pass secrets to a logger: there is no
 * redaction layer by design, the rule is that secrets are not logged at all.
 */
export type LogLevel = 'error' | 'warn' | 'info' | 'debug';

const LEVELS: Record<LogLevel, number> = { error: 0, warn: 1, info: 2, debug: 3 };

export interface Logger {
  error(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  info(msg: string, fields?: Record<string, unknown>): void;
  debug(msg: string, fields?: Record<string, unknown>): void;
  /** A logger whose lines carry an extra `[scope]` prefix. */
  child(scope: string): Logger;
}

export interface LoggerOptions {
  level?: LogLevel;
  scope?: string;
  /** Where lines go; defaults to process.stderr. Tests pass an array sink. */
  write?: (line: string) => void;
}

function formatFields(fields: Record<string, unknown> | undefined): string {
  if (!fields) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(fields)) {
    if (v === undefined) continue;
    parts.push(`${k}=${typeof v === 'string' ? JSON.stringify(v) : v instanceof Error ? JSON.stringify(v.message) : String(v)}`);
  }
  return parts.length ? ' ' + parts.join(' ') : '';
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = LEVELS[options.level ?? 'info'];
  const write = options.write ?? ((line: string) => process.stderr.write(line + '\n'));
  const prefix = options.scope ? `[${options.scope}] ` : '';
  const emit = (lvl: LogLevel) => (msg: string, fields?: Record<string, unknown>) => {
    if (LEVELS[lvl] > level) return;
    write(`${new Date().toISOString()} ${lvl.toUpperCase()} ${prefix}${msg}${formatFields(fields)}`);
  };
  return {
    error: emit('error'),
    warn: emit('warn'),
    info: emit('info'),
    debug: emit('debug'),
    child: (scope: string) =>
      createLogger({ ...options, scope: options.scope ? `${options.scope}:${scope}` : scope }),
  };
}

/** A logger that drops everything (tests, benchmarks). */
export const silentLogger: Logger = {
  error() {},
  warn() {},
  info() {},
  debug() {},
  child() {
    return silentLogger;
  },
};
