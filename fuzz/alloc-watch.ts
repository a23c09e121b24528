/**
 * Watches Buffer allocations while the fuzzer runs: wraps `Buffer.alloc`, `allocUnsafe`,
 * `allocUnsafeSlow`, `concat` and `from` and records the largest size seen (and a stack for the
 * first one over the limit). Node's own modules (zlib, streams) call these through the same
 * `Buffer` object, so inflate output and stream concatenation are covered too.
 *
 * This patches a global for the duration of `install()`…`uninstall()` only; the watcher is an
 * instance, not module state, and `uninstall` restores the originals exactly.
 */
export interface AllocationReport {
  /** Largest single Buffer allocation seen, bytes. */
  readonly largest: number;
  /** Allocations larger than the limit. */
  readonly overLimit: number;
  /** Stack of the first allocation over the limit, if any. */
  readonly firstOverLimitStack: string | null;
}

type Fn = (...args: never[]) => Buffer;
const PATCHED = ['alloc', 'allocUnsafe', 'allocUnsafeSlow', 'concat', 'from'] as const;

export class AllocationWatch {
  private largest = 0;
  private overLimit = 0;
  private firstStack: string | null = null;
  private originals: Map<string, Fn> | null = null;

  /** @param limit allocations above this many bytes are counted as violations. */
  constructor(private readonly limit: number) {}

  install(): void {
    if (this.originals) return;
    const originals = new Map<string, Fn>();
    const B = Buffer as unknown as Record<string, Fn>;
    for (const name of PATCHED) {
      const orig = B[name]!;
      originals.set(name, orig);
      const watch = this;
      B[name] = function (this: unknown, ...args: never[]): Buffer {
        const out = orig.apply(this, args);
        watch.note(out.length);
        return out;
      } as Fn;
    }
    this.originals = originals;
  }

  uninstall(): void {
    if (!this.originals) return;
    const B = Buffer as unknown as Record<string, Fn>;
    for (const [name, fn] of this.originals) B[name] = fn;
    this.originals = null;
  }

  /** Records an allocation of `bytes` (also callable for allocations made outside Buffer). */
  note(bytes: number): void {
    if (bytes > this.largest) this.largest = bytes;
    if (bytes > this.limit) {
      this.overLimit++;
      this.firstStack ??= new Error(`allocation of ${bytes} bytes (limit ${this.limit})`).stack ?? null;
    }
  }

  report(): AllocationReport {
    return { largest: this.largest, overLimit: this.overLimit, firstOverLimitStack: this.firstStack };
  }
}
