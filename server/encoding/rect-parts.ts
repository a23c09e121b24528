/**
 * The rectangles of one `Encoder.encode` call as they are produced: some ready at once (fills,
 * uncompressed data), some waiting for zlib or sharp, some a run whose rectangle count is known
 * only once its image is made (`imageRunRects`). `result` keeps the encoder's call order.
 */
import type { EncodedRects } from './encoder.js';
import type { CompletionOrder } from './ordered.js';

type Part = Buffer[][] | Promise<Buffer[][]>;

export class RectParts {
  private readonly parts: Part[] = [];
  private pending = false;

  /** One rectangle's chunks. */
  add(rect: Buffer[] | Promise<Buffer[]>): void {
    if (Array.isArray(rect)) this.parts.push([rect]);
    else this.addMany(rect.then((chunks) => [chunks]));
  }

  /** Any number of rectangles, each as its chunks. */
  addMany(rects: Promise<Buffer[][]>): void {
    this.pending = true;
    this.parts.push(rects);
  }

  /** Everything, synchronously when nothing waits and no earlier call of `order` is pending. */
  result(order: CompletionOrder): EncodedRects | Promise<EncodedRects> {
    if (!this.pending && order.idle) return join(this.parts as Buffer[][][]);
    return order.then(Promise.all(this.parts).then(join));
  }
}

function join(parts: Buffer[][][]): EncodedRects {
  const rects = parts.flat();
  return { count: rects.length, chunks: rects.flat() };
}
