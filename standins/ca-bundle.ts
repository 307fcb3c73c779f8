/**
 * CA bundles as the AWS services that load them from S3 see them (CloudFront trust stores, API Gateway
 * truststores): where the bytes come from, and what a service can tell about them (certificates, CA or not,
 * expiry, the longest chain the bundle forms). Each stand-in applies its own rules to the inspection.
 */
import { X509Certificate } from "node:crypto";

/** One S3 object version as a trust store reads it. */
export interface BundleObject {
  body: Buffer;
  /** The version read ("null" for an object written while versioning was off). */
  versionId: string;
  /** Region of the bucket holding it. */
  bucketRegion: string;
}

/**
 * Where stand-ins read CA bundles from (the S3 stand-in in `startStandins`). `read` answers undefined when the
 * bucket, the key or the version does not exist; without `versionId` it answers the latest version.
 */
export interface BundleStore {
  read(bucket: string, key: string, versionId?: string): BundleObject | undefined;
}

/** A store that holds nothing: every read misses. */
export const EMPTY_BUNDLE_STORE: BundleStore = { read: () => undefined };

export interface CaBundleInspection {
  bytes: number;
  /** Set when the bundle cannot be used at all: no certificate, a block that is not a certificate, bad DER. */
  unreadable?: string;
  certificates: X509Certificate[];
  /** Subjects of certificates without basicConstraints CA:TRUE. */
  notCa: string[];
  /** Subjects of certificates expired at the time of inspection. */
  expired: string[];
  /**
   * The longest issuer chain formed inside the bundle, counted in certificates (a lone root: 1; root ->
   * intermediate: 2). An issuer counts only when names match and its key verifies the signature.
   */
  chainDepth: number;
  /** Subject of the certificate at the bottom of the longest chain. */
  deepest?: string;
}

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----([\s\S]*?)-----END \1-----/g;

/** Reads a PEM bundle as a service would: every block must be a certificate that parses. */
export function inspectCaBundle(body: Buffer, now: Date): CaBundleInspection {
  const text = body.toString("utf8");
  const inspection: CaBundleInspection = {
    bytes: body.length,
    certificates: [],
    notCa: [],
    expired: [],
    chainDepth: 0,
  };
  const blocks = [...text.matchAll(PEM_BLOCK)];
  if (blocks.length === 0) {
    return { ...inspection, unreadable: "the bundle holds no PEM-encoded certificate" };
  }
  for (const [index, block] of blocks.entries()) {
    if (block[1] !== "CERTIFICATE") {
      return {
        ...inspection,
        unreadable: `PEM block ${index + 1} is a ${block[1]}, not a CERTIFICATE`,
      };
    }
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(block[0]);
    } catch {
      return { ...inspection, unreadable: `PEM block ${index + 1} does not parse as an X.509 certificate` };
    }
    inspection.certificates.push(certificate);
    const subject = oneLine(certificate.subject);
    if (!certificate.ca) inspection.notCa.push(subject);
    if (new Date(certificate.validTo).getTime() <= now.getTime()) inspection.expired.push(subject);
  }
  const { depth, deepest } = longestChain(inspection.certificates);
  inspection.chainDepth = depth;
  inspection.deepest = deepest === undefined ? undefined : oneLine(deepest.subject);
  return inspection;
}

function longestChain(certificates: X509Certificate[]): { depth: number; deepest?: X509Certificate } {
  // Distinct certificates only (a bundle may repeat one), indexed by subject: only a certificate whose
  // subject is the issuer's name can have signed it, so signatures are checked on name matches alone.
  const distinct = [...new Map(certificates.map((c) => [c.fingerprint256, c])).values()];
  const bySubject = new Map<string, X509Certificate[]>();
  for (const c of distinct) bySubject.set(c.subject, [...(bySubject.get(c.subject) ?? []), c]);

  const memo = new Map<X509Certificate, number>();
  const depthOf = (certificate: X509Certificate, path: Set<X509Certificate>): number => {
    const known = memo.get(certificate);
    if (known !== undefined) return known;
    let depth = 1;
    // A self-issued certificate (a root) ends the chain.
    if (certificate.issuer !== certificate.subject) {
      path.add(certificate);
      for (const issuer of bySubject.get(certificate.issuer) ?? []) {
        // A loop (cross-signed pairs) is not followed twice.
        if (path.has(issuer) || !issuedBy(certificate, issuer)) continue;
        depth = Math.max(depth, 1 + depthOf(issuer, path));
      }
      path.delete(certificate);
    }
    memo.set(certificate, depth);
    return depth;
  };
  let best: { depth: number; deepest?: X509Certificate } = { depth: 0 };
  for (const certificate of distinct) {
    const depth = depthOf(certificate, new Set());
    if (depth > best.depth) best = { depth, deepest: certificate };
  }
  return best;
}

function issuedBy(certificate: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return certificate.checkIssued(issuer) && certificate.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

function oneLine(name: string): string {
  return name.split("\n").join(", ");
}
