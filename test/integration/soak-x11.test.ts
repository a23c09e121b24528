/**
 * A short soak through the real capture path: a private Xvfb with an xterm printing lines
 * non-stop, the X11 desktop (SHM/GetImage capture, DAMAGE, XTEST) behind a VncServer. Sequential
 * connect/update/disconnect cycles, then concurrent clients; no failure, no hang, memory flat
 * after warm-up. `SOAK_FULL=1` runs longer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { VncServer } from '../../server/vnc-server.js';
import { listenTcp, type TcpListener } from '../../server/listeners/tcp-listener.js';
import { X11Desktop } from '../../cli/x11-desktop.js';
import { silentLogger } from '../../core/log.js';
import { startXvfb, xEnv } from '../helpers/x-env.js';
import { missingCommands, ProcessScope, runOk } from '../helpers/processes.js';
import { runConcurrent, runCycles } from '../../fuzz/soak-driver.js';
import { formatMiB, getGc, MiB, settledMemory, type MemorySample } from '../../fuzz/memory.js';

const FULL = process.env.SOAK_FULL === '1';
const CYCLES = FULL ? 300 : 60;
const CLIENTS = FULL ? 20 : 5;
const CONCURRENT_MS = FULL ? 60_000 : 10_000;
const missing = missingCommands(['Xvfb', 'xterm', 'xdotool']);
const gc = getGc();

let scope: ProcessScope;
let server: VncServer;
let listener: TcpListener;

function report(label: string, a: MemorySample, b: MemorySample): void {
  console.log(`${label}: RSS ${formatMiB(a.rss)} → ${formatMiB(b.rss)}, heapUsed ${formatMiB(a.heapUsed)} → ${formatMiB(b.heapUsed)}`);
}

async function waitForNoSessions(): Promise<void> {
  const end = Date.now() + 10_000;
  while (server.sessionCount > 0) {
    if (Date.now() > end) throw new Error(`${server.sessionCount} sessions still open 10 s after their clients left`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

describe.skipIf(missing.length > 0)(`soak, real X11 desktop with a scrolling xterm (${FULL ? 'full' : 'short'} mode)`, () => {
  beforeAll(async () => {
    scope = new ProcessScope();
    const xvfb = await startXvfb({ width: 640, height: 400, scope });
    const term = scope.spawn(
      'xterm',
      ['-geometry', '80x24+0+0', '-e', 'sh', '-c', 'i=0; while :; do i=$((i+1)); echo "soak line $i $(date +%s.%N)"; sleep 0.02; done'],
      { env: xEnv(xvfb.display) },
    );
    await runOk('xdotool', ['search', '--sync', '--onlyvisible', '--pid', String(term.pid)], { timeoutMs: 15_000, env: xEnv(xvfb.display) });
    const desktop = new X11Desktop({ display: xvfb.display, logger: silentLogger, maxClipboardBytes: 1 << 20 });
    server = new VncServer(desktop, { framerate: 30 });
    await server.ensureDesktop();
    listener = await listenTcp({ host: '127.0.0.1', port: 0, onConnection: (s, i) => server.handleConnection(s, i) });
  }, 60_000);

  afterAll(async () => {
    await listener?.close();
    await server?.close();
    await scope?.dispose();
  });

  it(`${CYCLES} connect/update/disconnect cycles, then ${CLIENTS} concurrent clients for ${CONCURRENT_MS / 1000} s`, async () => {
    const port = listener.address.port;
    let start: MemorySample | null = null;
    const warm = Math.round(CYCLES / 5);
    const cycles = await runCycles(port, CYCLES, 10_000, (i) => {
      if (i === warm - 1) start = settledMemory(gc);
    });
    await waitForNoSessions();
    const afterCycles = settledMemory(gc);
    console.log(`x11 soak cycles: ${cycles.cycles} in ${cycles.seconds.toFixed(1)} s, ${cycles.failureCount} failures`);
    report('x11 soak cycles memory (after warm-up → end)', start!, afterCycles);
    expect(cycles.failures).toEqual([]);

    const conc = await runConcurrent(port, CLIENTS, CONCURRENT_MS, 10_000);
    await waitForNoSessions();
    const end = settledMemory(gc);
    const total = conc.updates.reduce((a, b) => a + b, 0);
    console.log(`x11 soak concurrent: ${conc.clients} clients × ${conc.seconds.toFixed(1)} s, ${total} updates (min ${Math.min(...conc.updates)} per client), ${conc.failures.length} failures; ${server.stats().polls} polls in all`);
    report('x11 soak memory (after warm-up → end)', start!, end);
    expect(conc.failures).toEqual([]);
    // The xterm scrolls 50 lines/s: every client sees a steady stream of changes.
    for (const u of conc.updates) expect(u).toBeGreaterThan((CONCURRENT_MS / 1000) * 2);
    // RSS includes allocator slack a short run has not settled (see soak-synthetic); the heap is the leak signal.
    expect(end.rss - start!.rss).toBeLessThan(96 * MiB);
    expect(end.heapUsed - start!.heapUsed).toBeLessThan(8 * MiB);
  }, (FULL ? 600 : 120) * 1000);
});
