/**
 * Validation of a client certificate before anything uses it: CloudFront never checks the certificate it
 * presents (the origin is the only verifier), so the service must. Pure: clock injected; failures are
 * named reasons with a message a person can act on.
 */
import { createPublicKey, type KeyObject, X509Certificate } from "node:crypto";
import { type CertificateFacts, factsOf, isSupportedKeyAlgorithm, keyAlgorithmOf } from "./certificate.ts";
import { fingerprintOf, pemLabels, splitPem } from "./pem.ts";

/** CloudFront origin-mTLS limits (aws-facts.md). */
export const ORIGIN_MTLS_LIMITS = {
  certificateBytes: 96 * 1024,
  chainBytes: 64 * 1024,
  privateKeyBytes: 5 * 1024,
  /** Certificates in the chain above the leaf. Assumption: "chain depth <= 3" counts CA certificates. */
  chainDepth: 3,
} as const;

export const CLIENT_AUTH_OID = "1.3.6.1.5.5.7.3.2";

/** Allowed clock skew for notBefore in the future (a CA may backdate; it must not post-date much). */
export const CLOCK_SKEW_MS = 5 * 60_000;

export const ValidationReason = {
  MalformedCertificate: "MalformedCertificate",
  MalformedChain: "MalformedChain",
  MalformedPrivateKey: "MalformedPrivateKey",
  TooLarge: "TooLarge",
  UnsupportedKey: "UnsupportedKey",
  KeyMismatch: "KeyMismatch",
  NotClientAuth: "NotClientAuth",
  IsCA: "IsCA",
  NotYetValid: "NotYetValid",
  Expired: "Expired",
  ValidityTooShort: "ValidityTooShort",
  ChainTooDeep: "ChainTooDeep",
  ChainBroken: "ChainBroken",
  UntrustedIssuer: "UntrustedIssuer",
  KeyAlgorithmChanged: "KeyAlgorithmChanged",
} as const;
export type ValidationReason = (typeof ValidationReason)[keyof typeof ValidationReason];

export interface CertificateUnderTest {
  certificatePem: string;
  /** Issuing CA first, up to (optionally including) the root. */
  chainPem: string;
  /** PKCS#8 PEM. Held only in memory; never echoed in a message. */
  privateKeyPem: string;
}

export interface ValidationPolicy {
  now: Date;
  /** CA certificates the chain must end at (or be signed by): the configured Private CA's chain. */
  trustAnchorsPem: string;
  /** When set, the new key must be of this algorithm (the one the plan chose from the issuing CA's key). */
  expectedKeyAlgorithm?: string;
  /** The certificate must stay valid at least this long from now (default: 1 day). */
  minimumRemainingMs?: number;
}

export type ValidationResult =
  | { valid: true; facts: CertificateFacts; chainFingerprints: string[] }
  | { valid: false; reason: ValidationReason; message: string };

export class CertificateValidationError extends Error {
  override name = "CertificateValidationError";
  readonly retryable = false;
  readonly reason: ValidationReason;
  constructor(reason: ValidationReason, message: string) {
    super(`${reason}: ${message}`);
    this.reason = reason;
  }
}

function fail(reason: ValidationReason, message: string): ValidationResult {
  return { valid: false, reason, message };
}

function parseChain(pem: string): X509Certificate[] | undefined {
  try {
    return splitPem(pem).map((block) => new X509Certificate(block));
  } catch {
    return undefined;
  }
}

function sameKey(a: KeyObject, b: KeyObject): boolean {
  const der = (k: KeyObject) => k.export({ type: "spki", format: "der" });
  return der(a).equals(der(b));
}

/** True when `child` names `parent` as issuer and carries a valid signature by its key. */
export function signedBy(child: X509Certificate, parent: X509Certificate): boolean {
  return child.checkIssued(parent) && child.verify(parent.publicKey);
}

export function validateClientCertificate(
  input: CertificateUnderTest,
  policy: ValidationPolicy,
): ValidationResult {
  const now = policy.now.getTime();

  // 1. Shapes and sizes.
  const certificateLabels = pemLabels(input.certificatePem);
  if (certificateLabels.length !== 1 || certificateLabels[0] !== "CERTIFICATE") {
    return fail("MalformedCertificate", "expected exactly one PEM CERTIFICATE block and nothing else");
  }
  if (pemLabels(input.chainPem).some((label) => label !== "CERTIFICATE")) {
    return fail("MalformedChain", "the chain holds a PEM block that is not a certificate");
  }
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(input.certificatePem);
  } catch (error) {
    return fail("MalformedCertificate", `certificate does not parse: ${(error as Error).message}`);
  }
  const chain = parseChain(input.chainPem);
  if (!chain || (input.chainPem.trim() !== "" && chain.length === 0)) {
    return fail("MalformedChain", "certificate chain does not parse as PEM certificates");
  }
  const sizes: Array<[string, number, number]> = [
    ["certificate", Buffer.byteLength(input.certificatePem), ORIGIN_MTLS_LIMITS.certificateBytes],
    ["chain", Buffer.byteLength(input.chainPem), ORIGIN_MTLS_LIMITS.chainBytes],
    ["private key", Buffer.byteLength(input.privateKeyPem), ORIGIN_MTLS_LIMITS.privateKeyBytes],
  ];
  for (const [what, bytes, limit] of sizes) {
    if (bytes > limit)
      return fail("TooLarge", `${what} is ${bytes} bytes; CloudFront allows at most ${limit}`);
  }
  let publicOfPrivate: KeyObject;
  try {
    publicOfPrivate = createPublicKey(input.privateKeyPem);
  } catch {
    // Deliberately no detail: the parser's message could quote key bytes.
    return fail(
      "MalformedPrivateKey",
      "private key does not parse (expected a PKCS#8 or traditional PEM key)",
    );
  }

  // 2. Key.
  const keyAlgorithm = keyAlgorithmOf(leaf);
  if (!isSupportedKeyAlgorithm(keyAlgorithm)) {
    return fail(
      "UnsupportedKey",
      `key algorithm ${keyAlgorithm} is not accepted for origin mTLS (RSA_2048 or EC_prime256v1)`,
    );
  }
  if (policy.expectedKeyAlgorithm && policy.expectedKeyAlgorithm !== keyAlgorithm) {
    return fail(
      "KeyAlgorithmChanged",
      `key algorithm ${keyAlgorithm} differs from the planned ${policy.expectedKeyAlgorithm}`,
    );
  }
  if (!sameKey(publicOfPrivate, leaf.publicKey)) {
    return fail("KeyMismatch", "the private key does not belong to the certificate");
  }

  // 3. Purpose.
  if (leaf.ca) return fail("IsCA", "the certificate is a CA certificate, not a client certificate");
  const eku = leaf.keyUsage;
  if (!eku?.includes(CLIENT_AUTH_OID)) {
    return fail(
      "NotClientAuth",
      `extended key usage lacks clientAuth (${CLIENT_AUTH_OID}); found ${eku?.length ? eku.join(", ") : "none"}`,
    );
  }

  // 4. Validity window.
  const facts = factsOf(leaf);
  if (facts.notBefore.getTime() > now + CLOCK_SKEW_MS) {
    return fail("NotYetValid", `not valid before ${facts.notBefore.toISOString()}`);
  }
  if (facts.notAfter.getTime() <= now) {
    return fail("Expired", `expired at ${facts.notAfter.toISOString()}`);
  }
  const minimum = policy.minimumRemainingMs ?? 86_400_000;
  if (facts.notAfter.getTime() - now < minimum) {
    return fail(
      "ValidityTooShort",
      `valid only until ${facts.notAfter.toISOString()}; at least ${Math.round(minimum / 3_600_000)} hours are required`,
    );
  }

  // 5. Chain.
  if (chain.length > ORIGIN_MTLS_LIMITS.chainDepth) {
    return fail(
      "ChainTooDeep",
      `chain has ${chain.length} CA certificates; CloudFront allows ${ORIGIN_MTLS_LIMITS.chainDepth}`,
    );
  }
  const anchors = parseChain(policy.trustAnchorsPem) ?? [];
  if (anchors.length === 0) return fail("UntrustedIssuer", "no trust anchors configured for validation");
  const anchorPrints = new Set(anchors.map(fingerprintOf));
  const path = [leaf, ...chain];
  for (let i = 1; i < path.length; i += 1) {
    const child = path[i - 1]!;
    const parent = path[i]!;
    if (!parent.ca)
      return fail(
        "ChainBroken",
        `chain certificate ${i} (${parent.subject.replaceAll("\n", ", ")}) is not a CA`,
      );
    if (!signedBy(child, parent)) {
      return fail("ChainBroken", `certificate ${i - 1} is not signed by chain certificate ${i}`);
    }
    const parentFacts = factsOf(parent);
    if (parentFacts.notAfter.getTime() <= now || parentFacts.notBefore.getTime() > now + CLOCK_SKEW_MS) {
      return fail(
        "ChainBroken",
        `chain certificate ${i} (${parentFacts.subject}) is outside its validity window`,
      );
    }
  }
  const top = path[path.length - 1]!;
  const anchored =
    path.slice(1).some((c) => anchorPrints.has(fingerprintOf(c))) || anchors.some((a) => signedBy(top, a));
  if (!anchored) {
    return fail(
      "UntrustedIssuer",
      `the chain does not lead to a configured trust anchor (issuer: ${facts.issuer})`,
    );
  }
  return { valid: true, facts, chainFingerprints: chain.map(fingerprintOf) };
}

/** Throwing form, for code paths that must stop on an invalid certificate. */
export function assertValidClientCertificate(
  input: CertificateUnderTest,
  policy: ValidationPolicy,
): CertificateFacts {
  const result = validateClientCertificate(input, policy);
  if (!result.valid) throw new CertificateValidationError(result.reason, result.message);
  return result.facts;
}
