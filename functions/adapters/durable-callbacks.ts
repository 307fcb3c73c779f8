/**
 * Durable callbacks in Lambda: an operator's decision (rollback, approve) delivered to the callback a
 * rotation waits on, with SendDurableExecutionCallbackSuccess (POST
 * /2025-12-01/durable-execution-callbacks/{CallbackId}/succeed, the decision as the Result payload). The
 * result is the payload the workflow's control point reads (a JSON ControlMessage). Signed with SST's SigV4
 * fetch, as durable starts are (durable-starts.ts): the routes that answer callbacks carry no Lambda client.
 *
 * Lambda answers CallbackTimeoutException ("expired or already closed") or ResourceNotFoundException for a
 * callback that is not open any more; both are reported as CallbackClosedError, so the API answers 409 and
 * not 500 when a window closed between reading the control point and sending.
 */
import { awsFetch } from "sst/aws/client";
import type { workflow } from "sst/aws/workflow";
import { CallbackClosedError, type CallbackSender } from "../dispatch/control-rotation.ts";
import { errorCodeOf } from "./durable-starts.ts";

/** Lambda's error codes for a callback id that is no longer open. */
export const CLOSED_CALLBACK_ERRORS: ReadonlySet<string> = new Set([
  "CallbackTimeoutException",
  "ResourceNotFoundException",
]);

/** Lambda refused a callback answer; `name` is its error code. */
export class CallbackAnswerError extends Error {
  readonly status: number;
  /** A refusal (4xx) is final; a server error or throttling may pass. */
  readonly retryable: boolean;
  constructor(code: string, status: number) {
    super(`Lambda refused the callback answer: ${code} (HTTP ${status})`);
    this.name = code;
    this.status = status;
    this.retryable = status >= 500 || status === 429;
  }
}

export function lambdaCallbackSender(options?: workflow.Options): CallbackSender {
  return {
    async succeed(callbackId, result) {
      const response = await awsFetch(
        "lambda",
        `/2025-12-01/durable-execution-callbacks/${encodeURIComponent(callbackId)}/succeed`,
        { method: "POST", headers: { "Content-Type": "application/octet-stream" }, body: result },
        options,
      );
      if (response.ok) return;
      const code = (await errorCodeOf(response)) ?? "UnknownError";
      const error = new CallbackAnswerError(code, response.status);
      if (CLOSED_CALLBACK_ERRORS.has(code))
        throw new CallbackClosedError(`callback is no longer open (${code})`, { cause: error });
      throw error;
    },
  };
}
