/**
 * Issue: a key and CSR, the Private CA certificate, the certificate imported into ACM with its staged
 * credential (AWSPENDING in the issuance secret). Each phase of issuance is idempotent. The Private CA
 * request and the ACM import each take an account-wide slot first (issue:pace:pca, issue:pace:import, with a
 * durable wait `<name>:wait` when the slot is more than about two seconds away).
 */
import { X509Certificate } from "node:crypto";
import { factsOf } from "../../core/certificate.ts";
import type { PacedOperation } from "../../core/pacing.ts";
import { sleepBeforeCall, waitForSlot } from "../../core/pacing.ts";
import { RotationReason } from "../../core/rotation.ts";
import {
  completeIssuance,
  type IssuanceRequest,
  prepareKey,
  requestCertificate,
} from "../../issuance/issue-certificate.ts";
import type { Rotation } from "../steps.ts";
import type { Stop } from "./abort.ts";
import { credentialSecretOf } from "./plan.ts";

/** The issuance of this rotation, as the plan decided it (derived from checkpointed state: replay-safe). */
export function issuanceOf(r: Rotation): IssuanceRequest {
  const old = r.state.old!;
  return {
    rotationId: r.id,
    credential: credentialSecretOf(r),
    authorityArn: r.settings.authorityArn,
    // The plan's choice: the issuing CA's key type, in a size CloudFront presents (replacementKeyFor).
    keyAlgorithm: r.state.replacementKey!.keyAlgorithm,
    subject: { certificatePem: old.certificatePem },
    sans: factsOf(new X509Certificate(old.certificatePem)).sans,
    validityDays: r.settings.validityDays,
    previousCertificateArn: old.arn,
  };
}

/**
 * An account-wide slot for a rate-limited call (functions/adapters/pacer.ts), reached durably: a step
 * reserves it (reading the clock; its result is the slot, small and replay-safe), then a durable wait (no
 * compute) brings the rotation to about a second before it, when it is more than that away. The call's own
 * step sleeps the rest of the way (`untilSlot`). Rotations due together so keep to the account's quota
 * instead of burning retries on throttling, whichever Lambda environment each runs in.
 */
async function reachSlot(
  r: Rotation,
  name: "issue:pace:pca" | "issue:pace:import",
  operation: PacedOperation,
): Promise<{ slotMs: number }> {
  const reserved = await r.act(name, async () => {
    const { slotMs, reused } = await r.deps.pacer.reserve(operation, r.id);
    const { durableSeconds } = waitForSlot(slotMs, r.deps.now().getTime());
    return { operation, slotAt: new Date(slotMs).toISOString(), waitSeconds: durableSeconds, reused };
  });
  if (reserved.waitSeconds > 0) await r.wait(`${name}:wait`, reserved.waitSeconds);
  return { slotMs: Date.parse(reserved.slotAt) };
}

/** Inside the call's step: sleep until the slot (at most a couple of seconds; none once it has passed). */
async function untilSlot(r: Rotation, slotMs: number): Promise<void> {
  const ms = sleepBeforeCall(slotMs, r.deps.now().getTime());
  if (ms <= 0) return;
  await (r.deps.sleep ?? ((t: number) => new Promise<void>((resolve) => setTimeout(resolve, t))))(ms);
}

/** The slot's hold is not needed once the call was made; a failure to drop it changes nothing. */
async function releaseSlot(r: Rotation, operation: PacedOperation): Promise<void> {
  try {
    await r.deps.pacer.release(operation, r.id);
  } catch (error) {
    r.log("pacer hold not released", { operation, error: (error as Error).message });
  }
}

export async function issue(r: Rotation): Promise<Stop | undefined> {
  const { deps } = r;
  const issuance = issuanceOf(r);
  try {
    await r.act("issue:key", () => prepareKey(deps.issuance, issuance));
    const pca = await reachSlot(r, "issue:pace:pca", "pca-issue");
    const { privateCaCertificateArn } = await r.act("issue:request", async () => {
      await untilSlot(r, pca.slotMs);
      const requested = await requestCertificate(deps.issuance, issuance);
      await releaseSlot(r, "pca-issue");
      // Issued before the import's slot is reserved: the import's step then only fetches it, well within
      // its lead, and calls ACM on time.
      await deps.issuance.privateCa.waitForCertificate(
        issuance.authorityArn,
        requested.privateCaCertificateArn,
        deps.issuance.wait,
      );
      return requested;
    });
    const acm = await reachSlot(r, "issue:pace:import", "acm-import");
    await r.record("issue:complete", async () => {
      const issued = await completeIssuance(deps.issuance, issuance, privateCaCertificateArn, {
        beforeImport: () => untilSlot(r, acm.slotMs),
      });
      await releaseSlot(r, "acm-import");
      return {
        type: "issued",
        at: r.at(),
        certificateArn: issued.certificateArn,
        serial: issued.serial,
        notAfter: issued.notAfter,
        fingerprint: issued.fingerprint,
      };
    });
  } catch (error) {
    return { status: "failed", reason: RotationReason.IssuanceFailed, detail: (error as Error).message };
  }
  return undefined;
}
