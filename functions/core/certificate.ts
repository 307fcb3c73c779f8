/**
 * The managed certificate model, in the rotation's own words, and how facts are read off an X.509
 * certificate. Pure: no AWS, no clock.
 */
import type { X509Certificate } from "node:crypto";
import { fingerprintOf } from "./pem.ts";

/**
 * Key algorithms CloudFront presents to origins as an origin-mTLS client certificate (ACM's spelling).
 * *Assumed*: neither CloudFront's model nor its developer guide confirms them (aws-facts.md).
 */
export const SUPPORTED_KEY_ALGORITHMS = ["RSA_2048", "EC_prime256v1"] as const;
export type SupportedKeyAlgorithm = (typeof SUPPORTED_KEY_ALGORITHMS)[number];

export function isSupportedKeyAlgorithm(value: string): value is SupportedKeyAlgorithm {
  return (SUPPORTED_KEY_ALGORITHMS as readonly string[]).includes(value);
}

/** The key type of an ACM / Private CA key algorithm name ("RSA_4096" -> "RSA"); undefined for others. */
export function keyTypeOf(keyAlgorithm: string): "RSA" | "EC" | undefined {
  if (/^RSA_\d+$/.test(keyAlgorithm)) return "RSA";
  if (/^EC_[A-Za-z0-9]+$/.test(keyAlgorithm)) return "EC";
  return undefined;
}

/** Why a replacement gets the key it gets; shared by the plan, the API, the CLI and the sandbox. */
export const ReplacementKeyReason = {
  /** The CA's key is one CloudFront presents: the replacement's key is of the same algorithm. */
  SameAsCa: "SameAsCa",
  /** An RSA CA of another size (RSA_3072, RSA_4096): RSA_2048, the RSA key CloudFront presents. */
  RsaCaOtherSize: "RsaCaOtherSize",
  /** An EC CA on another curve (EC_secp384r1, EC_secp521r1): EC_prime256v1, the EC key CloudFront presents. */
  EcCaOtherCurve: "EcCaOtherCurve",
  /** A CA key of neither type (ML-DSA, SM2, unreadable): no key CloudFront presents would import into ACM. */
  NoPresentableKey: "NoPresentableKey",
} as const;
export type ReplacementKeyReason = (typeof ReplacementKeyReason)[keyof typeof ReplacementKeyReason];
/** The reasons of a replacement key that exists (every one but NoPresentableKey). */
export const PLANNED_KEY_REASONS = [
  ReplacementKeyReason.SameAsCa,
  ReplacementKeyReason.RsaCaOtherSize,
  ReplacementKeyReason.EcCaOtherCurve,
] as const;

/** The key a replacement is issued with, and why. */
export interface PlannedReplacementKey {
  keyAlgorithm: SupportedKeyAlgorithm;
  reason: (typeof PLANNED_KEY_REASONS)[number];
  /** The issuing CA's key algorithm (the configured CA: the new one during a CA migration). */
  caKeyAlgorithm: string;
  /** The key algorithm of the certificate being replaced. */
  inServiceKeyAlgorithm: string;
  /** For people: "EC_prime256v1 (follows CA key EC_prime256v1; was RSA_2048)". */
  message: string;
}

export type ReplacementKeyChoice =
  | PlannedReplacementKey
  | {
      keyAlgorithm?: undefined;
      reason: "NoPresentableKey";
      caKeyAlgorithm: string;
      inServiceKeyAlgorithm: string;
      message: string;
    };

/**
 * The key algorithm of a replacement: it follows the issuing CA's key. Two rules meet here:
 * - ACM (ImportCertificate, API reference): "The cryptographic algorithm of an imported certificate must
 *   match the algorithm of the signing CA. For example, if the signing CA key type is RSA, then the
 *   certificate key type must also be RSA." A key type (RSA or EC), not a size or a curve;
 * - CloudFront presents RSA_2048 or EC_prime256v1 only (assumed: SUPPORTED_KEY_ALGORITHMS).
 * So an RSA CA of any size gets RSA_2048 leaves and an EC CA on any curve EC_prime256v1 ones, whatever the
 * certificate in service had: a CA migration to a CA of another key type changes the key type with it.
 */
export function replacementKeyFor(input: {
  caKeyAlgorithm: string;
  inServiceKeyAlgorithm: string;
}): ReplacementKeyChoice {
  const { caKeyAlgorithm, inServiceKeyAlgorithm } = input;
  const keyType = keyTypeOf(caKeyAlgorithm);
  if (keyType === undefined) {
    return {
      reason: ReplacementKeyReason.NoPresentableKey,
      caKeyAlgorithm,
      inServiceKeyAlgorithm,
      message:
        `no replacement key for CA key ${caKeyAlgorithm}: ACM imports a certificate only with its signing ` +
        `CA's key type (RSA or EC), and CloudFront presents ${SUPPORTED_KEY_ALGORITHMS.join(" or ")} only`,
    };
  }
  const keyAlgorithm: SupportedKeyAlgorithm = keyType === "RSA" ? "RSA_2048" : "EC_prime256v1";
  const reason =
    caKeyAlgorithm === keyAlgorithm
      ? ReplacementKeyReason.SameAsCa
      : keyType === "RSA"
        ? ReplacementKeyReason.RsaCaOtherSize
        : ReplacementKeyReason.EcCaOtherCurve;
  const why = {
    SameAsCa: `follows CA key ${caKeyAlgorithm}`,
    RsaCaOtherSize: `follows CA key ${caKeyAlgorithm}: RSA, at the one RSA size CloudFront presents`,
    EcCaOtherCurve: `follows CA key ${caKeyAlgorithm}: EC, on the one curve CloudFront presents`,
  }[reason];
  const was = inServiceKeyAlgorithm === keyAlgorithm ? "unchanged" : `was ${inServiceKeyAlgorithm}`;
  return {
    keyAlgorithm,
    reason,
    caKeyAlgorithm,
    inServiceKeyAlgorithm,
    message: `${keyAlgorithm} (${why}; ${was})`,
  };
}

/** The issuing CA's key cannot sign any certificate CloudFront could present (ReplacementKeyReason). */
export class ReplacementKeyError extends Error {
  override name = "ReplacementKeyError";
  readonly retryable = false;
  readonly choice: ReplacementKeyChoice;
  constructor(choice: ReplacementKeyChoice) {
    super(choice.message);
    this.choice = choice;
  }
}

export type SubjectAlternativeName =
  | { type: "dns"; value: string }
  | { type: "uri"; value: string }
  | { type: "email"; value: string }
  | { type: "ip"; value: string };

/** Where a certificate is presented: one origin of one CloudFront distribution. */
export interface CertificateUsage {
  distributionId: string;
  originId: string;
}

export interface ManagedCertificate {
  /** ACM ARN (us-east-1) the distributions reference. */
  arn: string;
  /** Hex serial number, lowercase, no separators. */
  serial: string;
  subject: string;
  sans: SubjectAlternativeName[];
  /** ACM spelling, e.g. RSA_2048, EC_prime256v1, RSA_4096 (unsupported ones are kept to be reported). */
  keyAlgorithm: string;
  notBefore: Date;
  notAfter: Date;
  issuer: string;
  /** Whether this service manages (and may rotate) the certificate. */
  managed: boolean;
  usage: CertificateUsage[];
}

/** ACM's name for the key algorithm of a certificate's public key, e.g. "RSA_2048" or "EC_prime256v1". */
export function keyAlgorithmOf(certificate: X509Certificate): string {
  const key = certificate.publicKey;
  const details = key.asymmetricKeyDetails ?? {};
  if (key.asymmetricKeyType === "rsa") return `RSA_${details.modulusLength ?? "unknown"}`;
  if (key.asymmetricKeyType === "ec") return `EC_${details.namedCurve ?? "unknown"}`;
  return String(key.asymmetricKeyType ?? "unknown").toUpperCase();
}

/** Subject alternative names parsed from Node's `subjectAltName` text. */
export function sansOf(certificate: X509Certificate): SubjectAlternativeName[] {
  const text = certificate.subjectAltName;
  if (!text) return [];
  const names: SubjectAlternativeName[] = [];
  for (const part of text.split(/,\s*/)) {
    const colon = part.indexOf(":");
    const kind = part.slice(0, colon);
    const value = part.slice(colon + 1);
    if (kind === "DNS") names.push({ type: "dns", value });
    else if (kind === "URI") names.push({ type: "uri", value });
    else if (kind === "email") names.push({ type: "email", value });
    else if (kind === "IP Address") names.push({ type: "ip", value });
  }
  return names;
}

/** A distinguished name on one line, in the order the certificate carries it ("CN=a, O=b"). */
export function oneLineName(name: string): string {
  return name.split("\n").filter(Boolean).join(", ");
}

export interface CertificateFacts {
  serial: string;
  subject: string;
  issuer: string;
  sans: SubjectAlternativeName[];
  keyAlgorithm: string;
  notBefore: Date;
  notAfter: Date;
  fingerprint: string;
  isCA: boolean;
}

export function factsOf(certificate: X509Certificate): CertificateFacts {
  return {
    serial: certificate.serialNumber.toLowerCase(),
    subject: oneLineName(certificate.subject),
    issuer: oneLineName(certificate.issuer),
    sans: sansOf(certificate),
    keyAlgorithm: keyAlgorithmOf(certificate),
    notBefore: new Date(certificate.validFrom),
    notAfter: new Date(certificate.validTo),
    fingerprint: fingerprintOf(certificate),
    isCA: certificate.ca,
  };
}
