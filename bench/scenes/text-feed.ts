/**
 * Deterministic text for the scenes: build-log lines for the scrolling terminal, prose for the
 * web page and documents, and the characters "typed" in the typing scene. Varied like real
 * text (words of different lengths, numbers, paths) so that no encoder gets an unrealistically
 * repetitive screen. Pure functions of a seed and an index.
 */
import { createPrng, subSeed, type Prng } from './prng.js';

const WORDS = (
  'the of and to in is for that with on as are this be by from at or an it not which have has ' +
  'server client update frame encoding region pixel buffer screen window display render buffer ' +
  'compile module package install request response latency bandwidth compression stream socket ' +
  'desktop keyboard pointer cursor terminal scroll image texture gradient palette zlib tight ' +
  'performance measure result option config default value error warning notice status header'
).split(' ');
const DIRS = ['src', 'lib', 'core', 'server', 'capture', 'encoding', 'dist', 'test', 'unit', 'include'];
const EXTS = ['.ts', '.c', '.h', '.js', '.o', '.json'];
const LEVELS = ['INFO', 'INFO', 'INFO', 'DEBUG', 'WARN', 'INFO'];

/** `n` words of prose from `prng`, capitalised like a sentence. */
export function sentence(prng: Prng, n: number): string {
  const words = Array.from({ length: n }, () => prng.pick(WORDS));
  const s = words.join(' ');
  return s.charAt(0).toUpperCase() + s.slice(1) + '.';
}

/** Line `index` of the build log for `seed` (at most 118 characters, printable ASCII). */
export function logLine(seed: number, index: number): string {
  const p = createPrng(subSeed(seed, index));
  const t = (index * 0.05 + p.next() * 0.01).toFixed(6).padStart(12);
  const path = Array.from({ length: p.int(2, 4) }, () => p.pick(DIRS)).join('/') + '/' + p.pick(WORDS) + p.pick(EXTS);
  const kind = p.int(0, 3);
  let body: string;
  if (kind === 0) body = `CC ${path} -O2 -Wall -fPIC -o ${path.replace(/\.\w+$/, '.o')}`;
  else if (kind === 1) body = `[${p.pick(LEVELS)}] ${sentence(p, p.int(4, 12))}`;
  else if (kind === 2) body = `${path}:${p.int(1, 2000)}:${p.int(1, 80)}: ${p.pick(WORDS)} ${p.pick(WORDS)} (${p.int(0, 99999)} bytes)`;
  else body = `test ${p.pick(WORDS)} ${p.pick(WORDS)} ... ok (${p.int(1, 999)} ms)`;
  return `[${t}] ${body}`.slice(0, 118);
}

/** The characters typed in the typing scene: lowercase words and single spaces. */
export function typingText(seed: number, length: number): string {
  const p = createPrng(seed);
  let s = '';
  while (s.length < length) s += (s ? ' ' : '') + p.pick(WORDS.filter((w) => /^[a-z]+$/.test(w)));
  return s.slice(0, length);
}
