/**
 * Issue: a key and CSR, the Private CA certificate, the certificate imported into ACM with its staged
 * credential (AWSPENDING in the issuance secret). Each phase of issuance is idempotent.
 */
import { X509Certificate } from "node:crypto";
import { factsOf } from "../../core/certificate.ts";
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

export async function issue(r: Rotation): Promise<Stop | undefined> {
  const { deps } = r;
  const issuance = issuanceOf(r);
  try {
    await r.act("issue:key", () => prepareKey(deps.issuance, issuance));
    const { privateCaCertificateArn } = await r.act("issue:request", () =>
      requestCertificate(deps.issuance, issuance),
    );
    await r.record("issue:complete", async () => {
      const issued = await completeIssuance(deps.issuance, issuance, privateCaCertificateArn);
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
