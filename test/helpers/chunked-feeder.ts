/**
 * Feeds a byte stream to a resumable parser in different splits — whole, one byte at a time,
 * and random cuts from a seeded PRNG — so tests can assert that the result never depends on how
 * TCP or WebSocket happened to cut the bytes (noVNC's fake.websocket.js idea).
 */
import { ByteQueue } from '../../server/protocol/byte-queue.js';

/** mulberry32: a tiny deterministic PRNG, so a failing seed can be replayed. Returns [0, 1). */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Every byte as its own chunk. */
export function splitOneByte(bytes: Uint8Array): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < bytes.length; i++) out.push(Buffer.from([bytes[i]!]));
  return out;
}

/** Random cuts; chunk sizes in [1, maxChunk]. Fresh Buffers, so parsers cannot rely on adjacency. */
export function splitRandom(bytes: Uint8Array, seed: number, maxChunk = 7): Buffer[] {
  const rnd = seededRandom(seed);
  const out: Buffer[] = [];
  let i = 0;
  while (i < bytes.length) {
    const n = Math.min(bytes.length - i, 1 + Math.floor(rnd() * maxChunk));
    out.push(Buffer.from(bytes.subarray(i, i + n)));
    i += n;
  }
  return out;
}

export interface Chunking {
  readonly label: string;
  readonly chunks: Buffer[];
}

/** Whole, byte-by-byte, and `seeds` random splits (two chunk-size ranges each). */
export function chunkings(bytes: Uint8Array, seeds = 50): Chunking[] {
  const list: Chunking[] = [
    { label: 'whole', chunks: [Buffer.from(bytes)] },
    { label: 'one byte at a time', chunks: splitOneByte(bytes) },
  ];
  for (let s = 1; s <= seeds; s++) {
    list.push({ label: `random seed ${s} (≤7)`, chunks: splitRandom(bytes, s, 7) });
    list.push({ label: `random seed ${s} (≤64)`, chunks: splitRandom(bytes, s * 7919, 64) });
  }
  return list;
}

/** What a parser produced over a whole feed: items in order, and the error that ended it if any. */
export interface FeedOutcome<T> {
  readonly items: T[];
  readonly error: unknown;
  /** Bytes left unconsumed in the queue at the end. */
  readonly leftover: number;
}

/**
 * Pushes `chunks` one by one into a fresh ByteQueue and, after each push, calls
 * `drain(queue, emit)`, which emits whatever it can parse now (possibly nothing). Stops at the
 * first throw; items emitted before it are kept.
 */
export function feed<T>(chunks: readonly Uint8Array[], drain: (queue: ByteQueue, emit: (item: T) => void) => void): FeedOutcome<T> {
  const queue = new ByteQueue();
  const items: T[] = [];
  const emit = (item: T) => void items.push(item);
  try {
    for (const c of chunks) {
      queue.push(c);
      drain(queue, emit);
    }
  } catch (error) {
    return { items, error, leftover: queue.available };
  }
  return { items, error: undefined, leftover: queue.available };
}
