/**
 * Motion detection for a screen scraper: finds content of the previous frame that reappears,
 * shifted, in the current one (a scrolling terminal or web page, a dragged window), so the
 * server can send a 16-byte CopyRect instead of re-encoding the area. TigerVNC's Xvnc learns
 * this from the X server's CopyArea calls; a scraper only has pixels (design-notes §4.5).
 *
 * Per large dirty cluster (small changes are never searched):
 * 1. trim the cluster to the columns and rows that really changed (tile-aligned clusters
 *    would drag static neighbours such as wallpaper into every row fingerprint);
 * 2. gather candidate deltas, cheapest first: the deltas of the last few detections and their
 *    neighbours (a drag or scroll repeats or slightly changes its step) and caller hints, each
 *    pre-scored on a sample of the changed pixels so that only likely ones are searched in
 *    full; then vertical shifts voted by row hashes (rows of the
 *    new frame looked up among rows of the old one), and, only if none of those explains
 *    nearly the whole area, 2-D shifts found by looking for a few distinctive pixel runs of
 *    the new frame in the old one (one rolling-hash pass for all of them);
 * 3. for each candidate, the largest rectangle whose rows match exactly under that shift (one
 *    memcmp per row, a pixel scan where it fails), grown by the rows and columns around it that
 *    match exactly too: a candidate is only a guess and this comparison is the proof, so a hash
 *    collision or a heuristic mistake costs time, never a wrong pixel. The first copy that
 *    covers ≥ 90 % of the changed area wins, otherwise the one that explains the most changed
 *    pixels (a shift also "matches" where both frames are flat);
 * 4. extend it by edge rows that the shift explains but for a few pixels (the cursor cell of a
 *    scrolled terminal line), which the caller re-compares and sends as pixels.
 *
 * CPU is bounded by a per-call time budget, the minimum cluster area and the cap on clusters.
 * The detector keeps scratch arrays between calls (reused, grown on demand) and the recent
 * deltas; one instance per frame source.
 */
import { intersectRect, rectsOverlap, type Rect } from '../core/geometry.js';
import type { PixelBuffer } from '../core/pixel-buffer.js';
import { ChangedSample } from './changed-sample.js';
import type { FrameCopy } from './frame-copy.js';
import { hashRows } from './row-hash.js';
import { bandContaining, type CaptureBand } from './row-bands.js';

export type { FrameCopy } from './frame-copy.js';

export type { CaptureBand } from './row-bands.js';

/**
 * How far a copy may grow: rows `[y1, y2)` of the current frame (those that may be read) and
 * columns `[x1, x2)` (those with damage: beyond them a copy only covers unchanged pixels).
 */
interface GrowLimits {
  readonly x1: number;
  readonly x2: number;
  readonly y1: number;
  readonly y2: number;
}

/** A candidate shift from outside the pixels (e.g. a window's ConfigureNotify). */
export interface MotionHint {
  readonly dx: number;
  readonly dy: number;
}

export interface MotionDetectorOptions {
  /** Dirty clusters whose bounding box is smaller than this (px) are not searched. Default 16384. */
  minArea?: number;
  /** Smallest copy worth reporting (px). Default 4096. */
  minCopyArea?: number;
  /** Largest |dx| and |dy| searched. Default 512. */
  maxShift?: number;
  /**
   * Budget per `detect` call (ms of the `now` clock); no candidate or cluster is started beyond
   * it, and what was not searched is plain damage. Default 20.
   */
  budgetMs?: number;
  /**
   * The first this many calls that search anything get `WARMUP_BUDGET_FACTOR` × `budgetMs`:
   * before the JIT has compiled the search loops a search costs ~10× more (measured: 31 ms for
   * the first window-drag search, 1.5 ms later), and a cut-short first search sends a whole
   * moved window as pixels. Default 4.
   */
  warmupCalls?: number;
  /**
   * The same per search stage: the first this many searches that reach the vertical or the
   * 2-D stage get the larger budget too, because each stage's loops are compiled only when it
   * first runs. A session that had only scrolled had never run the 2-D search, and its first
   * window drags were cut short and sent as pixels (measured in one session: the 2-D stage's
   * 1st run 60–80 ms, 2nd 12–21, 4th still 30–42, 5th 2–5 ms). Default 8.
   */
  stageWarmupRuns?: number;
  /** Clusters searched per call, largest first. Default 4. */
  maxClusters?: number;
  /** Recent deltas tried first. Default 4. */
  recentDeltas?: number;
  /**
   * Clock for the budget, in ms. Default: this process's CPU time (`process.cpuUsage`), because
   * the budget bounds the CPU we spend; wall time would also count the time other processes
   * hold the cores, and then a busy machine would lose motion detection exactly when
   * bandwidth and CPU matter most.
   */
  now?: () => number;
  /**
   * Wall clock for the miss back-off, in ms (default `performance.now`). After a search of an
   * area finds nothing, that area is not searched again for a while (100 ms, doubling per
   * repeated miss up to `maxBackoffMs`): video and slideshows change everywhere every frame and
   * never move, and searching them each frame would cost up to `budgetMs` per poll for nothing.
   */
  wallNow?: () => number;
  /** Longest back-off after repeated misses in one area. Default 2000 ms. */
  maxBackoffMs?: number;
}

/** Counters for logs and benchmarks. */
export interface MotionStats {
  calls: number;
  clustersSearched: number;
  candidatesTried: number;
  /** Deltas scored on a sample of the changed pixels (the cheap filter before a search). */
  candidatesScored: number;
  copiesFound: number;
  /** Calls that stopped early because the time budget ran out. */
  budgetExhausted: number;
  /** Duration of the last call (ms, by the budget clock). */
  lastMs: number;
  /** Budget of the last call that searched (ms): `budgetMs`, or more while warming up. */
  lastBudgetMs: number;
  /** Clusters not searched because a recent search of the same area found nothing. */
  skippedBackoff: number;
}

/** An area whose last search found no motion, and until when it is not searched again. */
interface Miss {
  rect: Rect;
  until: number;
  strikes: number;
  /** Wall time the area was last seen changing. */
  seenAt: number;
}
/**
 * A miss is forgotten once its area has not changed for this long: the next change there is a
 * new event (a window that jumped, then sat still, is now dragged) and is searched at once.
 * Content that changes all the time (video) keeps its back-off.
 */
const MISS_FORGET_QUIET_MS = 200;
/** Budget multiplier of the first searching calls (see `warmupCalls`). */
const WARMUP_BUDGET_FACTOR = 5;
/** Misses remembered at most (oldest dropped first). */
const MAX_MISSES = 16;

/** Length of the pixel runs used as anchors for 2-D search. */
const ANCHOR_PX = 32;
/** Anchors are picked on a grid of this many rows and columns over the changed area. */
const ANCHOR_ROWS = 12;
const ANCHOR_COLS = 6;
/**
 * An anchor found more often than this in the old frame says nothing; below it, each of its
 * hits gets 1/hits of a vote. One scanline of text is rarely unique (the same glyph slice
 * recurs on every line and in adjacent rows), but the true shift is among the hits of almost
 * every anchor, so it wins the vote while the coincidences scatter.
 */
const ANCHOR_MAX_HITS = 48;
/** Margin (px) around the changed area searched in the old frame. */
const ANCHOR_MARGIN = 64;
/**
 * Only every ANCHOR_ROW_STRIDE-th row of the old frame is hashed, and each anchor is picked on
 * that many consecutive rows of the new frame instead: whatever the shift, exactly one anchor of
 * each such group lies on a hashed row of the old frame, so the votes are those of a full scan at
 * a quarter of its cost (the rolling hash over the old frame was two thirds of a search that
 * finds nothing, which every new slide of a slideshow is).
 */
const ANCHOR_ROW_STRIDE = 4;
/** Size of the bit filter in front of the anchor map (power of two). */
const ANCHOR_FILTER_SIZE = 16384;
/** Rolling hash base and base^(ANCHOR_PX-1) mod 2^32. */
const ROLL_BASE = 0x9e3779b1 | 0;
const ROLL_TOP = powMod32(ROLL_BASE, ANCHOR_PX - 1);
/** Prior rows with the same hash considered per new row (repeated lines, e.g. blank-ish text). */
const ROW_MATCHES_MAX = 8;
/** Vertical-shift and 2-D candidates taken from the votes. */
const VOTED_CANDIDATES = 3;
/** A candidate covering this much of the changed area ends the search for the cluster. */
const GOOD_COVERAGE = 0.9;
/**
 * The same for a delta seen in the last detections or hinted: a drag repeats its step, and a
 * window moved by (dx, dy) covers only w·h / ((w+|dx|)·(h+|dy|)) of the changed area.
 */
const GOOD_COVERAGE_REPEATED = 0.6;
/** Deltas within this many pixels of the last one (and of its extrapolation) are scored. */
const NEIGHBOURHOOD = 2;
/** A likely delta must explain at least this fraction of the sampled changed pixels. */
const LIKELY_MIN_SCORE = 0.3;
/** The last delta is searched straight away when it explains at least this much of the sample. */
const REPEAT_FAST_SCORE = 0.6;
/** Likely deltas given the full rectangle search, at most. */
const LIKELY_TRIED = 2;
/** Hash about this many sampled pixels per row: enough to tell rows apart, verification does the rest. */
const HASH_SAMPLES_PER_ROW = 256;
/** Rows of the new frame that vote, at most (evenly spaced); the old frame's rows are all hashed. */
const VOTING_ROWS = 256;

/** The search stages with loops of their own, each warmed up separately (`stageWarmupRuns`). */
type SearchStage = 'vertical' | 'anchors';

interface Candidate {
  dx: number;
  dy: number;
}

export class MotionDetector {
  readonly stats: MotionStats = { calls: 0, clustersSearched: 0, candidatesTried: 0, candidatesScored: 0, copiesFound: 0, budgetExhausted: 0, lastMs: 0, lastBudgetMs: 0, skippedBackoff: 0 };
  private readonly wallNow: () => number;
  private readonly maxBackoffMs: number;
  private misses: Miss[] = [];
  private readonly minArea: number;
  private readonly minCopyArea: number;
  private readonly maxShift: number;
  private readonly budgetMs: number;
  private readonly warmupCalls: number;
  private readonly stageWarmupRuns: number;
  private searchingCalls = 0;
  /** Searches that reached each stage, for the per-stage warm-up budget. */
  private readonly stageRuns: Record<SearchStage, number> = { vertical: 0, anchors: 0 };
  /** This call's budget (`budgetMs`, or more while warming up). */
  private callBudget = 0;
  private readonly maxClusters: number;
  private readonly recentMax: number;
  private readonly now: () => number;
  private recent: Candidate[] = [];
  private callStart = 0;
  private limits: GrowLimits = { x1: 0, x2: 0, y1: 0, y2: 0 };
  private exhausted = false;
  // Scratch, grown on demand and reused across calls.
  private curHash = new Int32Array(0);
  private curFlat = new Uint8Array(0);
  private prevHash = new Int32Array(0);
  private prevFlat = new Uint8Array(0);
  private runL = new Int32Array(0);
  private runR = new Int32Array(0);
  /** The searched area's changed pixels, sampled once for scoring every candidate. */
  private readonly sample = new ChangedSample();

  constructor(opts: MotionDetectorOptions = {}) {
    this.minArea = opts.minArea ?? 16384;
    this.minCopyArea = opts.minCopyArea ?? 4096;
    this.maxShift = opts.maxShift ?? 512;
    this.budgetMs = opts.budgetMs ?? 20;
    this.warmupCalls = opts.warmupCalls ?? 4;
    this.stageWarmupRuns = opts.stageWarmupRuns ?? 8;
    this.maxClusters = opts.maxClusters ?? 4;
    this.recentMax = opts.recentDeltas ?? 4;
    this.now = opts.now ?? processCpuMs;
    this.wallNow = opts.wallNow ?? (() => performance.now());
    this.maxBackoffMs = opts.maxBackoffMs ?? 2000;
  }

  /**
   * Finds copies from `prev` to `cur` inside the areas `dirty` (the changed rectangles of this
   * poll). Every returned copy lies inside the frame and no copy's source overlaps another
   * copy's destination, so they may be applied in any order. A copy's destination is verified
   * byte for byte except for up to 48 rows at its top and bottom edges, where it may differ from
   * `cur` in a few pixels per row (a terminal's cursor cell; see `extendNearRows`): the caller
   * must re-compare the destination after applying the copy, as `diffWithMotion` does.
   * Returns `[]` when nothing moved or the areas are too small.
   *
   * `valid`: when only these bands of `cur` were captured (the rest is stale), nothing outside
   * them is read, and each copy stays inside the band its search started in; a cluster of
   * `dirty` that no single band holds is not searched. `prev` is read anywhere.
   */
  detect(prev: PixelBuffer, cur: PixelBuffer, dirty: readonly Rect[], hints: readonly MotionHint[] = [], valid?: readonly CaptureBand[]): FrameCopy[] {
    if (prev.width !== cur.width || prev.height !== cur.height) throw new RangeError('MotionDetector: frames differ in size');
    // Rows of `cur` that may be read: copies never grow beyond them.
    // Columns: the damage's bounds. Growing a copy sideways costs a strided read of every row
    // per column; over an unchanged flat wallpaper beside a scrolled window it ran to the
    // screen's edges every frame (measured: most of the detector's time in the web-scroll scene).
    let x1 = cur.width, x2 = 0;
    for (const r of dirty) { x1 = Math.min(x1, r.x); x2 = Math.max(x2, r.x + r.w); }
    x1 = Math.max(0, x1);
    x2 = Math.min(cur.width, x2);
    this.stats.calls++;
    const wall = this.wallNow();
    if (this.misses.length) this.misses = this.misses.filter((m) => wall - m.seenAt < MISS_FORGET_QUIET_MS);
    const clusters: { rect: Rect; miss: Miss | undefined; band: CaptureBand }[] = [];
    for (const rect of clusterRects(dirty, 16)
      .map((r) => clipRect(r, cur.width, cur.height))
      .filter((r): r is Rect => r !== null && r.w * r.h >= this.minArea)
      .sort((a, b) => b.w * b.h - a.w * a.h)
      .slice(0, this.maxClusters)) {
      // The part of `cur` this cluster's copy may read and grow into. A cluster across two
      // bands would need stale pixels between them: it stays plain damage.
      const band = valid ? bandContaining(valid, rect) : { x: 0, y: 0, w: cur.width, h: cur.height };
      if (!band) continue;
      const miss = this.missFor(rect);
      if (miss) miss.seenAt = wall;
      if (miss && wall < miss.until) this.stats.skippedBackoff++;
      else clusters.push({ rect, miss, band });
    }
    // Nothing to search (small changes, or video in back-off): no clock read either, which
    // is a system call per read for the CPU clock.
    if (clusters.length === 0) {
      this.stats.lastMs = 0;
      return [];
    }
    const t0 = this.now();
    this.callStart = t0;
    this.exhausted = false;
    this.callBudget = this.searchingCalls++ < this.warmupCalls ? this.budgetMs * WARMUP_BUDGET_FACTOR : this.budgetMs;
    const out: FrameCopy[] = [];
    try {
      for (const { rect: cluster, miss, band } of clusters) {
        // A cluster mostly inside a copy found for a larger one is explained by it (a page's
        // text column and its sidebar scroll as one): its own search grew to that same copy,
        // which the overlap rule below then dropped (web scroll: a second full search per poll).
        if (out.some((o) => mostlyInside(cluster, o.dest))) continue;
        if (this.overBudget()) break;
        this.stats.clustersSearched++;
        this.limits = {
          x1: Math.max(x1, band.x),
          x2: Math.min(x2, band.x + band.w),
          y1: Math.max(0, band.y),
          y2: Math.min(cur.height, band.y + band.h),
        };
        const copy = this.searchCluster(prev, cur, cluster, hints);
        if (copy === UNCHANGED) continue;
        if (!copy) {
          // A search cut short by the budget is no evidence that nothing moved.
          if (!this.exhausted) this.recordMiss(cluster, miss, wall);
          continue;
        }
        this.misses = this.misses.filter((m) => !rectsOverlap(m.rect, cluster));
        // Sources must not read what another copy writes, whatever order a client applies them in.
        const src = { x: copy.dest.x - copy.dx, y: copy.dest.y - copy.dy, w: copy.dest.w, h: copy.dest.h };
        if (out.some((o) => rectsOverlap(o.dest, src) || rectsOverlap(copy.dest, { x: o.dest.x - o.dx, y: o.dest.y - o.dy, w: o.dest.w, h: o.dest.h }))) continue;
        out.push(copy);
        this.remember(copy);
      }
    } finally {
      this.stats.lastMs = this.now() - t0;
      this.stats.lastBudgetMs = this.callBudget;
    }
    this.stats.copiesFound += out.length;
    return out;
  }

  private remember(c: Candidate): void {
    this.recent = [{ dx: c.dx, dy: c.dy }, ...this.recent.filter((r) => r.dx !== c.dx || r.dy !== c.dy)].slice(0, this.recentMax);
  }

  /** The remembered miss covering most of `r` (at least half of `r`), if any. */
  private missFor(r: Rect): Miss | undefined {
    const area = r.w * r.h;
    return this.misses.find((m) => {
      const i = intersectRect(m.rect, r);
      return i !== null && i.w * i.h * 2 >= area;
    });
  }

  private recordMiss(r: Rect, previous: Miss | undefined, wall: number): void {
    const strikes = previous ? previous.strikes + 1 : 1;
    const until = wall + Math.min(this.maxBackoffMs, 100 * 2 ** (strikes - 1));
    if (previous) {
      previous.rect = r;
      previous.until = until;
      previous.strikes = strikes;
      previous.seenAt = wall;
      return;
    }
    this.misses.push({ rect: r, until, strikes, seenAt: wall });
    if (this.misses.length > MAX_MISSES) this.misses.shift();
  }

  /**
   * Called as a search stage starts: while the stage is cold (its first `stageWarmupRuns`
   * runs), this call's budget becomes the warm-up budget. A call that already ran out stays out.
   */
  private enterStage(stage: SearchStage): void {
    if (this.stageRuns[stage]++ < this.stageWarmupRuns) this.callBudget = Math.max(this.callBudget, this.budgetMs * WARMUP_BUDGET_FACTOR);
  }

  /** Whether this call's time budget is spent (counted once per call). */
  private overBudget(): boolean {
    if (this.exhausted) return true;
    if (this.now() - this.callStart <= this.callBudget) return false;
    this.exhausted = true;
    this.stats.budgetExhausted++;
    return true;
  }

  /**
   * The copy that explains most of what changed in `cluster`, null when none was found, or
   * `UNCHANGED` when no pixel of it changed: damage over a repaint with the same pixels, which
   * the caller may search before comparing anything. That is no miss: a miss would hold back
   * the search of a scroll that starts there a moment later.
   */
  private searchCluster(prev: PixelBuffer, cur: PixelBuffer, cluster: Rect, hints: readonly MotionHint[]): FrameCopy | null | typeof UNCHANGED {
    const area = changedBounds(prev, cur, cluster, AREA_ROW_STEP);
    if (!area) return UNCHANGED;
    if (area.w * area.h < this.minCopyArea) return null;
    const tried = new Set<number>();
    const found: FrameCopy[] = [];
    const areaPx = area.w * area.h;
    /** Returns a copy that explains (nearly) the whole changed area, which ends the search. */
    const tryAll = (cands: readonly Candidate[], goodCoverage = GOOD_COVERAGE): FrameCopy | null => {
      for (const c of cands) {
        if (c.dx === 0 && c.dy === 0) continue;
        if (Math.abs(c.dx) > this.maxShift || Math.abs(c.dy) > this.maxShift) continue;
        const key = deltaKey(c.dx, c.dy);
        if (tried.has(key)) continue;
        tried.add(key);
        if (this.overBudget()) return null;
        this.stats.candidatesTried++;
        const copy = this.bestRectFor(prev, cur, area, c.dx, c.dy);
        if (!copy) continue;
        if (copy.dest.w * copy.dest.h >= goodCoverage * areaPx) return copy;
        found.push(copy);
      }
      return null;
    };
    // A steady scroll or drag repeats a recent delta: when a sample says one explains most of
    // the change, try it before scoring the ~75 likely deltas (a third of the detector's time
    // in the web-scroll scene). A drag over busy ground scores ~0.85 (the uncovered strip is
    // unexplained); a delta one pixel off scores far lower on text.
    this.sample.take(prev, cur, area);
    const repeat = this.bestRecent(prev);
    if (repeat) {
      const repeated = tryAll([repeat], GOOD_COVERAGE_REPEATED);
      if (repeated) return repeated;
    }
    const likely = tryAll(this.likelyCandidates(prev, hints), GOOD_COVERAGE_REPEATED);
    if (likely) return likely;
    this.enterStage('vertical');
    const vertical = tryAll(this.verticalCandidates(prev, cur, area));
    if (vertical) return vertical;
    if (!this.overBudget()) {
      this.enterStage('anchors');
      const moved = tryAll(this.anchorCandidates(prev, cur, area));
      if (moved) return moved;
    }
    if (found.length <= 1) return found[0] ?? null;
    // Several partial answers: a shift can also "match" where both frames are flat, so the
    // winner is the copy that explains the most pixels that really changed, not the largest.
    let best = found[0]!;
    let bestScore = -1;
    for (const c of found) {
      const score = changedPixels(prev, cur, c.dest);
      if (score > bestScore) {
        best = c;
        bestScore = score;
      }
    }
    return best;
  }

  /**
   * The recent delta that explains most of this area's changed-pixel sample, if it explains at
   * least `REPEAT_FAST_SCORE` of it. Not only the last one: a page scrolled by a fixed step
   * often moves one step in one poll and two in the next (web scroll: -10, -20, -10, …), and
   * when only the last delta was tried the other half of the polls scored all ~75 likely deltas.
   */
  private bestRecent(prev: PixelBuffer): Candidate | null {
    let best: Candidate | null = null;
    let bestScore = REPEAT_FAST_SCORE;
    for (const c of this.recent) {
      const score = this.score(prev, c);
      if (score >= bestScore) {
        best = c;
        bestScore = score;
      }
      if (score >= 1) break;
    }
    return best;
  }

  /**
   * The deltas a continuing motion most likely has, best first: the recent ones, the hints,
   * around the last one (a drag along a curve changes its step by a pixel or two per frame,
   * so an exact repeat is rare) and around the origin (a motion starting from rest). Each is
   * scored on a sample of the changed pixels (`ChangedSample`, taken once per area) and only
   * the few that explain a good part of them get the full, ~100× dearer rectangle search.
   */
  private likelyCandidates(prev: PixelBuffer, hints: readonly MotionHint[]): Candidate[] {
    const cands: Candidate[] = [...this.recent, ...hints];
    const last = this.recent[0];
    // Around the origin too: a drag or scroll starting from rest moves a pixel or two at first,
    // whatever the last motion was (measured: the first steps of a drag that followed another
    // went to the costly anchor search, overran the budget and were sent as pixels).
    const centres: Candidate[] = [{ dx: 0, dy: 0 }];
    if (last) {
      const next = this.recent[1] ? { dx: 2 * last.dx - this.recent[1].dx, dy: 2 * last.dy - this.recent[1].dy } : last;
      centres.push(last);
      if (next !== last) centres.push(next);
    }
    for (const c of centres)
      for (let j = -NEIGHBOURHOOD; j <= NEIGHBOURHOOD; j++)
        for (let i = -NEIGHBOURHOOD; i <= NEIGHBOURHOOD; i++) cands.push({ dx: c.dx + i, dy: c.dy + j });
    const seen = new Set<number>();
    const scored: { c: Candidate; score: number }[] = [];
    for (const c of cands) {
      if (c.dx === 0 && c.dy === 0) continue;
      const key = deltaKey(c.dx, c.dy);
      if (seen.has(key)) continue;
      seen.add(key);
      const score = this.score(prev, c);
      if (score >= LIKELY_MIN_SCORE) scored.push({ c, score });
    }
    return scored
      .sort((a, b) => b.score - a.score)
      .slice(0, LIKELY_TRIED)
      .map((s) => s.c);
  }

  /** How much of this area's changed-pixel sample (`this.sample`) the shift `c` explains. */
  private score(prev: PixelBuffer, c: Candidate): number {
    this.stats.candidatesScored++;
    return this.sample.explained(prev, c.dx, c.dy);
  }

  /** Vertical shifts voted by rows of `cur` whose (sampled) hash reappears among rows of `prev`. */
  private verticalCandidates(prev: PixelBuffer, cur: PixelBuffer, area: Rect): Candidate[] {
    const py1 = Math.max(0, area.y - this.maxShift);
    const py2 = Math.min(prev.height, area.y + area.h + this.maxShift);
    const colStep = Math.max(1, Math.floor(area.w / HASH_SAMPLES_PER_ROW));
    const rowStep = Math.max(1, Math.floor(area.h / VOTING_ROWS));
    this.ensureHashScratch(Math.max(area.h, py2 - py1));
    const x1 = area.x;
    const x2 = area.x + area.w;
    hashRows(cur, { x1, x2, colStep, y1: area.y, y2: area.y + area.h, rowStep }, this.curHash, this.curFlat);
    hashRows(prev, { x1, x2, colStep, y1: py1, y2: py2, rowStep: 1 }, this.prevHash, this.prevFlat);
    const rowsByHash = new Map<number, number[]>();
    for (let y = py1; y < py2; y++) {
      if (this.prevFlat[y - py1]) continue;
      const h = this.prevHash[y - py1]!;
      const list = rowsByHash.get(h);
      if (!list) rowsByHash.set(h, [y]);
      else if (list.length < ROW_MATCHES_MAX) list.push(y);
    }
    const votes = new Map<number, number>();
    for (let y = area.y; y < area.y + area.h; y += rowStep) {
      const i = y - area.y;
      if (this.curFlat[i]) continue;
      const h = this.curHash[i]!;
      if (h === this.prevHash[y - py1]) continue; // unchanged row: evidence for dy = 0 only
      const list = rowsByHash.get(h);
      if (!list) continue;
      for (const py of list) {
        const dy = y - py;
        if (dy !== 0) votes.set(dy, (votes.get(dy) ?? 0) + 1);
      }
    }
    return [...votes.entries()]
      .sort((a, b) => b[1] - a[1] || Math.abs(a[0]) - Math.abs(b[0]))
      .slice(0, VOTED_CANDIDATES)
      .map(([dy]) => ({ dx: 0, dy }));
  }

  /**
   * 2-D shifts: changed pixel runs of `cur` (anchors, spread over the area) are looked for in
   * `prev` around the area with a rolling hash over every position of every
   * ANCHOR_ROW_STRIDE-th row, all anchors at once; each hit votes for its delta, weighted by how
   * ambiguous its anchor is.
   */
  private anchorCandidates(prev: PixelBuffer, cur: PixelBuffer, area: Rect): Candidate[] {
    if (area.w < ANCHOR_PX) return [];
    const anchors = pickAnchors(prev, cur, area);
    if (anchors.length === 0) return [];
    const byHash = new Map<number, number[]>();
    const filter = new Uint8Array(ANCHOR_FILTER_SIZE);
    anchors.forEach((an, i) => {
      const list = byHash.get(an.hash);
      if (list) list.push(i);
      else byHash.set(an.hash, [i]);
      filter[an.hash & (ANCHOR_FILTER_SIZE - 1)] = 1;
    });
    // Moved content comes from where it was, which changed too: search the area plus a margin.
    const sx1 = Math.max(0, area.x - ANCHOR_MARGIN);
    const sx2 = Math.min(prev.width, area.x + area.w + ANCHOR_MARGIN);
    const sy1 = Math.max(0, area.y - ANCHOR_MARGIN);
    const sy2 = Math.min(prev.height, area.y + area.h + ANCHOR_MARGIN);
    if (sx2 - sx1 < ANCHOR_PX) return [];
    const hits: number[][] = anchors.map(() => []);
    const p = prev.pixels;
    for (let y = Math.ceil(sy1 / ANCHOR_ROW_STRIDE) * ANCHOR_ROW_STRIDE; y < sy2; y += ANCHOR_ROW_STRIDE) {
      const base = y * prev.stride;
      let h = runHash(p, base + sx1);
      for (let x = sx1; ; x++) {
        if (filter[h & (ANCHOR_FILTER_SIZE - 1)]) {
          const list = byHash.get(h);
          if (list) {
            for (const i of list) {
              const an = anchors[i]!;
              const hl = hits[i]!;
              // Keep one hit more than allowed: enough to know the anchor is ambiguous.
              if (hl.length < (ANCHOR_MAX_HITS + 1) * 2) hl.push(an.x - x, an.y - y);
            }
          }
        }
        if (x + ANCHOR_PX >= sx2) break;
        h = (Math.imul(h - Math.imul(p[base + x]!, ROLL_TOP), ROLL_BASE) + p[base + x + ANCHOR_PX]!) | 0;
      }
    }
    const votes = new Map<number, { c: Candidate; n: number }>();
    for (const hl of hits) {
      if (hl.length === 0 || hl.length > ANCHOR_MAX_HITS * 2) continue; // (dx, dy) pairs; too many = no evidence
      const weight = 2 / hl.length;
      for (let k = 0; k < hl.length; k += 2) {
        const dx = hl[k]!;
        const dy = hl[k + 1]!;
        if (dx === 0 && dy === 0) continue;
        const key = deltaKey(dx, dy);
        const v = votes.get(key);
        if (v) v.n += weight;
        else votes.set(key, { c: { dx, dy }, n: weight });
      }
    }
    return [...votes.values()]
      .sort((a, b) => b.n - a.n)
      .slice(0, VOTED_CANDIDATES)
      .map((v) => v.c);
  }

  /**
   * The largest rectangle inside `area` whose rows all match exactly under the shift, as a
   * verified copy, or null if it is too small or explains no change.
   */
  private bestRectFor(prev: PixelBuffer, cur: PixelBuffer, area: Rect, dx: number, dy: number): FrameCopy | null {
    const xs = Math.max(area.x, dx);
    const xe = Math.min(area.x + area.w, prev.width + dx);
    const ys = Math.max(area.y, dy);
    const ye = Math.min(area.y + area.h, prev.height + dy);
    if (xe - xs <= 0 || ye - ys <= 0 || (xe - xs) * (ye - ys) < this.minCopyArea) return null;
    const n = ye - ys;
    if (this.runL.length < n) {
      this.runL = new Int32Array(n);
      this.runR = new Int32Array(n);
    }
    const L = this.runL;
    const R = this.runR;
    const cp = cur.pixels;
    const pp = prev.pixels;
    const bytes = (xe - xs) * 4;
    // The run found in the row above: a moved window matches over the same columns in every
    // row, and one memcmp of them (then a pixel scan only outward from its ends) replaces a
    // pixel scan of the whole row, which was a sixth of the server's CPU in the window-drag
    // scene (every row of a drag's area also holds the strip the window uncovered).
    let hintL = 0;
    let hintR = 0;
    for (let y = ys; y < ye; y++) {
      const cb = y * cur.stride;
      const pb = (y - dy) * prev.stride - dx;
      const i = y - ys;
      // Whole span equal (the common case for a true scroll): one memcmp.
      if (cur.data.compare(prev.data, (pb + xs) * 4, (pb + xs) * 4 + bytes, (cb + xs) * 4, (cb + xs) * 4 + bytes) === 0) {
        L[i] = hintL = xs;
        R[i] = hintR = xe;
        continue;
      }
      if (hintR - hintL >= RUN_HINT_MIN &&
        cur.data.compare(prev.data, (pb + hintL) * 4, (pb + hintR) * 4, (cb + hintL) * 4, (cb + hintR) * 4) === 0) {
        let l = hintL;
        let r = hintR;
        while (l > xs && cp[cb + l - 1] === pp[pb + l - 1]) l--;
        while (r < xe && cp[cb + r] === pp[pb + r]) r++;
        L[i] = hintL = l;
        R[i] = hintR = r;
        continue;
      }
      // Longest run of equal pixels in this row.
      let bestLen = 0;
      let bestL = xs;
      let s = -1;
      for (let x = xs; x < xe; x++) {
        if (cp[cb + x] === pp[pb + x]) {
          if (s < 0) s = x;
        } else if (s >= 0) {
          if (x - s > bestLen) {
            bestLen = x - s;
            bestL = s;
          }
          s = -1;
        }
      }
      if (s >= 0 && xe - s > bestLen) {
        bestLen = xe - s;
        bestL = s;
      }
      L[i] = hintL = bestL;
      R[i] = hintR = bestL + bestLen;
    }
    const rect = largestRect(L, R, n, ys);
    if (!rect || rect.w * rect.h < this.minCopyArea) return null;
    // A copy must do something: enough of its rows must differ from the old frame in place
    // (a shifted flat area also "matches", but there is nothing to copy there).
    let changedRows = 0;
    const rb = rect.w * 4;
    for (let y = rect.y; y < rect.y + rect.h && changedRows * 4 < rect.h; y++) {
      const o = (y * cur.stride + rect.x) * 4;
      const p = (y * prev.stride + rect.x) * 4;
      if (cur.data.compare(prev.data, p, p + rb, o, o + rb) !== 0) changedRows++;
    }
    if (changedRows * 4 < rect.h) return null;
    // Exact by construction: every row of `rect` was compared above (one memcmp of its span, or
    // a pixel scan that found its run), and growCopy compares each row and column it adds.
    // A second, independent memcmp of the whole copy here cost a quarter of the capture's
    // comparisons in the web-scroll scene (web scroll with Hextile, 20 s cells alternated four
    // times: 26.2 → 23.7 % CPU); the tests check every copy against an independent oracle.
    const exact = growCopy(prev, cur, rect, dx, dy, this.limits);
    return { dest: extendNearRows(prev, cur, exact, dx, dy, this.limits), dx, dy, verified: exact };
  }

  private ensureHashScratch(n: number): void {
    if (this.curHash.length >= n) return;
    this.curHash = new Int32Array(n);
    this.curFlat = new Uint8Array(n);
    this.prevHash = new Int32Array(n);
    this.prevFlat = new Uint8Array(n);
  }
}

/** One number per (dx, dy) for sets and maps of deltas (|dx|, |dy| < 32768). */
function deltaKey(dx: number, dy: number): number {
  return (dx + 0x8000) * 0x10000 + (dy + 0x8000);
}

/** Polynomial hash of the `ANCHOR_PX` pixels from index `i`, the form the rolling update keeps. */
function runHash(p: Uint32Array, i: number): number {
  let h = 0;
  for (let t = 0; t < ANCHOR_PX; t++) h = (Math.imul(h, ROLL_BASE) + p[i + t]!) | 0;
  return h;
}

interface Anchor {
  x: number;
  y: number;
  hash: number;
}

/**
 * Anchor runs on a grid over `area`: in each cell the first run (scanning right in half-run
 * steps) that is not flat and differs from the old frame in place, i.e. content that moved or
 * appeared, not static background. Cells without one contribute nothing.
 */
function pickAnchors(prev: PixelBuffer, cur: PixelBuffer, area: Rect): Anchor[] {
  const out: Anchor[] = [];
  const cp = cur.pixels;
  const last = area.x + area.w - ANCHOR_PX;
  const cellW = Math.max(ANCHOR_PX, Math.floor(area.w / ANCHOR_COLS));
  const bytes = ANCHOR_PX * 4;
  // Each grid row is ANCHOR_ROW_STRIDE consecutive rows, one of which lands on a hashed row of
  // the old frame whatever the shift (rows past the area's end fold back to its first rows).
  const rows: number[] = [];
  for (let r = 0; r < ANCHOR_ROWS; r++) {
    const y0 = area.y + Math.floor(((r + 0.5) * area.h) / ANCHOR_ROWS);
    for (let j = 0; j < ANCHOR_ROW_STRIDE; j++) rows.push(area.y + ((y0 - area.y + j) % area.h));
  }
  for (const y of rows) {
    for (let c = 0; c < ANCHOR_COLS; c++) {
      const cx1 = area.x + c * cellW;
      if (cx1 > last) break;
      const cx2 = Math.min(last, cx1 + cellW - 1);
      for (let x = cx1; x <= cx2; x += ANCHOR_PX / 2) {
        const ci = y * cur.stride + x;
        const pi = y * prev.stride + x;
        if (cur.data.compare(prev.data, pi * 4, pi * 4 + bytes, ci * 4, ci * 4 + bytes) === 0) continue;
        let flat = true;
        for (let i = 1; i < ANCHOR_PX && flat; i++) if (cp[ci + i] !== cp[ci]) flat = false;
        if (flat) continue;
        out.push({ x, y, hash: runHash(cp, ci) });
        break;
      }
    }
  }
  return out;
}

/**
 * Largest-area rectangle over consecutive rows `i` in `[0, n)`, each row allowing columns
 * `[L[i], R[i])`. Rows are pruned as soon as they cannot beat the best area found.
 */
function largestRect(L: Int32Array, R: Int32Array, n: number, y0: number): Rect | null {
  let bestArea = 0;
  let best: Rect | null = null;
  for (let t = 0; t < n; t++) {
    let l = L[t]!;
    let r = R[t]!;
    if (r <= l || (r - l) * (n - t) <= bestArea) continue;
    for (let b = t; b < n; b++) {
      if (L[b]! > l) l = L[b]!;
      if (R[b]! < r) r = R[b]!;
      if (r <= l || (r - l) * (n - t) <= bestArea) break;
      const a = (r - l) * (b - t + 1);
      if (a > bestArea) {
        bestArea = a;
        best = { x: l, y: y0 + t, w: r - l, h: b - t + 1 };
      }
    }
  }
  return best;
}

/**
 * Extends a matching rectangle beyond the searched area as long as whole rows and columns
 * still match under the shift, within `limits`. A terminal whose lines share a prefix changes
 * only in a few column strips; the scroll still moves the whole text area, and one copy over
 * all of it leaves nothing to send for the unchanged-looking strips in between.
 */
function growCopy(prev: PixelBuffer, cur: PixelBuffer, r: Rect, dx: number, dy: number, limits: GrowLimits): Rect {
  let { x, y, w, h } = r;
  const W = cur.width;
  const H = cur.height;
  const rowMatches = (yy: number): boolean => {
    const c = (yy * cur.stride + x) * 4;
    const p = ((yy - dy) * prev.stride + x - dx) * 4;
    return cur.data.compare(prev.data, p, p + w * 4, c, c + w * 4) === 0;
  };
  /**
   * How many of the `max` columns before (`side` -1) or after (+1) the rectangle match under the
   * shift in every row: the least per row. Row by row (one memcmp, a pixel scan only where it
   * fails) rather than column by column, whose strided reads touched a cache line per pixel.
   */
  const matchingColumns = (side: -1 | 1, max: number): number => {
    const cp = cur.pixels, pp = prev.pixels;
    for (let yy = y; yy < y + h && max > 0; yy++) {
      const c = yy * cur.stride, p = (yy - dy) * prev.stride - dx;
      const from = side < 0 ? x - max : x + w;
      if (cur.data.compare(prev.data, (p + from) * 4, (p + from + max) * 4, (c + from) * 4, (c + from + max) * 4) === 0) continue;
      let k = 0;
      if (side < 0) while (k < max && cp[c + x - 1 - k] === pp[p + x - 1 - k]) k++;
      else while (k < max && cp[c + x + w + k] === pp[p + x + w + k]) k++;
      max = k;
    }
    return max;
  };
  const growRows = (): void => {
    while (y > limits.y1 && y - 1 - dy >= 0 && y - 1 - dy < H && rowMatches(y - 1)) {
      y--;
      h++;
    }
    while (y + h < limits.y2 && y + h - dy >= 0 && y + h - dy < H && rowMatches(y + h)) h++;
  };
  growRows();
  const left = matchingColumns(-1, Math.max(0, x - Math.max(limits.x1, dx)));
  x -= left;
  w += left;
  const right = matchingColumns(1, Math.max(0, Math.min(limits.x2, W + dx) - (x + w)));
  w += right;
  if (left + right > 0) growRows();
  return { x, y, w, h };
}

/**
 * A search area's columns are taken from every this many rows (`changedBounds`): two memcmp
 * calls per row for the few columns beside the box were a tenth of a web-scroll poll.
 */
const AREA_ROW_STEP = 4;

/** A row's run is tried as the next row's (`bestRectFor`) when it is at least this long. */
const RUN_HINT_MIN = 32;

/** `searchCluster`'s answer for a cluster without a changed pixel. */
const UNCHANGED = Symbol('unchanged');

/** Rows searched beyond an exact copy for rows the shift explains nearly (each direction). */
const NEAR_ROWS_MAX = 48;
/** A nearly matching row differs under the shift in at most 1/this of its pixels. */
const NEAR_ROW_FRACTION = 8;

/**
 * Extends an exact copy by rows that match under the shift except for a few pixels, where that
 * leaves fewer pixels to send than the old frame in place does. The typical case is a terminal:
 * the line that held the cursor scrolls up without it, so its rows differ from their source in
 * one character cell; an exact copy stops above that line and its whole text would be re-sent.
 * The caller re-compares the copy's destination after applying it (`diffWithMotion`), so the
 * few differing pixels are sent as ordinary pixels: still never a wrong pixel.
 *
 * Per direction, rows are taken while each differs under the shift in at most 1/8 of its
 * pixels, and the extension ends where the pixels saved (in-place differences minus shifted
 * ones, summed from the copy's edge) peak; no gain, no extension.
 */
function extendNearRows(prev: PixelBuffer, cur: PixelBuffer, r: Rect, dx: number, dy: number, rows: GrowLimits): Rect {
  const H = cur.height;
  const cp = cur.pixels;
  const pp = prev.pixels;
  const x1 = r.x;
  const x2 = r.x + r.w;
  const limit = Math.floor(r.w / NEAR_ROW_FRACTION);
  const differing = (y: number, sy: number, sx: number): number => {
    const c = y * cur.stride;
    const p = sy * prev.stride - sx;
    let n = 0;
    for (let x = x1; x < x2; x++) if (cp[c + x] !== pp[p + x]) n++;
    return n;
  };
  /** Rows (0 or more) worth adding beyond `from`, stepping by `step`. */
  const extent = (from: number, step: 1 | -1): number => {
    let gain = 0;
    let best = 0;
    let bestRows = 0;
    for (let k = 1; k <= NEAR_ROWS_MAX; k++) {
      const y = from + step * k;
      if (y < rows.y1 || y >= rows.y2 || y - dy < 0 || y - dy >= H) break;
      const shifted = differing(y, y - dy, dx);
      if (shifted > limit) break;
      gain += differing(y, y, 0) - shifted;
      if (gain > best) {
        best = gain;
        bestRows = k;
      }
    }
    return bestRows;
  };
  const up = extent(r.y, -1);
  const down = extent(r.y + r.h - 1, 1);
  return { x: r.x, y: r.y - up, w: r.w, h: r.h + up + down };
}

/** Pixels of `r` that differ between `prev` and `cur` in place (memcmp skips equal rows). */
function changedPixels(prev: PixelBuffer, cur: PixelBuffer, r: Rect): number {
  let n = 0;
  const bytes = r.w * 4;
  for (let y = r.y; y < r.y + r.h; y++) {
    const c = y * cur.stride + r.x;
    const p = y * prev.stride + r.x;
    if (cur.data.compare(prev.data, p * 4, p * 4 + bytes, c * 4, c * 4 + bytes) === 0) continue;
    for (let i = 0; i < r.w; i++) if (cur.pixels[c + i] !== prev.pixels[p + i]) n++;
  }
  return n;
}

/**
 * The bounding box of the pixels that differ between `prev` and `cur` inside `area`, or null.
 * The first and last changed rows are found from the top and from the bottom (one memcmp per
 * row); in the rows between, only the columns outside the box found so far are compared, each
 * side with one memcmp and a pixel scan where it fails. A full memcmp of every row (all of a
 * scrolled page's equal rows, which are many on white pages) was a sixth of the capture's
 * comparisons in the web-scroll scene.
 *
 * With `rowStep` > 1 the columns come from the first and last changed rows and every
 * `rowStep`-th row between them only: a box that may miss changes confined to the skipped rows,
 * which is enough for a search area (the copy found in it grows by every row and column that
 * matches, and what no copy explains is compared again and sent as pixels).
 */
export function changedBounds(prev: PixelBuffer, cur: PixelBuffer, area: Rect, rowStep = 1): Rect | null {
  const { x: ax, w: aw } = area;
  const ax2 = ax + aw;
  const cp = cur.pixels;
  const pp = prev.pixels;
  const cd = cur.data;
  const pd = prev.data;
  /** Do pixels [from, to) of row `y` differ? */
  const differs = (y: number, from: number, to: number): boolean => {
    const c = y * cur.stride;
    const p = y * prev.stride;
    return cd.compare(pd, (p + from) * 4, (p + to) * 4, (c + from) * 4, (c + to) * 4) !== 0;
  };
  const yEnd = area.y + area.h;
  let y1 = area.y;
  while (y1 < yEnd && !differs(y1, ax, ax2)) y1++;
  if (y1 === yEnd) return null;
  let y2 = yEnd;
  while (y2 - 1 > y1 && !differs(y2 - 1, ax, ax2)) y2--;
  let x1 = ax2;
  let x2 = ax;
  const step = Math.max(1, Math.floor(rowStep));
  // Rows y1, y1 + step, …, and always the last changed row y2 - 1.
  for (let y = y1; y < y2; y = y === y2 - 1 ? y2 : Math.min(y + step, y2 - 1)) {
    const cb = y * cur.stride;
    const pb = y * prev.stride;
    if (x1 > ax && differs(y, ax, x1)) {
      let x = ax;
      while (cp[cb + x] === pp[pb + x]) x++;
      x1 = x;
    }
    const from = Math.max(x1, x2);
    if (from < ax2 && differs(y, from, ax2)) {
      let x = ax2 - 1;
      while (cp[cb + x] === pp[pb + x]) x--;
      x2 = x + 1;
    }
  }
  return { x: x1, y: y1, w: x2 - x1, h: y2 - y1 };
}

/**
 * Groups rectangles whose boxes touch or lie within `gap` pixels of each other into their
 * bounding boxes, repeatedly, until no two boxes are that close. Each round joins every close
 * pair at once (union-find over all pairs, O(n²) for the ≤ ~50 rectangles of coalesced damage);
 * merging one pair and starting over cost O(n³), 5 % of the server's CPU in the web-scroll scene
 * (a page's text gives 40-50 rectangles per poll). Boxes come out in the order of their first
 * member.
 */
export function clusterRects(rects: readonly Rect[], gap: number): Rect[] {
  let boxes: Rect[] = rects.filter((r) => r.w > 0 && r.h > 0).map((r) => ({ ...r }));
  for (;;) {
    const n = boxes.length;
    const parent = new Int32Array(n);
    for (let i = 0; i < n; i++) parent[i] = i;
    const root = (i: number): number => {
      while (parent[i] !== i) i = parent[i] = parent[parent[i]!]!;
      return i;
    };
    let joined = 0;
    for (let i = 0; i < n; i++) {
      const a = boxes[i]!;
      for (let j = i + 1; j < n; j++) {
        const b = boxes[j]!;
        if (a.x - gap < b.x + b.w && b.x - gap < a.x + a.w && a.y - gap < b.y + b.h && b.y - gap < a.y + a.h) {
          const ra = root(i);
          const rb = root(j);
          if (ra === rb) continue;
          parent[Math.max(ra, rb)] = Math.min(ra, rb);
          joined++;
        }
      }
    }
    if (joined === 0) return boxes;
    // Bounding box per group; merged boxes may now be close to others: another round.
    const slot = new Int32Array(n).fill(-1);
    const next: { x1: number; y1: number; x2: number; y2: number }[] = [];
    for (let i = 0; i < n; i++) {
      const b = boxes[i]!;
      const r = root(i);
      if (slot[r]! < 0) {
        slot[r] = next.length;
        next.push({ x1: b.x, y1: b.y, x2: b.x + b.w, y2: b.y + b.h });
        continue;
      }
      const m = next[slot[r]!]!;
      m.x1 = Math.min(m.x1, b.x);
      m.y1 = Math.min(m.y1, b.y);
      m.x2 = Math.max(m.x2, b.x + b.w);
      m.y2 = Math.max(m.y2, b.y + b.h);
    }
    boxes = next.map((m) => ({ x: m.x1, y: m.y1, w: m.x2 - m.x1, h: m.y2 - m.y1 }));
  }
}

function processCpuMs(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
}

/** `base^n` modulo 2^32, as a signed 32-bit value. */
function powMod32(base: number, n: number): number {
  let r = 1;
  for (let i = 0; i < n; i++) r = Math.imul(r, base);
  return r;
}

function clipRect(r: Rect, width: number, height: number): Rect | null {
  const x1 = Math.max(0, r.x);
  const y1 = Math.max(0, r.y);
  const x2 = Math.min(width, r.x + r.w);
  const y2 = Math.min(height, r.y + r.h);
  return x2 > x1 && y2 > y1 ? { x: x1, y: y1, w: x2 - x1, h: y2 - y1 } : null;
}

/** Whether at least 3/4 of `r` lies inside `outer`. */
function mostlyInside(r: Rect, outer: Rect): boolean {
  const i = intersectRect(r, outer);
  return i !== null && i.w * i.h * 4 >= r.w * r.h * 3;
}

