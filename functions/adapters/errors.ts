/** Error classes that keep their cause, and a helper to read AWS error names across SDK versions. */
export class AdapterError extends Error {
  override name = "AdapterError";
  /**
   * Whether the same call could succeed later (the workflow retries its step). An answer this code could not
   * use may be transient: retryable unless the thrower or the subclass says otherwise.
   */
  readonly retryable: boolean;
  constructor(message: string, options?: { cause?: unknown; retryable?: boolean }) {
    super(message, options);
    this.retryable = options?.retryable ?? true;
  }
}

/** The Private CA did not issue in time: it may later. */
export class IssuanceTimeoutError extends AdapterError {
  override name = "IssuanceTimeoutError";
  override readonly retryable = true;
}

/**
 * ACM refused an ImportCertificate for the account's rate (ThrottlingException): nothing was imported. The
 * workflow takes a fresh slot of the account's pacer for the next attempt instead of retrying at once, which
 * would land in another rotation's slot (functions/workflow/phases/issue.ts).
 */
export class ImportThrottledError extends AdapterError {
  override name = "ImportThrottledError";
  override readonly retryable = true;
}

/**
 * A step's result is over what the durable runtime checkpoints (256 KB, less an envelope): the runtime would
 * refuse it and a retry produces the same. Thrown before the checkpoint (functions/workflow/steps.ts).
 */
export class StepResultTooLargeError extends AdapterError {
  override name = "StepResultTooLargeError";
  override readonly retryable = false;
}

/** The AWS error code of an SDK error (`name`), whichever SDK release threw it. */
export function awsErrorName(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "name" in error)
    return String((error as { name: unknown }).name);
  return undefined;
}
