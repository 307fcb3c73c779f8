/**
 * What the workflow tries again. A step that failed is retried with backoff (at most five attempts) unless a
 * retry cannot fix its error. That is the error's own word: every error class a step can throw carries
 * `retryable`, decided where the class is defined (refusals, validation, settings, "not found" as a decision
 * and conflicts are final; timeouts and answers that may be transient are not).
 *
 * AWS's own errors cannot carry it: the SDK marks retryable errors (`$retryable`, throttling among them) and
 * server faults (`$fault: "server"`), and of the client faults a refused permission or an invalid request is
 * final (the codes below). Anything else is tried again, as it always was: a step is idempotent, and a retry is
 * what a transient failure needs.
 *
 * The decision is taken here, on the live error, in whichever invocation the step ran. The durable runtime
 * checkpoints only the error's name and message; what it keeps of the decision is its outcome (a retry
 * scheduled, or the step failed), which a replay takes as it is.
 */
import type { RetryDecision } from "@aws/durable-execution-sdk-js";

/** AWS error codes of client faults a retry cannot fix. */
const FINAL_AWS_ERRORS = new Set([
  "AccessDeniedException",
  "ValidationException",
  "InvalidArgument",
  // SNS Publish: a message it refuses (too large, a bad attribute), a topic that is gone, a denied publish.
  "InvalidParameterException",
  "InvalidParameterValueException",
  "NotFoundException",
  "AuthorizationErrorException",
]);

export function isRetryable(error: unknown): boolean {
  if (typeof error !== "object" || error === null) return true;
  const { retryable, $retryable, $fault, name } = error as {
    retryable?: unknown;
    $retryable?: unknown;
    $fault?: unknown;
    name?: unknown;
  };
  if (typeof retryable === "boolean") return retryable;
  if ($retryable !== undefined || $fault === "server") return true;
  return !FINAL_AWS_ERRORS.has(String(name));
}

export function stepRetry(error: Error, attempt: number): RetryDecision {
  if (!isRetryable(error) || attempt >= 5) return { shouldRetry: false };
  return { shouldRetry: true, delay: { seconds: Math.min(60, 2 ** attempt) } };
}
