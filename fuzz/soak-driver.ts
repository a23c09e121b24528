/**
 * Load patterns for the soak tests (test/integration/soak-*.test.ts), independent of the
 * desktop behind the server: sequential connect/update/disconnect cycles, and many clients
 * updating concurrently for a while. They report failures instead of stopping at the first, so
 * a soak run says how many of its cycles failed and why.
 */
import { ProbeClient } from './probe-client.js';

export interface CycleReport {
  readonly cycles: number;
  readonly seconds: number;
  /** Failure messages (first 20), and how many there were. */
  readonly failures: readonly string[];
  readonly failureCount: number;
}

/**
 * `n` times: connect, full update (must cover the screen), one incremental update (the screen
 * must be changing), disconnect. `between(i)` runs after cycle i (memory sampling, cleanup).
 */
export async function runCycles(port: number, n: number, timeoutMs: number, between?: (i: number) => Promise<void> | void): Promise<CycleReport> {
  const t0 = performance.now();
  const failures: string[] = [];
  let failureCount = 0;
  for (let i = 0; i < n; i++) {
    let c: ProbeClient | null = null;
    try {
      c = await ProbeClient.connect(port, timeoutMs);
      c.requestUpdate(false);
      const full = await c.readUpdate();
      if (full.area < c.width * c.height) throw new Error(`full update covered ${full.area} of ${c.width * c.height} pixels`);
      c.requestUpdate(true);
      const inc = await c.readUpdate();
      if (inc.rects === 0) throw new Error('empty incremental update');
    } catch (e) {
      failureCount++;
      if (failures.length < 20) failures.push(`cycle ${i}: ${(e as Error).message}`);
    } finally {
      c?.close();
    }
    await between?.(i);
  }
  return { cycles: n, seconds: (performance.now() - t0) / 1000, failures, failureCount };
}

export interface ConcurrentReport {
  readonly clients: number;
  readonly seconds: number;
  /** Updates each client received. */
  readonly updates: readonly number[];
  readonly failures: readonly string[];
}

/**
 * `clients` clients connect, take a full frame, then loop incremental request → update until
 * `durationMs` has passed. A client that fails is recorded and not restarted.
 */
export async function runConcurrent(port: number, clients: number, durationMs: number, timeoutMs: number): Promise<ConcurrentReport> {
  const t0 = performance.now();
  const end = Date.now() + durationMs;
  const updates = new Array<number>(clients).fill(0);
  const failures: string[] = [];
  await Promise.all(
    Array.from({ length: clients }, async (_, k) => {
      let c: ProbeClient | null = null;
      try {
        c = await ProbeClient.connect(port, timeoutMs);
        c.requestUpdate(false);
        await c.readUpdate();
        while (Date.now() < end) {
          c.requestUpdate(true);
          await c.readUpdate();
          updates[k]!++;
        }
      } catch (e) {
        failures.push(`client ${k} after ${updates[k]} updates: ${(e as Error).message}`);
      } finally {
        c?.close();
      }
    }),
  );
  return { clients, seconds: (performance.now() - t0) / 1000, updates, failures };
}
