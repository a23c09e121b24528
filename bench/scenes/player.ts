/**
 * Plays a scene at its frame rate: frame i is drawn at start + i / fps, never skipped (a late
 * frame is drawn as soon as possible, then the schedule goes on), so the pixels a server sees
 * depend only on the seed and the elapsed time. `reset` draws frame 0 — the complete initial
 * state — and waits until the X server has it, which is how every measurement starts from the
 * same screen.
 */
import type { Scene } from './scene-catalog.js';
import type { XCanvas } from './x-canvas.js';

export interface PlayStats {
  /** Frames drawn since `play` (frame 0 not counted). */
  readonly frames: number;
  /** Frames drawn more than one frame interval late (the machine could not keep up). */
  readonly late: number;
}

export class ScenePlayer {
  private timer: NodeJS.Timeout | null = null;
  private next = 1;
  private startedAt = 0;
  private late = 0;
  private failure: unknown = null;

  constructor(private readonly scene: Scene, private readonly canvas: XCanvas) {}

  /** Stops playing, draws frame 0 and waits (bounded) until the X server has drawn it. */
  async reset(): Promise<void> {
    this.stop();
    this.scene.frame(0);
    await this.canvas.sync();
  }

  /** Starts drawing frames 1, 2, … at the scene's rate. */
  play(): void {
    this.stop();
    this.next = 1;
    this.late = 0;
    this.failure = null;
    this.startedAt = performance.now();
    this.schedule();
  }

  private schedule(): void {
    const interval = 1000 / this.scene.fps;
    const due = this.startedAt + this.next * interval;
    this.timer = setTimeout(() => {
      this.timer = null;
      try {
        // Catch up on every frame that is due (none is skipped: content depends on the index).
        while (this.startedAt + this.next * interval <= performance.now()) {
          if (performance.now() - (this.startedAt + this.next * interval) > interval) this.late++;
          this.scene.frame(this.next++);
        }
      } catch (err) {
        this.failure = err;
        return;
      }
      this.schedule();
    }, Math.max(0, due - performance.now()));
  }

  private stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Stops playing; waits until the X server has caught up; throws if drawing failed. */
  async pause(): Promise<PlayStats> {
    this.stop();
    if (this.failure) throw this.failure;
    await this.canvas.sync();
    return { frames: this.next - 1, late: this.late };
  }
}
