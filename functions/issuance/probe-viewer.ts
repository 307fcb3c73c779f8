/**
 * A viewer certificate for a viewer CA migration's proof (probe/viewer-probe.ts): issued from the CA viewers
 * move to with the client-auth template, valid one day, for a key made here. The key is returned to the
 * caller's step only, which forgets it when the probe ends; nothing stores it and no step result holds it.
 * Each proof attempt issues its own (a fresh idempotency token): a Lambda that restarts never needs a key
 * it no longer has.
 */
import { randomUUID } from "node:crypto";
import type { PrivateCaAdapter, WaitOptions } from "../adapters/private-ca.ts";
import { isSupportedKeyAlgorithm } from "../core/certificate.ts";
import { generateKeyAndCsr } from "../crypto/keys.ts";
import type { ProbeViewer } from "../probe/viewer-probe.ts";
import { IssuanceError } from "./issue-certificate.ts";

export const PROBE_VIEWER_SUBJECT = "CN=mtls-rotator viewer probe";

export async function issueProbeViewer(
  privateCa: Pick<PrivateCaAdapter, "describeAuthority" | "issue" | "waitForCertificate">,
  authorityArn: string,
  wait: WaitOptions = {},
): Promise<ProbeViewer> {
  const authority = await privateCa.describeAuthority(authorityArn);
  if (authority.status !== "ACTIVE")
    throw new IssuanceError(
      `Private CA ${authorityArn} is ${authority.status}, not ACTIVE: no probe viewer certificate`,
    );
  // The CA's own key type: a viewer key of the same family (RSA-2048 or P-256) verifies under any origin.
  const keyAlgorithm = authority.keyAlgorithm.startsWith("RSA") ? "RSA_2048" : "EC_prime256v1";
  if (!isSupportedKeyAlgorithm(keyAlgorithm)) throw new IssuanceError(`unsupported key ${keyAlgorithm}`);
  const { csrPem, privateKeyPem } = await generateKeyAndCsr({
    keyAlgorithm,
    subject: { name: PROBE_VIEWER_SUBJECT },
    sans: [],
  });
  const certificateArn = await privateCa.issue({
    authorityArn,
    csrPem,
    signingAlgorithm: authority.signingAlgorithm,
    validityDays: 1,
    idempotencyToken: randomUUID().replaceAll("-", "").slice(0, 36),
  });
  const { certificatePem, chainPem } = await privateCa.waitForCertificate(authorityArn, certificateArn, wait);
  return { certificatePem, chainPem, privateKeyPem };
}
