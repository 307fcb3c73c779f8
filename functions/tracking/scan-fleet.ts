/**
 * The fleet scan: one SearchCertificates pass (expiry, serial, issuer of every imported client-auth
 * certificate), one ListDistributions pass (which origin presents which ARN), one inventory read; then the
 * pure decisions. Due certificates go to the dispatcher (duplicate triggers converge there), alerts go out
 * once per threshold, drift is reported, and only changed inventory records are written.
 */
import { certificateNotification, type Notification } from "../core/notifications.ts";
import {
  assessCertificate,
  canonical,
  type DriftFinding,
  type DriftState,
  driftKey,
  findDrift,
  type InventoryRecord,
  type ListedCertificate,
  type TrackingPolicy,
  usageOf,
  withDrift,
} from "../core/tracking.ts";
import type { SwapTarget } from "../core/waves.ts";

/** One expiry alert of one certificate (its notAfter tells renewals under the same ARN apart). */
export interface AlertKey {
  certificateArn: string;
  notAfter: string;
  thresholdDays: number;
}

export interface ScanDeps {
  listCertificates(options?: { onlyArn?: string }): Promise<ListedCertificate[]>;
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
  startRotation(request: { certificateArn: string; serial: string; reason: string; actor: string }): Promise<{
    rotationId: string;
    started: boolean;
  }>;
  notify(notification: Notification): Promise<unknown>;
  /** After the decisions: keep the published trust bundle in line with the CAs in service (CA changes). */
  reconcileTrust?(
    inventory: Iterable<InventoryRecord>,
  ): Promise<{ bundleSha256: string; retiredFingerprints: string[] }>;
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
  errors: Array<{ certificateArn: string; error: string }>;
}

const DAY = 86_400_000;

export async function scanFleet(
  deps: ScanDeps,
  options: { onlyArn?: string; actor?: string } = {},
): Promise<ScanReport> {
  const now = deps.now();
  const [certificates, usageIndex, inventory] = await Promise.all([
    deps.listCertificates(options.onlyArn ? { onlyArn: options.onlyArn } : {}),
    deps.indexUsage(),
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
    errors: [],
  };
  const seen = new Map(inventory);
  const changed = new Map<string, InventoryRecord>();
  /** Certificates whose alert or rotation failed: their records are not written (retried next scan). */
  const failed = new Set<string>();
  let minDaysToExpiry = Number.POSITIVE_INFINITY;

  for (const certificate of certificates) {
    const assessment = assessCertificate({
      certificate,
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
        const started = await deps.startRotation({
          certificateArn: record.arn,
          serial: record.serial,
          reason: record.decision.reason,
          actor: options.actor ?? "scan",
        });
        report.rotations.push({ certificateArn: record.arn, ...started, reason: record.decision.reason });
      }
      const alertKey = assessment.alert
        ? {
            certificateArn: record.arn,
            notAfter: record.notAfter,
            thresholdDays: assessment.alert.thresholdDays,
          }
        : undefined;
      // Once per threshold under concurrency too: only the caller that wins the claim sends the alert (a
      // scan and an ACM expiry event deciding at the same moment would otherwise both send it).
      if (assessment.alert && alertKey && (await deps.inventory.alertClaims.claim(alertKey, now))) {
        const { thresholdDays, daysLeft } = assessment.alert;
        await deps.notify(
          certificateNotification(
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
            thresholdDays <= 7 ? "critical" : "warning",
          ),
        );
        await deps.inventory.alertClaims.sent(alertKey, now);
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
    report.drift = findDrift(usageIndex, seen);
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

  if (!options.onlyArn && deps.reconcileTrust) {
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
    ...(Number.isFinite(minDaysToExpiry) ? { MinDaysToExpiry: Math.floor(minDaysToExpiry) } : {}),
  });
  return report;
}
