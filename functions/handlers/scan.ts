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
import { finishScan } from "../tracking/scan-outcome.ts";
import { scanTriggerOf } from "../tracking/scan-trigger.ts";
import { oncePerColdStart } from "../wiring/cold-start.ts";
import { type LogFn, logger } from "../wiring/observability.ts";
import { buildScanDeps } from "../wiring/scan.ts";

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

export { finishScan, ScanIncompleteError, scanSummary } from "../tracking/scan-outcome.ts";
