/**
 * Plan: read the certificate in service, the distributions presenting it in waves, the replacement's key, the
 * credential secret it writes and the error rates before any change. Nothing exists yet but the lock.
 */
import { LINEAGE_TAGS } from "../../adapters/acm.ts";
import { isCredentialSecretName } from "../../adapters/secrets.ts";
import type { RotationSettings } from "../../config/settings.ts";
import { usablePresentedBy } from "../../core/presented-by.ts";
import { planComplete, RotationReason } from "../../core/rotation.ts";
import type { SwapTarget } from "../../core/waves.ts";
import { planTargets } from "../plan.ts";
import type { Rotation } from "../steps.ts";
import type { Stop } from "./abort.ts";

/** The credential secret a certificate gets when nothing names one: the prefix and the ARN's id. */
export function credentialSecretName(
  settings: Pick<RotationSettings, "credentialSecretPrefix">,
  certificateArn: string,
): string {
  return `${settings.credentialSecretPrefix}${certificateArn.split("/").pop() ?? "credential"}`;
}

/**
 * The credential secret of the certificate being rotated: the one its lineage tag names when this service
 * imported it (so every rotation of a lineage writes the same secret, and AWSPREVIOUS is the credential
 * before), else the one named after its ARN (a certificate imported by someone else: its first rotation).
 * A tag naming anything but a credential secret under this stage's prefix is ignored.
 */
export function credentialSecretFor(
  settings: RotationSettings,
  certificateArn: string,
  tags: Record<string, string>,
): string {
  const tagged = tags[LINEAGE_TAGS.credential];
  if (tagged && isCredentialSecretName(settings.credentialSecretPrefix, tagged)) return tagged;
  return credentialSecretName(settings, certificateArn);
}

/** Named at planning (checkpointed); a rotation planned before the name was recorded used the ARN's. */
export function credentialSecretOf(r: Rotation): string {
  return r.state.credentialSecret ?? credentialSecretName(r.settings, r.request.certificateArn);
}

function presentedByOf(r: Rotation): { presentedBy?: SwapTarget[] } {
  const targets = usablePresentedBy(r.hints.presentedBy, r.deps.now());
  return targets ? { presentedBy: targets } : {};
}

export async function plan(r: Rotation): Promise<Stop | undefined> {
  const { deps, settings, request } = r;
  try {
    await r.record("plan", async () => {
      const { old, replacementKey, targets, waves } = await planTargets(
        { ...deps, privateCa: deps.issuance.privateCa },
        {
          certificateArn: request.certificateArn,
          authorityArn: settings.authorityArn,
          wavePolicy: settings.waves,
          allowedDistributionIds: settings.distributionIds,
          // The scan's listing when it is fresh (core/presented-by.ts); read inside the step, so replays agree.
          ...presentedByOf(r),
        },
      );
      const credentialSecret = credentialSecretFor(
        settings,
        request.certificateArn,
        await deps.acm.tagsOf(request.certificateArn),
      );
      const now = deps.now();
      const baselines = targets.length
        ? await deps.metrics.errorRates(
            targets.map((t) => t.distributionId),
            new Date(now.getTime() - settings.gate.baselineWindowSeconds * 1000),
            now,
          )
        : {};
      return {
        type: "planned",
        at: now.toISOString(),
        old,
        waves: waves.map((w) => ({ index: w.index, canary: w.canary, targets: w.targets })),
        newIssuerArn: settings.authorityArn,
        replacementKey,
        baselines,
        credentialSecret,
      };
    });
    // A plan too large for one step's result: its distributions come back from the store, a page a step.
    if (!planComplete(r.state)) await r.readStored("plan:targets");
  } catch (error) {
    // Nothing exists yet but the lock: end failed, releasing it (never leave a certificate locked).
    return {
      status: "failed",
      reason: RotationReason.Unexpected,
      detail: `plan failed: ${(error as Error).message}`,
    };
  }
  return undefined;
}
