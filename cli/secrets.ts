/**
 * A wrapper for secret strings (VNC passwords, capability tokens, HMAC keys) that cannot leak
 * by accident: every way JavaScript turns an object into text — template strings, `String()`,
 * `JSON.stringify`, `util.inspect`/`console.log`, a logger's field formatting — prints
 * `[redacted]`. The value is held in an ES private field, so it does not show up in
 * `Object.keys`, spreads or structured clones either. Only an explicit `reveal()` returns it,
 * which keeps every place that touches the secret greppable.
 */
import { inspect } from 'node:util';

export const REDACTED = '[redacted]';

export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
    Object.freeze(this);
  }

  /** The secret itself. Call it only where the value is used (auth, signing), never for logging. */
  reveal(): string {
    return this.#value;
  }

  /** Length in UTF-16 code units; safe to log (e.g. "password longer than 8 characters"). */
  get length(): number {
    return this.#value.length;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [Symbol.toPrimitive](): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return `Secret(${REDACTED})`;
  }
}
