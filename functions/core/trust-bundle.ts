/**
 * Trust bundle computation: which CA certificates origins must trust, as one PEM, de-duplicated by
 * fingerprint, in a stable order, within the limits of the target it goes to.
 */
import type { X509Certificate } from "node:crypto";
import { factsOf } from "./certificate.ts";
import { keyFingerprintOf, pemLabels, sha256Hex, splitPem, tryParseCertificate } from "./pem.ts";

export interface BundleLimits {
  maxCertificates?: number;
  maxBytes?: number;
  maxCertificateBytes?: number;
}

/** Limits of each kind of trust target (aws-facts.md). */
export const TRUST_TARGET_LIMITS = {
  /** CloudFront viewer trust store: 25 CA certificates, bundle <= 64 KB. */
  cloudfrontTrustStore: { maxCertificates: 25, maxBytes: 64 * 1024 },
  /** ALB trust store: up to 25 CA certificates, 16 KB each. */
  albTrustStore: { maxCertificates: 25, maxCertificateBytes: 16 * 1024 },
  /** S3 object, secret, webhook, nginx file: no limit beyond sanity. */
  unlimited: {},
} as const satisfies Record<string, BundleLimits>;

export interface BundleInput {
  /** CA certificates currently trusted (the issuing chain(s) of certificates in service). */
  current: string[];
  /** CA certificates that must be trusted before the swap (the new issuer's chain). */
  incoming?: string[];
  /** Fingerprints of CA certificates to drop (a retired CA after its grace period). */
  retiredFingerprints?: string[];
  now: Date;
  limits?: BundleLimits;
}

export interface BundleEntry {
  /** SHA-256 of the CA certificate (DER). */
  fingerprint: string;
  /** SHA-256 of the CA's public key (SPKI DER): the CA's identity; a CA re-keyed under its name differs. */
  keyFingerprint: string;
  subject: string;
  notAfter: string;
}

export interface TrustBundle {
  pem: string;
  /** SHA-256 of the PEM text: equal bundles have equal digests, so publishing can be idempotent. */
  sha256: string;
  entries: BundleEntry[];
  bytes: number;
}

export const BundleReason = {
  Malformed: "Malformed",
  NotCA: "NotCA",
  ExpiredCA: "ExpiredCA",
  Empty: "Empty",
  TooManyCertificates: "TooManyCertificates",
  TooLarge: "TooLarge",
  CertificateTooLarge: "CertificateTooLarge",
} as const;
export type BundleReason = (typeof BundleReason)[keyof typeof BundleReason];

export class TrustBundleError extends Error {
  override name = "TrustBundleError";
  readonly retryable = false;
  readonly reason: BundleReason;
  constructor(reason: BundleReason, message: string) {
    super(`${reason}: ${message}`);
    this.reason = reason;
  }
}

function parseAll(
  sources: string[],
  now: Date,
  retired: ReadonlySet<string>,
): Array<{ pem: string; cert: X509Certificate }> {
  const out: Array<{ pem: string; cert: X509Certificate }> = [];
  for (const source of sources) {
    if (pemLabels(source).some((label) => label !== "CERTIFICATE")) {
      throw new TrustBundleError("Malformed", "input holds a PEM block that is not a certificate (a key?)");
    }
    const blocks = splitPem(source);
    if (blocks.length === 0 && source.trim() !== "") {
      throw new TrustBundleError("Malformed", "input holds no PEM certificate");
    }
    for (const pem of blocks) {
      const cert = tryParseCertificate(pem);
      if (!cert) throw new TrustBundleError("Malformed", "a PEM block does not parse as a certificate");
      const facts = factsOf(cert);
      // A retired CA is dropped whatever its state: retiring a CA after it expired must work.
      if (retired.has(facts.fingerprint)) continue;
      if (!cert.ca) throw new TrustBundleError("NotCA", `${facts.subject} is not a CA certificate`);
      if (facts.notAfter.getTime() <= now.getTime()) {
        throw new TrustBundleError(
          "ExpiredCA",
          `${facts.subject} expired at ${facts.notAfter.toISOString()}`,
        );
      }
      // Re-encode from DER: the same CA spelled with CRLF or other line breaks must give the same bytes,
      // whichever spelling comes first.
      out.push({ pem: cert.toString(), cert });
    }
  }
  return out;
}

export function computeTrustBundle(input: BundleInput): TrustBundle {
  const retired = new Set(input.retiredFingerprints ?? []);
  const unique = new Map<string, { pem: string; entry: BundleEntry }>();
  for (const { pem, cert } of parseAll([...input.current, ...(input.incoming ?? [])], input.now, retired)) {
    const facts = factsOf(cert);
    if (unique.has(facts.fingerprint)) continue;
    unique.set(facts.fingerprint, {
      pem,
      entry: {
        fingerprint: facts.fingerprint,
        keyFingerprint: keyFingerprintOf(cert),
        subject: facts.subject,
        notAfter: facts.notAfter.toISOString(),
      },
    });
  }
  // Stable order: by subject, then fingerprint. Input order never changes the bundle's bytes.
  const sorted = [...unique.values()].sort(
    (a, b) => cmp(a.entry.subject, b.entry.subject) || cmp(a.entry.fingerprint, b.entry.fingerprint),
  );
  if (sorted.length === 0) throw new TrustBundleError("Empty", "the bundle would trust no CA at all");
  const pem = sorted.map((s) => s.pem).join("");
  const bundle: TrustBundle = {
    pem,
    sha256: sha256Hex(pem),
    entries: sorted.map((s) => s.entry),
    bytes: Buffer.byteLength(pem),
  };
  checkLimits(bundle, sorted, input.limits ?? {});
  return bundle;
}

function checkLimits(
  bundle: TrustBundle,
  items: Array<{ pem: string; entry: BundleEntry }>,
  limits: BundleLimits,
) {
  if (limits.maxCertificates !== undefined && items.length > limits.maxCertificates) {
    throw new TrustBundleError(
      "TooManyCertificates",
      `bundle has ${items.length} CA certificates; the target allows ${limits.maxCertificates}`,
    );
  }
  if (limits.maxBytes !== undefined && bundle.bytes > limits.maxBytes) {
    throw new TrustBundleError(
      "TooLarge",
      `bundle is ${bundle.bytes} bytes; the target allows ${limits.maxBytes}`,
    );
  }
  if (limits.maxCertificateBytes !== undefined) {
    for (const item of items) {
      const size = Buffer.byteLength(item.pem);
      if (size > limits.maxCertificateBytes) {
        throw new TrustBundleError(
          "CertificateTooLarge",
          `${item.entry.subject} is ${size} bytes; the target allows ${limits.maxCertificateBytes} per certificate`,
        );
      }
    }
  }
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
