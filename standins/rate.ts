/** Sliding one-second window, as AWS enforces per-operation request rates. */
export class RateLimiter {
  readonly #perSecond: number;
  readonly #now: () => number;
  readonly #stamps: number[] = [];

  constructor(perSecond: number, now: () => number = Date.now) {
    this.#perSecond = perSecond;
    this.#now = now;
  }

  /** true when the call may proceed (and is counted), false when it must be throttled. */
  tryTake(): boolean {
    const now = this.#now();
    while (this.#stamps.length > 0 && now - this.#stamps[0]! >= 1000) this.#stamps.shift();
    if (this.#stamps.length >= this.#perSecond) return false;
    this.#stamps.push(now);
    return true;
  }
}
