/**
 * Our server, in-process, assembled exactly as cli/main.ts does it: X11Desktop + VncServer +
 * a TCP listener on 127.0.0.1, port 0.
 */
import { silentLogger } from '../../core/log.js';
import { X11Desktop } from '../../cli/x11-desktop.js';
import { VncServer } from '../../server/vnc-server.js';
import { listenTcp } from '../../server/listeners/tcp-listener.js';
import type { RunningTarget, TargetFactory } from './target.js';

export const vncRunnerTarget: TargetFactory = {
  id: 'vnc-runner',
  unavailableReason: () => null,
  async start(ctx): Promise<RunningTarget> {
    const desktop = new X11Desktop({ display: ctx.display, logger: silentLogger, maxClipboardBytes: 1024 * 1024 });
    const server = new VncServer(desktop, { framerate: ctx.framerate, logger: silentLogger });
    let fatal: Error | null = null;
    server.onFatal = (err) => (fatal ??= err);
    let listener: Awaited<ReturnType<typeof listenTcp>> | null = null;
    let stopping: Promise<void> | null = null;
    const stop = (): Promise<void> =>
      (stopping ??= (async () => {
        await listener?.close();
        await server.close();
      })());
    ctx.scope.defer('stop vnc-runner', stop);
    try {
      await server.ensureDesktop();
      listener = await listenTcp({ host: '127.0.0.1', port: 0, onConnection: server.handleConnection.bind(server) });
    } catch (err) {
      await stop();
      throw err;
    }
    if (fatal) throw fatal;
    return {
      host: listener.address.host,
      port: listener.address.port,
      details: `in-process, polls on DAMAGE events (at most ${ctx.framerate} fps), MIT-SHM`,
      stop,
    };
  },
};
