/**
 * One RFB client from the first byte to the close: handshake, message dispatch, update
 * generation. It owns its byte queue, pixel converter, encoders, update state and held input.
 * There is exactly one catch point per session (`guard`): any error closes this client with a
 * logged reason and nothing else.
 *
 * Ordering rules that matter to real clients:
 * - Messages are decoded and applied synchronously as bytes arrive, whatever the state of the
 *   write side, so input is never stalled behind a slow update.
 * - An update reads every pixel synchronously when it is generated, then awaits compression,
 *   then writes header and rectangles in one corked burst, so other messages (Bell, cut text)
 *   never land inside an update.
 */
import type { Duplex } from 'node:stream';
import { type Rect, intersectRect } from '../core/geometry.js';
import { Region } from '../core/region.js';
import { ErrorCode, VncError } from '../core/errors.js';
import type { Logger } from '../core/log.js';
import type { CursorImage, Desktop } from './desktop.js';
import type { ServerOptions } from './options.js';
import type { ConnectionInfo } from './listeners/tcp-listener.js';
import { ByteQueue } from './protocol/byte-queue.js';
import { describeSecurity, isAuthenticated, ServerHandshake, type HandshakeResult } from './protocol/handshake.js';
import { securityOffer } from './security-offer.js';
import { startServerTls } from './tls.js';
import {
  decodeClientMessage,
  describePendingClientMessage,
  resolveClientMessageOptions,
  type ClientMessage,
  type ClientMessageOptions,
} from './protocol/client-messages.js';
import type { ExtendedClipboardMessage } from './protocol/extended-clipboard.js';
import {
  encodeBell,
  encodeCursorRect,
  encodeDesktopSizeRect,
  encodeExtendedDesktopSizeRect,
  encodeFramebufferUpdateHeader,
  encodeServerClipboardCaps,
  encodeServerClipboardNotify,
  encodeServerClipboardProvide,
  encodeServerClipboardRequest,
  encodeServerCutText,
  encodeServerFence,
  encodeServerInit,
  encodeEndOfContinuousUpdates,
  type ServerMessageOptions,
} from './protocol/server-messages.js';
import { DesktopSizeReason, Encoding, FENCE_SUPPORTED_FLAGS, FenceFlag, PseudoEncoding } from './protocol/constants.js';
import { detectClientQuirks } from './protocol/client-quirks.js';
import { NATIVE_PIXEL_FORMAT, PixelConverter } from './pixel-format.js';
import { EncodeManager } from './encoding/encode-manager.js';
import { rectHeader } from './encoding/encoder.js';
import { UpdateState, orderCopyRects, type PendingCopy } from './updates/update-state.js';
import { Congestion } from './updates/congestion.js';
import { encodeInSlices } from './updates/encode-in-slices.js';
import { SessionInput } from './session-input.js';
import type { AuthThrottle } from './auth-throttle.js';

/** What a session needs from the server that owns it. */
export interface SessionHost {
  readonly options: ServerOptions;
  readonly desktop: Desktop;
  readonly authThrottle: AuthThrottle;
  /** Latest cursor shape, for clients that ask for the Cursor pseudo-encoding later. */
  readonly cursor: CursorImage | null;
  ensureDesktop(): Promise<void>;
  /** The handshake finished; `shared` false asks for exclusive access. */
  sessionReady(session: Session, shared: boolean): void;
  sessionClosed(session: Session): void;
  /** This session waits for pixels; `fresh` asks for a capture right away. */
  wantFrame(fresh: boolean): void;
  /** Input arrived: look for its effect soon. */
  inputArrived(): void;
}

type State = 'handshake' | 'init' | 'normal' | 'closed';

/** An incomplete client message may sit in the queue this long before the client is dropped. */
const PARTIAL_MESSAGE_TIMEOUT_MS = 30_000;
/** A closing socket gets this long to flush a failure reason (TigerVNC CLOSE_GRACE_TIME). */
const CLOSE_GRACE_MS = 2_000;
/** JPEG-coded areas are re-sent losslessly once the screen has been quiet this long. */
const LOSSLESS_REFRESH_QUIET_MS = 100;

export class Session {
  readonly id: number;
  readonly info: ConnectionInfo;
  private state: State = 'handshake';
  private readonly log: Logger;
  private readonly queue = new ByteQueue();
  private readonly handshake: ServerHandshake;
  private handshakeTimer: NodeJS.Timeout | null = null;
  private partialTimer: NodeJS.Timeout | null = null;
  private msgOptions: ClientMessageOptions;
  private serverMsgOptions: ServerMessageOptions = {};
  private converter = new PixelConverter(NATIVE_PIXEL_FORMAT);
  private readonly encoder: EncodeManager;
  private readonly updates = new UpdateState();
  private readonly input: SessionInput;
  private viewOnly: boolean;
  private encodingsReceived = false;
  private sending = false;
  private waitingForDrain = false;
  private pendingCursor: CursorImage | null = null;
  private pendingDesktopSize = false;
  private pendingExtDesktopSize: { reason: number; status: number } | null = null;
  /** Areas the client holds only as JPEG; refreshed losslessly once they stop changing. */
  private readonly lossy = new Region();
  private lastDamageAt = 0;
  private refreshTimer: NodeJS.Timeout | null = null;
  /** Tell the client (once) that QEMU extended key events are understood. */
  private pendingQemuKeyAck = false;
  private clipboardText: string | null = null;
  /** ContinuousUpdates: announced to the client (EndOfContinuousUpdates sent) and enabled. */
  private cuAnnounced = false;
  private continuous = false;
  private readonly congestion = new Congestion();
  private congestionTimer: NodeJS.Timeout | null = null;
  private closedPromise: Promise<void>;
  private resolveClosed!: () => void;
  /** Bytes written to this client, for stats and benchmarks. */
  bytesSent = 0;
  updatesSent = 0;
  /** Bytes of replies to client requests written but not yet flushed (see `writeReply`). */
  private unreadReplyBytes = 0;

  /** The connection; replaced by its TLS layer once VeNCrypt starts TLS (`rawStream` keeps the original). */
  private stream: Duplex;
  private rawStream: Duplex | null = null;
  private readonly onStreamData = (chunk: Buffer): void => this.guard(() => this.onData(chunk));
  private readonly onStreamEnd = (): void => this.guard(() => this.close('client closed the connection'));

  constructor(
    stream: Duplex,
    info: ConnectionInfo,
    private readonly host: SessionHost,
    id: number,
  ) {
    this.stream = stream;
    this.id = id;
    this.info = info;
    const o = host.options;
    this.log = o.logger.child(`client ${id} ${info.remoteAddress}`);
    this.viewOnly = o.viewOnly;
    this.msgOptions = resolveClientMessageOptions({ maxCutTextBytes: o.maxCutTextBytes, maxEncodings: o.maxEncodings });
    this.encoder = new EncodeManager({ log: this.log });
    this.input = new SessionInput(host.desktop, id);
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
    const blockedMs = o.password !== undefined ? host.authThrottle.blockedFor(info.remoteAddress) : 0;
    this.handshake = new ServerHandshake({
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.viewOnlyPassword !== undefined ? { viewOnlyPassword: o.viewOnlyPassword } : {}),
      ...(blockedMs > 0 ? { refuseReason: `too many authentication failures; try again in ${Math.ceil(blockedMs / 1000)} s` } : {}),
      ...securityOffer(o, info.transport),
    });
    this.log.debug('connected', { transport: info.transport });
    this.attachStream(stream);
    this.handshakeTimer = setTimeout(
      () => this.close(`handshake not completed within ${o.handshakeTimeoutMs} ms`),
      o.handshakeTimeoutMs,
    );
    this.write(this.handshake.start());
  }

  /** Does this client wait for pixels (an outstanding update request)? */
  isWaiting(): boolean {
    return this.state === 'normal' && (this.continuous || this.updates.hasRequest());
  }

  get closed(): boolean {
    return this.state === 'closed';
  }

  /** Bytes, rectangles and pixels sent per encoding so far (benchmarks, tests, debug logs). */
  encodingStats(): ReturnType<EncodeManager['stats']> {
    return this.encoder.stats();
  }

  /** Resolves when the session is closed. */
  whenClosed(): Promise<void> {
    return this.closedPromise;
  }

  // ---------------------------------------------------------------- input side

  private onData(chunk: Buffer): void {
    if (this.state === 'closed') return;
    this.queue.push(chunk);
    this.pump();
  }

  private pump(): void {
    if (this.state === 'handshake') this.pumpHandshake();
    if (this.state !== 'normal') return;
    let msg: ClientMessage | null;
    while (this.state === 'normal' && (msg = decodeClientMessage(this.queue, this.msgOptions))) this.handle(msg);
    this.armPartialTimer();
  }

  private pumpHandshake(): void {
    const hs = this.handshake.stateName;
    if ((hs === 'vnc-auth' || hs === 'plain-auth') && this.queue.available > 0 && this.host.authThrottle.blockedFor(this.info.remoteAddress) > 0) {
      // Connections opened in parallel all got a challenge before the address was blocked;
      // without this check each of them could still try a password (parallel guessing).
      this.close('too many authentication failures from this address; credentials not checked', 'warn');
      return;
    }
    const step = this.handshake.receive(this.queue);
    if (step.status === 'pending') {
      this.write(step.send);
      return;
    }
    if (step.status === 'starttls') {
      this.startTls(step.send);
      return;
    }
    if (step.status === 'failed') {
      this.state = 'init'; // ignore further bytes while the reply is delayed
      // ...and stop reading them: else a client could make us buffer without bound meanwhile.
      this.stream.pause();
      const delay = step.delayReply ? this.host.authThrottle.recordFailure(this.info.remoteAddress) : 0;
      this.log.warn('handshake failed', { code: step.error.code, reason: step.error.message, delayMs: delay });
      const reply = () => {
        this.write(step.send);
        this.close(step.error.message, 'debug', true);
      };
      if (delay > 0) setTimeout(reply, delay).unref();
      else reply();
      return;
    }
    this.write(step.send);
    this.state = 'init';
    // Pipelined messages wait in the socket (TCP backpressure) until the desktop is up, rather
    // than in our queue, which nothing bounds before the decoder runs.
    this.stream.pause();
    void this.finishInit(step.result);
  }

  /** Listens to `stream` (the connection, later its TLS layer) for the session's whole life. */
  private attachStream(stream: Duplex): void {
    stream.on('data', this.onStreamData);
    stream.on('end', this.onStreamEnd);
    stream.on('close', () => this.close('connection closed'));
    stream.on('error', (err: Error) => this.close(`socket error: ${err.message}`, 'debug'));
  }

  /**
   * VeNCrypt agreed on a TLS subtype: send the ack in the clear, run TLS on the same connection
   * and go on with the handshake inside it. The handshake deadline covers the TLS handshake.
   */
  private startTls(ack: Buffer): void {
    const tls = this.host.options.tls;
    // securityOffer() offers VeNCrypt only when a TLS identity is configured.
    if (!tls) throw new VncError(ErrorCode.Config, 'VeNCrypt negotiated without a TLS key and certificate');
    this.write(ack);
    const raw = this.stream;
    raw.off('data', this.onStreamData);
    raw.off('end', this.onStreamEnd);
    // Bytes after the subtype choice are the start of the client's TLS handshake.
    const early = this.queue.available > 0 ? this.queue.readBytes(this.queue.available) : null;
    const secure = startServerTls(raw, early, tls);
    this.rawStream = raw;
    this.stream = secure;
    this.attachStream(secure);
    secure.once('secure', () =>
      this.guard(() => {
        if (this.state !== 'handshake') return;
        this.log.debug('TLS established', { protocol: secure.getProtocol() ?? '?', cipher: secure.getCipher()?.name ?? '?' });
        this.write(this.handshake.tlsEstablished());
        this.pump();
      }),
    );
  }

  private async finishInit(result: HandshakeResult): Promise<void> {
    try {
      await this.host.ensureDesktop();
    } catch (err) {
      this.close(`desktop unavailable: ${(err as Error).message}`, 'error');
      return;
    }
    if (this.state === 'closed') return;
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    this.handshakeTimer = null;
    if (isAuthenticated(result)) this.host.authThrottle.recordSuccess(this.info.remoteAddress);
    this.viewOnly ||= result.viewOnly;
    const fb = this.host.desktop.framebuffer;
    const name = this.host.options.desktopName ?? this.host.desktop.name;
    this.write(encodeServerInit(fb.width, fb.height, NATIVE_PIXEL_FORMAT, name));
    this.state = 'normal';
    this.log.info('client ready', {
      version: result.version,
      security: describeSecurity(result),
      shared: result.shared,
      viewOnly: this.viewOnly,
    });
    this.host.sessionReady(this, result.shared);
    this.stream.resume();
    this.guard(() => this.pump());
  }

  private armPartialTimer(): void {
    if (this.queue.available === 0 || this.state !== 'normal') {
      if (this.partialTimer) clearTimeout(this.partialTimer);
      this.partialTimer = null;
      return;
    }
    if (this.partialTimer) return;
    this.partialTimer = setTimeout(() => {
      const pending = describePendingClientMessage(this.queue, this.msgOptions);
      this.close(
        `incomplete message type ${pending?.type ?? '?'} (${pending?.availableBytes ?? this.queue.available} of ${pending?.neededBytes ?? '?'} bytes) for ${PARTIAL_MESSAGE_TIMEOUT_MS} ms`,
      );
    }, PARTIAL_MESSAGE_TIMEOUT_MS);
    this.partialTimer.unref();
  }

  private handle(msg: ClientMessage): void {
    switch (msg.kind) {
      case 'SetPixelFormat':
        this.converter = new PixelConverter(msg.pixelFormat); // throws VNC_ERR_UNSUPPORTED for colour maps
        return;
      case 'SetEncodings':
        this.setEncodings(msg.encodings);
        return;
      case 'FramebufferUpdateRequest':
        this.onUpdateRequest(msg.rect, msg.incremental);
        return;
      case 'KeyEvent':
        if (this.viewOnly) return;
        this.input.key(msg.keysym, msg.down);
        this.host.inputArrived();
        return;
      case 'QemuExtendedKeyEvent':
        if (this.viewOnly) return;
        this.input.scancode(msg.keysym, msg.keycode, msg.down);
        this.host.inputArrived();
        return;
      case 'PointerEvent': {
        if (this.viewOnly) return;
        const fb = this.host.desktop.framebuffer;
        this.input.pointer(msg.x, msg.y, msg.buttonMask, fb.width, fb.height);
        this.host.inputArrived();
        return;
      }
      case 'ClientCutText':
        if (!this.viewOnly) this.host.desktop.setClipboard(msg.text);
        return;
      case 'ExtendedClipboard':
        this.onExtendedClipboard(msg.clipboard);
        return;
      case 'ClientFence':
        if ((msg.flags >>> 0) & FenceFlag.Request) {
          // Answer fence requests with the flags we understand (rfbproto "ClientFence").
          this.writeReply(encodeServerFence((msg.flags & FENCE_SUPPORTED_FLAGS) >>> 0, msg.payload));
        } else if (this.congestion.pong(msg.payload)) {
          this.trySend(); // the window may have opened
        }
        return;
      case 'EnableContinuousUpdates':
        this.onEnableContinuousUpdates(msg.enable, msg.rect);
        return;
      case 'SetDesktopSize':
        void this.onSetDesktopSize(msg.width, msg.height);
        return;
    }
  }

  private setEncodings(list: readonly number[]): void {
    const first = !this.encodingsReceived;
    this.encodingsReceived = true;
    this.encoder.setEncodings(list);
    const quirks = detectClientQuirks(list);
    if (quirks.asyncvnc) {
      this.msgOptions = resolveClientMessageOptions({ ...this.msgOptions, cutTextPaddingBytes: 1 });
      this.serverMsgOptions = { asyncvncCompat: true };
      if (first) this.log.info('asyncvnc client detected: swapped Bell/ServerCutText, 1-byte cut-text padding');
    }
    if (this.supports(PseudoEncoding.Cursor) && this.host.cursor) this.pendingCursor = this.host.cursor;
    if (first && this.supports(PseudoEncoding.ExtendedDesktopSize)) {
      // Tells the client the screen layout and that SetDesktopSize is understood.
      this.pendingExtDesktopSize = { reason: DesktopSizeReason.Server, status: 0 };
    }
    if (first && this.supports(PseudoEncoding.QemuExtendedKeyEvent) && this.host.desktop.keyCodeEvent) {
      this.pendingQemuKeyAck = true;
    }
    if (first && this.supports(PseudoEncoding.ExtendedClipboard)) {
      this.write(encodeServerClipboardCaps(this.host.options.maxCutTextBytes));
    }
    if (!this.cuAnnounced && this.supports(PseudoEncoding.ContinuousUpdates) && this.supports(PseudoEncoding.Fence)) {
      // Announce ContinuousUpdates. Fences are required with it: they are our only way to
      // pace a client that no longer asks for each update (as TigerVNC requires too).
      this.cuAnnounced = true;
      this.write(encodeEndOfContinuousUpdates());
    }
  }

  private onEnableContinuousUpdates(enable: boolean, r: Rect): void {
    if (!this.cuAnnounced) {
      // rfbproto: a client may only send this after the server announced support.
      throw new VncError(ErrorCode.Protocol, 'EnableContinuousUpdates without server support announced');
    }
    if (!enable) {
      this.continuous = false;
      this.updates.requested.clear();
      this.writeReply(encodeEndOfContinuousUpdates());
      return;
    }
    const fb = this.host.desktop.framebuffer;
    const clipped = intersectRect(r, { x: 0, y: 0, w: fb.width, h: fb.height });
    if (!clipped) return;
    this.continuous = true;
    this.updates.requested.clear();
    this.updates.addRequest(clipped, true);
    this.host.wantFrame(false);
    this.trySend();
  }

  private supports(encoding: number): boolean {
    return this.encodingsReceived && this.encoder.clientSupports(encoding);
  }

  private onUpdateRequest(r: Rect, incremental: boolean): void {
    const fb = this.host.desktop.framebuffer;
    const clipped = intersectRect(r, { x: 0, y: 0, w: fb.width, h: fb.height });
    if (!clipped) return;
    this.updates.addRequest(clipped, incremental);
    if (!incremental) {
      // A full refresh is answered from a fresh capture: the clock polls right away and calls
      // trySend when the frame is in.
      this.host.wantFrame(true);
      return;
    }
    if (this.updates.hasDue() || this.hasPseudoPending()) this.trySend();
    else this.host.wantFrame(false);
  }

  private onExtendedClipboard(m: ExtendedClipboardMessage): void {
    switch (m.kind) {
      case 'ClipboardNotify':
        // The client has new text: ask for it.
        if (!this.viewOnly) this.writeReply(encodeServerClipboardRequest());
        return;
      case 'ClipboardProvide':
        if (!this.viewOnly && typeof m.text === "string") this.host.desktop.setClipboard(m.text);
        return;
      case 'ClipboardRequest':
        if (this.clipboardText !== null) this.writeReply(encodeServerClipboardProvide(this.clipboardText));
        return;
      case 'ClipboardPeek':
        this.writeReply(encodeServerClipboardNotify(this.clipboardText !== null));
        return;
      case 'ClipboardCaps':
        return;
    }
  }

  private async onSetDesktopSize(width: number, height: number): Promise<void> {
    let status = 1; // prohibited
    if (this.viewOnly) status = 1;
    else if (this.host.desktop.resize) {
      try {
        status = await this.host.desktop.resize(width, height);
      } catch (err) {
        this.log.warn('SetDesktopSize failed', { err: err as Error });
        status = 2;
      }
    }
    if (this.state === 'closed') return;
    this.pendingExtDesktopSize = { reason: DesktopSizeReason.Client, status };
    this.guard(() => this.trySend());
  }

  // ---------------------------------------------------------------- desktop events

  onDamage(rects: readonly Rect[]): void {
    if (this.state !== 'normal') return;
    this.updates.addChanged(rects);
    this.lastDamageAt = performance.now();
  }

  onCopy(dest: Rect, dx: number, dy: number): void {
    if (this.state === 'normal') this.updates.addCopied(dest, dx, dy, this.supports(Encoding.CopyRect));
  }

  onResize(width: number, height: number): void {
    if (this.state !== 'normal') return;
    if (!this.supports(PseudoEncoding.DesktopSize) && !this.supports(PseudoEncoding.ExtendedDesktopSize)) {
      this.close(`desktop resized to ${width}x${height} and the client does not support DesktopSize`);
      return;
    }
    const full = { x: 0, y: 0, w: width, h: height };
    this.updates.reset(full);
    // Outstanding requests referred to the old size; keep them, clipped to the new one.
    const clipped = this.updates.requested.intersect(full);
    this.updates.requested.clear();
    this.updates.requested.addRegion(clipped.isEmpty() ? Region.of(full) : clipped);
    if (this.supports(PseudoEncoding.ExtendedDesktopSize)) this.pendingExtDesktopSize = { reason: DesktopSizeReason.Server, status: 0 };
    else this.pendingDesktopSize = true;
    this.guard(() => this.trySend());
  }

  onCursor(image: CursorImage): void {
    if (this.state !== 'normal' || !this.supports(PseudoEncoding.Cursor)) return;
    this.pendingCursor = image;
    this.guard(() => this.trySend());
  }

  onClipboard(text: string): void {
    this.clipboardText = text;
    if (this.state !== 'normal' || !this.encodingsReceived) return;
    if (this.supports(PseudoEncoding.ExtendedClipboard)) this.write(encodeServerClipboardNotify(true));
    else this.write(encodeServerCutText(text, this.serverMsgOptions));
  }

  onBell(): void {
    if (this.state !== 'normal' || !this.encodingsReceived) return;
    const b = encodeBell(this.serverMsgOptions);
    if (b) this.write(b);
  }

  // ---------------------------------------------------------------- output side

  private hasPseudoPending(): boolean {
    return this.pendingCursor !== null || this.pendingDesktopSize || this.pendingExtDesktopSize !== null || this.pendingQemuKeyAck;
  }

  /**
   * Sends one update if the client asked for one and there is something to send, the previous
   * update is finished and the socket is not congested. Safe to call at any time.
   */
  trySend(): void {
    if (this.state !== 'normal' || this.sending || !this.updates.hasRequest()) return;
    if (this.isCongested()) return;
    const pseudo = this.hasPseudoPending();
    let lossless = false;
    if (!this.updates.hasDue() && !pseudo) {
      const refresh = this.lossyRefreshDue();
      if (!refresh) return;
      this.updates.changed.addRegion(refresh);
      lossless = true;
    }
    if (!this.updates.hasDue()) {
      // A reply never consists of pseudo-rectangles alone (agent clients treat any update as
      // "pixels arrived"): carry one real tile of the requested area along.
      const b = this.updates.requested.bounds()!;
      this.updates.changed.add({ x: b.x, y: b.y, w: Math.min(b.w, 16), h: Math.min(b.h, 16) });
    }
    const { copy, changed } = this.updates.take(this.continuous);
    this.sending = true;
    void this.sendUpdate(copy, changed, lossless).then(
      () => {
        this.sending = false;
        if (this.state === 'normal' && this.updates.hasRequest() && this.updates.hasDue()) this.trySend();
      },
      (err) => {
        this.sending = false;
        this.fail(err);
      },
    );
  }

  /**
   * The lossy areas to re-send losslessly now, or null. TigerVNC waits until an area has been
   * quiet for a moment (RecentChangeTimeout) so that moving content stays cheap JPEG; we wait
   * until the whole screen has been quiet that long, and arm a timer otherwise.
   */
  private lossyRefreshDue(): Region | null {
    if (this.lossy.isEmpty()) return null;
    const due = this.lossy.intersectRegion(this.updates.requested);
    if (due.isEmpty()) return null;
    const quietFor = performance.now() - this.lastDamageAt;
    if (quietFor >= LOSSLESS_REFRESH_QUIET_MS) return due;
    if (!this.refreshTimer) {
      this.refreshTimer = setTimeout(() => {
        this.refreshTimer = null;
        this.guard(() => this.trySend());
      }, LOSSLESS_REFRESH_QUIET_MS - quietFor + 1);
      this.refreshTimer.unref();
    }
    return null;
  }

  /**
   * Congested: do not generate another update. Damage keeps accumulating as a region and the
   * next update, once the socket drains or a fence reply opens the window, is regenerated from
   * the newest framebuffer. So a slow client costs bounded memory and gets fresher updates.
   */
  private isCongested(): boolean {
    if (this.stream.writableLength > this.host.options.maxQueuedBytes) {
      if (!this.waitingForDrain) {
        this.waitingForDrain = true;
        this.stream.once('drain', () => {
          this.waitingForDrain = false;
          this.guard(() => this.trySend());
        });
      }
      return true;
    }
    if (this.congestion.isCongested()) {
      // Normally a fence reply wakes us; the timer covers a client that stopped answering.
      if (!this.congestionTimer) {
        this.congestionTimer = setTimeout(() => {
          this.congestionTimer = null;
          this.guard(() => this.trySend());
        }, 1000);
        this.congestionTimer.unref();
      }
      return true;
    }
    return false;
  }

  private async sendUpdate(copy: PendingCopy | null, changed: Region, lossless: boolean): Promise<void> {
    const fb = this.host.desktop.framebuffer;
    const before: Buffer[] = [];
    const after: Buffer[] = [];
    let rects = 0; // rectangles in `before` and `after`
    if (this.pendingExtDesktopSize) {
      rects++;
      const { reason, status } = this.pendingExtDesktopSize;
      before.push(encodeExtendedDesktopSizeRect(reason, status, fb.width, fb.height, [{ id: 0, x: 0, y: 0, width: fb.width, height: fb.height, flags: 0 }]));
      this.pendingExtDesktopSize = null;
    } else if (this.pendingDesktopSize) {
      rects++;
      before.push(encodeDesktopSizeRect(fb.width, fb.height));
    }
    this.pendingDesktopSize = false;
    if (this.pendingQemuKeyAck) {
      // An empty pseudo-rectangle of this encoding is how clients learn the server supports it.
      rects++;
      after.push(rectHeader(0, 0, 0, 0, PseudoEncoding.QemuExtendedKeyEvent));
      this.pendingQemuKeyAck = false;
    }
    if (this.pendingCursor) {
      rects++;
      after.push(encodeCursorRect(this.pendingCursor, this.converter));
      this.pendingCursor = null;
    }
    // Copies first (the client copies from pixels it already has, before anything else lands),
    // ordered so that no rectangle overwrites another's source.
    if (copy) {
      this.moveLossy(copy);
      const bpp = this.converter.bytesPerPixel;
      for (const r of orderCopyRects(copy.region.rects(), copy.dx, copy.dy)) {
        const c = this.encoder.encodeCopy(r, r.x - copy.dx, r.y - copy.dy, bpp);
        before.push(...c.chunks);
        rects += c.count;
      }
    }
    // Pixel rectangles in reading order, so the first one starts at the request's origin.
    this.lossy.subtractRegion(changed);
    const encoded = await encodeInSlices(
      this.encoder,
      fb,
      changed.rects(),
      { converter: this.converter, lossless, onLossy: (r) => this.lossy.add(r) },
      () => this.state !== 'normal',
    );
    if (this.state !== 'normal') return;
    const count = rects + encoded.count;
    const s = this.stream as Duplex & { cork?: () => void; uncork?: () => void };
    s.cork?.();
    this.write(encodeFramebufferUpdateHeader(count));
    for (const b of before) this.write(b);
    for (const c of encoded.chunks) this.write(c);
    for (const b of after) this.write(b);
    if (this.supports(PseudoEncoding.Fence)) {
      const payload = this.congestion.ping();
      if (payload) this.write(encodeServerFence((FenceFlag.Request | FenceFlag.BlockBefore) >>> 0, payload));
    }
    s.uncork?.();
    this.updatesSent++;
  }

  /** A copy carries JPEG artefacts along: lossy source pixels make lossy destination pixels. */
  private moveLossy(copy: PendingCopy): void {
    if (this.lossy.isEmpty()) return;
    const moved = new Region();
    for (const r of copy.region.rects()) {
      moved.addRegion(this.lossy.intersect({ x: r.x - copy.dx, y: r.y - copy.dy, w: r.w, h: r.h }).translate(copy.dx, copy.dy));
    }
    this.lossy.subtractRegion(copy.region);
    this.lossy.addRegion(moved);
  }

  private write(b: Buffer, onFlushed?: () => void): void {
    if (this.state === 'closed' || b.length === 0) return;
    this.bytesSent += b.length;
    this.congestion.sent(b.length);
    this.stream.write(b, onFlushed);
  }

  /**
   * Writes the answer to a client's request (fence, clipboard, EndOfContinuousUpdates). Updates
   * are paced by congestion control, but these are not: a client that sends requests and never
   * reads would make us queue replies without bound (a 16-byte ClipboardRequest can ask for a
   * 1 MiB ClipboardProvide). Replies not yet flushed are counted; a client is dropped when the
   * socket is backed up (the kernel takes no more) and over `maxQueuedBytes + maxCutTextBytes`
   * of replies sit in it. Both conditions: a burst of replies the kernel still accepts is fine.
   */
  private writeReply(b: Buffer): void {
    const o = this.host.options;
    const limit = o.maxQueuedBytes + o.maxCutTextBytes;
    if (this.unreadReplyBytes > limit && this.stream.writableLength > limit) {
      throw new VncError(ErrorCode.TooLarge, `client does not read the replies to its requests (${this.unreadReplyBytes} bytes unread)`);
    }
    this.unreadReplyBytes += b.length;
    this.write(b, () => (this.unreadReplyBytes -= b.length));
  }

  // ---------------------------------------------------------------- errors and close

  /** The one catch point: any error in `fn` closes this session only. */
  private guard(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.fail(err);
    }
  }

  private fail(err: unknown): void {
    if (err instanceof VncError) {
      this.close(`${err.code}: ${err.message}`, 'warn');
    } else {
      this.log.error('internal error', { err: err as Error, stack: (err as Error)?.stack });
      this.close(`internal error: ${(err as Error)?.message ?? String(err)}`, 'error');
    }
  }

  /**
   * Closes the connection with a logged reason, releasing everything the client holds. With
   * `flush`, bytes already written (a failure reason) get a short grace period to leave.
   */
  close(reason: string, level: 'debug' | 'info' | 'warn' | 'error' = 'info', flush = false): void {
    if (this.state === 'closed') return;
    const wasNormal = this.state === 'normal';
    this.state = 'closed';
    if (this.handshakeTimer) clearTimeout(this.handshakeTimer);
    if (this.partialTimer) clearTimeout(this.partialTimer);
    if (this.congestionTimer) clearTimeout(this.congestionTimer);
    if (this.refreshTimer) clearTimeout(this.refreshTimer);
    this.log[level]('closed', { reason, bytesSent: this.bytesSent, updates: this.updatesSent });
    // Everything the client sent before closing has been applied (messages are handled
    // synchronously on arrival); now release what it still holds.
    if (wasNormal) this.input.releaseAll();
    this.encoder.dispose();
    const stream = this.stream;
    const raw = this.rawStream;
    if (flush && !stream.destroyed) {
      stream.end();
      setTimeout(() => {
        stream.destroy();
        raw?.destroy();
      }, CLOSE_GRACE_MS).unref();
    } else {
      stream.destroy();
      raw?.destroy();
    }
    this.host.sessionClosed(this);
    this.resolveClosed();
  }

  /** Close and wait until the input this client sent has reached the desktop. */
  async closeAndFlush(reason: string): Promise<void> {
    this.close(reason);
    await this.host.desktop.flushInput();
  }
}
