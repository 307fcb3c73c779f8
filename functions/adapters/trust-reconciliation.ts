/**
 * The scheduled scan's call of the trust reconciliation function: Lambda's synchronous `Invoke`
 * (`X-Amz-Invocation-Type: RequestResponse`) with the key fingerprints of the CAs in service, signed with SST's SigV4 fetch (no
 * Lambda SDK client in the scan). A function error (Lambda's `X-Amz-Function-Error` header, the error in
 * the payload) and a refused invoke are thrown: the scan records them as its "trust-bundle" failure.
 */
import { awsFetch } from "sst/aws/client";
import type { workflow } from "sst/aws/workflow";
import { errorCodeOf } from "./durable-starts.ts";

/** What the reconciliation function answers (functions/handlers/trust-reconciliation.ts). */
export interface ReconciliationAnswer {
  bundleSha256: string;
  retiredFingerprints: string[];
}

export class TrustReconciliationError extends Error {
  override name = "TrustReconciliationError";
  /** Whether a later attempt may succeed (the scan itself is retried by Lambda, not this call). */
  readonly retryable: boolean;
  constructor(message: string, retryable: boolean) {
    super(message);
    this.retryable = retryable;
  }
}

export function lambdaTrustReconciliation(functionName: string, options?: workflow.Options) {
  return async (authorityKeysInService: readonly string[]): Promise<ReconciliationAnswer> => {
    const response = await awsFetch(
      "lambda",
      `/2015-03-31/functions/${encodeURIComponent(functionName)}/invocations`,
      {
        method: "POST",
        headers: { "Content-Type": "application/json", "X-Amz-Invocation-Type": "RequestResponse" },
        body: JSON.stringify({ authorityKeysInService }),
      },
      options,
    );
    if (!response.ok) {
      const code = (await errorCodeOf(response)) ?? "UnknownError";
      throw new TrustReconciliationError(
        `Lambda refused to invoke ${functionName}: ${code} (HTTP ${response.status})`,
        response.status >= 500 || response.status === 429,
      );
    }
    const text = await response.text();
    const answer = (() => {
      try {
        return JSON.parse(text) as Record<string, unknown>;
      } catch {
        return undefined;
      }
    })();
    const failed = response.headers.get("x-amz-function-error");
    if (failed) {
      const message = typeof answer?.errorMessage === "string" ? answer.errorMessage : "no message";
      throw new TrustReconciliationError(`trust reconciliation failed (${failed}): ${message}`, true);
    }
    if (
      typeof answer?.bundleSha256 !== "string" ||
      !Array.isArray(answer.retiredFingerprints) ||
      !answer.retiredFingerprints.every((f) => typeof f === "string")
    )
      throw new TrustReconciliationError(
        "trust reconciliation answered something else than its result",
        false,
      );
    return { bundleSha256: answer.bundleSha256, retiredFingerprints: answer.retiredFingerprints as string[] };
  };
}
