/**
 * CA certificates' own expiry (issue 13). A leaf is only as good as the CA certificates it chains to: once
 * its issuing CA's certificate (or the root above it) expires, every origin refuses it, whatever its own
 * notAfter says, and issuance caps new leaves at that date (authority-validity.ts). No rotation fixes that;
 * a CA migration does, and it takes planning. So every CA certificate the service relies on — each tracked
 * Private CA's own certificate and the chain above it, as GetCertificateAuthorityCertificate answers them —
 * is tracked like a leaf: alerts at the same thresholds, once each, the most urgent one when a scan missed
 * days (alerts.ts).
 *
 * A CA certificate is known by its SHA-256 fingerprint: a CA certificate renewed (even with the same key)
 * is another certificate, with alerts of its own. One that several CAs chain to (a shared root) is tracked
 * once, naming every CA that relies on it.
 */
import type { X509Certificate } from "node:crypto";
import { alertedAfter, type ExpiryAlert, pendingExpiryAlert } from "./alerts.ts";
import { factsOf } from "./certificate.ts";
import { splitPem, tryParseCertificate } from "./pem.ts";
import { canonical } from "./tracking.ts";

/** root: self-signed, the anchor of its chain; intermediate: a CA certificate another CA signed. */
export type AuthorityCertificateRole = "root" | "intermediate";

/** A CA certificate the service relies on, as one scan finds it. Public facts only. */
export interface AuthorityCertificate {
  /** SHA-256 of the certificate's DER, lowercase hex: its identity. */
  fingerprint: string;
  subject: string;
  issuer: string;
  serial: string;
  notBefore: string;
  notAfter: string;
  role: AuthorityCertificateRole;
  /** The tracked Private CAs whose certificate or chain it is, sorted. */
  authorityArns: string[];
}

/** What the inventory keeps per CA certificate between scans. */
export interface AuthorityCertificateRecord extends AuthorityCertificate {
  /** Thresholds (days) already alerted for this certificate. */
  alerted: number[];
  lastSeenAt: string;
}

/** A tracked CA whose certificate could not be read, or did not parse: its chain is not tracked this scan. */
export interface UnreadableAuthority {
  authorityArn: string;
  error: string;
}

function isSelfSigned(certificate: X509Certificate): boolean {
  try {
    return certificate.checkIssued(certificate) && certificate.verify(certificate.publicKey);
  } catch {
    return false;
  }
}

/**
 * The CA certificates of the given chains (each CA's certificate followed by its chain, PEM, by CA ARN),
 * each once by fingerprint with every CA that relies on it, soonest expiry first. A chain with no
 * certificate, or one that does not parse, is unreadable: nothing of it is tracked (a partial chain could
 * leave out the very certificate that expires first).
 */
export function authorityCertificatesOf(chains: ReadonlyMap<string, string>): {
  certificates: AuthorityCertificate[];
  unreadable: UnreadableAuthority[];
} {
  const byFingerprint = new Map<string, AuthorityCertificate>();
  const unreadable: UnreadableAuthority[] = [];
  for (const [authorityArn, chainPem] of chains) {
    const blocks = splitPem(chainPem);
    const parsed = blocks.map(tryParseCertificate);
    if (blocks.length === 0 || parsed.some((c) => c === undefined)) {
      unreadable.push({
        authorityArn,
        error:
          blocks.length === 0
            ? "the CA answered no certificate"
            : "the CA's certificate or chain holds a certificate that does not parse",
      });
      continue;
    }
    for (const certificate of parsed as X509Certificate[]) {
      const facts = factsOf(certificate);
      const known = byFingerprint.get(facts.fingerprint);
      if (known) {
        if (!known.authorityArns.includes(authorityArn)) known.authorityArns.push(authorityArn);
        continue;
      }
      byFingerprint.set(facts.fingerprint, {
        fingerprint: facts.fingerprint,
        subject: facts.subject,
        issuer: facts.issuer,
        serial: facts.serial,
        notBefore: facts.notBefore.toISOString(),
        notAfter: facts.notAfter.toISOString(),
        role: isSelfSigned(certificate) ? "root" : "intermediate",
        authorityArns: [authorityArn],
      });
    }
  }
  const certificates = [...byFingerprint.values()]
    .map((c) => ({ ...c, authorityArns: [...c.authorityArns].sort() }))
    .sort(
      (a, b) => Date.parse(a.notAfter) - Date.parse(b.notAfter) || (a.fingerprint < b.fingerprint ? -1 : 1),
    );
  return { certificates, unreadable };
}

export interface AuthorityCertificateAssessment {
  record: AuthorityCertificateRecord;
  alert?: ExpiryAlert;
  /** Whether the stored record must be written (anything but lastSeenAt changed). */
  changed: boolean;
}

/**
 * What a scan decides for one CA certificate: the alert due now (the leaves' thresholds and rule, once each),
 * and the record to keep.
 */
export function assessAuthorityCertificate(input: {
  certificate: AuthorityCertificate;
  previous?: AuthorityCertificateRecord;
  thresholdsDays?: readonly number[];
  now: Date;
}): AuthorityCertificateAssessment {
  const { certificate, previous, now } = input;
  // Same fingerprint, same certificate: what was alerted for it stays alerted.
  const alreadyAlerted = previous?.alerted ?? [];
  const alert = pendingExpiryAlert({
    notAfter: new Date(certificate.notAfter),
    now,
    thresholdsDays: input.thresholdsDays,
    alreadyAlerted,
  });
  const record: AuthorityCertificateRecord = {
    ...certificate,
    alerted: alertedAfter(alreadyAlerted, alert),
    lastSeenAt: now.toISOString(),
  };
  const comparable = (r: AuthorityCertificateRecord) => canonical({ ...r, lastSeenAt: "" });
  const changed = !previous || comparable(previous) !== comparable(record);
  return { record, ...(alert ? { alert } : {}), changed };
}
