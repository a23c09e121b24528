/**
 * Turns the `DisplayChoice` from the options into a live X display: the given `--display`
 * (which must answer), `$DISPLAY` when it answers, or else a private Xvfb.
 */
import { ErrorCode, VncError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { DisplayChoice } from './options.js';
import { probeXDisplay } from './x-display-probe.js';
import { type PrivateXvfb, startXvfb, type XvfbOptions } from './xvfb.js';

export interface AcquiredDisplay {
  /** Display name to connect to. */
  readonly display: string;
  /** Set when we started the X server; undefined for an existing display. */
  readonly xvfb?: PrivateXvfb;
  /** Stops the private Xvfb, if any. Idempotent. */
  close(): Promise<void>;
}

export interface AcquireDisplayOptions extends Omit<XvfbOptions, 'logger'> {
  readonly choice: DisplayChoice;
  readonly logger: Logger;
  /** Bound on the "does it answer" probe of an existing display. Default 3 s. */
  readonly probeTimeoutMs?: number;
}

export async function acquireDisplay(options: AcquireDisplayOptions): Promise<AcquiredDisplay> {
  const { choice, logger: log } = options;
  const probeTimeoutMs = options.probeTimeoutMs ?? 3000;
  if (choice.kind === 'explicit') {
    if (!(await probeXDisplay(choice.name, probeTimeoutMs))) {
      throw new VncError(ErrorCode.Desktop, `X display ${choice.name} (--display) does not answer`);
    }
    return { display: choice.name, close: async () => {} };
  }
  if (choice.kind === 'env') {
    if (await probeXDisplay(choice.name, probeTimeoutMs)) return { display: choice.name, close: async () => {} };
    log.warn('DISPLAY does not answer; starting a private Xvfb instead', { display: choice.name });
  }
  if (process.platform !== 'linux') {
    throw new VncError(ErrorCode.Desktop, 'no X display: a private Xvfb is only started on Linux; pass --display');
  }
  const xvfb = await startXvfb(options);
  return { display: xvfb.display, xvfb, close: () => xvfb.close() };
}
