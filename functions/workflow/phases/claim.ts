/**
 * Claim the plan's distributions: a distribution is changed by one rotation at a time, so a wave's gate
 * judges what its own rotation changed, never another rotation's failing origin on the same distribution.
 * A rotation that finds one held waits its turn, durably (no compute), before anything is issued: visible in
 * its status (`waitingFor`) and history. Waiting ends when every distribution is claimed, or at the wait's
 * deadline (an abort: nothing to undo). After a wait the baselines are read again: the ones planned while
 * another rotation changed the distributions would measure that rotation, not this one's starting point.
 * The claims are released when the rotation ends (phases/end.ts), after its rollback if any.
 */
import { worstCaseSeconds } from "../../config/settings.ts";
import { type DistributionClaim, type RotationEvent, RotationReason } from "../../core/rotation.ts";
import type { Rotation } from "../steps.ts";
import type { Stop } from "./abort.ts";
import { LOCK_LEASE_MARGIN_SECONDS } from "./lock.ts";

type ClaimedEvent = Extract<RotationEvent, { type: "distributions-claimed" }>;

/** How long a rotation waits for distributions another rotation is changing, at most. */
export const DISTRIBUTION_WAIT_SECONDS = 6 * 3600;
/** The first look again after a refusal; each later one waits twice as long, up to the longest. */
const FIRST_RETRY_SECONDS = 10;
const LONGEST_RETRY_SECONDS = 300;

/** Every distribution the plan changes. */
export function plannedDistributionIds(r: Pick<Rotation, "state">): string[] {
  return [...new Set(r.state.waves.flatMap((w) => w.distributions.map((d) => d.distributionId)))].sort();
}

/**
 * How long this rotation may wait: DISTRIBUTION_WAIT_SECONDS, less when the durable execution's timeout
 * leaves less room beside the rotation's own worst case (waiting must never cut a rotation off mid-wave).
 */
export function distributionWaitSeconds(settings: Rotation["settings"]): number {
  const room =
    settings.maxRotationSeconds === undefined
      ? DISTRIBUTION_WAIT_SECONDS
      : settings.maxRotationSeconds - worstCaseSeconds(settings);
  return Math.max(0, Math.min(DISTRIBUTION_WAIT_SECONDS, room));
}

const sameHolders = (a: readonly DistributionClaim[], b: readonly DistributionClaim[]) =>
  JSON.stringify(a) === JSON.stringify(b);

export async function claimDistributions(r: Rotation): Promise<Stop | undefined> {
  const ids = plannedDistributionIds(r);
  const leaseSeconds = worstCaseSeconds(r.settings) + LOCK_LEASE_MARGIN_SECONDS;
  const waitSeconds = distributionWaitSeconds(r.settings);
  for (let attempt = 1; ; attempt += 1) {
    const outcome = await r.act(`claim:${attempt}`, async () => ({
      at: r.at(),
      ...(await r.deps.store.claimDistributions(r.id, r.request.certificateArn, ids, { leaseSeconds })),
    }));
    if (outcome.claimed) {
      // Claimed at once: nothing to record (the plan names the distributions). After a wait: say so, and
      // measure the starting point again.
      if (r.state.waitingFor) {
        const claimed = await r.record(`claim:${attempt}:claimed`, async (): Promise<ClaimedEvent> => {
          const now = r.deps.now();
          return {
            type: "distributions-claimed",
            at: now.toISOString(),
            distributionIds: ids,
            baselines: await r.deps.metrics.errorRates(
              ids,
              new Date(now.getTime() - r.settings.gate.baselineWindowSeconds * 1000),
              now,
            ),
          };
        });
        // Too many to be one step's result: the new baselines come back from the store, a page a step.
        if (claimed.stored) await r.readStored(`claim:${attempt}:baselines`, { baselinesOnly: true });
      }
      return undefined;
    }
    if (!r.state.waitingFor || !sameHolders(r.state.waitingFor.heldBy, outcome.heldBy))
      await r.record(`claim:${attempt}:waiting`, async () => ({
        type: "waiting-for-distributions",
        at: outcome.at,
        heldBy: outcome.heldBy,
      }));
    const since = r.state.waitingFor?.since ?? outcome.at;
    const waited = (Date.parse(outcome.at) - Date.parse(since)) / 1000;
    const held = outcome.heldBy.map((h) => `${h.distributionId} (rotation ${h.rotationId})`).join(", ");
    if (waited >= waitSeconds)
      return {
        status: "aborted",
        reason: RotationReason.DistributionsBusy,
        detail: `another rotation is changing ${held}; waited ${Math.round(waited)} s of at most ${waitSeconds} s`,
      };
    const backoff = Math.min(LONGEST_RETRY_SECONDS, FIRST_RETRY_SECONDS * 2 ** Math.min(attempt - 1, 10));
    await r.wait(`claim:${attempt}:wait`, Math.max(1, Math.min(backoff, Math.ceil(waitSeconds - waited))));
  }
}
