/**
 * The receive queue every RFB parser reads from (TigerVNC's `rdr::InStream` with restore points,
 * noVNC's `rQ`). Bytes arrive in chunks of any size; parsers ask `has(n)` before reading and,
 * for a variable-length message whose body is incomplete, `rewind()` to the `mark()` taken at the
 * message start so they keep no partial state ("need more" = return null, try again later).
 *
 * Cost model: `push` is O(1) and never concatenates; reads walk the chunk list, so a message that
 * spans many small chunks costs O(its length), and a rewound attempt costs only the header it
 * re-reads (`available` is a counter, so "is the 1 MiB body here yet" is O(1)).
 */
export class ByteQueue {
  /** Chunks not yet fully consumed; `chunks[0..head)` are spent and dropped lazily. */
  private chunks: Buffer[] = [];
  private head = 0;
  /** Read offset inside `chunks[head]`. */
  private offset = 0;
  private avail = 0;
  private marked: { head: number; offset: number; avail: number } | null = null;

  /**
   * Appends received bytes. The queue keeps a reference, not a copy: the caller must not modify
   * `chunk` afterwards (Node socket and ws buffers are never reused, so this holds for them).
   */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    const b = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.length);
    this.chunks.push(b);
    this.avail += b.length;
  }

  /** Bytes that can still be read from the current position. */
  get available(): number {
    return this.avail;
  }

  /** True when at least `n` bytes can be read. */
  has(n: number): boolean {
    return this.avail >= n;
  }

  /**
   * Remembers the current position so `rewind()` can return to it. One mark at a time: a new
   * mark replaces the old one. Bytes after the mark are kept until `commit()`.
   */
  mark(): void {
    this.marked = { head: this.head, offset: this.offset, avail: this.avail };
  }

  /** Returns to the last mark (the bytes read since are readable again) and clears it. */
  rewind(): void {
    const m = this.marked;
    if (!m) throw new Error('ByteQueue.rewind() without mark()');
    this.head = m.head;
    this.offset = m.offset;
    this.avail = m.avail;
    this.marked = null;
  }

  /** Forgets the mark: what was read since is consumed for good. */
  commit(): void {
    this.marked = null;
    this.compact();
  }

  /** The byte `ahead` bytes after the current position, without consuming it. */
  peekU8(ahead = 0): number {
    this.ensure(ahead + 1);
    let h = this.head;
    let o = this.offset + ahead;
    while (o >= this.chunks[h]!.length) {
      o -= this.chunks[h]!.length;
      h++;
    }
    return this.chunks[h]![o]!;
  }

  readU8(): number {
    this.ensure(1);
    const c = this.chunks[this.head]!;
    const v = c[this.offset]!;
    this.advance(1);
    return v;
  }

  readU16(): number {
    this.ensure(2);
    const c = this.chunks[this.head]!;
    if (this.offset + 2 <= c.length) {
      const v = c.readUInt16BE(this.offset);
      this.advance(2);
      return v;
    }
    return (this.readU8() << 8) | this.readU8();
  }

  readU32(): number {
    this.ensure(4);
    const c = this.chunks[this.head]!;
    if (this.offset + 4 <= c.length) {
      const v = c.readUInt32BE(this.offset);
      this.advance(4);
      return v;
    }
    return ((this.readU8() << 24) | (this.readU8() << 16) | (this.readU8() << 8) | this.readU8()) >>> 0;
  }

  readS32(): number {
    return this.readU32() | 0;
  }

  /**
   * The next `n` bytes. When they lie inside one received chunk this is a zero-copy view of it
   * (valid as long as the caller keeps it; the queue never writes to chunks), otherwise a copy.
   */
  readBytes(n: number): Buffer {
    this.ensure(n);
    if (n === 0) return Buffer.alloc(0);
    const c = this.chunks[this.head]!;
    if (this.offset + n <= c.length) {
      const v = c.subarray(this.offset, this.offset + n);
      this.advance(n);
      return v;
    }
    const out = Buffer.allocUnsafe(n);
    let w = 0;
    while (w < n) {
      const cur = this.chunks[this.head]!;
      const take = Math.min(n - w, cur.length - this.offset);
      cur.copy(out, w, this.offset, this.offset + take);
      w += take;
      this.advance(take);
    }
    return out;
  }

  /** Discards `n` bytes. */
  skip(n: number): void {
    this.ensure(n);
    let left = n;
    while (left > 0) {
      const cur = this.chunks[this.head]!;
      const take = Math.min(left, cur.length - this.offset);
      left -= take;
      this.advance(take);
    }
  }

  /** Underflow is a parser bug (parsers must check `has(n)` first), never a peer's fault. */
  private ensure(n: number): void {
    if (this.avail < n) throw new RangeError(`ByteQueue underflow: need ${n}, have ${this.avail}`);
  }

  private advance(n: number): void {
    this.offset += n;
    this.avail -= n;
    if (this.offset === this.chunks[this.head]!.length) {
      this.head++;
      this.offset = 0;
      if (!this.marked) this.compact();
    }
  }

  /** Drops spent chunks; amortised O(1) because it only splices once half the array is spent. */
  private compact(): void {
    if (this.marked) return;
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head > 32 && this.head * 2 > this.chunks.length) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
  }
}
