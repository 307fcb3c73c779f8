/**
 * Lambda entry of ACM's "ACM Certificate Approaching Expiration" EventBridge event (infra/tracking.ts):
 * ACM sends it daily per certificate, imported ones included, from 45 days before expiry. The event only
 * names the certificate; the decision is the scan's own, narrowed to that certificate (SearchCertificates
 * with its ARN), so an event and the scheduled scan can never disagree.
 *
 * - An event of another shape (not aws.acm, another detail-type, resources[0] not an ACM certificate ARN)
 *   is logged and ignored: nothing is read or written.
 * - A certificate outside ACM us-east-1 is ignored the same way: origin-mTLS certificates live there, and
 *   the rule in the service's region also sees that region's own ACM events.
 * - A certificate the service does not manage (other issuer, not a client certificate) is scanned, found
 *   unmanaged (the report shows managed 0) and ignored with a log line.
 * - Failures follow the scan's contract (functions/handlers/scan.ts): summary line, then ScanIncompleteError.
 */
import type { Context } from "aws-lambda";
import { type ScanDeps, type ScanReport, scanFleet } from "../tracking/scan-fleet.ts";
import { finishScan } from "../tracking/scan-outcome.ts";
import { oncePerColdStart } from "../wiring/cold-start.ts";
import { log as defaultLog, type LogFn, logger } from "../wiring/observability.ts";
import { buildExpiryEventDeps } from "../wiring/tracking.ts";

export const ACM_SOURCE = "aws.acm";
export const ACM_EXPIRY_DETAIL_TYPE = "ACM Certificate Approaching Expiration";
export const ACTOR = "acm-expiry-event";
/** Where CloudFront takes origin-mTLS client certificates from. */
const CERTIFICATE_REGION = "us-east-1";

const ACM_CERTIFICATE_ARN = /^arn:aws[\w-]*:acm:([a-z0-9-]+):\d{12}:certificate\/[0-9a-f-]{36}$/;

export type ParsedEvent = { certificateArn: string } | { ignored: string };

/** What the event is about, or why it is ignored. Never throws. */
export function parseAcmExpiryEvent(event: unknown): ParsedEvent {
  if (typeof event !== "object" || event === null || Array.isArray(event))
    return { ignored: "the event is not an object" };
  const e = event as Record<string, unknown>;
  if (e.source !== ACM_SOURCE) return { ignored: `source is ${JSON.stringify(e.source)}, not ${ACM_SOURCE}` };
  if (e["detail-type"] !== ACM_EXPIRY_DETAIL_TYPE)
    return { ignored: `detail-type is ${JSON.stringify(e["detail-type"])}, not ${ACM_EXPIRY_DETAIL_TYPE}` };
  const resource = Array.isArray(e.resources) ? e.resources[0] : undefined;
  const match = typeof resource === "string" ? ACM_CERTIFICATE_ARN.exec(resource) : null;
  if (!match) return { ignored: "resources[0] is not an ACM certificate ARN" };
  if (match[1] !== CERTIFICATE_REGION)
    return {
      ignored: `certificate is in ${match[1]}; origin-mTLS certificates are in ${CERTIFICATE_REGION}`,
    };
  return { certificateArn: resource as string };
}

export interface AcmExpiryHandlerOptions {
  deps: () => Promise<ScanDeps>;
  log?: LogFn;
}

export function acmExpiryHandler(options: AcmExpiryHandlerOptions) {
  const log = options.log ?? defaultLog;
  return async (event: unknown, context?: Context): Promise<ScanReport | undefined> => {
    if (context) logger.addContext(context);
    const parsed = parseAcmExpiryEvent(event);
    if ("ignored" in parsed) {
      // The reason only: an unexpected event is not echoed into the logs.
      log("WARN", "acm expiry event ignored", { reason: parsed.ignored });
      return undefined;
    }
    const deps = await options.deps();
    const report = await scanFleet(deps, { onlyArn: parsed.certificateArn, actor: ACTOR });
    if (report.managed === 0) {
      log("INFO", "acm expiry event for an unmanaged certificate ignored", {
        certificateArn: parsed.certificateArn,
        found: report.certificates > 0,
      });
    }
    return finishScan(report, { trigger: ACTOR, certificateArn: parsed.certificateArn }, log);
  };
}

export const handler = acmExpiryHandler({ deps: oncePerColdStart(() => buildExpiryEventDeps()) });
