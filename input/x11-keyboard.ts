/**
 * RFB key events → X key presses through XTEST, for any keysym.
 *
 * Each event is planned against the live keymap (`keymap-plan.ts`): pressed as is, with faked
 * Shift/AltGr around it, or, when the keymap cannot produce the keysym, on one of the keymap's
 * spare keycodes (all NoSymbol at start; 19 on Xvfb's pc+us) after ChangeKeyboardMapping. Spares
 * are recycled least-recently-used, never while pressed, and restored to NoSymbol on close().
 *
 * Remapping needs a round trip (wait for MappingNotify), so events go through one internal
 * queue and are applied strictly in call order. The release of a key always goes to the
 * keycode its press used (tracked per client and keysym), even if the keymap changed since.
 */
import { qnumToXKeycode } from './xt-keycodes.js';
import type { X11Connection } from '../core/x11-connection.js';
import { ErrorCode, VncError } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/log.js';
import { keymapInfo, keysymAt, planKeyPress, type KeymapInfo, type KeymapSnapshot, type KeyState } from './keymap-plan.js';
import { normalizeKeysym } from './keysym-unicode.js';
import { SerialQueue } from './serial-queue.js';

/** Options of {@link X11Keyboard.open}. */
export interface X11KeyboardOptions {
  /** Connection to inject on. The keyboard does not close it. */
  conn: X11Connection;
  log?: Logger;
  /** Events waiting in the queue beyond which new ones are dropped (default 4096). */
  maxQueuedEvents?: number;
  /** Deadline for the MappingNotify that confirms a remap (ms, default 1000). */
  remapTimeoutMs?: number;
  /**
   * Minimum age (ms) of a spare keycode's last use before it is remapped to another keysym
   * (default 100). Xlib applies a keymap change as soon as it *reads* the MappingNotify, which
   * can be before the application handled an earlier key event on that keycode; recycling too
   * soon would turn that earlier key into the new keysym.
   */
  spareReuseDelayMs?: number;
  /** Queue to run on (shared with the pointer keeps key/pointer order). Default: a private one. */
  queue?: SerialQueue;
}

/** What a held key was pressed with, so its release matches. */
interface HeldKey {
  readonly keycode: number;
  readonly fakePress: readonly number[];
  readonly fakeRelease: readonly number[];
}

const XTEST_KEY_PRESS = 2;
const XTEST_KEY_RELEASE = 3;
/** MappingNotify `request` values. */
const MAPPING_MODIFIER = 0;
const MAPPING_KEYBOARD = 1;

/** XTEST keyboard with keymap remapping. Create with {@link X11Keyboard.open}. */
/** Core modifier bits (X protocol KeyButMask). */
const SHIFT_MASK = 1;
const LOCK_MASK = 2;

export class X11Keyboard {
  private keymap!: KeymapSnapshot;
  private info!: KeymapInfo;
  private keysymsPerKeycode = 0;
  private stale = false;
  /** Keycodes that had no keysym at all at open time, in keycode order. */
  private spares: number[] = [];
  /** Spare keycode → keysym currently mapped there by us. */
  private readonly spareKeysym = new Map<number, number>();
  /** Spare keycode → time of last use (ms, monotonic clock): LRU order and reuse delay. */
  private readonly spareUsed = new Map<number, number>();
  /** clientId → (keysym as sent → how it was pressed). */
  private readonly held = new Map<number, Map<number, HeldKey>>();
  /** keycode → number of (client, keysym) pairs holding it. */
  private readonly downCount = new Map<number, number>();
  /** The event queue; hand it to `X11Pointer` so key and pointer events stay in order. */
  readonly queue: SerialQueue;
  private readonly log: Logger;
  private readonly remapTimeoutMs: number;
  private readonly spareReuseDelayMs: number;
  private readonly mappingWaiters = new Set<(first: number, count: number) => void>();
  private readonly unsubscribe: (() => void)[] = [];
  private closing: Promise<void> | null = null;
  private xtest: any;

  private constructor(private readonly conn: X11Connection, opts: X11KeyboardOptions) {
    this.log = opts.log ?? silentLogger;
    this.remapTimeoutMs = opts.remapTimeoutMs ?? 1000;
    this.spareReuseDelayMs = opts.spareReuseDelayMs ?? 100;
    this.queue = opts.queue ?? new SerialQueue({
      maxQueued: opts.maxQueuedEvents ?? 4096,
      log: this.log,
      what: 'key event',
    });
  }

  /** Loads XTEST, reads the keymap, finds the spare keycodes. Rejects with a VncError. */
  static async open(opts: X11KeyboardOptions): Promise<X11Keyboard> {
    const kb = new X11Keyboard(opts.conn, opts);
    kb.xtest = await opts.conn.require('xtest');
    kb.unsubscribe.push(
      opts.conn.onEvent((ev) => {
        if (ev?.name !== 'MappingNotify') return;
        if (ev.request === MAPPING_KEYBOARD || ev.request === MAPPING_MODIFIER) kb.stale = true;
        if (ev.request === MAPPING_KEYBOARD) for (const w of [...kb.mappingWaiters]) w(ev.firstKeyCode, ev.count);
      }),
      opts.conn.onError((err) => kb.log.warn('X error during input', { err: err.message })),
    );
    await kb.refreshKeymap();
    kb.spares = kb.keymap.rows.flatMap((row, i) => (row.every((ks) => ks === 0) ? [kb.keymap.minKeycode + i] : []));
    kb.log.debug('keyboard ready', { spares: kb.spares.length, keysymsPerKeycode: kb.keysymsPerKeycode });
    return kb;
  }

  /** Number of spare keycodes available for keysyms the keymap lacks. */
  get spareCount(): number {
    return this.spares.length;
  }

  /**
   * Queues a press (`down`) or release of `keysym` on behalf of `clientId`. Never throws; a
   * failing event is logged and the next one proceeds. A release with no matching press from
   * that client is ignored.
   */
  keyEvent(keysym: number, down: boolean, clientId = 0): void {
    if (this.closing) return;
    this.queue.push(() => (down ? this.press(keysym >>> 0, clientId) : this.release(keysym >>> 0, clientId)));
  }

  /**
   * QEMU extended key event: press the physical key `qnum` (XT scancode, see xt-keycodes.ts)
   * when it produces `keysym` in the current keymap, so the application sees the real keycode
   * with the client's own modifier state; otherwise fall back to the keysym path (the client's
   * layout differs from ours, and the character matters more than the key).
   */
  keyCodeEvent(keysym: number, qnum: number, down: boolean, clientId = 0): void {
    if (this.closing) return;
    if (!down) {
      this.keyEvent(keysym, false, clientId);
      return;
    }
    this.queue.push(async () => {
      if (this.stale) await this.refreshKeymap();
      const keycode = qnumToXKeycode(qnum);
      const ks = keysym >>> 0;
      // Use the physical key only if, with the modifiers held right now, it produces exactly
      // the keysym the client meant: a client (or a test driver) may send 'A' on the A key
      // without holding Shift, and the character must still be 'A'.
      let matches = false;
      if (keycode !== 0) {
        const { modMask } = await this.queryState();
        const lower = keysymAt(this.keymap, keycode, 0);
        const upper = keysymAt(this.keymap, keycode, 1) || lower;
        const isLetter = lower !== upper && lower >= 0x61 && lower <= 0x7a;
        const shifted = (modMask & SHIFT_MASK) !== 0 !== (isLetter && (modMask & LOCK_MASK) !== 0);
        matches = (shifted ? upper : lower) === ks;
      }
      if (!matches || this.held.get(clientId)?.has(ks)) return this.press(ks, clientId);
      const key: HeldKey = { keycode, fakePress: [], fakeRelease: [] };
      let mine = this.held.get(clientId);
      if (!mine) this.held.set(clientId, (mine = new Map()));
      mine.set(ks, key);
      this.downCount.set(keycode, (this.downCount.get(keycode) ?? 0) + 1);
      this.fake(key, XTEST_KEY_PRESS);
    });
  }

  /** Queues the release of every key `clientId` still holds (on disconnect). */
  releaseAll(clientId: number): void {
    if (this.closing) return;
    this.queue.push(() => this.releaseClient(clientId));
  }

  /** Resolves once every event queued so far has been processed by the X server. */
  async flush(): Promise<void> {
    await this.queue.idle();
    if (!this.conn.closed) await this.conn.sync();
  }

  /**
   * Releases every held key, maps the spare keycodes we used back to NoSymbol and waits for the
   * server. Idempotent; never rejects. Does not close the connection.
   */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.queue.push(async () => {
        for (const clientId of [...this.held.keys()]) await this.releaseClient(clientId);
        this.restoreSpares();
      });
      await this.queue.idle();
      if (!this.conn.closed) await this.conn.sync().catch((e) => this.log.warn('keyboard close: sync failed', { err: e }));
      for (const u of this.unsubscribe) u();
    })();
    return this.closing;
  }

  private async press(keysym: number, clientId: number): Promise<void> {
    let mine = this.held.get(clientId);
    const prev = mine?.get(keysym);
    if (prev) {
      // Auto-repeat: the client sends down again without up. Repeat on the same keycode.
      this.fake(prev, XTEST_KEY_PRESS);
      return;
    }
    if (normalizeKeysym(keysym) === 0) {
      this.log.debug('NoSymbol key event ignored', { clientId });
      return;
    }
    if (this.stale) await this.refreshKeymap();
    const state = await this.queryState();
    let plan = planKeyPress(keysym, this.keymap, this.info, state);
    if (plan.kind === 'remap') {
      const keycode = await this.remap(plan.keysym);
      plan = { kind: 'press', keycode, fakePress: [], fakeRelease: [] };
    }
    const key: HeldKey = { keycode: plan.keycode, fakePress: plan.fakePress, fakeRelease: plan.fakeRelease };
    if (!mine) this.held.set(clientId, (mine = new Map()));
    mine.set(keysym, key);
    this.downCount.set(key.keycode, (this.downCount.get(key.keycode) ?? 0) + 1);
    if (this.spareKeysym.has(key.keycode)) this.spareUsed.set(key.keycode, performance.now());
    this.fake(key, XTEST_KEY_PRESS);
  }

  private async release(keysym: number, clientId: number): Promise<void> {
    const mine = this.held.get(clientId);
    const key = mine?.get(keysym);
    if (!mine || !key) {
      this.log.debug('release of a key this client did not press: ignored', { keysym, clientId });
      return;
    }
    mine.delete(keysym);
    if (mine.size === 0) this.held.delete(clientId);
    const n = (this.downCount.get(key.keycode) ?? 1) - 1;
    if (n > 0) {
      // Another client still holds the same key: X has one state per keycode, keep it down.
      this.downCount.set(key.keycode, n);
      return;
    }
    this.downCount.delete(key.keycode);
    this.fake(key, XTEST_KEY_RELEASE);
  }

  private async releaseClient(clientId: number): Promise<void> {
    const mine = this.held.get(clientId);
    if (!mine) return;
    // Most recent first, so modifiers held before a key are released after it.
    for (const keysym of [...mine.keys()].reverse()) await this.release(keysym, clientId);
  }

  /** Sends the key with its planned modifier fakes around it (presses only). */
  private fake(key: HeldKey, type: number): void {
    const root = this.conn.root;
    const send = (t: number, kc: number): void => this.xtest.FakeInput(t, kc, 0, root, 0, 0);
    if (type === XTEST_KEY_RELEASE) {
      send(XTEST_KEY_RELEASE, key.keycode);
      return;
    }
    for (const kc of key.fakeRelease) send(XTEST_KEY_RELEASE, kc);
    for (const kc of key.fakePress) send(XTEST_KEY_PRESS, kc);
    send(XTEST_KEY_PRESS, key.keycode);
    for (const kc of [...key.fakePress].reverse()) send(XTEST_KEY_RELEASE, kc);
    for (const kc of key.fakeRelease) send(XTEST_KEY_PRESS, kc);
  }

  /** Effective modifier mask and pressed keycodes, from the server (two pipelined requests). */
  private async queryState(): Promise<KeyState> {
    const X = this.conn.X;
    const [pointer, keys] = await Promise.all([
      this.conn.request<any>((cb) => X.QueryPointer(this.conn.root, cb), { what: 'QueryPointer' }),
      this.conn.request<Buffer>((cb) => X.QueryKeymap(cb), { what: 'QueryKeymap' }),
    ]);
    const modMask = Number(pointer?.keyMask ?? 0) & 0xff;
    return { modMask, isDown: (kc) => ((keys[kc >> 3] ?? 0) & (1 << (kc & 7))) !== 0 };
  }

  private async refreshKeymap(): Promise<void> {
    this.stale = false;
    const X = this.conn.X;
    const min: number = this.conn.display.min_keycode;
    const max: number = this.conn.display.max_keycode;
    const [rows, modifiers] = await Promise.all([
      this.conn.request<number[][]>((cb) => X.GetKeyboardMapping(min, max - min + 1, cb), { what: 'GetKeyboardMapping' }),
      this.conn.request<number[][]>((cb) => X.GetModifierMapping(cb), { what: 'GetModifierMapping' }),
    ]);
    if (!Array.isArray(rows) || rows.length === 0 || !Array.isArray(modifiers)) {
      throw new VncError(ErrorCode.Desktop, 'X server returned an empty keyboard mapping');
    }
    this.keysymsPerKeycode = rows[0]!.length;
    this.keymap = { minKeycode: min, rows, modifiers };
    this.info = keymapInfo(this.keymap);
    // Drop our records of spares someone else remapped meanwhile.
    for (const [kc, ks] of this.spareKeysym) if (!rows[kc - min]?.includes(ks)) this.spareKeysym.delete(kc);
  }

  /** Maps `keysym` on a free spare keycode (LRU), waits for the server to confirm; returns it. */
  private async remap(keysym: number): Promise<number> {
    const keycode = this.pickSpare();
    const lastUse = this.spareUsed.get(keycode);
    if (lastUse !== undefined) {
      const wait = lastUse + this.spareReuseDelayMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const min = this.keymap.minKeycode;
    const syms = new Array<number>(this.keysymsPerKeycode).fill(normalizeKeysym(keysym));
    const confirmed = this.waitMapping(keycode);
    this.conn.X.ChangeKeyboardMapping(keycode, this.keysymsPerKeycode, syms);
    this.spareKeysym.set(keycode, keysym);
    this.spareUsed.set(keycode, performance.now());
    // Keep our copy current without a refetch; the MappingNotify we cause is then redundant.
    this.keymap = { ...this.keymap, rows: this.keymap.rows.map((r, i) => (i === keycode - min ? syms : r)) };
    await confirmed;
    this.stale = false;
    return keycode;
  }

  private pickSpare(): number {
    let best = 0;
    let bestTick = Infinity;
    for (const kc of this.spares) {
      if ((this.downCount.get(kc) ?? 0) > 0) continue; // never remap a key that is down
      const used = this.spareUsed.get(kc) ?? -Infinity;
      if (used < bestTick) {
        bestTick = used;
        best = kc;
      }
    }
    if (!best) {
      throw new VncError(ErrorCode.Unsupported, `no free spare keycode (${this.spares.length} spares, all held down)`);
    }
    return best;
  }

  /** Resolves when a MappingNotify covering `keycode` arrives, or after the remap deadline. */
  private waitMapping(keycode: number): Promise<void> {
    return new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        this.mappingWaiters.delete(waiter);
        resolve();
      };
      const waiter = (first: number, count: number): void => {
        if (keycode >= first && keycode < first + count) done();
      };
      const timer = setTimeout(() => {
        this.log.warn('no MappingNotify after remapping a keycode; pressing anyway', { keycode });
        done();
      }, this.remapTimeoutMs);
      this.mappingWaiters.add(waiter);
    });
  }

  /** Maps every spare we used back to NoSymbol (its state at open time). */
  private restoreSpares(): void {
    if (this.conn.closed) return;
    const zeros = new Array<number>(this.keysymsPerKeycode).fill(0);
    for (const kc of this.spareKeysym.keys()) this.conn.X.ChangeKeyboardMapping(kc, this.keysymsPerKeycode, zeros);
    this.spareKeysym.clear();
  }
}
