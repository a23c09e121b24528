/**
 * A small typed shell around one connection of the `x11` package (pure-JS X11 client).
 *
 * The package is callback-based, never times out, and forgets pending replies when the socket
 * dies (their callbacks are simply never called). This helper adds what every user of the
 * connection needs: an open with a deadline, promisified requests with a deadline that reject
 * when the connection goes away, cached extension loading, error routing (an unclaimed X error
 * must never throw from the package's emitter), and a close that always finishes.
 *
 * The raw client stays reachable as `X` because the package's request surface is large and
 * generated; callers wrap the few requests they use at the point of use.
 */
import { existsSync } from 'node:fs';
import x11 from 'x11';
import { ErrorCode, VncError } from './errors.js';

/** Options of {@link openX11}. */
export interface OpenX11Options {
  /** X display name, e.g. `":99"`. Defaults to `$DISPLAY`. */
  display?: string;
  /** Deadline for connecting and the connection setup (ms). Default 5000. */
  timeoutMs?: number;
  /** Default deadline for each {@link X11Connection.request} (ms). Default 10000. */
  requestTimeoutMs?: number;
  /**
   * MIT-SHM segment passing. `false` builds a plain socket (no fd passing), so `Shm.usable()`
   * answers false; useful to force the core GetImage path. Default true.
   */
  shm?: boolean;
}

/** The node-style callback handed to a raw `x11` request by {@link X11Connection.request}. */
export type X11Callback<T> = (err: unknown, result?: T) => boolean;

/** Per-call options of {@link X11Connection.request}. */
export interface X11RequestOptions {
  /** Deadline (ms); defaults to the connection's `requestTimeoutMs`. */
  timeoutMs?: number;
  /** Short name of the request, used in error messages ("GetImage"). */
  what?: string;
}

/** One open X connection. Not shared between unrelated components unless documented. */
export interface X11Connection {
  /** The raw `x11` client (`display.client`): requests, `AllocID`, events. */
  readonly X: any;
  /** The raw display setup object (`screen[]`, `min_keycode`, `max_request_length`, …). */
  readonly display: any;
  /** The display name this connection was opened on (":99"). */
  readonly displayName: string;
  /** The raw setup block of screen 0. */
  readonly screen: any;
  /** Root window id of screen 0. */
  readonly root: number;
  /** Root size in pixels as announced at connection setup (RANDR changes are not reflected). */
  readonly width: number;
  readonly height: number;
  /** Root depth (24 on Xvfb). */
  readonly depth: number;
  /** True once the connection is gone (closed by us or lost). */
  readonly closed: boolean;
  /**
   * Issue one raw request and await its reply (or, for void requests given a callback, the
   * server's acknowledgement). `fn` receives the callback to pass as the request's last
   * argument. Rejects with a `VNC_ERR_DESKTOP` VncError carrying the X error as `cause`, with
   * `VNC_ERR_TIMEOUT` after the deadline, or with `VNC_ERR_DESKTOP` if the connection closes
   * first. A request whose error was delivered here is never re-emitted through `onError`.
   */
  request<T = unknown>(fn: (cb: X11Callback<T>) => void, opts?: X11RequestOptions): Promise<T>;
  /**
   * Load an extension module of the `x11` package by its module name (`'shm'`, `'damage'`,
   * `'fixes'`, `'randr'`, `'xtest'`, `'xkb'`, …). Cached; rejects with `VNC_ERR_DESKTOP` when
   * the server lacks it, `VNC_ERR_TIMEOUT` after the request deadline.
   */
  require<E = any>(extName: string): Promise<E>;
  /** Round trip: resolves once the server processed every request issued so far. */
  sync(timeoutMs?: number): Promise<void>;
  /**
   * Asynchronous X protocol errors nobody claimed (from requests issued without a callback).
   * They are not fatal. Returns an unsubscribe function.
   */
  onError(listener: (err: VncError) => void): () => void;
  /**
   * The connection ended. `err` is null after {@link close}, a `VNC_ERR_DESKTOP` VncError when
   * the connection was lost. Called at most once; a listener added after the end is called on
   * the next tick. Returns an unsubscribe function.
   */
  onClose(listener: (err: VncError | null) => void): () => void;
  /** Every X event (core and extension) as parsed by the package. Returns an unsubscribe function. */
  onEvent(listener: (ev: any) => void): () => void;
  /** Polite close (round trip, then end) bounded by a deadline; idempotent; never rejects. */
  close(): Promise<void>;
}

const DEFAULT_OPEN_TIMEOUT_MS = 5000;
const DEFAULT_REQUEST_TIMEOUT_MS = 10_000;
/** How long close() waits for the polite round trip before destroying the socket. */
const CLOSE_TIMEOUT_MS = 1000;

/** Opens a connection to `opts.display` (or `$DISPLAY`), bounded by `opts.timeoutMs`. */
export function openX11(opts: OpenX11Options = {}): Promise<X11Connection> {
  const displayName = opts.display ?? process.env.DISPLAY;
  if (!displayName) {
    return Promise.reject(new VncError(ErrorCode.Config, 'no X display given and $DISPLAY is not set'));
  }
  const timeoutMs = opts.timeoutMs ?? DEFAULT_OPEN_TIMEOUT_MS;
  // The package falls back to TCP port 6000+N when the unix socket is missing, and throws out
  // of a socket callback (uncatchable here) when that port is out of range.
  const local = /^(?:unix)?:(\d+)(?:\.\d+)?$/.exec(displayName);
  if (local && Number(local[1]) + 6000 > 65535 && !existsSync(`/tmp/.X11-unix/X${local[1]}`)) {
    return Promise.reject(new VncError(ErrorCode.Desktop, `cannot connect to X display ${displayName}: no such display`));
  }
  return new Promise<X11Connection>((resolve, reject) => {
    let settled = false;
    let client: any;
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      destroyClient(client);
      reject(new VncError(ErrorCode.Timeout, `X display ${displayName}: no connection within ${timeoutMs} ms`));
    }, timeoutMs);
    try {
      client = x11.createClient(
        { display: displayName, shm: opts.shm === false ? false : undefined },
        (err: unknown, display: any) => {
          if (settled) {
            // Too late: the caller already got a timeout. Do not leak the socket.
            if (!err) destroyClient(display?.client ?? client);
            return;
          }
          settled = true;
          clearTimeout(timer);
          if (err || !display) {
            reject(desktopError(`cannot connect to X display ${displayName}`, err));
            return;
          }
          resolve(new Connection(display, displayName, opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS));
        },
      );
    } catch (err) {
      settled = true;
      clearTimeout(timer);
      reject(desktopError(`cannot connect to X display ${displayName}`, err));
      return;
    }
    // The package emits connection-phase failures as 'error' too; an emitter without an
    // 'error' listener would throw them out of the event loop.
    client.on('error', (err: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      destroyClient(client);
      reject(desktopError(`cannot connect to X display ${displayName}`, err));
    });
  });
}

function destroyClient(client: any): void {
  try {
    client?.stream?.destroy();
  } catch {
    // already gone
  }
}

/** Wraps whatever the package produced (X error object, socket error) into a VncError. */
function desktopError(message: string, cause: unknown): VncError {
  if (cause instanceof VncError) return cause;
  const detail = describeX11Error(cause);
  return new VncError(ErrorCode.Desktop, detail ? `${message}: ${detail}` : message, { cause });
}

/** "BadWindow (code 3, major 14, minor 0, value 0x123)" for X errors, the message otherwise. */
export function describeX11Error(err: unknown): string {
  if (!err || typeof err !== 'object') return err === undefined ? '' : String(err);
  const e = err as { message?: string; error?: number; majorOpcode?: number; minorOpcode?: number; badParam?: number };
  if (typeof e.error === 'number') {
    const value = typeof e.badParam === 'number' ? `, value 0x${(e.badParam >>> 0).toString(16)}` : '';
    return `${e.message || 'X error'} (code ${e.error}, major ${e.majorOpcode ?? '?'}, minor ${e.minorOpcode ?? '?'}${value})`;
  }
  return e.message ?? String(err);
}

interface Pending {
  reject(err: VncError): void;
}

class Connection implements X11Connection {
  readonly X: any;
  readonly display: any;
  readonly displayName: string;
  readonly screen: any;
  readonly root: number;
  readonly width: number;
  readonly height: number;
  readonly depth: number;

  private isClosed = false;
  private closeError: VncError | null = null;
  private closing: Promise<void> | null = null;
  private readonly pending = new Set<Pending>();
  private readonly extensions = new Map<string, Promise<unknown>>();
  private readonly errorListeners = new Set<(err: VncError) => void>();
  private readonly closeListeners = new Set<(err: VncError | null) => void>();

  constructor(display: any, displayName: string, private readonly requestTimeoutMs: number) {
    this.display = display;
    this.X = display.client;
    this.displayName = displayName;
    this.screen = display.screen[0];
    this.root = this.screen.root;
    this.width = this.screen.pixel_width;
    this.height = this.screen.pixel_height;
    this.depth = this.screen.root_depth;

    this.X.on('error', (err: unknown) => {
      // Socket-level errors (ECONNRESET, EPIPE) mean the connection is gone; X protocol
      // errors (numeric `error` code) are per-request and leave the connection usable.
      if (err && typeof err === 'object' && typeof (err as { error?: unknown }).error === 'number') {
        const e = desktopError('unclaimed X error', err);
        for (const l of [...this.errorListeners]) l(e);
      } else {
        this.finish(desktopError(`X connection to ${displayName} failed`, err));
      }
    });
    const lost = () => this.finish(new VncError(ErrorCode.Desktop, `X connection to ${displayName} closed`));
    this.X.on('end', lost);
    this.X.stream?.on?.('close', lost);
  }

  get closed(): boolean {
    return this.isClosed;
  }

  request<T = unknown>(fn: (cb: X11Callback<T>) => void, opts: X11RequestOptions = {}): Promise<T> {
    const what = opts.what ?? 'X request';
    if (this.isClosed) {
      return Promise.reject(new VncError(ErrorCode.Desktop, `${what}: X connection to ${this.displayName} is closed`));
    }
    const timeoutMs = opts.timeoutMs ?? this.requestTimeoutMs;
    return new Promise<T>((resolve, reject) => {
      let done = false;
      const entry: Pending = {
        reject: (err) => {
          if (done) return;
          done = true;
          clearTimeout(timer);
          reject(err);
        },
      };
      const timer = setTimeout(() => {
        this.pending.delete(entry);
        entry.reject(new VncError(ErrorCode.Timeout, `${what}: no answer from the X server within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.add(entry);
      const cb: X11Callback<T> = (err, result) => {
        // Returning true tells the package the error is handled, so it is not re-emitted.
        if (done) return true;
        done = true;
        clearTimeout(timer);
        this.pending.delete(entry);
        if (err) reject(desktopError(what, err));
        else resolve(result as T);
        return true;
      };
      try {
        fn(cb);
      } catch (err) {
        this.pending.delete(entry);
        entry.reject(desktopError(what, err));
      }
    });
  }

  require<E = any>(extName: string): Promise<E> {
    let p = this.extensions.get(extName);
    if (!p) {
      p = this.request<E>((cb) => this.X.require(extName, cb), { what: `X extension ${extName}` });
      // A failure is not cached forever: a later caller may retry (e.g. after a timeout).
      p.catch(() => this.extensions.delete(extName));
      this.extensions.set(extName, p);
    }
    return p as Promise<E>;
  }

  async sync(timeoutMs?: number): Promise<void> {
    await this.request((cb) => this.X.GetInputFocus(cb), { what: 'sync', timeoutMs });
  }

  onError(listener: (err: VncError) => void): () => void {
    this.errorListeners.add(listener);
    return () => this.errorListeners.delete(listener);
  }

  onClose(listener: (err: VncError | null) => void): () => void {
    if (this.isClosed) {
      const err = this.closeError;
      process.nextTick(() => listener(err));
      return () => {};
    }
    this.closeListeners.add(listener);
    return () => this.closeListeners.delete(listener);
  }

  onEvent(listener: (ev: any) => void): () => void {
    this.X.on('event', listener);
    return () => this.X.removeListener('event', listener);
  }

  close(): Promise<void> {
    if (this.closing) return this.closing;
    if (this.isClosed) return Promise.resolve();
    this.closing = new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        destroyClient(this.X);
        this.finish(null);
        resolve();
      }, CLOSE_TIMEOUT_MS);
      try {
        this.X.close((err: unknown) => {
          clearTimeout(timer);
          // The package skips ending the socket when its round trip failed.
          if (err) destroyClient(this.X);
          this.finish(null);
          resolve();
        });
      } catch {
        clearTimeout(timer);
        destroyClient(this.X);
        this.finish(null);
        resolve();
      }
    });
    return this.closing;
  }

  /** Marks the connection ended: fails pending requests, tells close listeners once. */
  private finish(err: VncError | null): void {
    if (this.isClosed) return;
    // A close we started reports null even if the socket's own 'end' arrives first.
    if (this.closing) err = null;
    this.isClosed = true;
    this.closeError = err;
    const failure = err ?? new VncError(ErrorCode.Desktop, `X connection to ${this.displayName} closed`);
    for (const p of [...this.pending]) p.reject(failure);
    this.pending.clear();
    for (const l of [...this.closeListeners]) l(err);
    this.closeListeners.clear();
  }
}
