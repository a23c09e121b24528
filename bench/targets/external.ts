/**
 * Third-party VNC servers for the side-by-side figures: TigerVNC's x0vncserver (X0tigervnc)
 * and x11vnc, both scraping the same Xvfb. They are optional: CI does not install them, and a
 * missing binary is a skip with a note, not a failure.
 *
 * Neither can listen on port 0 and tell us the port in a way we can rely on for both, so a free
 * port is picked first; if the server dies at start-up (port taken in between) it is retried on
 * another port. Readiness is a completed RFB handshake, bounded.
 */
import { ErrorCode, VncError, isVncError } from '../../core/errors.js';
import { freeLoopbackPort } from '../lib/ports.js';
import { hasCommand, sleep, toolVersion, type Child } from '../lib/processes.js';
import { RfbProbe } from '../lib/rfb-probe.js';
import type { RunningTarget, TargetFactory } from './target.js';

/** Deadline for a server to answer its first handshake after being spawned. */
const START_TIMEOUT_MS = 15_000;
const START_ATTEMPTS = 3;

/** Resolves once a handshake to host:port completes; rejects when `child` exits or time runs out. */
async function waitUntilServing(child: Child, host: string, port: number, timeoutMs: number): Promise<void> {
  const deadline = performance.now() + timeoutMs;
  let last: unknown = null;
  while (performance.now() < deadline) {
    if (child.exitInfo()) {
      throw new VncError(ErrorCode.Desktop, `${child.name} exited during start-up (code ${child.exitInfo()!.code}): ${child.output().slice(-1200)}`);
    }
    try {
      const probe = await RfbProbe.connect({ host, port, timeoutMs: Math.max(200, Math.min(2000, deadline - performance.now())) });
      probe.close();
      return;
    } catch (err) {
      last = err;
      await sleep(100);
    }
  }
  throw new VncError(ErrorCode.Timeout, `${child.name} did not answer on ${host}:${port} within ${timeoutMs} ms (${(last as Error)?.message ?? 'no attempt'})`);
}

interface Launch {
  readonly child: Child;
  /** Resolves to the port the server listens on. */
  readonly ready: Promise<number>;
}

/** Starts a server with retries on another port; returns the running target. */
async function startWithRetries(details: string, launch: (port: number) => Launch): Promise<RunningTarget> {
  let lastErr: unknown = null;
  for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
    const port = await freeLoopbackPort();
    const { child, ready } = launch(port);
    try {
      const actual = await ready;
      await waitUntilServing(child, '127.0.0.1', actual, START_TIMEOUT_MS);
      return { host: '127.0.0.1', port: actual, details, stop: () => child.kill() };
    } catch (err) {
      lastErr = err;
      await child.kill();
      if (isVncError(err, ErrorCode.Timeout)) break; // a hang is not a port race: do not retry
    }
  }
  throw lastErr instanceof Error ? lastErr : new VncError(ErrorCode.Desktop, String(lastErr));
}

/** TigerVNC's scraping server, run in the foreground (X0tigervnc, not the daemonising wrapper). */
export const x0vncserverTarget: TargetFactory = {
  id: 'x0vncserver',
  unavailableReason: () =>
    hasCommand('X0tigervnc') || hasCommand('x0vncserver') ? null : 'not installed (Debian package tigervnc-scraping-server)',
  async start(ctx) {
    const direct = hasCommand('X0tigervnc');
    const version = await toolVersion(direct ? 'X0tigervnc' : 'x0vncserver', ['--version'], /TigerVNC Server version [^\n,]+/, 'TigerVNC');
    return startWithRetries(
      `${version}, defaults (FrameRate 60, PollingCycle 30 ms, DAMAGE, MIT-SHM)`,
      (port) => {
        const args = ['-display', ctx.display, '-rfbport', String(port), '-SecurityTypes', 'None', '-localhost'];
        const child = direct
          ? ctx.scope.spawn('X0tigervnc', args, { env: ctx.env })
          : ctx.scope.spawn('x0vncserver', [...args, '-fg'], { env: ctx.env });
        return { child, ready: Promise.resolve(port) };
      },
    );
  },
};

/** x11vnc (libvncserver), which prints `PORT=N` once it listens. */
export const x11vncTarget: TargetFactory = {
  id: 'x11vnc',
  unavailableReason: () => (hasCommand('x11vnc') ? null : 'not installed (Debian package x11vnc)'),
  async start(ctx) {
    const version = await toolVersion('x11vnc', ['-version'], /x11vnc: [^\s]+/, 'x11vnc');
    return startWithRetries(
      `${version}, defaults (-wait 20 ms, -defer 20 ms, XDAMAGE hints)`,
      (port) => {
        const child = ctx.scope.spawn(
          'x11vnc',
          ['-display', ctx.display, '-auth', ctx.xauthority, '-rfbport', String(port), '-localhost', '-forever', '-shared', '-nopw'],
          { env: ctx.env },
        );
        const ready = child.waitForOutput(/^PORT=(\d+)$/m, START_TIMEOUT_MS).then((m) => Number(m[1]));
        return { child, ready };
      },
    );
  },
};
