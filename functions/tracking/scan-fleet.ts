/**
 * The fleet scan: one SearchCertificates pass (expiry, serial, issuer of every imported client-auth
 * certificate), one ListDistributions pass (which origin presents which ARN), one inventory read; one
 * GetCertificate per certificate that names a configured CA and is not yet known by serial (which CA key
 * signed it: a CA is its key, not its name); then the pure decisions. Due certificates go to the dispatcher (duplicate triggers converge there), alerts go out
 * once per threshold, drift is reported, and only changed inventory records are written. A full scan also
 * tracks the CA certificates the service relies on (their own expiry): one GetCertificateAuthorityCertificate
 * per tracked CA.
 */

import type { ExpiryAlert } from "../core/alerts.ts";
import {
  type AuthorityCertificateRecord,
  assessAuthorityCertificate,
  authorityCertificatesOf,
  type UnreadableAuthority,
} from "../core/authority-expiry.ts";
import {
  caExpiringNotification,
  certificateNotification,
  expirySeverity,
  type Notification,
  viewerDriftNotification,
} from "../core/notifications.ts";
import { tryParseCertificate } from "../core/pem.ts";
import { type PresentedBy, presentedByHint } from "../core/presented-by.ts";
import {
  assessCertificate,
  canonical,
  type DriftFinding,
  type DriftState,
  driftKey,
  findDrift,
  type InventoryRecord,
  issuingAuthorityKey,
  type ListedCertificate,
  mayBeManaged,
  type TrackingPolicy,
  usageOf,
  withDrift,
} from "../core/tracking.ts";
import {
  assessViewerInventory,
  type ListedTrustStore,
  type ListedViewerDistribution,
  type OriginRequestPolicyHeaders,
  type StoredViewerInventory,
  type ViewerMtlsMode,
  viewerDriftKey,
} from "../core/viewer-inventory.ts";
import type { SwapTarget } from "../core/waves.ts";

/** One expiry alert of one certificate (its notAfter tells renewals under the same ARN apart). */
export interface AlertKey {
  /** The certificate's ARN; a CA certificate, which has none, is `CA#<SHA-256 fingerprint>` (caAlertId). */
  certificateArn: string;
  notAfter: string;
  thresholdDays: number;
}

/** The alert key's name of a CA certificate: it has no ARN, and its fingerprint is its identity. */
export function caAlertId(fingerprint: string): string {
  return `CA#${fingerprint}`;
}

/** What a full scan needs to track the CA certificates the service relies on (core/authority-expiry.ts). */
export interface AuthorityCertificateTracking {
  /**
   * Every Private CA the service relies on, whose certificate and chain are tracked: built by the wiring
   * (functions/wiring/tracking.ts trackedAuthorityArns), where other CAs the service relies on are added.
   */
  trackedAuthorityArns: readonly string[];
  /** GetCertificateAuthorityCertificate: the CA's certificate followed by its chain, PEM. */
  readChain(authorityArn: string): Promise<string>;
  /** The CA certificates' records, kept apart from the leaves' (inventory-store.ts). */
  records: {
    loadAll(): Promise<Map<string, AuthorityCertificateRecord>>;
    putMany(records: AuthorityCertificateRecord[]): Promise<void>;
  };
}

/**
 * What a full scan needs for the viewer mTLS inventory (core/viewer-inventory.ts): the listing pass that also
 * gives origin certificates' usage (so a full scan lists distributions once), the origin request policies of
 * passthrough behaviours, the trust stores, and where the inventory is kept.
 */
export interface ViewerMtlsTracking {
  /** One ListDistributions pass: the usage index (as indexUsage) and every distribution's viewer mTLS. */
  listFleet(): Promise<{ usage: Map<string, SwapTarget[]>; viewerMtls: ListedViewerDistribution[] }>;
  /** GetOriginRequestPolicy once per distinct id; ids naming no policy in `unreadable`. */
  readOriginRequestPolicies(ids: Iterable<string>): Promise<{
    policies: Map<string, OriginRequestPolicyHeaders>;
    unreadable: Map<string, string>;
  }>;
  /** ListTrustStores, every page. */
  listTrustStores(): Promise<ListedTrustStore[]>;
  store: {
    load(): Promise<StoredViewerInventory | undefined>;
    save(next: StoredViewerInventory, previous: StoredViewerInventory | undefined): Promise<void>;
  };
}

export interface ScanDeps {
  listCertificates(options?: { onlyArn?: string }): Promise<ListedCertificate[]>;
  /** A certificate's body, PEM (ACM GetCertificate): read only to learn which CA key signed it. */
  readCertificate(certificateArn: string): Promise<string>;
  /** Bodies one scan reads at most (default READ_BUDGET). */
  readBudget?: number;
  indexUsage(): Promise<Map<string, SwapTarget[]>>;
  inventory: {
    loadAll(): Promise<Map<string, InventoryRecord>>;
    putMany(records: InventoryRecord[]): Promise<void>;
    /** The last full scan's drift: every finding, and the keys of those already notified. */
    driftState(): Promise<DriftState>;
    saveDriftState(state: DriftState): Promise<void>;
    /** Each expiry alert is claimed before it is sent (a conditional write), and marked sent after. */
    alertClaims: {
      claim(key: AlertKey, now: Date): Promise<boolean>;
      sent(key: AlertKey, now: Date): Promise<void>;
    };
  };
  startRotation(request: {
    certificateArn: string;
    serial: string;
    reason: string;
    actor: string;
    /** This scan's listing of the distributions presenting it, when small (core/presented-by.ts). */
    presentedBy?: PresentedBy;
  }): Promise<{
    rotationId: string;
    started: boolean;
  }>;
  notify(notification: Notification): Promise<unknown>;
  /** After the decisions: keep the published trust bundle in line with the CAs in service (CA changes). */
  reconcileTrust?(
    inventory: Iterable<InventoryRecord>,
  ): Promise<{ bundleSha256: string; retiredFingerprints: string[] }>;
  /** The CA certificates a full scan tracks the expiry of; none when absent. */
  authorityCertificates?: AuthorityCertificateTracking;
  /** The viewer mTLS inventory a full scan keeps; none when absent. */
  viewerMtls?: ViewerMtlsTracking;
  /** CloudWatch embedded-metric-format line (a Lambda's stdout becomes metrics). */
  emitMetrics?(metrics: Record<string, number>): void;
  policy: TrackingPolicy;
  now(): Date;
  log?(message: string, data?: Record<string, unknown>): void;
}

export interface ScanReport {
  certificates: number;
  managed: number;
  due: number;
  rotations: Array<{ certificateArn: string; rotationId: string; started: boolean; reason: string }>;
  alerts: Array<{ certificateArn: string; thresholdDays: number; daysLeft: number }>;
  drift: DriftFinding[];
  /** Findings not seen by an earlier scan (the ones notified now). */
  newDrift: number;
  inventoryWrites: number;
  trust?: { bundleSha256: string; retiredFingerprints: string[] };
  /** Why the trust bundle was not reconciled this scan, when it was not (no CA leaves on partial knowledge). */
  trustDeferred?: string;
  /** Certificates naming a configured CA whose body is left for the next scan (READ_BUDGET): not decided now. */
  verificationsDeferred: number;
  /** The CA certificates tracked by a full scan (when the scan tracks any). */
  caCertificates?: CaCertificatesReport;
  /** The viewer mTLS inventory of a full scan (when the scan keeps one). */
  viewerMtls?: ViewerMtlsReport;
  errors: Array<{ certificateArn: string; error: string }>;
}

export interface CaCertificatesReport {
  /** CA certificates read this scan, each once (a root shared by several CAs counts once). */
  tracked: number;
  alerts: Array<{ fingerprint: string; subject: string; thresholdDays: number; daysLeft: number }>;
  /**
   * Findings: tracked CAs whose certificate could not be read (AccessDenied, not found, unparsable). Their
   * certificates are not tracked this scan; each is in `errors` too, so the scan ends failed and is seen.
   */
  unreadable: UnreadableAuthority[];
  inventoryWrites: number;
}

export interface ViewerMtlsReport {
  /** Every listed distribution by viewer mTLS mode. */
  byMode: Record<ViewerMtlsMode, number>;
  trustStores: number;
  drift: number;
  /** Findings not seen by an earlier scan (the ones notified now). */
  newDrift: number;
}

const DAY = 86_400_000;
/** Certificate bodies read at once: a first scan reads every candidate once, later scans only new serials. */
const READ_CONCURRENCY = 4;
/**
 * Certificate bodies one scan reads at most, soonest expiry first: a scan stays well inside its timeout
 * even at a GetCertificate rate of 10 per second (assumed; ACM documents no rate for it here). The rest are
 * decided by the next scans (the first scan after installing or upgrading a large fleet), never guessed.
 */
export const READ_BUDGET = 1_000;

/**
 * Which configured CA key signed each certificate that may be managed (by its listed name, EKU and
 * origin), keyed by ARN: undefined when none did. Known serials keep what the inventory recorded; the rest
 * are read and verified. A certificate whose body cannot be read is in `unread` (decided next scan).
 */
async function authorityKeysOf(
  certificates: readonly ListedCertificate[],
  inventory: ReadonlyMap<string, InventoryRecord>,
  deps: Pick<ScanDeps, "readCertificate" | "policy" | "readBudget">,
): Promise<{ keys: Map<string, string | undefined>; unread: Map<string, string>; deferred: Set<string> }> {
  const authorities = deps.policy.managedAuthorities;
  const configured = new Set(authorities.map((a) => a.key));
  const keys = new Map<string, string | undefined>();
  const unread = new Map<string, string>();
  const toRead: ListedCertificate[] = [];
  for (const certificate of certificates) {
    if (!mayBeManaged(certificate, authorities)) continue;
    const previous = inventory.get(certificate.arn);
    if (
      previous?.serial === certificate.serial &&
      previous.authorityKey &&
      configured.has(previous.authorityKey)
    )
      keys.set(certificate.arn, previous.authorityKey);
    else toRead.push(certificate);
  }
  toRead.sort((a, b) => Date.parse(a.notAfter) - Date.parse(b.notAfter));
  const deferred = new Set(toRead.splice(deps.readBudget ?? READ_BUDGET).map((c) => c.arn));
  let next = 0;
  const worker = async () => {
    while (next < toRead.length) {
      const { arn } = toRead[next++]!;
      try {
        const body = tryParseCertificate(await deps.readCertificate(arn));
        if (!body) throw new Error("ACM answered a certificate body that does not parse");
        keys.set(arn, issuingAuthorityKey(body, authorities));
      } catch (error) {
        unread.set(arn, `could not read the certificate to verify its CA: ${(error as Error).message}`);
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(READ_CONCURRENCY, toRead.length) }, worker));
  return { keys, unread, deferred };
}

/** A managed certificate's expiry alert (`certificate-expiring`). */
function expiringNotice(record: InventoryRecord, alert: ExpiryAlert): Notification {
  const { thresholdDays, daysLeft } = alert;
  return certificateNotification(
    "certificate-expiring",
    record.arn,
    `certificate expires in ${Math.max(daysLeft, 0)} days`,
    {
      thresholdDays,
      daysLeft,
      notAfter: record.notAfter,
      subject: record.subject,
      decision: record.decision,
      usage: record.usage,
    },
    expirySeverity(thresholdDays),
  );
}

/**
 * Send an expiry alert once under concurrency too: only the caller that wins the claim sends it (a scan and an
 * ACM expiry event deciding at the same moment would otherwise both send it), and marks it sent after.
 * Whether this caller sent it.
 */
async function alertOnce(
  deps: Pick<ScanDeps, "inventory" | "notify">,
  key: AlertKey,
  now: Date,
  notification: () => Notification,
): Promise<boolean> {
  if (!(await deps.inventory.alertClaims.claim(key, now))) return false;
  await deps.notify(notification());
  await deps.inventory.alertClaims.sent(key, now);
  return true;
}

/**
 * The CA certificates' own expiry: each tracked CA's chain read once (concurrently: a handful of CAs), each
 * CA certificate in them assessed once however many CAs rely on it, alerted once per threshold as leaves
 * are, and its record written after its alert went out (a failure leaves it as it was, retried next scan).
 * A CA that cannot be read is a finding and an error; the others are tracked all the same.
 */
async function trackAuthorityCertificates(
  tracking: AuthorityCertificateTracking,
  deps: Pick<ScanDeps, "inventory" | "notify" | "policy" | "log">,
  now: Date,
  errors: ScanReport["errors"],
): Promise<{ report: CaCertificatesReport; minDaysToExpiry: number }> {
  const authorityArns = [...new Set(tracking.trackedAuthorityArns)];
  const failedReads: UnreadableAuthority[] = [];
  const [stored, reads] = await Promise.all([
    tracking.records.loadAll(),
    Promise.all(
      authorityArns.map(async (arn): Promise<[string, string] | undefined> => {
        try {
          return [arn, await tracking.readChain(arn)];
        } catch (error) {
          const { name, message } = error as Error;
          failedReads.push({ authorityArn: arn, error: `${name}: ${message}` });
          return undefined;
        }
      }),
    ),
  ]);
  const { certificates, unreadable } = authorityCertificatesOf(
    new Map(reads.filter((read) => read !== undefined)),
  );
  const report: CaCertificatesReport = {
    tracked: certificates.length,
    alerts: [],
    unreadable: [...failedReads, ...unreadable].sort((a, b) => (a.authorityArn < b.authorityArn ? -1 : 1)),
    inventoryWrites: 0,
  };
  for (const { authorityArn, error } of report.unreadable) {
    const message = `could not read the CA certificate to track its expiry: ${error}`;
    errors.push({ certificateArn: authorityArn, error: message });
    deps.log?.("scan: CA certificate unreadable", { authorityArn, error });
  }
  let minDaysToExpiry = Number.POSITIVE_INFINITY;
  const changed: AuthorityCertificateRecord[] = [];
  for (const certificate of certificates) {
    const {
      record,
      alert,
      changed: recordChanged,
    } = assessAuthorityCertificate({
      certificate,
      previous: stored.get(certificate.fingerprint),
      thresholdsDays: deps.policy.thresholdsDays,
      now,
    });
    minDaysToExpiry = Math.min(minDaysToExpiry, (Date.parse(record.notAfter) - now.getTime()) / DAY);
    try {
      const key = alert && {
        certificateArn: caAlertId(record.fingerprint),
        notAfter: record.notAfter,
        thresholdDays: alert.thresholdDays,
      };
      if (alert && key && (await alertOnce(deps, key, now, () => caExpiringNotification(record, alert)))) {
        const { thresholdDays, daysLeft } = alert;
        report.alerts.push({
          fingerprint: record.fingerprint,
          subject: record.subject,
          thresholdDays,
          daysLeft,
        });
      }
      if (recordChanged) changed.push(record);
    } catch (error) {
      const message = `CA certificate ${record.subject} (${record.fingerprint}): ${(error as Error).message}`;
      errors.push({
        certificateArn: record.authorityArns[0] ?? caAlertId(record.fingerprint),
        error: message,
      });
      deps.log?.("scan: CA certificate failed", { fingerprint: record.fingerprint, error: message });
    }
  }
  await tracking.records.putMany(changed);
  report.inventoryWrites = changed.length;
  return { report, minDaysToExpiry };
}

/**
 * The viewer mTLS inventory from this scan's listing: the policies of passthrough behaviours (each once) and
 * the trust stores read, drift assessed, each new finding notified once (one not delivered is tried again
 * next scan), the inventory kept.
 */
async function trackViewerMtls(
  tracking: ViewerMtlsTracking,
  listing: readonly ListedViewerDistribution[],
  deps: Pick<ScanDeps, "notify" | "log">,
  now: Date,
  errors: ScanReport["errors"],
): Promise<ViewerMtlsReport> {
  const policyIds = listing.flatMap((d) =>
    d.mode === "passthrough" ? (d.behaviours ?? []).flatMap((b) => b.originRequestPolicyId ?? []) : [],
  );
  const [{ policies, unreadable }, trustStores, previous] = await Promise.all([
    tracking.readOriginRequestPolicies(policyIds),
    tracking.listTrustStores(),
    tracking.store.load(),
  ]);
  const inventory = assessViewerInventory({
    distributions: listing,
    policies,
    unreadablePolicies: unreadable,
    trustStores,
    now,
  });
  const reported = new Set(previous?.notified ?? []);
  const notified = new Set(inventory.drift.map(viewerDriftKey));
  let newDrift = 0;
  for (const finding of inventory.drift) {
    if (reported.has(viewerDriftKey(finding))) continue;
    newDrift += 1;
    try {
      await deps.notify(viewerDriftNotification(finding));
    } catch (error) {
      notified.delete(viewerDriftKey(finding)); // not delivered: try again next scan
      errors.push({ certificateArn: finding.resourceArn, error: (error as Error).message });
    }
  }
  await tracking.store.save({ ...inventory, notified: [...notified].sort() }, previous);
  if (inventory.drift.length > 0)
    deps.log?.("scan: viewer mTLS drift", { findings: inventory.drift.length, new: newDrift });
  return {
    byMode: inventory.byMode,
    trustStores: inventory.trustStores.length,
    drift: inventory.drift.length,
    newDrift,
  };
}

export async function scanFleet(
  deps: ScanDeps,
  options: { onlyArn?: string; actor?: string } = {},
): Promise<ScanReport> {
  const now = deps.now();
  // A full scan keeping the viewer inventory reads it from the same ListDistributions pass as the usage.
  const viewerTracking = options.onlyArn ? undefined : deps.viewerMtls;
  const listing = viewerTracking
    ? viewerTracking.listFleet()
    : deps.indexUsage().then((usage) => ({ usage, viewerMtls: undefined }));
  const [certificates, { usage: usageIndex, viewerMtls: viewerListing }, inventory] = await Promise.all([
    deps.listCertificates(options.onlyArn ? { onlyArn: options.onlyArn } : {}),
    listing,
    deps.inventory.loadAll(),
  ]);
  const report: ScanReport = {
    certificates: certificates.length,
    managed: 0,
    due: 0,
    rotations: [],
    alerts: [],
    drift: [],
    newDrift: 0,
    inventoryWrites: 0,
    verificationsDeferred: 0,
    errors: [],
  };
  const seen = new Map(inventory);
  const changed = new Map<string, InventoryRecord>();
  /** Certificates whose alert or rotation failed: their records are not written (retried next scan). */
  const failed = new Set<string>();
  let minDaysToExpiry = Number.POSITIVE_INFINITY;
  const { keys, unread, deferred } = await authorityKeysOf(certificates, inventory, deps);
  report.verificationsDeferred = deferred.size;
  if (deferred.size > 0)
    deps.log?.("scan: certificate verifications left for the next scan", { deferred: deferred.size });

  for (const certificate of certificates) {
    if (deferred.has(certificate.arn)) {
      failed.add(certificate.arn); // its stored record stays as it was
      continue;
    }
    const unreadError = unread.get(certificate.arn);
    if (unreadError) {
      // Not decided without knowing its CA: its stored record stays as it was, and the next scan tries again.
      failed.add(certificate.arn);
      report.errors.push({ certificateArn: certificate.arn, error: unreadError });
      deps.log?.("scan: certificate failed", { certificateArn: certificate.arn, error: unreadError });
      continue;
    }
    const assessment = assessCertificate({
      certificate,
      authorityKey: keys.get(certificate.arn),
      usage: usageOf(certificate.arn, usageIndex),
      previous: inventory.get(certificate.arn),
      policy: deps.policy,
      now,
    });
    const { record } = assessment;
    seen.set(record.arn, record);
    if (!record.managed) {
      if (assessment.changed) changed.set(record.arn, record);
      continue;
    }
    report.managed += 1;
    minDaysToExpiry = Math.min(minDaysToExpiry, (new Date(record.notAfter).getTime() - now.getTime()) / DAY);
    try {
      if (assessment.rotate) {
        report.due += 1;
        const presentedBy = presentedByHint(usageIndex.get(record.arn), now);
        const started = await deps.startRotation({
          certificateArn: record.arn,
          serial: record.serial,
          reason: record.decision.reason,
          actor: options.actor ?? "scan",
          ...(presentedBy ? { presentedBy } : {}),
        });
        report.rotations.push({ certificateArn: record.arn, ...started, reason: record.decision.reason });
      }
      const { alert } = assessment;
      const alertKey = alert && {
        certificateArn: record.arn,
        notAfter: record.notAfter,
        thresholdDays: alert.thresholdDays,
      };
      if (alert && alertKey && (await alertOnce(deps, alertKey, now, () => expiringNotice(record, alert)))) {
        const { thresholdDays, daysLeft } = alert;
        report.alerts.push({ certificateArn: record.arn, thresholdDays, daysLeft });
      }
      // Written after the alert went out: a crash in between re-sends it rather than losing it.
      if (assessment.changed) changed.set(record.arn, record);
    } catch (error) {
      failed.add(record.arn);
      report.errors.push({ certificateArn: record.arn, error: (error as Error).message });
      deps.log?.("scan: certificate failed", { certificateArn: record.arn, error: (error as Error).message });
    }
  }

  if (!options.onlyArn) {
    // A certificate the full listing no longer returns was deleted from ACM (a rotation retired it after
    // its grace period, or someone deleted it): it is out of service for good, and must stop keeping its
    // CA in the trust bundle.
    const listed = new Set(certificates.map((c) => c.arn));
    for (const [arn, record] of inventory) {
      if (listed.has(arn) || record.retired) continue;
      const gone = { ...record, retired: true };
      seen.set(arn, gone);
      changed.set(arn, gone);
    }
    // A certificate not decided this scan (its body left for a later scan, or unreadable) and not known from
    // an earlier one is undecided, not unmanaged: no drift about it until it is verified.
    const undecided = (arn: string) => (deferred.has(arn) || unread.has(arn)) && !seen.has(arn);
    report.drift = findDrift(new Map([...usageIndex].filter(([arn]) => !undecided(arn))), seen);
    // Each certificate's record carries the findings about it (the API shows them per certificate).
    for (const [arn, record] of seen) {
      if (failed.has(arn)) continue; // its alert must be retried: the stored record stays as it was
      const next = withDrift(record, report.drift);
      if (!next) continue;
      seen.set(arn, next);
      changed.set(arn, next);
    }
  }

  await deps.inventory.putMany([...changed.values()]);
  report.inventoryWrites = changed.size;

  if (!options.onlyArn) {
    // Each finding is notified once; one that went away and comes back is notified again.
    const previous = await deps.inventory.driftState();
    const reported = new Set(previous.notified);
    const notified = new Set(report.drift.map(driftKey));
    for (const finding of report.drift) {
      if (reported.has(driftKey(finding))) continue;
      report.newDrift += 1;
      try {
        await deps.notify(
          certificateNotification(
            "drift-found",
            finding.certificateArn,
            `drift on ${finding.distributionId}`,
            { ...finding },
          ),
        );
      } catch (error) {
        notified.delete(driftKey(finding)); // not delivered: try again next scan
        report.errors.push({ certificateArn: finding.certificateArn, error: (error as Error).message });
      }
    }
    const next: DriftState = { findings: report.drift, notified: [...notified].sort() };
    if (canonical(next) !== canonical({ ...previous, notified: [...previous.notified].sort() }))
      await deps.inventory.saveDriftState(next);
  }

  if (viewerTracking && viewerListing) {
    // Its failure (a policy or the trust stores unreadable, the store) stops nothing else of the scan.
    try {
      report.viewerMtls = await trackViewerMtls(viewerTracking, viewerListing, deps, now, report.errors);
    } catch (error) {
      report.errors.push({ certificateArn: "viewer-mtls", error: (error as Error).message });
      deps.log?.("scan: viewer mTLS inventory failed", { error: (error as Error).message });
    }
  }

  let minCaDaysToExpiry = Number.POSITIVE_INFINITY;
  if (!options.onlyArn && deps.authorityCertificates) {
    // A single certificate's decision (an ACM event) leaves the CA certificates to the full scans. Their
    // records' store failing stops neither the trust reconciliation nor the metrics.
    try {
      const tracked = await trackAuthorityCertificates(deps.authorityCertificates, deps, now, report.errors);
      report.caCertificates = tracked.report;
      minCaDaysToExpiry = tracked.minDaysToExpiry;
    } catch (error) {
      report.errors.push({ certificateArn: "ca-certificates", error: (error as Error).message });
    }
  }

  if (!options.onlyArn && deps.reconcileTrust) {
    // Which CAs are in service is known only when every managed certificate in service is known by its CA's
    // key: until then no CA may leave the bundle (a record from before CAs were known by key, or one whose
    // body could not be read, might be the last user of a CA).
    const unknown = [...seen.values()].filter(
      (r) => r.managed && !r.retired && !r.authorityKey && new Date(r.notAfter).getTime() > now.getTime(),
    );
    const unverified = new Set([...unknown.map((r) => r.arn), ...unread.keys(), ...deferred]).size;
    if (unverified > 0) {
      report.trustDeferred = `${unverified} certificate(s) naming a configured CA not yet verified against the configured CAs' keys`;
      deps.log?.("scan: trust reconciliation deferred", { unverified });
    } else
      try {
        const { bundleSha256, retiredFingerprints } = await deps.reconcileTrust(seen.values());
        report.trust = { bundleSha256, retiredFingerprints };
      } catch (error) {
        report.errors.push({ certificateArn: "trust-bundle", error: (error as Error).message });
      }
  }

  deps.emitMetrics?.({
    ManagedCertificates: report.managed,
    DueCertificates: report.due,
    RotationsStarted: report.rotations.filter((r) => r.started).length,
    ExpiryAlerts: report.alerts.length,
    DriftFindings: report.drift.length,
    VerificationsDeferred: report.verificationsDeferred,
    ...(Number.isFinite(minDaysToExpiry) ? { MinDaysToExpiry: Math.floor(minDaysToExpiry) } : {}),
    ...(report.caCertificates
      ? {
          CaCertificates: report.caCertificates.tracked,
          CaExpiryAlerts: report.caCertificates.alerts.length,
          CaCertificatesUnreadable: report.caCertificates.unreadable.length,
        }
      : {}),
    ...(Number.isFinite(minCaDaysToExpiry) ? { MinCaDaysToExpiry: Math.floor(minCaDaysToExpiry) } : {}),
    ...(report.viewerMtls
      ? {
          ViewerMtlsDistributions:
            report.viewerMtls.byMode.required +
            report.viewerMtls.byMode.optional +
            report.viewerMtls.byMode.passthrough,
          ViewerMtlsDriftFindings: report.viewerMtls.drift,
        }
      : {}),
  });
  return report;
}
