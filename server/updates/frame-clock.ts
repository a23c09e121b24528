/**
 * The frame clock (TigerVNC's VNCServerST::startFrameClock): one timer that polls the desktop at
 * most `framerate` times a second, and only while some session is waiting for pixels. With no
 * client waiting there is no timer and no capture at all.
 *
 * When the desktop reports changes as they happen (`hint()`, e.g. X DAMAGE events), the clock is
 * event driven: it polls right after a change (still at most `framerate` times a second) and
 * otherwise only every `eventDrivenIdleMs` (500 ms) as a safety net, so an idle or slowly
 * typing desktop costs almost nothing and an echo is seen as soon as it is drawn.
 *
 * Two shortcuts keep latency low without breaking the rate limit for steady traffic:
 * - `requestNow()` (a non-incremental request, or a session that just became ready) polls on the
 *   next turn of the event loop, so a new client's first frame is fresh and fast;
 * - `requestSoon()` (after input) pulls the next tick forward to `inputDelayMs`, giving the
 *   application a moment to draw the effect of the input before we look. A tick that happens to
 *   run earlier (the regular cadence was due sooner) does not cancel that look: it is too early
 *   to see the effect, so another tick still runs at input + `inputDelayMs`. Without this, about
 *   one key echo in five waited a whole extra frame interval (found by `npm run bench`).
 */
export interface FrameClockOptions {
  /** Maximum polls per second while clients wait. */
  framerate: number;
  /** How long after an input event to look for its effect. */
  inputDelayMs: number;
  /** Capture and fan out; never called concurrently with itself. */
  tick: () => Promise<void>;
  /** Does any session still wait for pixels? Checked after every tick. */
  wanted: () => boolean;
  /** Called when `tick` throws; the clock keeps running. */
  onError: (err: unknown) => void;
  /**
   * Poll interval without change hints once the clock is event driven. Default 500 ms: the X
   * desktop verifies one slice of the screen against missed damage every 500 ms, and a poll
   * between two slices with no hint pending finds nothing (DAMAGE reports changes as they are
   * drawn, and each report polls by itself); at 250 ms every other idle poll was such a round
   * trip for nothing.
   */
  eventDrivenIdleMs?: number;
}

/**
 * Applications draw in bursts (a terminal scrolls, clears a line, then draws its text: several
 * DAMAGE events a few milliseconds apart). A poll in the middle of a burst sends a half-drawn
 * state and then the rest, nearly doubling the bytes (measured on a scrolling xterm). So a hint
 * polls once the events have been quiet for HINT_QUIET_MS, but never later than
 * HINT_MAX_DEFER_MS after the burst's first event (libvncserver defers 5 ms, x11vnc 20 ms).
 * Right after user input the echo matters more than the bytes: wait only HINT_QUIET_INPUT_MS
 * (x11vnc's -wait_ui idea).
 */
const HINT_QUIET_MS = 12;
/** See `FrameClockOptions.eventDrivenIdleMs`. */
const DEFAULT_EVENT_DRIVEN_IDLE_MS = 500;
const HINT_QUIET_INPUT_MS = 2;
const HINT_MAX_DEFER_MS = 30;
/** Input this recent makes the next hints use the short quiet time. */
const INPUT_RECENT_MS = 100;

/**
 * A tick this close before the input look time counts as the look: Node timers run on the
 * event loop's cached millisecond clock and may fire a little before `performance.now()` says
 * they are due, which must not cause a second poll right after the first.
 */
const INPUT_LOOK_SLACK_MS = 2;

export class FrameClock {
  private timer: NodeJS.Timeout | null = null;
  private dueAt = 0;
  private running = false;
  private rerun = false;
  private stopped = false;
  private lastTickAt = -Infinity;
  /** When the latest input's effect should be looked for; a tick that starts at or after it does. */
  private inputLookAt = -Infinity;
  private readonly intervalMs: number;
  private eventDriven = false;
  /** A change hint arrived that no tick has looked at yet. */
  private hinted = false;
  /** When the current burst of hints began (-1: no burst pending). */
  private burstStartedAt = -1;
  /** The pending timer was set by a hint: later hints of the same burst may push it back. */
  private timerFromHint = false;
  private lastInputAt = -Infinity;

  constructor(private readonly opts: FrameClockOptions) {
    this.intervalMs = 1000 / opts.framerate;
  }

  /** The desktop reports changes through `hint()`: poll on changes, not on a fixed beat. */
  setEventDriven(on: boolean): void {
    this.eventDriven = on;
  }

  /**
   * Something on the desktop may have changed. Polls soon if a session waits (rate-limited to
   * the frame rate); otherwise remembered for when one does.
   */
  hint(): void {
    this.hinted = true;
    if (this.running || !this.opts.wanted() || this.stopped) return; // run() looks at `hinted` when it ends
    const now = performance.now();
    if (this.burstStartedAt < 0) this.burstStartedAt = now;
    const quiet = now - this.lastInputAt < INPUT_RECENT_MS ? HINT_QUIET_INPUT_MS : HINT_QUIET_MS;
    const due = Math.max(Math.min(now + quiet, this.burstStartedAt + HINT_MAX_DEFER_MS), this.lastTickAt + this.intervalMs);
    if (this.timer && !this.timerFromHint && this.dueAt <= due) return; // a poll is due sooner anyway
    if (this.timer) clearTimeout(this.timer);
    this.dueAt = due;
    this.timerFromHint = true;
    this.timer = setTimeout(() => void this.run(), Math.max(0, due - now));
  }

  /** Some session started waiting: make sure a tick is scheduled soon enough. */
  start(): void {
    const wait = this.eventDriven && !this.hinted ? (this.opts.eventDrivenIdleMs ?? DEFAULT_EVENT_DRIVEN_IDLE_MS) : this.intervalMs;
    this.scheduleAt(Math.max(performance.now(), this.lastTickAt + wait));
  }

  /** Poll as soon as possible (fresh frame for a new or non-incremental request). */
  requestNow(): void {
    this.scheduleAt(performance.now());
  }

  /** Input arrived: look again shortly, even if the regular tick is further away. */
  requestSoon(): void {
    this.lastInputAt = performance.now();
    // Event driven: the input's effect arrives as a change hint the moment it is drawn.
    if (this.eventDriven) return;
    const at = performance.now() + this.opts.inputDelayMs;
    this.inputLookAt = Math.max(this.inputLookAt, at);
    this.scheduleAt(at);
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  private scheduleAt(at: number): void {
    if (this.stopped) return;
    if (this.running) {
      // A tick is in progress: run another right after it rather than overlap.
      if (at <= performance.now()) this.rerun = true;
      return;
    }
    if (this.timer && this.dueAt <= at) return; // already due sooner
    if (this.timer) clearTimeout(this.timer);
    this.dueAt = at;
    this.timerFromHint = false;
    const delay = Math.max(0, at - performance.now());
    this.timer = setTimeout(() => void this.run(), delay);
  }

  private async run(): Promise<void> {
    this.timer = null;
    if (this.stopped) return;
    this.running = true;
    this.lastTickAt = performance.now();
    this.hinted = false;
    this.burstStartedAt = -1;
    this.timerFromHint = false;
    try {
      await this.opts.tick();
    } catch (err) {
      this.opts.onError(err);
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    if (this.rerun) {
      this.rerun = false;
      this.scheduleAt(performance.now());
    } else if (this.inputLookAt > this.lastTickAt + INPUT_LOOK_SLACK_MS) {
      // This tick started before the latest input's look time (it was due anyway, or input
      // arrived while it ran): look again at that time rather than a whole interval later.
      this.scheduleAt(this.inputLookAt);
    } else if (this.opts.wanted()) {
      // A hint during the tick: changes drawn while we captured; look again one interval on.
      const wait = this.eventDriven && !this.hinted ? (this.opts.eventDrivenIdleMs ?? DEFAULT_EVENT_DRIVEN_IDLE_MS) : this.intervalMs;
      this.scheduleAt(this.lastTickAt + wait);
    }
  }
}
