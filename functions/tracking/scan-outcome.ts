/**
 * How a scan ends, for both tracking functions (the scheduled scan and the ACM expiry event): one summary
 * line of counts, then ScanIncompleteError when any certificate could not be handled (see
 * functions/handlers/scan.ts for the failure contract).
 */
import { log as defaultLog, type LogFn } from "../wiring/observability.ts";
import type { ScanReport } from "./scan-fleet.ts";

/** Some certificates could not be handled; the rest of the fleet was. */
export class ScanIncompleteError extends Error {
  override name = "ScanIncompleteError";
  readonly report: ScanReport;
  constructor(trigger: string, report: ScanReport) {
    const shown = report.errors.slice(0, 5).map((e) => `${e.certificateArn}: ${e.error}`);
    const more =
      report.errors.length > shown.length ? `; and ${report.errors.length - shown.length} more` : "";
    super(
      `${trigger}: ${report.errors.length} failure(s) after scanning the fleet: ${shown.join("; ")}${more}`,
    );
    this.report = report;
  }
}

/** The report reduced to counts (what the summary line logs). */
export function scanSummary(report: ScanReport) {
  return {
    certificates: report.certificates,
    managed: report.managed,
    due: report.due,
    rotationsStarted: report.rotations.filter((r) => r.started).length,
    rotationsConverged: report.rotations.filter((r) => !r.started).length,
    alerts: report.alerts.length,
    drift: report.drift.length,
    newDrift: report.newDrift,
    inventoryWrites: report.inventoryWrites,
    ...(report.caCertificates
      ? {
          caCertificates: report.caCertificates.tracked,
          caAlerts: report.caCertificates.alerts.length,
          caUnreadable: report.caCertificates.unreadable.length,
          caInventoryWrites: report.caCertificates.inventoryWrites,
        }
      : {}),
    ...(report.viewerMtls
      ? { viewerMtlsDrift: report.viewerMtls.drift, viewerMtlsNewDrift: report.viewerMtls.newDrift }
      : {}),
    errors: report.errors.length,
  };
}

/**
 * Log the summary line, then throw ScanIncompleteError if anything failed. `context` adds what triggered the
 * scan (and, for an event, the certificate it was about).
 */
export function finishScan(
  report: ScanReport,
  context: { trigger: string; certificateArn?: string },
  log: LogFn = defaultLog,
): ScanReport {
  const failed = report.errors.length > 0;
  log(failed ? "ERROR" : "INFO", failed ? "scan finished with failures" : "scan finished", {
    ...context,
    ...scanSummary(report),
  });
  if (failed) throw new ScanIncompleteError(context.trigger, report);
  return report;
}
