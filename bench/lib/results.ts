/**
 * The benchmark's result model: what `bench/results/latest.json` holds, what the terminal table
 * and the SVG chart are rendered from. One flat list of metrics, each a summary of samples in
 * one unit, optionally tied to a server and to a target. Later benchmarks (scenes, soak) add
 * metrics to the same list rather than invent new shapes.
 */
import { summarize, type Summary } from './stats.js';

export const RESULTS_SCHEMA = 'vnc-runner-bench/1';

export type MetricUnit = 'ms' | 'bytes';

/** A goal a metric should meet, e.g. "p95 under 10 ms". */
export interface Target {
  readonly stat: 'p50' | 'p95';
  /** Upper bound, in the metric's unit. */
  readonly below: number;
}

export interface Metric {
  /** Stable identifier, e.g. `connect.serverinit` or `encode.tight.ms`. */
  readonly id: string;
  /** Section it belongs to: capture, encode, connect, input. */
  readonly group: string;
  /** Human label for tables. */
  readonly label: string;
  readonly unit: MetricUnit;
  /** Server measured (end-to-end metrics); absent for in-process metrics. */
  readonly server?: string;
  readonly summary: Summary;
  readonly target?: Target & { readonly met: boolean };
}

/** One VNC server that was (or could not be) measured. */
export interface ServerInfo {
  readonly id: string;
  readonly status: 'measured' | 'skipped' | 'failed';
  /** Version and settings that matter for the figures (frame rate, polling). */
  readonly details: string;
  /** Why it was skipped or failed. */
  readonly reason?: string;
}

export interface BenchResults {
  readonly schema: typeof RESULTS_SCHEMA;
  readonly mode: 'full' | 'short';
  readonly scene: string;
  readonly startedAt: string;
  readonly durationMs: number;
  readonly environment: {
    readonly node: string;
    readonly platform: string;
    readonly cpus: number;
    readonly cpuModel: string;
    readonly screen: string;
    /** vnc-runner's frame rate during the run (polls per second while a client waits). */
    readonly framerate: number;
    /**
     * 1-minute load average at the start and the end of the run. Above the CPU count, other
     * processes competed for the cores and the tails (p95, max) are inflated by waiting.
     */
    readonly loadAverage: { readonly start: number; readonly end: number };
  };
  readonly servers: readonly ServerInfo[];
  readonly metrics: readonly Metric[];
  /** Things worth knowing about this run (skips, degraded measurements). */
  readonly notes: readonly string[];
}

/** What a measurement hands to the collector. */
export interface MetricSpec {
  readonly id: string;
  readonly group: string;
  readonly label: string;
  readonly unit: MetricUnit;
  readonly server?: string;
  readonly target?: Target;
}

/** Collects metrics in the order they were measured. (id, server) pairs must be unique. */
export class MetricCollector {
  private readonly list: Metric[] = [];

  add(spec: MetricSpec, samples: readonly number[]): Metric {
    if (this.find(spec.id, spec.server)) throw new RangeError(`metric ${spec.id}${spec.server ? '@' + spec.server : ''} recorded twice`);
    const summary = summarize(samples);
    const { target, ...rest } = spec;
    const metric: Metric = target
      ? { ...rest, summary, target: { ...target, met: summary[target.stat] < target.below } }
      : { ...rest, summary };
    this.list.push(metric);
    return metric;
  }

  find(id: string, server?: string): Metric | undefined {
    return this.list.find((m) => m.id === id && m.server === server);
  }

  get metrics(): readonly Metric[] {
    return this.list;
  }
}
