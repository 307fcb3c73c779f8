/**
 * Expiry tracking, pure: which certificates are managed, what a scan decides for each (rotate? alert?),
 * and where distributions drifted. Inputs are what the listings return; no AWS, clock injected.
 *
 * A certificate is MANAGED when the key of one of the configured CAs (the Private CA the service issues
 * from, and any CA it is migrating away from) signed it, it has the clientAuth EKU, and ACM imported it
 * (us-east-1): managementOf is that rule, the only one, for the scan and for POST /rotations alike.
 *
 * A CA is its key, not its name: a CA re-keyed under the same subject (the usual answer to a compromised CA
 * key) is another CA, with its own place in the trust bundle and its own retirement. Names only narrow the
 * search: SearchCertificates gives every certificate's issuer name for free, and only a certificate that
 * names a configured CA is read (GetCertificate) and verified, once per serial (the inventory keeps the key
 * that signed it, `authorityKey`).
 */
import type { X509Certificate } from "node:crypto";
import { alertedAfter, type ExpiryAlert, pendingExpiryAlert } from "./alerts.ts";
import type { CertificateUsage } from "./certificate.ts";
import { keyFingerprintOf } from "./pem.ts";
import { decideRenewal, type RenewalReason, type RenewBefore } from "./renewal.ts";
import { CLIENT_AUTH_OID, signedBy } from "./validation.ts";
import type { SwapTarget } from "./waves.ts";

/**
 * How issuers are named for matching: common name and organization only, in that order. The listing gives
 * them as structured attributes; a CA certificate's subject is reduced the same way.
 */
export function issuerKey(name: { commonName?: string; organization?: string }): string {
  return [name.commonName && `CN=${name.commonName}`, name.organization && `O=${name.organization}`]
    .filter(Boolean)
    .join(", ");
}

/** issuerKey of a certificate subject as Node prints it ("CN=a\nO=b"). */
export function issuerKeyOfSubject(subject: string): string {
  const field = (key: string) =>
    subject
      .split("\n")
      .find((line) => line.startsWith(`${key}=`))
      ?.slice(key.length + 1);
  return issuerKey({ commonName: field("CN"), organization: field("O") });
}

/** A configured CA as tracking knows it: its name (to narrow the search) and its key (its identity). */
export interface ManagedAuthority {
  /** issuerKey of the CA certificate's subject: what the certificates it issued name as issuer. */
  issuer: string;
  /** keyFingerprintOf the CA certificate: SHA-256 of its public key. */
  key: string;
  /** The CA's own certificate (the first of its chain): certificates it issued verify with its key. */
  certificate: X509Certificate;
}

/** The CA a configured CA certificate stands for. */
export function managedAuthorityOf(certificate: X509Certificate): ManagedAuthority {
  return { issuer: issuerKeyOfSubject(certificate.subject), key: keyFingerprintOf(certificate), certificate };
}

/**
 * The key fingerprint of the configured CA whose key signed `certificate` (it names that CA as issuer and
 * its signature verifies with the CA's public key), or undefined when none did: a certificate that merely
 * names a configured CA, or comes from a CA re-keyed away from, is not that CA's.
 */
export function issuingAuthorityKey(
  certificate: X509Certificate,
  authorities: readonly ManagedAuthority[],
): string | undefined {
  return authorities.find((a) => signedBy(certificate, a.certificate))?.key;
}

/** Whether a listed certificate could be managed, before its body is read: the facts listing gives. */
export function mayBeManaged(
  certificate: Pick<ListedCertificate, "issuer" | "clientAuth" | "imported">,
  authorities: readonly Pick<ManagedAuthority, "issuer">[],
): boolean {
  return (
    certificate.clientAuth && certificate.imported && authorities.some((a) => a.issuer === certificate.issuer)
  );
}

/** Why a certificate is not managed; checked in this order, the first that applies is the reason. */
export const NotManagedReason = {
  /** No configured CA issued it: no configured CA's key signed it (whatever issuer name it carries). */
  OtherIssuer: "OtherIssuer",
  /** It has no clientAuth extended key usage: not a certificate CloudFront presents to origins. */
  NotClientAuth: "NotClientAuth",
  /** ACM did not import it (ACM issued it itself): nothing the service put there. */
  NotImported: "NotImported",
} as const;
export type NotManagedReason = (typeof NotManagedReason)[keyof typeof NotManagedReason];

/** What decides whether a certificate is managed. */
export interface ManagementFacts {
  /** The key fingerprint of the configured CA whose key signed it (issuingAuthorityKey); none: undefined. */
  authorityKey: string | undefined;
  /** Whether it has the clientAuth extended key usage. */
  clientAuth: boolean;
  /**
   * Whether ACM imported it; undefined when the caller cannot know: the certificate itself does not say
   * (POST /rotations reads only its body from ACM), ACM's listing does.
   */
  imported?: boolean;
}

export type Management = { managed: true } | { managed: false; reason: NotManagedReason };

/**
 * Whether the service manages a certificate, and may rotate it, alert on it and keep its CA trusted: the
 * one definition. `authorities` are the configured CAs (by key).
 */
export function managementOf(
  facts: ManagementFacts,
  authorities: readonly Pick<ManagedAuthority, "key">[],
): Management {
  if (facts.authorityKey === undefined || !authorities.some((a) => a.key === facts.authorityKey))
    return { managed: false, reason: NotManagedReason.OtherIssuer };
  if (!facts.clientAuth) return { managed: false, reason: NotManagedReason.NotClientAuth };
  if (facts.imported === false) return { managed: false, reason: NotManagedReason.NotImported };
  return { managed: true };
}

/** The facts managementOf decides on, read off the certificate (whether ACM imported it is not there). */
export function managementFactsOf(
  certificate: X509Certificate,
  authorities: readonly ManagedAuthority[],
): ManagementFacts {
  return {
    authorityKey: issuingAuthorityKey(certificate, authorities),
    clientAuth: (certificate.keyUsage ?? []).includes(CLIENT_AUTH_OID),
  };
}

/** One certificate as the listing describes it. */
export interface ListedCertificate {
  arn: string;
  serial: string;
  subject: string;
  /** Issuer common name (and organization) as the listing gives it. */
  issuer: string;
  keyAlgorithm: string;
  notBefore: string;
  notAfter: string;
  imported: boolean;
  clientAuth: boolean;
}

export interface TrackingPolicy {
  /** The configured CAs: certificates their keys signed are managed. */
  managedAuthorities: ManagedAuthority[];
  renewBefore?: RenewBefore;
  thresholdsDays?: readonly number[];
}

/** What the inventory keeps per certificate between scans. */
export interface InventoryRecord {
  arn: string;
  serial: string;
  subject: string;
  issuer: string;
  keyAlgorithm: string;
  notBefore: string;
  notAfter: string;
  managed: boolean;
  /**
   * The key fingerprint (SHA-256 of the public key) of the configured CA whose key signed this certificate:
   * the CA it keeps in the trust bundle. Set on managed certificates; records written before CAs were known
   * by their keys have none, and are verified again by the next scan.
   */
  authorityKey?: string;
  usage: CertificateUsage[];
  decision: { reason: RenewalReason; message: string; renewAt?: string };
  /** Thresholds (days) already alerted for this certificate. */
  alerted: number[];
  /** Set when a rotation replaced this certificate: distributions must not reference it any more. */
  retired?: boolean;
  /** Distributions presenting this certificate where they should not (the last full scan's findings). */
  drift?: RecordedDrift[];
  lastSeenAt: string;
}

/** A drift finding as the certificate's own inventory record keeps it. */
export type RecordedDrift = Omit<DriftFinding, "certificateArn">;

export interface Assessment {
  record: InventoryRecord;
  /** Start (or converge on) a rotation. */
  rotate: boolean;
  alert?: ExpiryAlert;
  /** Whether the stored record must be written (anything but lastSeenAt changed). */
  changed: boolean;
}

export function usageOf(arn: string, index: ReadonlyMap<string, SwapTarget[]>): CertificateUsage[] {
  return (index.get(arn) ?? [])
    .flatMap((t) => t.originIds.map((originId) => ({ distributionId: t.distributionId, originId })))
    .sort((a, b) => (a.distributionId + a.originId < b.distributionId + b.originId ? -1 : 1));
}

export function assessCertificate(input: {
  certificate: ListedCertificate;
  /** issuingAuthorityKey of its body; undefined when no configured CA signed it (or it was not read). */
  authorityKey: string | undefined;
  usage: CertificateUsage[];
  previous?: InventoryRecord;
  policy: TrackingPolicy;
  now: Date;
}): Assessment {
  const { certificate, previous, policy, now } = input;
  const { managed } = managementOf(
    { ...certificate, authorityKey: input.authorityKey },
    policy.managedAuthorities,
  );
  const decision = decideRenewal({
    certificate: {
      arn: certificate.arn,
      keyAlgorithm: certificate.keyAlgorithm,
      notBefore: new Date(certificate.notBefore),
      notAfter: new Date(certificate.notAfter),
      managed,
    },
    now,
    renewBefore: policy.renewBefore,
  });
  // A certificate that was re-imported under the same ARN starts its alerts afresh.
  const sameGeneration = previous?.serial === certificate.serial;
  const alreadyAlerted = sameGeneration ? previous.alerted : [];
  const alert = managed
    ? pendingExpiryAlert({
        notAfter: new Date(certificate.notAfter),
        now,
        thresholdsDays: policy.thresholdsDays,
        alreadyAlerted,
      })
    : undefined;
  const alerted = alertedAfter(alreadyAlerted, alert);
  const record: InventoryRecord = {
    arn: certificate.arn,
    serial: certificate.serial,
    subject: certificate.subject,
    issuer: certificate.issuer,
    keyAlgorithm: certificate.keyAlgorithm,
    notBefore: certificate.notBefore,
    notAfter: certificate.notAfter,
    managed,
    ...(managed && input.authorityKey ? { authorityKey: input.authorityKey } : {}),
    usage: input.usage,
    decision: {
      reason: decision.reason,
      message: decision.message,
      ...(decision.renewAt ? { renewAt: decision.renewAt.toISOString() } : {}),
    },
    alerted,
    ...(previous?.retired && sameGeneration ? { retired: true } : {}),
    // Drift is decided by full scans (withDrift); a single-certificate decision keeps what they found.
    ...(previous?.drift?.length && sameGeneration ? { drift: previous.drift } : {}),
    lastSeenAt: now.toISOString(),
  };
  // The decision's message has relative times ("expires in 19 days"): it alone is no reason to write.
  const comparable = (r: InventoryRecord) =>
    canonical({ ...r, lastSeenAt: "", decision: { ...r.decision, message: "" } });
  const changed = !previous || comparable(previous) !== comparable(record);
  // A retired certificate is never rotated again: its replacement is.
  const rotate = decision.rotate && !record.retired && record.usage.length > 0;
  return { record, rotate, ...(alert ? { alert } : {}), changed };
}

export const DriftKind = {
  /** A distribution presents a certificate the service does not manage (unknown issuer, not in ACM). */
  UnmanagedCertificate: "unmanaged-certificate",
  /** A distribution presents a certificate a rotation already replaced. */
  RetiredCertificate: "retired-certificate",
} as const;
export type DriftKind = (typeof DriftKind)[keyof typeof DriftKind];

export interface DriftFinding {
  kind: DriftKind;
  distributionId: string;
  originId: string;
  certificateArn: string;
  detail: string;
}

/** The last full scan's drift, kept between scans. */
export interface DriftState {
  findings: DriftFinding[];
  /** driftKey of each finding already notified. */
  notified: string[];
}

/**
 * `record` with `findings` (those about its ARN) as its drift, or undefined when that changes nothing.
 * No findings removes the field, so a record without drift looks as it always did.
 */
export function withDrift(
  record: InventoryRecord,
  findings: readonly DriftFinding[],
): InventoryRecord | undefined {
  const drift: RecordedDrift[] = findings
    .filter((f) => f.certificateArn === record.arn)
    .map(({ certificateArn: _, ...rest }) => rest);
  if (canonical(drift) === canonical(record.drift ?? [])) return undefined;
  const { drift: _previous, ...rest } = record;
  return drift.length > 0 ? { ...rest, drift } : rest;
}

/** Identity of a finding, to notify each one once. */
export function driftKey(finding: DriftFinding): string {
  return `${finding.kind}|${finding.distributionId}|${finding.originId}|${finding.certificateArn}`;
}

/** Distributions that reference an ARN the service did not put there, or a retired one. */
export function findDrift(
  usageIndex: ReadonlyMap<string, SwapTarget[]>,
  inventory: ReadonlyMap<string, Pick<InventoryRecord, "managed" | "retired" | "issuer">>,
): DriftFinding[] {
  const findings: DriftFinding[] = [];
  for (const [arn, targets] of [...usageIndex].sort(([a], [b]) => (a < b ? -1 : 1))) {
    const known = inventory.get(arn);
    for (const usage of usageOf(arn, new Map([[arn, targets]]))) {
      if (!known?.managed) {
        findings.push({
          kind: DriftKind.UnmanagedCertificate,
          ...usage,
          certificateArn: arn,
          detail: known
            ? `presents ${arn}, issued by ${known.issuer}, which is not a managed CA`
            : `presents ${arn}, which is not a managed client certificate in ACM us-east-1`,
        });
      } else if (known.retired) {
        findings.push({
          kind: DriftKind.RetiredCertificate,
          ...usage,
          certificateArn: arn,
          detail: `presents ${arn}, which a rotation already replaced`,
        });
      }
    }
  }
  return findings;
}

/** JSON with object keys sorted: records read back from a store compare equal whatever their key order. */
export function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([a], [b]) => (a < b ? -1 : 1)))
      : v,
  );
}

/**
 * The key fingerprints of the CAs that signed managed certificates in service: all reconciliation needs to
 * know of the inventory (a handful of keys, whatever the fleet's size).
 */
export function authorityKeysInService(inventory: Iterable<InventoryRecord>, now: Date): string[] {
  const inService = new Set<string>();
  for (const record of inventory) {
    if (
      record.managed &&
      record.authorityKey &&
      !record.retired &&
      new Date(record.notAfter).getTime() > now.getTime()
    )
      inService.add(record.authorityKey);
  }
  return [...inService].sort();
}
