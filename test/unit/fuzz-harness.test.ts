/**
 * The fuzz harness in CI: a small in-process run and a small real-server run must find nothing,
 * and the harness must catch what it exists to catch (a non-VncError, a split-dependent
 * outcome) when a broken target is injected. The full run is `npm run fuzz`.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCode, VncError } from '../../core/errors.js';
import { runProtocolFuzz } from '../../fuzz/protocol-fuzz.js';
import { runServerFuzz } from '../../fuzz/server-fuzz.js';
import { runProtocolTarget, TargetCrash, type TargetOutcome } from '../../fuzz/protocol-target.js';
import { InputGenerator } from '../../fuzz/inputs.js';
import { parseFuzzArgs } from '../../fuzz/args.js';
import { AllocationWatch } from '../../fuzz/alloc-watch.js';
import { getGc } from '../../fuzz/memory.js';

describe('fuzz harness', () => {
  it('in-process: 20,000 inputs, no crash, no finding, every error class reached', async () => {
    const r = await runProtocolFuzz({ inputs: 20_000, seed: 1234, gc: getGc() });
    expect(r.findings).toEqual([]);
    for (const k of [ErrorCode.Protocol, ErrorCode.TooLarge, ErrorCode.Unsupported, ErrorCode.Auth, 'accepted', 'incomplete']) {
      expect(r.outcomes[k] ?? 0).toBeGreaterThan(50);
    }
    expect(r.allocation.largest).toBeLessThanOrEqual(r.allocationLimit);
  }, 120_000);

  it('reports a non-VncError as a crash with its input hex, and split-dependent outcomes', async () => {
    const broken = (chunks: readonly Uint8Array[], mode: Parameters<typeof runProtocolTarget>[1], opts: Parameters<typeof runProtocolTarget>[2]): TargetOutcome => {
      const all = Buffer.concat(chunks);
      if (all.includes(0x42)) throw new TargetCrash(new TypeError('boom'));
      const out = runProtocolTarget(chunks, mode, opts);
      return chunks.length > 1 ? { ...out, signature: out.signature + `#${chunks.length}` } : out;
    };
    const r = await runProtocolFuzz({ inputs: 300, seed: 99, target: broken, maxFindings: 1000 });
    const crashes = r.findings.filter((f) => f.kind === 'crash');
    const splits = r.findings.filter((f) => f.kind === 'split');
    expect(crashes.length).toBeGreaterThan(0);
    expect(crashes[0]!.detail).toMatch(/non-VncError thrown: TypeError: boom/);
    expect(Buffer.from(crashes[0]!.hex, 'hex').includes(0x42)).toBe(true);
    expect(splits.length).toBeGreaterThan(0);
  });

  it('a VncError from the decoder is an outcome, not a crash', () => {
    const out = runProtocolTarget([Buffer.from([0x99])], { kind: 'messages' }, { maxCutTextBytes: 16, maxEncodings: 4, maxScreens: 1, cutTextPaddingBytes: 3 });
    expect(out.error).toBeInstanceOf(VncError);
    expect(out.error!.code).toBe(ErrorCode.Protocol);
  });

  it('a length at its bound is waited for, one over is refused at once; no invariant breaks', () => {
    const opts = { maxCutTextBytes: 16, maxEncodings: 4, maxScreens: 1, cutTextPaddingBytes: 3 as const };
    const at = runProtocolTarget([Buffer.from([6, 0, 0, 0, 0, 0, 0, 16, 1, 2])], { kind: 'messages' }, opts);
    expect(at).toMatchObject({ error: null, leftover: 10, violations: [] });
    const over = runProtocolTarget([Buffer.from([6, 0, 0, 0, 0, 0, 0, 17, 1, 2])], { kind: 'messages' }, opts);
    expect(over.error?.code).toBe(ErrorCode.TooLarge);
    expect(over.violations).toEqual([]);
  });

  it('generates the same input for the same seed and index, within the size bound', () => {
    const gen = new InputGenerator({ maxInputBytes: 512, bounds: [1024], securities: ['none', 'vnc-auth'], handshakeShare: 0.3 });
    for (let i = 0; i < 500; i++) {
      const a = gen.generate(5, i);
      expect(a.bytes.equals(gen.generate(5, i).bytes)).toBe(true);
      expect(a.bytes.length).toBeLessThanOrEqual(512);
    }
    expect(gen.generate(5, 1).bytes.equals(gen.generate(6, 1).bytes)).toBe(false);
  });

  it('the allocation watch sees Buffer allocations over its limit and restores Buffer', () => {
    const orig = Buffer.alloc;
    const w = new AllocationWatch(1_000_000); // the test runner allocates small buffers meanwhile
    w.install();
    try {
      Buffer.alloc(10);
      Buffer.concat([Buffer.allocUnsafe(600_000), Buffer.allocUnsafe(600_000)]);
    } finally {
      w.uninstall();
    }
    expect(Buffer.alloc).toBe(orig);
    expect(w.report().largest).toBe(1_200_000);
    expect(w.report().overLimit).toBeGreaterThanOrEqual(1); // concat may allocate through allocUnsafe: seen twice
    expect(w.report().firstOverLimitStack).toMatch(/allocation of 1200000 bytes/);
  });

  it('real server: 60 bad clients, each closed as predicted, a good client served after each', async () => {
    const r = await runServerFuzz({ inputs: 60, seed: 4321 });
    expect(r.findings).toEqual([]);
    expect(r.goodFrames).toBe(60);
    expect(r.closedWithReason + r.poisoned + r.hungUp).toBe(60);
  }, 60_000);

  it('parses the command line', () => {
    expect(parseFuzzArgs(['--short', '--seed', '7'])).toEqual({ inputs: 50_000, serverInputs: 200, seed: 7, index: null });
    expect(parseFuzzArgs(['--inputs', '10', '--server-inputs', '0', '--seed', '1'])).toMatchObject({ inputs: 10, serverInputs: 0 });
    expect(parseFuzzArgs(['--seed', '3', '--index', '42'])).toEqual({ inputs: 1, serverInputs: 1, seed: 3, index: 42 });
    expect(parseFuzzArgs([], 1000).inputs).toBe(1_000_000);
    expect(() => parseFuzzArgs(['--inputs', '-1'])).toThrow(/integer/);
    expect(() => parseFuzzArgs(['--bogus'])).toThrow(/unknown argument/);
  });
});
