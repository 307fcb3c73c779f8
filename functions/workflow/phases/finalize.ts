/**
 * Finalize, once every wave passed: promote the new credential (the credential secret's only write), keep
 * the old certificate through the grace period, then retire it (and revoke it when asked). The grace period
 * is a control point when the promotion can be undone (the credential it replaced is AWSPREVIOUS): an
 * operator's rollback there puts every distribution back on the old certificate and the old credential back
 * as AWSCURRENT (phases/rollback.ts). A lineage's first promotion has nothing before it: its grace period is a
 * plain wait, and POST /rollback says why it cannot be taken.
 */

import { X509Certificate } from "node:crypto";
import { splitPem } from "../../core/pem.ts";
import { RotationReason } from "../../core/rotation.ts";
import { signedBy } from "../../core/validation.ts";
import { promoteCredential } from "../../issuance/issue-certificate.ts";
import type { Rotation } from "../steps.ts";
import type { Ending } from "./end.ts";
import { issuanceOf } from "./issue.ts";
import type { Halt } from "./rollback.ts";
import { haltIfRollbackRequested, requestedHalt } from "./rollback-requests.ts";

export async function finalize(r: Rotation): Promise<Ending | { halt: Halt }> {
  const { deps, settings } = r;
  const old = r.state.old!;
  const newArn = r.state.issued!.certificateArn;
  // AWSCURRENT = the new credential, AWSPREVIOUS = the one it replaces. The last safe point: a rollback an
  // operator asked for after the last gate read its request is taken here, before anything is promoted.
  let restorable: boolean;
  try {
    const promoted = await r.record("finalize:promote", async () => {
      await haltIfRollbackRequested(r);
      const { restorable } = await promoteCredential(deps.issuance, issuanceOf(r), r.state.issued!);
      return { type: "promoted", at: r.at(), restorable };
    });
    restorable = promoted.restorable === true;
  } catch (error) {
    const halt = requestedHalt(error, "after the last wave, before the promotion");
    if (halt) return { halt };
    throw error;
  }
  const grace = Math.max(1, settings.graceSeconds);
  if (restorable) {
    // Until the old certificate is deleted, an operator may still undo the whole rotation.
    const lastWave = r.state.waves.at(-1)?.index ?? 0;
    const decision = await r.control("grace", "grace", lastWave, grace);
    if (decision.action === "rollback")
      return {
        halt: {
          reason: RotationReason.ManualRollback,
          actor: decision.actor,
          detail: decision.reason || "rollback requested in the grace period, after the promotion",
        },
      };
  } else await r.wait("finalize:grace", grace);
  await r.record("finalize:retire", async () => {
    // ACM refuses to delete a certificate a distribution presents (`acm.delete-in-use`): one a distribution
    // started presenting after the plan's listing stays, for the next scan to rotate. (A listing here would
    // be a second line at the cost of O(distributions) calls per rotation: with 1,000 certificates due at once
    // on 1,000 distributions it slowed the benchmark's imports from about 0.95 to about 0.74 per second.)
    const retired = await deps.acm.deleteIfUnused(old.arn);
    let revoked = false;
    if (settings.revokeRetired && retired.deleted) {
      try {
        // At the CA that issued it: after a CA migration that is the previous CA, not the configured one.
        const issuer = await issuingAuthorityOf(r, old.certificatePem);
        if (issuer) {
          await issuer.privateCa.revoke(issuer.authorityArn, old.serial);
          revoked = true;
        } else r.log("revocation skipped: no managed Private CA issued the retired certificate", {});
      } catch (error) {
        r.log("revocation skipped", { error: (error as Error).message });
      }
    }
    return { type: "retired", at: r.at(), deleted: retired.deleted, revoked, detail: retired.detail };
  });
  return {
    step: "complete",
    event: (at) => ({ type: "completed", at }),
    notification: { event: "rotation-completed", detail: { newCertificateArn: newArn } },
  };
}

/**
 * The managed CA whose key signed `certificatePem` (its certificate names the CA as issuer and verifies with
 * the CA's public key: a CA re-keyed under the same name is another CA), with the client of its region.
 */
async function issuingAuthorityOf(r: Rotation, certificatePem: string) {
  const { deps, settings } = r;
  const authorities = deps.authorities ?? {
    authorityArns: [settings.authorityArn],
    privateCaOf: () => deps.issuance.privateCa,
  };
  const certificate = new X509Certificate(certificatePem);
  for (const authorityArn of authorities.authorityArns) {
    const privateCa = authorities.privateCaOf(authorityArn);
    const [caPem] = splitPem(await privateCa.authorityChainPem(authorityArn));
    if (!caPem) continue;
    if (signedBy(certificate, new X509Certificate(caPem))) return { authorityArn, privateCa };
  }
  return undefined;
}
