/**
 * After a swap: put every swapped distribution back on the old certificate, in reverse order, carrying on
 * past one that fails and reporting each; then retire the new certificate, unless a distribution still
 * presents it.
 */
import { RotationReason, swappedDistributions } from "../../core/rotation.ts";
import { abandonIssuance, demoteCredential } from "../../issuance/issue-certificate.ts";
import type { Rotation } from "../steps.ts";
import type { Ending } from "./end.ts";
import { issuanceOf } from "./issue.ts";
import { waitDeployed } from "./waves.ts";

/** Why a rotation rolls back, and who asked. */
export interface Halt {
  reason: RotationReason;
  actor: string;
  detail: string;
}

export async function rollBack(r: Rotation, { reason, actor, detail }: Halt): Promise<Ending> {
  const old = r.state.old!;
  const newArn = r.state.issued!.certificateArn;
  await r.record("rollback:requested", async () => ({
    type: "rollback-requested",
    at: r.at(),
    reason,
    actor,
    detail,
  }));
  const back = swappedDistributions(r.state).reverse();
  for (const distribution of back) {
    let error: string | undefined;
    try {
      await r.act(`rollback:${distribution.distributionId}`, () =>
        r.deps.distributions.swapOriginCertificate({
          distributionId: distribution.distributionId,
          fromArn: newArn,
          toArn: old.arn,
          originIds: distribution.changedOriginIds,
        }),
      );
    } catch (e) {
      error = (e as Error).message;
    }
    await r.record(`rollback:${distribution.distributionId}:result`, async () => ({
      type: "rolled-back-distribution",
      at: r.at(),
      distributionId: distribution.distributionId,
      ok: error === undefined,
      ...(error ? { error } : {}),
    }));
  }
  const stillSwapped = () => swappedDistributions(r.state).map((d) => d.distributionId);
  const restored = back.map((d) => d.distributionId).filter((id) => !stillSwapped().includes(id));
  await waitDeployed(r, "rollback", restored);
  const stuck = stillSwapped();
  // Before the promotion the credential secret was never written: only AWSPENDING goes. After it (a rollback
  // in the grace period), AWSCURRENT goes back to the credential it replaced. Unless distributions still
  // present the new certificate: then its credential (its only key copy besides ACM) stays as it is —
  // AWSPENDING before the promotion, so Secrets Manager never prunes it; AWSCURRENT after it.
  await r.act("rollback:secret", async () => {
    if (stuck.length > 0) return true;
    if (r.state.promoted) await demoteCredential(r.deps.issuance, issuanceOf(r));
    else await abandonIssuance(r.deps.issuance, issuanceOf(r));
    return true;
  });
  if (stuck.length > 0) {
    // The new certificate stays: those distributions still present it. An operator must look.
    const incomplete = `${detail}; could not put back ${stuck.join(", ")} (they still present ${newArn})`;
    return {
      step: "rollback:done",
      event: (at) => ({ type: "failed", at, reason: RotationReason.RollbackIncomplete, detail: incomplete }),
      notification: { event: "rotation-failed", detail: { detail: incomplete, stuck } },
      failure: { status: "failed", reason: RotationReason.RollbackIncomplete, detail: incomplete },
    };
  }
  await r.act("rollback:retire-new", () => r.deps.acm.deleteIfUnused(newArn));
  return {
    step: "rollback:done",
    event: (at) => ({ type: "rolled-back", at }),
    notification: { event: "rolled-back", detail: { detail } },
    failure: { status: "rolled-back", reason, detail },
  };
}
