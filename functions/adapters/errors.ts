/** Error classes that keep their cause, and a helper to read AWS error names across SDK versions. */
export class AdapterError extends Error {
  override name = "AdapterError";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
  }
}

export class IssuanceTimeoutError extends AdapterError {
  override name = "IssuanceTimeoutError";
}

/** The AWS error code of an SDK error (`name`), whichever SDK release threw it. */
export function awsErrorName(error: unknown): string | undefined {
  if (typeof error === "object" && error !== null && "name" in error)
    return String((error as { name: unknown }).name);
  return undefined;
}
