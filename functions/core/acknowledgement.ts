/**
 * Acknowledgements: how an origin the service cannot reach directly (one that accepts connections only from
 * CloudFront's address ranges) proves that it trusts the bundle a rotation published.
 *
 * - The trust phase publishes, next to the bundle, the public certificates of the client certificates the
 *   rotation depends on ("probe certificates": the one in service and the new one, plus earlier ones that
 *   still verify), tied to the bundle's SHA-256. Public certificates only: no key exists for them anywhere
 *   but where it always was (the credential and issuance secrets), and nothing new is issued for them.
 * - `origin-sync` on the origin host installs the bundle, reloads the server, then verifies every probe
 *   certificate against the installed file (chain building with OpenSSL's rules: each signature, each
 *   certificate's validity, ending at a self-signed root in the file) and writes an acknowledgement with the
 *   host's own IAM identity to `acks/<ack id>.json` in the bundle bucket.
 * - The preflight reads it (settings say which origins' proof it is) and accepts the origin when the
 *   acknowledgement names the rotation's bundle and the new certificate among the probes that verified.
 *
 * Pure: no I/O, no clock (the caller passes `now`), no key material (certificates are public).
 */
import { X509Certificate } from "node:crypto";
import { fingerprintOf, keyFingerprintOf, splitPem } from "./pem.ts";
import { signedBy } from "./validation.ts";

/** Where acknowledgements live in the bundle bucket: `acks/<ack id>.json`. */
export const ACK_PREFIX = "acks/";
/** Where the trust phase publishes the probe certificates in the bundle bucket. */
export const PROBE_CERTIFICATES_KEY = "trust/probe-certificates.pem";
/** S3 metadata entry of the probe certificates object: the SHA-256 of the bundle they were chosen for. */
export const PROBES_BUNDLE_METADATA = "bundle-sha256";
/** An acknowledgement id: a name the operator gives the origin (host) in origin-sync's options. */
export const ACK_ID = /^[A-Za-z0-9._-]{1,128}$/;
export const ACK_ID_RULE = "1 to 128 characters of A-Z, a-z, 0-9, '.', '_' and '-'";
/** Deepest chain a probe certificate may need (leaf + 4 CAs, as CloudFront's viewer trust stores allow). */
const MAX_DEPTH = 5;

export function isAckId(value: string): boolean {
  return ACK_ID.test(value) && value !== "." && value !== "..";
}

/** The S3 key of an origin's acknowledgement. */
export function ackKey(ackId: string): string {
  return `${ACK_PREFIX}${ackId}.json`;
}

/** A probe certificate that verified against the installed file. */
export interface VerifiedProbe {
  /** SHA-256 of the probe certificate's DER (the rotation's `issued.fingerprint` for the new one). */
  certificateSha256: string;
  /** SHA-256 of the public key of the CA that signed it (as the inventory's `authorityKey`). */
  issuerKeySha256: string;
}

/** What origin-sync writes to `acks/<ack id>.json`. Public facts only: hashes, names, times. */
export interface Acknowledgement {
  version: 1;
  originId: string;
  /** The host's name (os.hostname()). */
  host: string;
  /** SHA-256 of the installed file, which is the canonical bundle. */
  bundleSha256: string;
  /** When this bundle was installed (written to the live file). */
  installedAt: string;
  /** When the server was reloaded with it (its reload command succeeded). */
  reloadedAt: string;
  /** When this acknowledgement was made. */
  acknowledgedAt: string;
  /** SHA-256 of each CA's public key in the installed file. */
  caKeyFingerprints: string[];
  /** The probe certificates that verified against the installed file (all of them did, or nothing is written). */
  probes: VerifiedProbe[];
  /** CA keys in the file no verified certificate came from (neither a probe nor another CA of the file). */
  unprobedCaKeyFingerprints: string[];
  checks: { verified: true; reloaded: true };
}

export type ChainVerdict =
  | { verified: true; issuerKeySha256: string; depth: number }
  | { verified: false; reason: string };

function validAt(certificate: X509Certificate, now: Date): boolean {
  const t = now.getTime();
  return Date.parse(certificate.validFrom) <= t && t < Date.parse(certificate.validTo);
}

function selfSigned(certificate: X509Certificate): boolean {
  return signedBy(certificate, certificate);
}

/**
 * Whether `leaf` verifies against `anchors` (the certificates of an installed bundle file) as OpenSSL
 * verifies a client certificate against nginx's `ssl_client_certificate`: a path of CA certificates from the
 * file, each signature checked with the issuer's key (a CA re-keyed under the same name is another CA),
 * every certificate valid at `now`, ending at a self-signed certificate of the file. The file is the only
 * source of CA certificates (a client's own chain is not consulted).
 */
export function verifyAgainstBundle(
  leaf: X509Certificate,
  anchors: readonly X509Certificate[],
  now: Date,
): ChainVerdict {
  if (!validAt(leaf, now)) {
    return {
      verified: false,
      reason: `not valid at ${now.toISOString()} (${leaf.validFrom} – ${leaf.validTo})`,
    };
  }
  const cas = anchors.filter((c) => c.ca);
  const climb = (child: X509Certificate, depth: number, seen: Set<string>): number | undefined => {
    if (depth > MAX_DEPTH) return undefined;
    for (const parent of cas) {
      const print = fingerprintOf(parent);
      if (seen.has(print) || !validAt(parent, now) || !signedBy(child, parent)) continue;
      if (selfSigned(parent)) return depth;
      const found = climb(parent, depth + 1, new Set([...seen, print]));
      if (found !== undefined) return found;
    }
    return undefined;
  };
  const issuers = cas.filter((c) => signedBy(leaf, c));
  if (issuers.length === 0) {
    return {
      verified: false,
      reason: "no CA certificate in the file signed it (its issuer's key is not there)",
    };
  }
  for (const issuer of issuers) {
    const print = fingerprintOf(issuer);
    if (!validAt(issuer, now)) continue;
    const depth = selfSigned(issuer) ? 1 : climb(issuer, 2, new Set([print]));
    if (depth !== undefined) return { verified: true, issuerKeySha256: keyFingerprintOf(issuer), depth };
  }
  return {
    verified: false,
    reason:
      "its issuer is in the file, but no path of valid CA certificates leads to a self-signed root there",
  };
}

/** Parses a PEM text into certificates; undefined entries for blocks that do not parse. */
export function parseCertificates(pem: string): X509Certificate[] {
  return splitPem(pem).map((block) => new X509Certificate(block));
}

/**
 * The CA keys of `anchors` no verified certificate came from: neither a verified probe (`probeIssuerKeys`)
 * nor another CA certificate of the file signed by it (a root is covered by its intermediates).
 */
export function unprobedCaKeys(
  anchors: readonly X509Certificate[],
  probeIssuerKeys: readonly string[],
): string[] {
  const covered = new Set(probeIssuerKeys);
  for (const child of anchors) {
    for (const parent of anchors) {
      if (child !== parent && signedBy(child, parent)) covered.add(keyFingerprintOf(parent));
    }
  }
  return [...new Set(anchors.map(keyFingerprintOf))].filter((key) => !covered.has(key)).sort();
}

/** Why the preflight accepted or refused an origin's acknowledgement (a reason code each). */
export const AcknowledgementReason = {
  /**
   * The new certificate verified against the file installed on the host (the rotation's bundle, or one
   * published after it, e.g. by the reconciliation, which republishes the probe certificates with it).
   */
  Acknowledged: "Acknowledged",
  /** No acknowledgement yet (origin-sync has not run since the bundle was published, or cannot write it). */
  Missing: "Missing",
  /** Not an acknowledgement this version of the service reads. */
  Unreadable: "Unreadable",
  /**
   * It acknowledges another bundle and does not name the new certificate (an older one: origin-sync has not
   * installed this rotation's yet).
   */
  OtherBundle: "OtherBundle",
  /** The bundle matches, but the new certificate is not among the probes that verified on the host. */
  NewCertificateNotVerified: "NewCertificateNotVerified",
} as const;
export type AcknowledgementReason = (typeof AcknowledgementReason)[keyof typeof AcknowledgementReason];
export const ACKNOWLEDGEMENT_REASONS = Object.values(AcknowledgementReason) as [
  AcknowledgementReason,
  ...AcknowledgementReason[],
];

/** The preflight's reading of one origin's acknowledgement (public facts only). */
export interface AcknowledgementCheck {
  ackId: string;
  accepted: boolean;
  reason: AcknowledgementReason;
  /** What the acknowledgement said, when there was one that could be read. */
  bundleSha256?: string;
  host?: string;
  reloadedAt?: string;
  acknowledgedAt?: string;
}

const HEX64 = /^[0-9a-f]{64}$/;
const isText = (v: unknown, max = 512): v is string =>
  typeof v === "string" && v.length > 0 && v.length <= max;
const isTime = (v: unknown): v is string => isText(v, 64) && !Number.isNaN(Date.parse(v));

/** An acknowledgement document, or undefined when `raw` is not one (version 1). */
export function parseAcknowledgement(raw: unknown): Acknowledgement | undefined {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return undefined;
  const a = raw as Record<string, unknown>;
  const probes = a.probes;
  const checks = a.checks as Record<string, unknown> | undefined;
  const ok =
    a.version === 1 &&
    isText(a.originId, 128) &&
    isAckId(a.originId) &&
    isText(a.host, 255) &&
    typeof a.bundleSha256 === "string" &&
    HEX64.test(a.bundleSha256) &&
    isTime(a.installedAt) &&
    isTime(a.reloadedAt) &&
    isTime(a.acknowledgedAt) &&
    Array.isArray(a.caKeyFingerprints) &&
    a.caKeyFingerprints.every((k) => typeof k === "string" && HEX64.test(k)) &&
    Array.isArray(probes) &&
    probes.every(
      (p) =>
        typeof p === "object" &&
        p !== null &&
        HEX64.test(String((p as VerifiedProbe).certificateSha256)) &&
        HEX64.test(String((p as VerifiedProbe).issuerKeySha256)),
    ) &&
    typeof checks === "object" &&
    checks !== null &&
    checks.verified === true &&
    checks.reloaded === true;
  return ok ? (raw as Acknowledgement) : undefined;
}

/**
 * Judges an origin's acknowledgement for a rotation: accepted when it names the new certificate
 * (`newCertificateSha256`) among the probe certificates that verified against the installed file — the file
 * being the bundle the rotation published (`bundleSha256`) or one published after it (the reconciliation, or
 * another rotation, republished the bundle in between and the probe certificates with it: the host installed
 * that one and verified the new certificate against it, which is what the preflight needs to know). The new
 * certificate exists only from the rotation's issue step on, and its probe is published in the trust step:
 * an acknowledgement naming it was made after the trust phase, whatever the host's clock says.
 */
export function judgeAcknowledgement(
  ackId: string,
  raw: unknown | undefined,
  expected: { bundleSha256: string; newCertificateSha256: string },
): AcknowledgementCheck {
  if (raw === undefined) return { ackId, accepted: false, reason: "Missing" };
  const ack = parseAcknowledgement(raw);
  if (!ack) return { ackId, accepted: false, reason: "Unreadable" };
  // Times as the service writes them (ISO 8601, UTC), whatever form the host used.
  const facts = {
    bundleSha256: ack.bundleSha256,
    host: ack.host,
    reloadedAt: new Date(ack.reloadedAt).toISOString(),
    acknowledgedAt: new Date(ack.acknowledgedAt).toISOString(),
  };
  if (ack.probes.some((p) => p.certificateSha256 === expected.newCertificateSha256)) {
    return { ackId, accepted: true, reason: "Acknowledged", ...facts };
  }
  if (ack.bundleSha256 !== expected.bundleSha256) {
    return { ackId, accepted: false, reason: "OtherBundle", ...facts };
  }
  return { ackId, accepted: false, reason: "NewCertificateNotVerified", ...facts };
}

/** One line for the abort's detail: why an acknowledgement does not count. */
export function describeAcknowledgement(check: AcknowledgementCheck): string {
  switch (check.reason) {
    case "Missing":
      return `no acknowledgement ${ackKey(check.ackId)}`;
    case "Unreadable":
      return `${ackKey(check.ackId)} is not a readable acknowledgement`;
    case "OtherBundle":
      return `${ackKey(check.ackId)} acknowledges bundle ${check.bundleSha256?.slice(0, 16)}…, not this rotation's`;
    case "NewCertificateNotVerified":
      return `${ackKey(check.ackId)} does not name the new certificate among those that verified`;
    default:
      return `acknowledged by ${check.host ?? "?"} at ${check.acknowledgedAt ?? "?"}`;
  }
}

/**
 * The probe certificates to publish with a bundle: `wanted` (the new certificate and the one in service),
 * then those of `previous` (an earlier rotation's, another lineage's), each only if it verifies against the
 * bundle, de-duplicated, in a stable order. A wanted certificate that does not verify (e.g. an imported
 * certificate whose ACM chain stops short of its root, so the bundle lacks that root) is left out and named
 * in `omitted`: origin-sync could not verify it either, so no acknowledgement will name it and a rotation
 * whose origins' proof is an acknowledgement waits for it in vain — the probe proof is unaffected.
 */
export function selectProbeCertificates(input: {
  bundlePem: string;
  wanted: readonly string[];
  previousPem?: string;
  now: Date;
}): { pem: string; certificates: number; fingerprints: string[]; omitted: string[] } {
  const anchors = parseCertificates(input.bundlePem);
  const chosen = new Map<string, X509Certificate>();
  const omitted: string[] = [];
  for (const pem of input.wanted) {
    const certificate = new X509Certificate(pem);
    const verdict = verifyAgainstBundle(certificate, anchors, input.now);
    if (verdict.verified) chosen.set(fingerprintOf(certificate), certificate);
    else omitted.push(`${fingerprintOf(certificate)}: ${verdict.reason}`);
  }
  let previous: X509Certificate[] = [];
  try {
    previous = input.previousPem ? parseCertificates(input.previousPem) : [];
  } catch {
    previous = []; // an unreadable object is replaced
  }
  for (const certificate of previous) {
    if (certificate.ca || chosen.has(fingerprintOf(certificate))) continue;
    if (verifyAgainstBundle(certificate, anchors, input.now).verified) {
      chosen.set(fingerprintOf(certificate), certificate);
    }
  }
  const fingerprints = [...chosen.keys()].sort();
  const pem = fingerprints.map((f) => `${chosen.get(f)!.toString().trim()}\n`).join("");
  return { pem, certificates: fingerprints.length, fingerprints, omitted };
}
