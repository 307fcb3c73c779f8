/**
 * Which distributions present a certificate, as the scan's listing pass found it, handed to the rotation the
 * scan starts (`RotationInput.presentedBy`), so that its plan does not list every distribution of the account
 * again. A thousand certificates due at once (a CA migration) made a thousand plans each list the whole
 * account: O(certificates × distributions) ListDistributions pages at once (issue 12's mass run: 10,000 pages
 * of 100 at M = 1,000 saturated the stand-ins and plans timed out; CloudFront publishes no rate for its
 * control plane). Bounded both ways:
 * - small: at most PRESENTED_BY_MAX_TARGETS distributions (a certificate presented by more is planned from a
 *   listing of its own: such certificates are few, and the hint stays a small part of the execution's input);
 * - fresh: a plan uses it only within PRESENTED_BY_MAX_AGE_MS of the listing, else it lists.
 * What a hint cannot see is a distribution that starts presenting the certificate after the scan's listing:
 * up to 10 minutes more than a listing at plan time would miss (and far less than the hours between a plan
 * and its retirement, which no listing covers either). The rotation then leaves that distribution on the old
 * certificate, which ACM refuses to delete while it is presented (`acm.delete-in-use`), and the next scan
 * finds it and starts a rotation for it. A distribution the hint names that no longer presents the
 * certificate is swapped as "not-presenting" (nothing changes), as after a listing.
 */
import type { SwapTarget } from "./waves.ts";

export const PRESENTED_BY_MAX_TARGETS = 100;
export const PRESENTED_BY_MAX_AGE_MS = 10 * 60_000;
/** And at most this many bytes of JSON (origin ids are free text): a small part of a 256 KB execution input. */
export const PRESENTED_BY_MAX_BYTES = 32 * 1024;

const fits = (value: unknown) => Buffer.byteLength(JSON.stringify(value), "utf8") <= PRESENTED_BY_MAX_BYTES;

export interface PresentedBy {
  /** When the listing that found them started (ISO 8601). */
  listedAt: string;
  targets: SwapTarget[];
}

/** The hint for a certificate from a listing's index, when it is small enough to hand over. */
export function presentedByHint(
  targets: readonly SwapTarget[] | undefined,
  listedAt: Date,
): PresentedBy | undefined {
  if (!targets || targets.length === 0 || targets.length > PRESENTED_BY_MAX_TARGETS) return undefined;
  const hint = {
    listedAt: listedAt.toISOString(),
    targets: targets.map((t) => ({ distributionId: t.distributionId, originIds: [...t.originIds] })),
  };
  return fits(hint) ? hint : undefined;
}

const DISTRIBUTION_ID = /^[A-Z0-9]{1,64}$/;

/**
 * The hint's targets when it is well formed, small and fresh at `now`; undefined otherwise (the plan then
 * lists). An execution's input is not trusted for more than this: a malformed or stale hint is ignored, never
 * an error.
 */
export function usablePresentedBy(hint: unknown, now: Date): SwapTarget[] | undefined {
  if (typeof hint !== "object" || hint === null) return undefined;
  const { listedAt, targets } = hint as { listedAt?: unknown; targets?: unknown };
  const at = typeof listedAt === "string" ? Date.parse(listedAt) : Number.NaN;
  if (!Number.isFinite(at)) return undefined;
  const age = now.getTime() - at;
  if (age < 0 || age > PRESENTED_BY_MAX_AGE_MS) return undefined;
  if (!Array.isArray(targets) || targets.length === 0 || targets.length > PRESENTED_BY_MAX_TARGETS)
    return undefined;
  const valid = targets.every((t) => {
    const { distributionId, originIds } = (t ?? {}) as { distributionId?: unknown; originIds?: unknown };
    return (
      typeof distributionId === "string" &&
      DISTRIBUTION_ID.test(distributionId) &&
      Array.isArray(originIds) &&
      originIds.length > 0 &&
      originIds.every((o) => typeof o === "string" && o.length > 0 && o.length <= 256)
    );
  });
  if (!valid || !fits(targets)) return undefined;
  const ids = new Set(targets.map((t) => (t as SwapTarget).distributionId));
  if (ids.size !== targets.length) return undefined;
  return (targets as SwapTarget[]).map((t) => ({
    distributionId: t.distributionId,
    originIds: [...t.originIds],
  }));
}
