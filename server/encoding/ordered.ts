/**
 * Keeps the Encoder contract "calls complete in call order" when the work behind a call finishes
 * out of order (sharp jobs run on the thread pool and may overtake each other or zlib flushes).
 */
export class CompletionOrder {
  private tail: Promise<unknown> = Promise.resolve();
  private inFlight = 0;

  /** True when no earlier call is still pending: a synchronous result is then in order. */
  get idle(): boolean {
    return this.inFlight === 0;
  }

  /** Resolves (or rejects) with `work`'s outcome, but never before every earlier call settled. */
  then<T>(work: Promise<T>): Promise<T> {
    this.inFlight++;
    const settle = () => { this.inFlight--; return work; };
    const result = this.tail.then(settle, settle);
    this.tail = result.catch(() => undefined);
    return result;
  }
}
