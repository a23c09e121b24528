/**
 * The in-process fuzz target: one byte stream through the pure handshake state machine and
 * the client-message decoder, fed the way a Session feeds them (handshake until done, then
 * messages, stop at the first error), plus the two checks the Session itself adds on top of
 * the decoder (a pixel format must build a converter; EnableContinuousUpdates is refused).
 *
 * `runProtocolTarget` returns a canonical signature of everything observable (bytes the
 * handshake sends, decoded messages, the error, bytes left over), so the same input fed in
 * different splits can be compared byte for byte. A thrown non-VncError and a broken invariant
 * are reported, never swallowed.
 */
import { ErrorCode, isVncError, VncError } from '../core/errors.js';
import { PixelConverter } from '../server/pixel-format.js';
import { ByteQueue } from '../server/protocol/byte-queue.js';
import {
  decodeClientMessage,
  describePendingClientMessage,
  type ClientMessage,
  resolveClientMessageOptions,
  type ClientMessageOptions,
} from '../server/protocol/client-messages.js';
import { detectClientQuirks } from '../server/protocol/client-quirks.js';
import { FENCE_MAX_PAYLOAD_BYTES, PseudoEncoding } from '../server/protocol/constants.js';
import { ServerHandshake } from '../server/protocol/handshake.js';
import { SCREEN_BYTES } from '../server/protocol/screen.js';
import { FUZZ_CHALLENGE, FUZZ_PASSWORD, type SecurityConfig } from './corpus.js';

/** Where the stream starts: at the first handshake byte, or right after ClientInit. */
export type TargetMode = { readonly kind: 'handshake'; readonly security: SecurityConfig } | { readonly kind: 'messages' };

export interface TargetOutcome {
  /** Canonical description of everything observable; equal inputs give equal signatures. */
  readonly signature: string;
  /** The VncError that ended the stream, if any (what the Session would log and close for). */
  readonly error: VncError | null;
  /** How far the stream got. */
  readonly phase: 'handshake' | 'normal' | 'failed';
  /** Bytes left in the queue (an incomplete handshake step or message). */
  readonly leftover: number;
  readonly messages: number;
  /** Broken invariants (a bound, the rewind-on-error contract). Empty when all held. */
  readonly violations: readonly string[];
}

/** Thrown for anything other than a VncError: the crash the fuzzer looks for. */
export class TargetCrash extends Error {
  constructor(readonly original: unknown) {
    super(`non-VncError thrown: ${original instanceof Error ? `${original.name}: ${original.message}` : String(original)}`);
  }
}

/**
 * The largest whole client message the decoder may wait for under `opts`: anything it waits
 * for beyond this would be buffering a length it should have refused.
 */
export function maxClientMessageBytes(opts: ClientMessageOptions): number {
  return Math.max(
    1 + opts.cutTextPaddingBytes + 4 + opts.maxCutTextBytes,
    4 + 4 * opts.maxEncodings,
    8 + SCREEN_BYTES * opts.maxScreens,
    9 + FENCE_MAX_PAYLOAD_BYTES,
    20,
  );
}

function replacer(_key: string, v: unknown): unknown {
  if (v instanceof Map) return [...v.entries()];
  if (v && typeof v === 'object' && (v as { type?: unknown }).type === 'Buffer' && Array.isArray((v as { data?: unknown }).data)) {
    return Buffer.from((v as { data: number[] }).data).toString('hex');
  }
  return v;
}

/**
 * The Session's own rules on top of the decoder (session.ts `handle` / `setEncodings`): a pixel
 * format must build a converter; a SetEncodings that identifies asyncvnc switches cut-text
 * framing to one padding byte; EnableContinuousUpdates is refused until a SetEncodings listed
 * both ContinuousUpdates and Fence (which is when the server announces it).
 */
class SessionRules {
  cuAnnounced = false;
  constructor(public opts: ClientMessageOptions) {}

  apply(msg: ClientMessage): void {
    switch (msg.kind) {
      case 'SetPixelFormat':
        new PixelConverter(msg.pixelFormat);
        return;
      case 'SetEncodings':
        if (detectClientQuirks(msg.encodings).asyncvnc) this.opts = resolveClientMessageOptions({ ...this.opts, cutTextPaddingBytes: 1 });
        if (msg.encodings.includes(PseudoEncoding.ContinuousUpdates) && msg.encodings.includes(PseudoEncoding.Fence)) this.cuAnnounced = true;
        return;
      case 'EnableContinuousUpdates':
        if (!this.cuAnnounced) throw new VncError(ErrorCode.Protocol, 'EnableContinuousUpdates without server support announced');
        return;
      default:
        return;
    }
  }
}

/**
 * Feeds `chunks` in order. Throws `TargetCrash` for a non-VncError; VncErrors end the stream
 * and are part of the outcome.
 */
export function runProtocolTarget(chunks: readonly Uint8Array[], mode: TargetMode, opts: ClientMessageOptions): TargetOutcome {
  const q = new ByteQueue();
  const sig: string[] = [];
  const sent: Buffer[] = [];
  const violations: string[] = [];
  const bound = maxClientMessageBytes(opts);
  const rules = new SessionRules(opts);
  let phase: TargetOutcome['phase'] = 'normal';
  let handshake: ServerHandshake | null = null;
  let error: VncError | null = null;
  let messages = 0;
  if (mode.kind === 'handshake') {
    phase = 'handshake';
    handshake = new ServerHandshake({
      ...(mode.security === 'vnc-auth' ? { password: FUZZ_PASSWORD } : {}),
      challenge: () => Buffer.from(FUZZ_CHALLENGE),
    });
    sent.push(handshake.start());
  }
  try {
    for (const chunk of chunks) {
      q.push(chunk);
      if (phase === 'handshake') {
        const step = handshake!.receive(q);
        // Kept as one byte string: a split may cut between steps, the bytes sent may not differ.
        sent.push(step.send);
        if (step.status === 'failed') {
          phase = 'failed';
          error = step.error;
          break;
        }
        if (step.status === 'pending') continue;
        if (step.status !== 'done') {
          // A TLS upgrade (VeNCrypt) is never offered with these security configurations.
          violations.push(`unexpected handshake step ${(step as { status: string }).status}`);
          phase = 'failed';
          break;
        }
        sig.push('D' + JSON.stringify(step.result));
        phase = 'normal';
      }
      for (;;) {
        const before = q.available;
        let msg: ClientMessage | null;
        try {
          msg = decodeClientMessage(q, rules.opts);
        } catch (e) {
          if (isVncError(e) && q.available !== before) {
            violations.push(`queue not rewound after ${e.code}: ${before} → ${q.available} bytes`);
          }
          throw e;
        }
        if (msg === null) {
          if (q.available !== before) violations.push(`"need more" consumed bytes: ${before} → ${q.available}`);
          const pending = describePendingClientMessage(q, rules.opts);
          if (pending && pending.neededBytes > bound) {
            violations.push(`waits for ${pending.neededBytes} bytes of message type ${pending.type} (bound ${bound})`);
          }
          break;
        }
        messages++;
        sig.push('M' + JSON.stringify(msg, replacer));
        rules.apply(msg);
      }
    }
  } catch (e) {
    if (!isVncError(e)) throw new TargetCrash(e);
    error = e;
    phase = phase === 'handshake' ? 'failed' : phase;
  }
  if (error) sig.push(`E${error.code}:${error.message}`);
  if (sent.length) sig.unshift('S' + Buffer.concat(sent).toString('hex'));
  // After an error the Session stops reading, so what is left over does not matter.
  const leftover = error ? 0 : q.available;
  sig.push(`P${phase}:${leftover}`);
  return { signature: sig.join('\n'), error, phase, leftover, messages, violations };
}
