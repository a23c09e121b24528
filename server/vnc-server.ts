/**
 * The RFB server: owns the desktop, the frame clock and the set of sessions. Listeners (TCP,
 * WebSocket, gateway tunnel) hand it Duplex streams through `handleConnection`; it knows
 * nothing about where they come from.
 */
import type { Duplex } from 'node:stream';
import type { Rect } from '../core/geometry.js';
import type { CursorImage, Desktop, DesktopEvents } from './desktop.js';
import { FrameClock } from './updates/frame-clock.js';
import { resolveServerOptions, type ServerOptions, type ServerOptionsInput } from './options.js';
import { Session, type SessionHost } from './session.js';
import type { ConnectionInfo } from './listeners/tcp-listener.js';
import { AuthThrottle } from './auth-throttle.js';

export interface VncServerStats {
  sessions: number;
  polls: number;
}

export class VncServer implements SessionHost {
  readonly options: ServerOptions;
  readonly desktop: Desktop;
  readonly authThrottle: AuthThrottle;
  private readonly sessions = new Set<Session>();
  private readonly clock: FrameClock;
  private desktopStart: Promise<void> | null = null;
  private nextId = 1;
  private polls = 0;
  private closed = false;
  /** `setDesktopName`; null: the configured or the desktop's own name. */
  private nameOverride: string | null = null;
  /** Last cursor shape, sent to clients that connect later. */
  cursor: CursorImage | null = null;
  /** Fatal desktop errors are reported here (the CLI exits non-zero). */
  onFatal: (err: Error) => void = () => {};

  constructor(desktop: Desktop, options: ServerOptionsInput = {}) {
    this.options = resolveServerOptions(options);
    this.desktop = desktop;
    // The first failure is answered after authFailureDelayMs; the throttle doubles it from there.
    this.authThrottle = new AuthThrottle({
      baseDelayMs: this.options.authFailureDelayMs,
      maxDelayMs: Math.max(16_000, this.options.authFailureDelayMs),
      ...this.options.authThrottle,
    });
    this.clock = new FrameClock({
      framerate: this.options.framerate,
      inputDelayMs: this.options.inputDelayMs,
      tick: () => this.tick(),
      wanted: () => this.anyoneWaiting(),
      onError: (err) => this.options.logger.warn('frame tick failed', { err: err as Error }),
    });
  }

  /** Serve one RFB client over `stream` until either side closes it. */
  handleConnection(stream: Duplex, info: ConnectionInfo): Session {
    const session = new Session(stream, info, this, this.nextId++);
    if (this.closed) {
      session.close('server is shutting down');
      return session;
    }
    this.sessions.add(session);
    return session;
  }

  get sessionCount(): number {
    return this.sessions.size;
  }

  /** The live sessions (read-only view, for stats and tests). */
  liveSessions(): readonly Session[] {
    return [...this.sessions];
  }

  stats(): VncServerStats {
    return { sessions: this.sessions.size, polls: this.polls };
  }

  /** Start the desktop once; later callers share the same promise. */
  ensureDesktop(): Promise<void> {
    if (!this.desktopStart) {
      const events: DesktopEvents = {
        damage: (rects) => this.fanOutDamage(rects),
        copy: (dest, dx, dy) => {
          for (const s of this.sessions) s.onCopy(dest, dx, dy);
        },
        resize: (w, h) => {
          for (const s of this.sessions) s.onResize(w, h);
        },
        cursor: (image) => {
          this.cursor = image;
          for (const s of this.sessions) s.onCursor(image);
        },
        clipboard: (text) => {
          for (const s of this.sessions) s.onClipboard(text);
        },
        bell: () => {
          for (const s of this.sessions) s.onBell();
        },
        // Under a configured or runtime name this changes nothing: sessions skip a name they showed.
        nameChanged: () => this.announceName(),
        changed: () => this.clock.hint(),
        fatal: (err) => this.fatal(err),
      };
      this.desktopStart = this.desktop.start(events).then(() => {
        this.clock.setEventDriven(this.desktop.reportsChanges === true);
      }, (err) => {
        this.desktopStart = null;
        throw err;
      });
    }
    return this.desktopStart;
  }

  /**
   * Renames the desktop at run time (clients see it in ServerInit, and those that support the
   * DesktopName pseudo-encoding are told at once); null returns to the configured or the
   * desktop's own name. Bounded like every name: 255 UTF-8 bytes on the wire.
   */
  setDesktopName(name: string | null): void {
    this.nameOverride = name;
    this.announceName();
  }

  // ---- SessionHost ----

  desktopName(): string {
    return this.nameOverride ?? this.options.desktopName ?? this.desktop.name;
  }

  sessionReady(session: Session, shared: boolean): void {
    if (!shared) {
      // RFB 3.8 §7.3.1: a non-shared ClientInit asks for exclusive access.
      for (const other of this.sessions) {
        if (other !== session) other.close('another client asked for exclusive access');
      }
    }
  }

  sessionClosed(session: Session): void {
    this.sessions.delete(session);
  }

  /** A session has an outstanding request: make sure the clock runs. */
  wantFrame(fresh: boolean): void {
    if (fresh) this.clock.requestNow();
    else this.clock.start();
  }

  inputArrived(): void {
    this.clock.requestSoon();
  }

  // ---- internals ----

  private announceName(): void {
    const name = this.desktopName();
    for (const s of this.sessions) s.onNameChanged(name);
  }

  private anyoneWaiting(): boolean {
    for (const s of this.sessions) if (s.isWaiting()) return true;
    return false;
  }

  private fanOutDamage(rects: readonly Rect[]): void {
    for (const s of this.sessions) s.onDamage(rects);
  }

  private async tick(): Promise<void> {
    if (!this.desktopStart) return;
    await this.desktopStart;
    if (!this.anyoneWaiting()) return;
    this.polls++;
    await this.desktop.poll();
    for (const s of this.sessions) s.trySend();
  }

  private fatal(err: Error): void {
    this.options.logger.error('desktop failed', { err });
    for (const s of this.sessions) s.close(`desktop failed: ${err.message}`);
    this.onFatal(err);
  }

  /** Close every client, stop the clock and the desktop. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.clock.stop();
    const closing = [...this.sessions].map((s) => s.closeAndFlush('server shutting down'));
    await Promise.allSettled(closing);
    if (this.desktopStart) {
      await this.desktopStart.catch(() => {});
      await this.desktop.stop();
    }
  }
}
