/**
 * A bounded FIFO of async tasks run one at a time, in order. Input injection needs it because
 * some events need a round trip to the X server (keymap remap) and later events must not
 * overtake them. A failing task is logged and does not stop the queue.
 */
import type { Logger } from '../core/log.js';

export interface SerialQueueOptions {
  /** Tasks waiting (not counting the running one) beyond which push() drops new tasks. */
  maxQueued: number;
  log: Logger;
  /** Noun for log lines ("key event"). */
  what: string;
}

export class SerialQueue {
  private readonly tasks: (() => Promise<void> | void)[] = [];
  private running = false;
  private idleWaiters: (() => void)[] = [];
  private dropped = 0;

  constructor(private readonly opts: SerialQueueOptions) {}

  /** Number of tasks waiting to run. */
  get size(): number {
    return this.tasks.length;
  }

  /** Appends a task; returns false (and logs) if the queue is full and the task was dropped. */
  push(task: () => Promise<void> | void): boolean {
    if (this.tasks.length >= this.opts.maxQueued) {
      // Log the first drop of a burst only: a flooding client must not flood the log too.
      if (this.dropped++ === 0) this.opts.log.warn(`${this.opts.what} queue full: dropping events`, { max: this.opts.maxQueued });
      return false;
    }
    this.dropped = 0;
    this.tasks.push(task);
    if (!this.running) void this.run();
    return true;
  }

  /** Resolves once every task pushed so far has finished (successfully or not). */
  idle(): Promise<void> {
    if (!this.running && this.tasks.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private async run(): Promise<void> {
    this.running = true;
    try {
      for (let task = this.tasks.shift(); task; task = this.tasks.shift()) {
        try {
          await task();
        } catch (err) {
          this.opts.log.warn(`${this.opts.what} failed`, { err: err instanceof Error ? err.message : String(err) });
        }
      }
    } finally {
      this.running = false;
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }
}
