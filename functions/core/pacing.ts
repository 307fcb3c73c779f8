/**
 * Account-wide pacing of rate-limited AWS calls, as slot arithmetic. A paced operation has one schedule per
 * account: `nextFree`, the earliest moment the next call may be made. Reserving a slot takes
 * `max(nextFree, now)` and moves `nextFree` one interval past it, so slots handed out are strictly increasing
 * and at least one interval apart, whoever reserves them (the adapter, functions/adapters/pacer.ts, makes
 * that read-then-write one conditional DynamoDB write). Nothing here reads a clock: `now` is given.
 *
 * Quotas (per account and region):
 * - ACM ImportCertificate: 1 request per second (https://docs.aws.amazon.com/acm/latest/userguide/acm-limits.html,
 *   API rate quotas);
 * - Private CA IssueCertificate: 25 requests per second
 *   (https://docs.aws.amazon.com/privateca/latest/userguide/PcaLimits.html, and the General Reference's quota table).
 * Each interval carries a 5% margin: slots are computed from each Lambda environment's own clock, and calls
 * leave at their slot plus whatever network and scheduling jitter; 50 ms of 1 s absorbs that, and still
 * sustains 0.95 imports per second.
 */

/**
 * The rate-limited operations the rotation paces, by what they do. `leadMs`: no slot is handed out sooner
 * than this after its reservation, so the holder has done the work before its call (reading its key,
 * fetching and validating the certificate) by the slot and calls on time. A call made late would land
 * closer than an interval to the next holder's, which calls on time: both in one second, one throttled (an
 * import is sent once, never SDK-retried: the throttled rotation takes a fresh slot, phases/issue.ts).
 */
export const PACED_OPERATIONS = {
  /** ACM ImportCertificate: 1/s per account; a slot every 1,050 ms. */
  "acm-import": { intervalMs: 1_050, leadMs: 1_000 },
  /** Private CA IssueCertificate: 25/s per account; a slot every 42 ms. */
  "pca-issue": { intervalMs: 42, leadMs: 500 },
} as const;

export type PacedOperation = keyof typeof PACED_OPERATIONS;

/** The slot a reservation gets, and the schedule after it. */
export interface Slot {
  /** Epoch ms: the moment the call may be made. */
  slotMs: number;
  /** Epoch ms: the schedule's next free moment once this slot is taken. */
  nextFreeMs: number;
}

/**
 * The next slot on a schedule whose next free moment is `nextFreeMs` (absent: never used), reserved at
 * `nowMs`: `max(nextFree, now + lead)`. A schedule left behind (idle) starts again at `now + lead`: idle time
 * is never banked as a burst.
 */
export function nextSlot(
  nextFreeMs: number | undefined,
  nowMs: number,
  intervalMs: number,
  leadMs = 0,
): Slot {
  if (!Number.isFinite(intervalMs) || intervalMs <= 0) {
    throw new RangeError(`a pacing interval must be a positive number of ms, got ${intervalMs}`);
  }
  const earliest = nowMs + Math.max(0, leadMs);
  const slotMs = Math.max(nextFreeMs ?? earliest, earliest);
  return { slotMs, nextFreeMs: slotMs + intervalMs };
}

/**
 * How to get to a slot: a durable wait of whole seconds (no compute; Lambda's waits are whole seconds, at
 * least one) that ends `leadMs` before the slot, leaving the work before the call and a short in-process
 * sleep for the rest. A slot less than `leadMs` + 1 s away needs no durable wait.
 */
export function waitForSlot(slotMs: number, nowMs: number, leadMs = 1_000): { durableSeconds: number } {
  const seconds = Math.floor((slotMs - nowMs - leadMs) / 1000);
  return { durableSeconds: seconds >= 1 ? seconds : 0 };
}

/**
 * The in-process sleep before the call: what is left until the slot, at most `maxMs` (a durable wait that
 * ended late, or a slot reserved long ago, needs none; one that ended early never sleeps longer than the lead).
 */
export function sleepBeforeCall(slotMs: number, nowMs: number, maxMs = 2_000): number {
  return Math.min(Math.max(0, slotMs - nowMs), maxMs);
}

/**
 * Backoff before the next attempt after a conflicting reservation (another reserver wrote first): full
 * jitter over an exponential cap, so reservers that collided spread out. `random` in [0, 1).
 */
export function reservationBackoffMs(attempt: number, random: number, baseMs = 5, capMs = 200): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt));
  return Math.floor(random * ceiling);
}
