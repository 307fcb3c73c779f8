/**
 * A CallbackSender over the local durable runner (`@aws/durable-execution-sdk-js-testing`), for tests and
 * the local sandbox: delivers a decision to a callback by its id, as SendDurableExecutionCallbackSuccess
 * does in Lambda, to whichever local execution waits on it.
 *
 * Every LocalDurableTestRunner of the process shares one checkpoint server (started by
 * `LocalDurableTestRunner.setupTestEnvironment()`), which owns every callback; the runner reaches it through
 * its durable API (the one its operations' `sendCallbackSuccess` uses), so a callback id alone is enough —
 * no runner or operation name is needed, as in Lambda. That API is the runner's internal
 * `createDurableApi()`; this module checks it exists and fails with a clear error if a release removed it.
 *
 * Imports nothing from a test framework: the sandbox imports it as it is.
 */
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { CallbackClosedError, type CallbackSender } from "./control-rotation.ts";

/** The part of the runner's durable API used here (SendDurableExecutionCallbackSuccess's request shape). */
interface LocalDurableApi {
  sendCallbackSuccess(request: { CallbackId: string; Result?: Uint8Array }): Promise<unknown>;
}

/** The checkpoint server's answer for a callback id no execution (any more) has. */
const UNKNOWN_CALLBACK = /execution not found|could not find operation/i;

/**
 * Callback ids already answered, process-wide like the checkpoint server. The local server accepts a
 * second answer to a completed callback silently; Lambda refuses it, and so does this sender.
 */
const answered = new Set<string>();

export function localCallbackSender(
  runner: typeof LocalDurableTestRunner = LocalDurableTestRunner,
): CallbackSender {
  const factory = (runner as unknown as { createDurableApi?: () => LocalDurableApi }).createDurableApi;
  if (typeof factory !== "function") {
    throw new Error(
      "this release of @aws/durable-execution-sdk-js-testing has no LocalDurableTestRunner.createDurableApi; " +
        "the local callback sender must be adapted to it",
    );
  }
  const api = factory.call(runner);
  return {
    async succeed(callbackId, result) {
      if (answered.has(callbackId))
        throw new CallbackClosedError("callback is no longer open: already answered");
      try {
        await api.sendCallbackSuccess({ CallbackId: callbackId, Result: Buffer.from(result, "utf8") });
        answered.add(callbackId);
      } catch (error) {
        if (UNKNOWN_CALLBACK.test(String((error as Error)?.message ?? error))) {
          throw new CallbackClosedError(`callback is no longer open: ${(error as Error).message}`, {
            cause: error,
          });
        }
        throw error;
      }
    },
  };
}
