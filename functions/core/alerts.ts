/**
 * Expiry alerts at thresholds (default 30/14/7/1 days left), once per threshold per certificate.
 */
export const DEFAULT_ALERT_THRESHOLDS_DAYS = [30, 14, 7, 1] as const;

export interface ExpiryAlertInput {
  notAfter: Date;
  now: Date;
  thresholdsDays?: readonly number[];
  /** Thresholds already alerted for this certificate (from the inventory). */
  alreadyAlerted?: readonly number[];
}

export interface ExpiryAlert {
  /** The most urgent threshold crossed and not yet alerted. */
  thresholdDays: number;
  /** Whole days left (0 on the last day, negative once expired). */
  daysLeft: number;
  /** Every threshold this alert covers (larger ones crossed at the same time are not alerted again). */
  covers: number[];
}

const DAY = 86_400_000;

export function validateThresholds(thresholds: readonly number[]): void {
  for (const t of thresholds) {
    if (!Number.isInteger(t) || t < 0) {
      throw new RangeError(`alert thresholds must be whole days >= 0, got ${t}`);
    }
  }
}

/** The alert to send now, or undefined. Pure: the caller records `covers` so it is never sent twice. */
export function pendingExpiryAlert(input: ExpiryAlertInput): ExpiryAlert | undefined {
  const thresholds = [...(input.thresholdsDays ?? DEFAULT_ALERT_THRESHOLDS_DAYS)];
  validateThresholds(thresholds);
  const already = new Set(input.alreadyAlerted ?? []);
  const msLeft = input.notAfter.getTime() - input.now.getTime();
  const daysLeft = Math.floor(msLeft / DAY);
  const crossed = thresholds.filter((t) => msLeft <= t * DAY).sort((a, b) => a - b);
  const fresh = crossed.filter((t) => !already.has(t));
  const most = fresh[0];
  if (most === undefined) return undefined;
  return { thresholdDays: most, daysLeft, covers: crossed };
}

/**
 * The thresholds alerted once `alert` (if any) went out: those alerted before and every one it covers,
 * most distant first (what the inventory keeps, so a threshold is never alerted twice).
 */
export function alertedAfter(alreadyAlerted: readonly number[], alert: ExpiryAlert | undefined): number[] {
  return [...new Set([...alreadyAlerted, ...(alert?.covers ?? [])])].sort((a, b) => b - a);
}
