/**
 * Sliding one-second window, as AWS enforces per-operation request rates. `windowMs` shortens the window
 * for a benchmark's scaled time (N requests per 1000/scale ms: AWS's rate, `scale` times faster); AWS's
 * own is 1,000.
 */
export class RateLimiter {
  readonly #perSecond: number;
  readonly #now: () => number;
  readonly #windowMs: number;
  readonly #stamps: number[] = [];

  constructor(perSecond: number, now: () => number = Date.now, windowMs = 1000) {
    this.#perSecond = perSecond;
    this.#now = now;
    this.#windowMs = windowMs;
  }

  /** true when the call may proceed (and is counted), false when it must be throttled. */
  tryTake(): boolean {
    const now = this.#now();
    while (this.#stamps.length > 0 && now - this.#stamps[0]! >= this.#windowMs) this.#stamps.shift();
    if (this.#stamps.length >= this.#perSecond) return false;
    this.#stamps.push(now);
    return true;
  }
}
