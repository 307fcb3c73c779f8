/**
 * Durable callbacks in Lambda: an operator's decision (rollback, approve) delivered to the callback a
 * rotation waits on, with SendDurableExecutionCallbackSuccess. The result is the payload the workflow's
 * control point reads (a JSON ControlMessage).
 *
 * Lambda answers CallbackTimeoutException ("expired or already closed") or ResourceNotFoundException for a
 * callback that is not open any more; both are reported as CallbackClosedError, so the API answers 409 and
 * not 500 when a window closed between reading the control point and sending.
 */
import { type LambdaClient, SendDurableExecutionCallbackSuccessCommand } from "@aws-sdk/client-lambda";
import { CallbackClosedError, type CallbackSender } from "../dispatch/control-rotation.ts";
import { awsErrorName } from "./errors.ts";

/** Lambda's error codes for a callback id that is no longer open. */
export const CLOSED_CALLBACK_ERRORS: ReadonlySet<string> = new Set([
  "CallbackTimeoutException",
  "ResourceNotFoundException",
]);

export function lambdaCallbackSender(client: Pick<LambdaClient, "send">): CallbackSender {
  return {
    async succeed(callbackId, result) {
      try {
        await client.send(
          new SendDurableExecutionCallbackSuccessCommand({
            CallbackId: callbackId,
            Result: new TextEncoder().encode(result),
          }),
        );
      } catch (error) {
        const name = awsErrorName(error);
        if (name !== undefined && CLOSED_CALLBACK_ERRORS.has(name)) {
          throw new CallbackClosedError(`callback is no longer open (${name})`, { cause: error });
        }
        throw error;
      }
    },
  };
}
