/**
 * Issue: a key and CSR, the Private CA certificate, the certificate imported into ACM with its staged
 * credential (AWSPENDING in the issuance secret). Each phase of issuance is idempotent. The Private CA
 * request and the ACM import each take an account-wide slot first (issue:pace:pca, issue:pace:import, with a
 * durable wait `<name>:wait` when the slot is more than about two seconds away). A certificate issued for
 * fewer days than asked (its CA's chain expires sooner) is told to subscribers (`notify:validity-capped`).
 *
 * An import ACM throttles anyway (a call that left late, from a Lambda environment that resumed slowly, and
 * met the next slot's call within ACM's second) is not retried at once, where it would land in a third
 * rotation's slot and throttle that one in turn: the rotation takes a fresh slot at the end of the account's
 * queue and waits for it durably (steps `issue:pace:import:<n>` and `issue:import:<n>`, n = 2, 3, ...), at most
 * IMPORT_SLOTS times in all. Nothing was imported by a throttled call, so the next attempt imports once. So
 * does an import step retried after another failure, whose slot has passed by then.
 */
import { X509Certificate } from "node:crypto";
import { AdapterError, ImportThrottledError } from "../../adapters/errors.ts";
import { factsOf } from "../../core/certificate.ts";
import { CA_MIGRATION_ADVICE, NotificationEvent } from "../../core/notifications.ts";
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
  name: string,
  operation: PacedOperation,
  holder: string = r.id,
): Promise<{ slotMs: number }> {
  const reserved = await r.act(name, async () => {
    const { slotMs, reused } = await r.deps.pacer.reserve(operation, holder);
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

/**
 * The slot's hold is not needed once the call was made (or the slot is spent); a failure to drop it changes
 * nothing: each slot has a holder of its own (`r.id` for the first, `<id>:<n>` for the import's n-th), so a
 * hold left behind is never handed back to a later reservation.
 */
async function releaseSlot(r: Rotation, operation: PacedOperation, holder: string = r.id): Promise<void> {
  try {
    await r.deps.pacer.release(operation, holder);
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
    const { privateCaCertificateArn, validityCapped } = await r.act("issue:request", async () => {
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
    // Fewer days than asked: the CA's chain expires sooner, and the next rotations will be capped harder.
    // From the step's checkpointed result, so a replay takes this step exactly when the first run did.
    if (validityCapped)
      await r.notify("validity-capped", NotificationEvent.ValidityCapped, {
        requestedDays: issuance.validityDays,
        grantedDays: validityCapped.days,
        authorityArn: issuance.authorityArn,
        caCertificate: { subject: validityCapped.subject, notAfter: validityCapped.notAfter },
        advice: CA_MIGRATION_ADVICE,
      });
    const issued = await importInSlot(r, issuance, privateCaCertificateArn);
    await r.record("issue:complete", async () => ({ type: "issued", at: r.at(), ...issued }));
  } catch (error) {
    return { status: "failed", reason: RotationReason.IssuanceFailed, detail: (error as Error).message };
  }
  return undefined;
}

/** Slots an import may take before the rotation gives up (IssuanceFailed): the first and its re-slots. */
export const IMPORT_SLOTS = 8;

/**
 * How late an import may still use its slot. A step retried after a failure (a timeout, a 5xx) runs seconds
 * after its slot: importing then would land in another rotation's slot, so it takes a fresh one instead. A
 * call merely late by scheduling jitter keeps its slot (and if it meets the next slot's call, ACM throttles
 * one of them, which then takes a fresh slot).
 */
export const IMPORT_SLOT_LATENESS_MS = 500;

/** The import's slot has passed by more than IMPORT_SLOT_LATENESS_MS: nothing was sent. */
class ImportSlotMissedError extends ImportThrottledError {
  override name = "ImportSlotMissedError";
}

type ImportedFacts = { certificateArn: string; serial: string; notAfter: string; fingerprint: string };

/**
 * The certificate imported into ACM (or found imported, or staged already) in an account-wide slot; a
 * throttled import, or one whose slot passed (a retried step), takes the next free slot, at most IMPORT_SLOTS
 * in all; then the rotation fails (IssuanceFailed), never importing outside a slot. Answers the issued
 * certificate's public facts (no key material: the key goes to ACM and the issuance secret only).
 */
async function importInSlot(
  r: Rotation,
  issuance: IssuanceRequest,
  privateCaCertificateArn: string,
): Promise<ImportedFacts> {
  for (let slot = 1; ; slot += 1) {
    const suffix = slot === 1 ? "" : `:${slot}`;
    const holder = slot === 1 ? r.id : `${r.id}:${slot}`;
    const acm = await reachSlot(r, `issue:pace:import${suffix}`, "acm-import", holder);
    const attempt = await r.act<{ imported?: ImportedFacts }>(`issue:import${suffix}`, async () => {
      try {
        const issued = await completeIssuance(r.deps.issuance, issuance, privateCaCertificateArn, {
          beforeImport: async () => {
            await untilSlot(r, acm.slotMs);
            const late = r.deps.now().getTime() - acm.slotMs;
            if (late > IMPORT_SLOT_LATENESS_MS) {
              throw new ImportSlotMissedError(`the import slot passed ${late} ms ago; nothing was sent`);
            }
          },
        });
        await releaseSlot(r, "acm-import", holder);
        const { certificateArn, serial, notAfter, fingerprint } = issued;
        return { imported: { certificateArn, serial, notAfter, fingerprint } };
      } catch (error) {
        if (!(error instanceof ImportThrottledError)) throw error;
        // The slot is spent either way.
        await releaseSlot(r, "acm-import", holder);
        if (slot === IMPORT_SLOTS) {
          throw new AdapterError(
            `no import in ${IMPORT_SLOTS} slots of the account's pacer: ${error.message}`,
            {
              retryable: false,
              cause: error,
            },
          );
        }
        r.log("import not made in its slot; taking the next free one", {
          slot,
          slotAt: new Date(acm.slotMs).toISOString(),
          why: error.name,
        });
        return {};
      }
    });
    // The last slot either imports or throws (above): the loop ends there.
    if (attempt.imported) return attempt.imported;
  }
}
