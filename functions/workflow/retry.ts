/** What the workflow tries again: a step that failed is retried with backoff unless a retry cannot fix it. */
import type { RetryDecision } from "@aws/durable-execution-sdk-js";

/** Errors a retry cannot fix. */
const PERMANENT_ERRORS = new Set([
  "CertificateValidationError",
  "IssuanceError",
  "SettingsError",
  "TrustBundleError",
  "UnsafeUpdateError",
  "PolicyError",
  "ReplacementKeyError",
  "AccessDeniedException",
  "ValidationException",
  "InvalidArgument",
]);

export function stepRetry(error: Error, attempt: number): RetryDecision {
  if (PERMANENT_ERRORS.has(error.name) || attempt >= 5) return { shouldRetry: false };
  return { shouldRetry: true, delay: { seconds: Math.min(60, 2 ** attempt) } };
}
