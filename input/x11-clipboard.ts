/**
 * Text clipboard between RFB clients and X, both ways, per ICCCM.
 *
 * Client → X: `setText()` makes a small unmapped window of ours the owner of CLIPBOARD and
 * PRIMARY and answers SelectionRequest for TARGETS, UTF8_STRING, STRING (Latin-1, `?` for
 * characters outside it), TEXT (answered as UTF8_STRING); any other target is refused with
 * property None. Payloads larger than one request go out with the INCR protocol.
 *
 * X → client: XFIXES SelectSelectionInput reports every new owner of CLIPBOARD; unless the new
 * owner is our own window (no echo of our own sets), the text is read with ConvertSelection
 * (UTF8_STRING, else STRING), including INCR transfers, bounded in size and time, and handed to
 * `onChange`.
 */
import type { X11Connection } from '../core/x11-connection.js';
import { ErrorCode, VncError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/log.js';

/** Options of {@link X11Clipboard.open}. */
export interface X11ClipboardOptions {
  /** Connection to use; events on it are filtered by our window. The clipboard does not close it. */
  conn: X11Connection;
  /** Called with the new text when another X client takes CLIPBOARD. Never for our own setText. */
  onChange(text: string): void;
  log?: Logger;
  /** Largest text accepted or served, in bytes of its encoding (default 10 MiB). */
  maxBytes?: number;
  /** Deadline for reading a selection, and for each INCR step (ms, default 3000). */
  timeoutMs?: number;
  /** Also report changes of PRIMARY (every text selection in X). Default false. */
  watchPrimary?: boolean;
}

const ATOM_PRIMARY = 1;
const ATOM_ATOM = 4;
const ATOM_STRING = 31;
const PROPERTY_NEW_VALUE = 0;
const PROPERTY_DELETE = 1;
const EVENT_MASK_PROPERTY_CHANGE = 0x00400000;
const XFIXES_SET_SELECTION_OWNER_MASK = 1;
/** Largest property write; larger payloads go out with INCR in chunks of this size. */
const INCR_CHUNK_BYTES = 64 * 1024;
/** Concurrent outgoing INCR transfers beyond which new large requests are refused. */
const MAX_INCR_TRANSFERS = 8;

interface Atoms {
  CLIPBOARD: number;
  TARGETS: number;
  UTF8_STRING: number;
  TEXT: number;
  INCR: number;
  TIMESTAMP: number;
  property: number;
}

interface IncrTransfer {
  readonly requestor: number;
  readonly property: number;
  readonly type: number;
  readonly data: Buffer;
  offset: number;
  timer: NodeJS.Timeout;
}

/** Watches and serves the X clipboard. Create with {@link X11Clipboard.open}. */
export class X11Clipboard {
  private text: string | null = null;
  private utf8: Buffer = Buffer.alloc(0);
  private latin1: Buffer = Buffer.alloc(0);
  private readonly owned = new Set<number>();
  private readonly incr = new Map<string, IncrTransfer>();
  private readonly unsubscribe: (() => void)[] = [];
  private readonly log: Logger;
  private readonly maxBytes: number;
  private readonly timeoutMs: number;
  /** Largest property we write in one ChangeProperty, from the server's request limit. */
  private readonly chunkBytes: number;
  /** Set while a read runs; a change during it schedules one more read. */
  private reading = false;
  private rereadAfter = false;
  private eventWaiters = new Set<(ev: any) => boolean>();
  private closed = false;

  private constructor(
    private readonly conn: X11Connection,
    private readonly window: number,
    private readonly atoms: Atoms,
    private readonly opts: X11ClipboardOptions,
  ) {
    this.log = opts.log ?? silentLogger;
    this.maxBytes = opts.maxBytes ?? 10 * 1024 * 1024;
    this.timeoutMs = opts.timeoutMs ?? 3000;
    // The x11 package writes request lengths as 16 bits (no BIG-REQUESTS for ChangeProperty),
    // so a property write must stay under 256 KiB; 64 KiB chunks are the usual INCR size.
    const maxReq = Number(conn.display.max_request_length ?? 65535) * 4;
    this.chunkBytes = Math.max(4096, Math.min(INCR_CHUNK_BYTES, maxReq - 64));
  }

  /** Creates our window, interns atoms, subscribes to XFIXES selection events. */
  static async open(opts: X11ClipboardOptions): Promise<X11Clipboard> {
    const { conn } = opts;
    const X = conn.X;
    const intern = (name: string): Promise<number> =>
      conn.request<number>((cb) => X.InternAtom(false, name, cb), { what: `InternAtom ${name}` });
    const [CLIPBOARD, TARGETS, UTF8_STRING, TEXT, INCR, TIMESTAMP, property] = await Promise.all(
      ['CLIPBOARD', 'TARGETS', 'UTF8_STRING', 'TEXT', 'INCR', 'TIMESTAMP', 'VNC_RUNNER_SELECTION'].map(intern),
    );
    const fixes = await conn.require('fixes');
    const window: number = X.AllocID();
    // An InputOnly window never shows and needs no visual; it is enough to own selections.
    X.CreateWindow(window, conn.root, -10, -10, 1, 1, 0, 0, 2 /* InputOnly */, 0, {
      eventMask: EVENT_MASK_PROPERTY_CHANGE,
    });
    const atoms: Atoms = { CLIPBOARD: CLIPBOARD!, TARGETS: TARGETS!, UTF8_STRING: UTF8_STRING!, TEXT: TEXT!, INCR: INCR!, TIMESTAMP: TIMESTAMP!, property: property! };
    const cb = new X11Clipboard(conn, window, atoms, opts);
    cb.unsubscribe.push(conn.onEvent((ev) => cb.onEvent(ev, fixes)));
    fixes.SelectSelectionInput(window, atoms.CLIPBOARD, XFIXES_SET_SELECTION_OWNER_MASK);
    if (opts.watchPrimary) fixes.SelectSelectionInput(window, ATOM_PRIMARY, XFIXES_SET_SELECTION_OWNER_MASK);
    await conn.sync();
    return cb;
  }

  /**
   * Makes `text` the content of CLIPBOARD and PRIMARY. Text longer than `maxBytes` (UTF-8) is
   * refused with a VncError (`VNC_ERR_TOO_LARGE`) and the X clipboard is left unchanged.
   */
  setText(text: string): void {
    if (this.closed) return;
    const utf8 = Buffer.from(text, 'utf8');
    if (utf8.length > this.maxBytes) {
      throw new VncError(ErrorCode.TooLarge, `clipboard text of ${utf8.length} bytes exceeds the ${this.maxBytes}-byte limit`);
    }
    this.text = text;
    this.utf8 = utf8;
    this.latin1 = toLatin1(text);
    for (const sel of [this.atoms.CLIPBOARD, ATOM_PRIMARY]) {
      this.conn.X.SetSelectionOwner(this.window, sel, 0);
      this.owned.add(sel);
    }
  }

  /** Drops ownership, destroys the window, stops watching. Idempotent; never rejects. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const u of this.unsubscribe) u();
    for (const t of this.incr.values()) clearTimeout(t.timer);
    this.incr.clear();
    if (this.conn.closed) return;
    // Destroying the owner window releases the selections (ICCCM).
    this.conn.X.DestroyWindow(this.window);
    await this.conn.sync().catch((e) => this.log.warn('clipboard close: sync failed', { err: e }));
  }

  private onEvent(ev: any, fixes: any): void {
    try {
      this.handleEvent(ev, fixes);
    } catch (err) {
      // A bad event or a failed request must not escape into the X client's emitter.
      this.log.warn('clipboard event failed', { err: err instanceof Error ? err.message : String(err) });
    }
  }

  private handleEvent(ev: any, fixes: any): void {
    if (this.closed || !ev) return;
    for (const w of [...this.eventWaiters]) if (w(ev)) return;
    if (ev.type === fixes.firstEvent + fixes.events.SelectionNotify && ev.window === this.window) {
      this.onOwnerChange(ev.owner >>> 0);
      return;
    }
    switch (ev.name) {
      case 'SelectionRequest':
        if (ev.owner === this.window) this.serve(ev);
        break;
      case 'SelectionClear':
        if (ev.owner === this.window) this.owned.delete(ev.selection);
        break;
      case 'PropertyNotify':
        if (ev.state === PROPERTY_DELETE) this.continueIncr(ev.wid, ev.atom);
        break;
    }
  }

  // ---- X → client --------------------------------------------------------------------------

  private onOwnerChange(owner: number): void {
    if (owner === this.window || owner === 0) return; // our own set, or the selection went away
    if (this.reading) {
      this.rereadAfter = true;
      return;
    }
    void this.readLoop();
  }

  private async readLoop(): Promise<void> {
    this.reading = true;
    try {
      do {
        this.rereadAfter = false;
        try {
          const text = await this.readClipboard();
          if (text !== null && !this.closed) this.opts.onChange(text);
        } catch (err) {
          this.log.warn('cannot read the X clipboard', { err: err instanceof Error ? err.message : String(err) });
        }
      } while (this.rereadAfter && !this.closed);
    } finally {
      this.reading = false;
    }
  }

  /** The CLIPBOARD text, or null if the owner offers no text. */
  private async readClipboard(): Promise<string | null> {
    for (const [target, encoding] of [[this.atoms.UTF8_STRING, 'utf8'], [ATOM_STRING, 'latin1']] as const) {
      const data = await this.convert(target);
      if (data) return data.toString(encoding);
    }
    return null;
  }

  /** One ConvertSelection round: the bytes, or null when the owner refused the target. */
  private async convert(target: number): Promise<Buffer | null> {
    const X = this.conn.X;
    const { CLIPBOARD, property } = this.atoms;
    const notified = this.waitEvent(
      (ev) => ev.name === 'SelectionNotify' && ev.requestor === this.window && ev.selection === CLIPBOARD,
      'SelectionNotify',
    );
    X.ConvertSelection(this.window, CLIPBOARD, target, property, 0);
    const ev = await notified;
    if (!ev.property) return null;
    const first = await this.getProperty();
    if (first.type !== this.atoms.INCR) return first.data;

    // INCR: we deleted the INCR property; the owner now writes chunks, each after we delete
    // the previous one, and ends with an empty one.
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      await this.waitEvent(
        (e) => e.name === 'PropertyNotify' && e.wid === this.window && e.atom === property && e.state === PROPERTY_NEW_VALUE,
        'INCR chunk',
      );
      const chunk = await this.getProperty();
      if (chunk.data.length === 0) break;
      total += chunk.data.length;
      if (total > this.maxBytes) {
        throw new VncError(ErrorCode.TooLarge, `X clipboard text exceeds the ${this.maxBytes}-byte limit`);
      }
      chunks.push(chunk.data);
    }
    return Buffer.concat(chunks);
  }

  /** Reads and deletes our property, refusing anything longer than `maxBytes`. */
  private async getProperty(): Promise<{ type: number; data: Buffer }> {
    const longs = Math.ceil(this.maxBytes / 4) + 1;
    const prop = await this.conn.request<any>(
      (cb) => this.conn.X.GetProperty(1, this.window, this.atoms.property, 0, 0, longs, cb),
      { what: 'GetProperty', timeoutMs: this.timeoutMs },
    );
    const data: Buffer = Buffer.from(prop?.data ?? Buffer.alloc(0));
    if ((prop?.bytesAfter ?? 0) > 0 || data.length > this.maxBytes) {
      throw new VncError(ErrorCode.TooLarge, `X clipboard text exceeds the ${this.maxBytes}-byte limit`);
    }
    return { type: prop?.type >>> 0, data };
  }

  /** Resolves with the first event matching `match` (consumed), or rejects after the deadline. */
  private waitEvent(match: (ev: any) => boolean, what: string): Promise<any> {
    return new Promise((resolve, reject) => {
      const waiter = (ev: any): boolean => {
        if (!match(ev)) return false;
        clearTimeout(timer);
        this.eventWaiters.delete(waiter);
        resolve(ev);
        return true;
      };
      const timer = setTimeout(() => {
        this.eventWaiters.delete(waiter);
        reject(new VncError(ErrorCode.Timeout, `clipboard: no ${what} within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      this.eventWaiters.add(waiter);
    });
  }

  // ---- client → X --------------------------------------------------------------------------

  private serve(ev: any): void {
    const X = this.conn.X;
    const { TARGETS, UTF8_STRING, TEXT, TIMESTAMP } = this.atoms;
    // Obsolete requestors pass None as the property: ICCCM says use the target name then.
    const property: number = ev.property || ev.target;
    let answered = property;
    if (this.text === null || !this.owned.has(ev.selection)) {
      answered = 0;
    } else if (ev.target === TARGETS) {
      X.ChangeProperty(0, ev.requestor, property, ATOM_ATOM, 32, [TARGETS, TIMESTAMP, UTF8_STRING, ATOM_STRING, TEXT]);
    } else if (ev.target === TIMESTAMP) {
      // We took ownership at CurrentTime, so the server time of the request is the best answer.
      X.ChangeProperty(0, ev.requestor, property, 19 /* INTEGER */, 32, [ev.time >>> 0]);
    } else if (ev.target === UTF8_STRING || ev.target === TEXT || ev.target === ATOM_STRING) {
      const isString = ev.target === ATOM_STRING;
      const data = isString ? this.latin1 : this.utf8;
      const type = isString ? ATOM_STRING : UTF8_STRING;
      if (data.length <= this.chunkBytes) {
        X.ChangeProperty(0, ev.requestor, property, type, 8, data);
      } else if (!this.startIncr(ev.requestor, property, type, data)) {
        answered = 0;
      }
    } else {
      answered = 0;
    }
    X.SendEvent(ev.requestor, 0, 0, {
      name: 'SelectionNotify',
      seq: 0,
      time: ev.time,
      requestor: ev.requestor,
      selection: ev.selection,
      target: ev.target,
      property: answered,
    });
  }

  /** Starts an outgoing INCR transfer; false if too many are running. */
  private startIncr(requestor: number, property: number, type: number, data: Buffer): boolean {
    if (this.incr.size >= MAX_INCR_TRANSFERS) {
      this.log.warn('too many clipboard INCR transfers at once: refusing', { max: MAX_INCR_TRANSFERS });
      return false;
    }
    const key = `${requestor}:${property}`;
    const old = this.incr.get(key);
    if (old) clearTimeout(old.timer);
    const X = this.conn.X;
    // We need PropertyNotify on the requestor's window to see it delete each chunk.
    X.ChangeWindowAttributes(requestor, { eventMask: EVENT_MASK_PROPERTY_CHANGE });
    X.ChangeProperty(0, requestor, property, this.atoms.INCR, 32, [data.length]);
    this.incr.set(key, { requestor, property, type, data, offset: 0, timer: this.incrTimer(key) });
    return true;
  }

  private incrTimer(key: string): NodeJS.Timeout {
    return setTimeout(() => {
      this.log.warn('clipboard INCR transfer stalled: abandoned', { requestor: key });
      this.endIncr(key);
    }, this.timeoutMs);
  }

  private continueIncr(window: number, atom: number): void {
    const key = `${window}:${atom}`;
    const t = this.incr.get(key);
    if (!t) return;
    clearTimeout(t.timer);
    const chunk = t.data.subarray(t.offset, t.offset + this.chunkBytes);
    t.offset += chunk.length;
    // The final empty chunk tells the requestor the transfer is complete.
    this.conn.X.ChangeProperty(0, t.requestor, t.property, t.type, 8, chunk);
    if (chunk.length === 0) this.endIncr(key);
    else t.timer = this.incrTimer(key);
  }

  private endIncr(key: string): void {
    const t = this.incr.get(key);
    if (!t) return;
    clearTimeout(t.timer);
    this.incr.delete(key);
    // Stop listening to the requestor's window (it may be gone already: errors are only logged).
    if (![...this.incr.values()].some((o) => o.requestor === t.requestor) && !this.conn.closed) {
      this.conn.X.ChangeWindowAttributes(t.requestor, { eventMask: 0 });
    }
  }
}

/** ICCCM STRING is Latin-1; characters outside it become `?`. */
function toLatin1(text: string): Buffer {
  const out: number[] = [];
  for (const ch of text) {
    const cp = ch.codePointAt(0)!;
    out.push(cp <= 0xff ? cp : 0x3f);
  }
  return Buffer.from(out);
}
