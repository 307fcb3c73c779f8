/**
 * The managed certificate model, in the rotation's own words, and how facts are read off an X.509
 * certificate. Pure: no AWS, no clock.
 */
import type { X509Certificate } from "node:crypto";
import { fingerprintOf } from "./pem.ts";

/** Key algorithms CloudFront accepts for an origin-mTLS client certificate (ACM's spelling). */
export const SUPPORTED_KEY_ALGORITHMS = ["RSA_2048", "EC_prime256v1"] as const;
export type SupportedKeyAlgorithm = (typeof SUPPORTED_KEY_ALGORITHMS)[number];

/** Default for credentials that have no predecessor. */
export const DEFAULT_KEY_ALGORITHM: SupportedKeyAlgorithm = "EC_prime256v1";

export function isSupportedKeyAlgorithm(value: string): value is SupportedKeyAlgorithm {
  return (SUPPORTED_KEY_ALGORITHMS as readonly string[]).includes(value);
}

/**
 * The key algorithm of a replacement: the one being replaced when CloudFront accepts it (origins keep
 * what they were configured for), otherwise the default, so a rotation also moves a certificate with an
 * unsupported key (RSA-4096, P-384) onto one CloudFront can present.
 */
export function replacementKeyAlgorithm(current: string): SupportedKeyAlgorithm {
  return isSupportedKeyAlgorithm(current) ? current : DEFAULT_KEY_ALGORITHM;
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
