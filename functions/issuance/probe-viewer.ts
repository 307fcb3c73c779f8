/**
 * A viewer certificate for a viewer CA migration's proof (probe/viewer-probe.ts): issued from the CA viewers
 * move to with the client-auth template, valid one day, for a key made here. The key is returned to the
 * caller's step only, which forgets it when the probe ends; nothing stores it and no step result holds it.
 * A Lambda that restarts never needs a key it no longer has: it issues another (a fresh idempotency token).
 * Within one process, `reusingProbeViewers` hands the same probe to every attempt while it has hours left:
 * a proof retried every 30 s for 30 minutes would otherwise issue 60 certificates, each one billed by AWS
 * Private CA and counted against its IssueCertificate rate.
 */
import { randomUUID } from "node:crypto";
import type { PrivateCaAdapter, WaitOptions } from "../adapters/private-ca.ts";
import { isSupportedKeyAlgorithm } from "../core/certificate.ts";
import { generateKeyAndCsr, privateKeyToPem } from "../crypto/keys.ts";
import { subtle, x509 } from "../crypto/x509.ts";
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

/**
 * A viewer certificate from a CA made on the spot (P-256, valid an hour, its key dropped with the
 * certificate): the proof's negative control, which every passthrough origin must refuse. Nothing is
 * issued by a Private CA for it and nothing of it is kept.
 */
export async function untrustedProbeViewer(now = new Date()): Promise<ProbeViewer> {
  const algorithm = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" };
  const [caKeys, viewerKeys] = await Promise.all([
    subtle.generateKey(algorithm, true, ["sign", "verify"]),
    subtle.generateKey(algorithm, true, ["sign", "verify"]),
  ]);
  const notBefore = new Date(now.getTime() - 60_000);
  const notAfter = new Date(now.getTime() + 3_600_000);
  const caName = "CN=mtls-rotator untrusted probe CA";
  const ca = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: "01",
    name: caName,
    notBefore,
    notAfter,
    keys: caKeys,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(true, 0, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign, true),
    ],
  });
  const leaf = await x509.X509CertificateGenerator.create({
    serialNumber: "02",
    subject: PROBE_VIEWER_SUBJECT,
    issuer: caName,
    notBefore,
    notAfter,
    publicKey: viewerKeys.publicKey,
    signingKey: caKeys.privateKey,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth]),
    ],
  });
  return {
    certificatePem: `${leaf.toString("pem")}\n`,
    chainPem: `${ca.toString("pem")}\n`,
    privateKeyPem: await privateKeyToPem(viewerKeys.privateKey),
  };
}

/** A probe is reused while at least this much of its validity is left (the proof of one attempt is seconds). */
export const PROBE_VIEWER_REUSE_MARGIN_MS = 2 * 3_600_000;

/**
 * `issue`, remembering one probe per CA in this process's memory only (never stored, never in a step
 * result), reused until PROBE_VIEWER_REUSE_MARGIN_MS before it expires. A failed issue is not remembered.
 */
export function reusingProbeViewers(
  issue: (authorityArn: string) => Promise<ProbeViewer>,
  now: () => Date = () => new Date(),
): (authorityArn: string) => Promise<ProbeViewer> {
  const held = new Map<string, { viewer: ProbeViewer; notAfter: number }>();
  return async (authorityArn) => {
    const kept = held.get(authorityArn);
    if (kept && kept.notAfter - now().getTime() > PROBE_VIEWER_REUSE_MARGIN_MS) return kept.viewer;
    held.delete(authorityArn);
    const viewer = await issue(authorityArn);
    const notAfter = new x509.X509Certificate(viewer.certificatePem).notAfter.getTime();
    held.set(authorityArn, { viewer, notAfter });
    return viewer;
  };
}
