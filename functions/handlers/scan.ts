/**
 * Lambda entry of the scheduled fleet scan (sst.aws.CronV2 in infra/tracking.ts): scan every certificate,
 * log one summary line, answer the report.
 *
 * Failure contract: one certificate failing never stops the others (scanFleet collects per-certificate
 * errors and carries on). Only after the whole fleet was scanned does the invocation throw
 * ScanIncompleteError when any failed, so that failures are seen: EventBridge Scheduler invokes the
 * function asynchronously, Lambda retries a failed invocation (harmless: the scan is idempotent — rotations
 * converge on one execution per certificate generation, alerts go out once per threshold, only changed
 * inventory is written) and then hands it to the dead-letter queue; the function's Errors metric counts it.
 * An error before the fleet could be read (listing, inventory, configuration) propagates the same way.
 *
 * The summary line has counts only: no subjects, serials, key material or error texts (those are in the
 * per-certificate log lines and the thrown error, which name ARNs and AWS error messages, nothing more).
 */
import type { Context } from "aws-lambda";
import { type ScanDeps, type ScanReport, scanFleet } from "../tracking/scan-fleet.ts";
import { scanTriggerOf } from "../tracking/scan-trigger.ts";
import { oncePerColdStart } from "../wiring/cold-start.ts";
import { log as defaultLog, type LogFn, logger } from "../wiring/observability.ts";
import { buildScanDeps } from "../wiring/tracking.ts";

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

export interface ScanHandlerOptions {
  /** The scan's dependencies; built once per cold start in production. */
  deps: () => Promise<ScanDeps>;
  log?: LogFn;
}

/** The handler over the given dependencies. */
export function scanHandler(options: ScanHandlerOptions) {
  return async (event?: unknown, context?: Context): Promise<ScanReport> => {
    if (context) logger.addContext(context);
    const deps = await options.deps();
    const { trigger, actor } = scanTriggerOf(event);
    const report = await scanFleet(deps, { actor });
    return finishScan(report, { trigger }, options.log);
  };
}

export const handler = scanHandler({ deps: oncePerColdStart(() => buildScanDeps()) });
