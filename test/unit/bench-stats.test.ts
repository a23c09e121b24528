/**
 * The benchmark's pure helpers: nearest-rank percentiles and summaries, number formatting, the
 * text table, the metric collector's target check, the argument parser and the SVG chart.
 */
import { describe, expect, it } from 'vitest';
import { formatBytes, formatMs, formatRatio, formatValue, percentile, percentileSorted, summarize } from '../../bench/lib/stats.js';
import { renderTable } from '../../bench/lib/table.js';
import { MetricCollector } from '../../bench/lib/results.js';
import { parseBenchArgs, SAMPLES } from '../../bench/args.js';
import { escapeXml, renderBarChart } from '../../bench/lib/svg-chart.js';
import { createProgress } from '../../bench/lib/progress.js';

describe('percentiles (nearest rank)', () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100

  it('returns measured values at the nearest rank', () => {
    expect(percentileSorted(hundred, 50)).toBe(50);
    expect(percentileSorted(hundred, 95)).toBe(95);
    expect(percentileSorted(hundred, 100)).toBe(100);
    expect(percentileSorted(hundred, 0)).toBe(1);
    expect(percentileSorted(hundred, 0.5)).toBe(1);
    expect(percentileSorted(hundred, 95.1)).toBe(96);
  });

  it('handles small series the way a reader expects', () => {
    expect(percentile([7], 95)).toBe(7);
    expect(percentile([3, 1, 2], 50)).toBe(2);
    expect(percentile([1, 2, 3, 4], 50)).toBe(2); // never an interpolated 2.5
    expect(percentile([10, 1, 5, 100, 2, 3, 4, 6, 7, 8], 95)).toBe(100);
    expect(percentile([10, 1, 5, 100, 2, 3, 4, 6, 7, 8], 90)).toBe(10);
  });

  it('does not reorder the caller’s samples', () => {
    const s = [3, 1, 2];
    percentile(s, 50);
    expect(s).toEqual([3, 1, 2]);
  });

  it('rejects empty series and percentiles out of range', () => {
    expect(() => percentile([], 50)).toThrow(RangeError);
    expect(() => percentile([1], -1)).toThrow(RangeError);
    expect(() => percentile([1], 101)).toThrow(RangeError);
    expect(() => percentile([1], Number.NaN)).toThrow(RangeError);
  });
});

describe('summarize', () => {
  it('gives n, min, p50, p95, max and mean', () => {
    const s = summarize([4, 2, 8, 6, 10]);
    expect(s).toEqual({ n: 5, min: 2, p50: 6, p95: 10, max: 10, mean: 6 });
  });

  it('refuses empty series and non-finite samples', () => {
    expect(() => summarize([])).toThrow(RangeError);
    expect(() => summarize([1, Number.NaN])).toThrow(/non-finite/);
    expect(() => summarize([1, Infinity])).toThrow(/non-finite/);
  });
});

describe('formatting', () => {
  it('prints milliseconds with a precision that fits the magnitude', () => {
    expect(formatMs(0.0421)).toBe('0.042');
    expect(formatMs(1.244)).toBe('1.24');
    expect(formatMs(12.44)).toBe('12.4');
    expect(formatMs(143.4)).toBe('143');
    expect(formatMs(Number.NaN)).toBe('n/a');
  });

  it('prints bytes in binary units', () => {
    expect(formatBytes(812)).toBe('812 B');
    expect(formatBytes(1260)).toBe('1.23 KiB');
    expect(formatBytes(271_360)).toBe('265 KiB');
    expect(formatBytes(1920 * 1080 * 4)).toBe('7.91 MiB');
    expect(formatBytes(Infinity)).toBe('n/a');
  });

  it('prints ratios and refuses meaningless ones', () => {
    expect(formatRatio(1, 2)).toBe('×0.50');
    expect(formatRatio(30, 2)).toBe('×15.0');
    expect(formatRatio(1, 0)).toBe('n/a');
    expect(formatRatio(undefined, 2)).toBe('n/a');
    expect(formatRatio(Number.NaN, 2)).toBe('n/a');
  });

  it('formats by unit', () => {
    expect(formatValue(10, 'ms')).toBe('10.0');
    expect(formatValue(2048, 'bytes')).toBe('2.00 KiB');
    expect(formatValue(3, 'count')).toBe('3');
  });
});

describe('renderTable', () => {
  it('aligns columns and pads short rows', () => {
    const text = renderTable([{ header: 'name' }, { header: 'ms', align: 'right' }], [['raw', '1.5'], ['zlib', '120'], ['x']]);
    expect(text.split('\n')).toEqual(['name   ms', '----  ---', 'raw   1.5', 'zlib  120', 'x']);
  });

  it('rejects rows wider than the table', () => {
    expect(() => renderTable([{ header: 'a' }], [['1', '2']])).toThrow(RangeError);
  });
});

describe('MetricCollector', () => {
  it('checks targets against the named statistic', () => {
    const c = new MetricCollector();
    const ok = c.add({ id: 'a', group: 'g', label: 'A', unit: 'ms', target: { stat: 'p95', below: 10 } }, [1, 2, 9.9]);
    const missed = c.add({ id: 'b', group: 'g', label: 'B', unit: 'ms', target: { stat: 'p50', below: 5 } }, [4, 5, 6]);
    expect(ok.target).toEqual({ stat: 'p95', below: 10, met: true });
    expect(missed.target?.met).toBe(false);
    expect(c.add({ id: 'c', group: 'g', label: 'C', unit: 'bytes' }, [1]).target).toBeUndefined();
  });

  it('keys metrics by id and server, and refuses duplicates', () => {
    const c = new MetricCollector();
    c.add({ id: 'x', group: 'g', label: 'X', unit: 'ms', server: 'one' }, [1]);
    c.add({ id: 'x', group: 'g', label: 'X', unit: 'ms', server: 'two' }, [2]);
    expect(c.find('x', 'two')?.summary.p50).toBe(2);
    expect(c.find('x')).toBeUndefined();
    expect(() => c.add({ id: 'x', group: 'g', label: 'X', unit: 'ms', server: 'one' }, [1])).toThrow(/twice/);
  });
});

describe('parseBenchArgs', () => {
  it('defaults to the full run on every server', () => {
    const a = parseBenchArgs([]);
    expect(a.mode).toBe('full');
    expect(a.samples).toBe(SAMPLES.full);
    expect(a.servers).toEqual(['vnc-runner', 'x0vncserver', 'x11vnc']);
    expect(a.framerate).toBe(30);
    expect(a.jsonPath).toBeUndefined();
  });

  it('parses the short mode, paths and a server subset', () => {
    const a = parseBenchArgs(['--short', '--json', '/tmp/r.json', '--servers', 'vnc-runner,x11vnc', '--framerate', '60', '--quiet']);
    expect(a.mode).toBe('short');
    expect(a.samples).toBe(SAMPLES.short);
    expect(a.jsonPath).toBe('/tmp/r.json');
    expect(a.servers).toEqual(['vnc-runner', 'x11vnc']);
    expect(a.framerate).toBe(60);
    expect(a.quiet).toBe(true);
  });

  it('keeps the short mode smaller than the full one everywhere', () => {
    for (const k of Object.keys(SAMPLES.full) as (keyof typeof SAMPLES.full)[]) {
      expect(SAMPLES.short[k]).toBeGreaterThan(0);
      expect(SAMPLES.short[k]).toBeLessThan(SAMPLES.full[k]);
    }
  });

  it('rejects bad options with a configuration error', () => {
    expect(() => parseBenchArgs(['--json'])).toThrow(/needs a value/);
    expect(() => parseBenchArgs(['--servers', 'vnc-runner,tightvnc'])).toThrow(/unknown tightvnc/);
    expect(() => parseBenchArgs(['--framerate', '0'])).toThrow(/framerate/);
    expect(() => parseBenchArgs(['--fast'])).toThrow(/unknown option/);
  });
});

describe('renderBarChart', () => {
  it('draws one bar per series with its value, a p95 tick and the target', () => {
    const svg = renderBarChart({
      title: 'T <&>',
      panels: [{ title: 'connect', unit: 'ms', bars: [{ label: 'ours', p50: 5, p95: 8 }, { label: 'theirs', p50: 50 }], target: { value: 10, label: 'p95 < 10' } }],
      format: (v) => v.toFixed(1),
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(svg).toContain('T &lt;&amp;&gt;');
    expect(svg).toContain('5.0 ms (p95 8.0)');
    expect(svg).toContain('50.0 ms');
    expect(svg).toContain('stroke-dasharray');
    expect(svg.match(/<rect x=/g)).toHaveLength(2);
    // The largest value spans the whole bar area (520 px) less the 8 % headroom.
    expect(svg).toMatch(/width="481\.5"/);
  });

  it('escapes XML special characters', () => {
    expect(escapeXml(`a<b>&"c"`)).toBe('a&lt;b&gt;&amp;&quot;c&quot;');
  });
});

describe('progress', () => {
  it('prefixes lines with the elapsed time and keeps notes', () => {
    const lines: string[] = [];
    let now = 0;
    const p = createProgress({ write: (l) => lines.push(l), now: () => now });
    now = 1500;
    p.step('capture');
    p.note('x11vnc skipped');
    expect(lines).toEqual(['[bench   1.5 s] capture', '[bench   1.5 s] note: x11vnc skipped']);
    expect(p.notes).toEqual(['x11vnc skipped']);
  });
});
