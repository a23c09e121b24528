/**
 * One RFB client from the first byte to the close: handshake, message dispatch, clipboard and
 * bell, and the close. It owns its byte queue, encoders, held input and an UpdateSender (the
 * output half: what to send when).
 * There is exactly one catch point per session (`guard`): any error closes this client with a
 * logged reason and nothing else.
 *
 * Messages are decoded and applied synchronously as bytes arrive, whatever the state of the
 * write side, so input is never stalled behind a slow update.
 */
import type { Duplex } from 'node:stream';
import type { Rect } from '../core/geometry.js';
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
import { DesktopSizeReason, FENCE_SUPPORTED_FLAGS, FenceFlag, PseudoEncoding } from './protocol/constants.js';
import { detectClientQuirks } from './protocol/client-quirks.js';
import { NATIVE_PIXEL_FORMAT, PixelConverter } from './pixel-format.js';
import { EncodeManager } from './encoding/encode-manager.js';
import { UpdateSender } from './update-sender.js';
import { SessionInput } from './session-input.js';
import type { AuthThrottle } from './auth-throttle.js';

/** What a session needs from the server that owns it. */
export interface SessionHost {
  readonly options: ServerOptions;
  readonly desktop: Desktop;
  readonly authThrottle: AuthThrottle;
  /** Latest cursor shape, for clients that ask for the Cursor pseudo-encoding later. */
  readonly cursor: CursorImage | null;
  /** The desktop name clients see now (option, runtime override or the desktop's own). */
  desktopName(): string;
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
  /** The desktop name this client was last given (ServerInit or DesktopName). */
  private nameShown = '';
  private readonly encoder: EncodeManager;
  private readonly sender: UpdateSender;
  private readonly input: SessionInput;
  private viewOnly: boolean;
  private encodingsReceived = false;
  private clipboardText: string | null = null;
  /** ContinuousUpdates announced to the client (EndOfContinuousUpdates sent). */
  private cuAnnounced = false;
  private closedPromise: Promise<void>;
  private resolveClosed!: () => void;
  /** Bytes written to this client, for stats and benchmarks. */
  bytesSent = 0;
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
    this.sender = new UpdateSender(
      {
        stream: () => this.stream,
        write: (b, onFlushed) => this.write(b, onFlushed),
        active: () => this.state === 'normal',
        supports: (e) => this.supports(e),
        guard: (fn) => this.guard(fn),
        fail: (err) => this.fail(err),
      },
      host,
      this.encoder,
    );
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
    return this.sender.isWaiting();
  }

  /** Updates sent so far. */
  get updatesSent(): number {
    return this.sender.updatesSent;
  }

  /** Sends an update now if one is due (the server calls this after each capture). */
  trySend(): void {
    this.guard(() => this.sender.trySend());
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
    this.nameShown = this.host.desktopName();
    this.write(encodeServerInit(fb.width, fb.height, NATIVE_PIXEL_FORMAT, this.nameShown));
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
        this.sender.converter = new PixelConverter(msg.pixelFormat); // throws VNC_ERR_UNSUPPORTED for colour maps
        return;
      case 'SetEncodings':
        this.setEncodings(msg.encodings);
        return;
      case 'FramebufferUpdateRequest':
        this.sender.request(msg.rect, msg.incremental);
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
        } else {
          this.sender.fenceReply(msg.payload);
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
    if (this.supports(PseudoEncoding.Cursor) && this.host.cursor) this.sender.setCursor(this.host.cursor);
    // The name may have changed after ServerInit, before the client said it understands DesktopName.
    this.onNameChanged(this.host.desktopName());
    if (first && this.supports(PseudoEncoding.ExtendedDesktopSize)) {
      // Tells the client the screen layout and that SetDesktopSize is understood.
      this.sender.announceDesktopSize(DesktopSizeReason.Server, 0);
    }
    if (first && this.supports(PseudoEncoding.QemuExtendedKeyEvent) && this.host.desktop.keyCodeEvent) {
      this.sender.announceQemuKeyEvents();
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
    if (enable) {
      this.sender.enableContinuous(r);
    } else {
      this.sender.disableContinuous();
      this.writeReply(encodeEndOfContinuousUpdates());
    }
  }

  private supports(encoding: number): boolean {
    return this.encodingsReceived && this.encoder.clientSupports(encoding);
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
    this.guard(() => this.sender.announceDesktopSize(DesktopSizeReason.Client, status));
  }

  // ---------------------------------------------------------------- desktop events

  onDamage(rects: readonly Rect[]): void {
    if (this.state === 'normal') this.sender.damage(rects);
  }

  onCopy(dest: Rect, dx: number, dy: number): void {
    if (this.state === 'normal') this.sender.copy(dest, dx, dy);
  }

  onResize(width: number, height: number): void {
    if (this.state !== 'normal') return;
    this.guard(() => {
      if (!this.sender.resize(width, height)) {
        this.close(`desktop resized to ${width}x${height} and the client does not support DesktopSize`);
      }
    });
  }

  onCursor(image: CursorImage): void {
    if (this.state !== 'normal' || !this.supports(PseudoEncoding.Cursor)) return;
    this.guard(() => this.sender.setCursor(image));
  }

  /** The desktop name changed: clients that listed DesktopName (-307) are told in their next update. */
  onNameChanged(name: string): void {
    if (this.state !== 'normal' || !this.supports(PseudoEncoding.DesktopName) || name === this.nameShown) return;
    this.nameShown = name;
    this.guard(() => this.sender.setDesktopName(name));
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

  // ---------------------------------------------------------------- writing

  private write(b: Buffer, onFlushed?: () => void): void {
    if (this.state === 'closed' || b.length === 0) return;
    this.bytesSent += b.length;
    this.sender.sent(b.length);
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
    this.sender.dispose();
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
