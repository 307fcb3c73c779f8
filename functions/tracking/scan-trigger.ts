/**
 * What triggered a fleet scan, and who the actor of the rotations it starts is: the scheduler, or an
 * operator through the API (POST /scan), which invokes the scan function with an ApiScanRequest. The API
 * writes that payload (functions/api/scan-request.ts) and the scan function reads it (functions/handlers/
 * scan.ts): both take its shape from here.
 */

/** The trigger (and actor) of a scheduled scan. */
export const SCHEDULED_SCAN = "scheduled-scan";
/** A scan an operator asked for through the API (POST /scan). */
export const API_SCAN = "api-scan";

/** The payload the scan function receives from the API. */
export interface ApiScanRequest {
  source: "api";
  /** IAM principal that asked. */
  actor: string;
}

const API_SOURCE: ApiScanRequest["source"] = "api";
const PRINCIPAL_ARN = /^arn:aws[\w-]*:(iam|sts)::\d{12}:\S{1,230}$/;

/**
 * The trigger and actor of the scan function's event: an ApiScanRequest names its principal (an actor that
 * is not a principal ARN is replaced); the scheduler's event carries nothing the scan needs.
 */
export function scanTriggerOf(event: unknown): { trigger: string; actor: string } {
  const e = (typeof event === "object" && event !== null ? event : {}) as Record<string, unknown>;
  if (e.source !== API_SOURCE) return { trigger: SCHEDULED_SCAN, actor: SCHEDULED_SCAN };
  const actor = typeof e.actor === "string" && PRINCIPAL_ARN.test(e.actor) ? e.actor : API_SCAN;
  return { trigger: API_SCAN, actor };
}
