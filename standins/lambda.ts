/**
 * Model checks for the local Lambda durable-execution doubles (the in-process starter and callback sender of
 * functions/dispatch, used by tests and the sandbox): they take no HTTP request, so each call is checked in
 * model form against the Lambda operation it stands for, exactly as the wire stand-ins are:
 * - starting a rotation = `Invoke` with `InvocationType: Event`, `DurableExecutionName` (1..64 characters of
 *   [a-zA-Z0-9-_]) and the payload;
 * - an operator's decision = `SendDurableExecutionCallbackSuccess` (`CallbackId` base64, `Result` <= 1 MiB).
 * A call Lambda's model would refuse is refused with Lambda's ValidationException and counted.
 */
import type { CallbackSender } from "../functions/dispatch/control-rotation.ts";
import type { LocalWorkflowStarter } from "./durable.ts";
import { type ServiceModelCheck, serviceCheck } from "./model/checks.ts";

let check: ServiceModelCheck | undefined;
const lambda = () => {
  check ??= serviceCheck("lambda");
  return check;
};

/** The workflow function's name in the local doubles' Invoke calls (an SST-style function name). */
export const LOCAL_WORKFLOW_FUNCTION = "mtls-rotator-local-RotationWorkflow";

/** A local starter whose every start is checked as Lambda's Invoke of a durable execution. */
export function modelCheckedStarter(
  starter: LocalWorkflowStarter,
  functionName = LOCAL_WORKFLOW_FUNCTION,
): LocalWorkflowStarter {
  return {
    ...starter,
    async start(name, payload) {
      lambda().checkInput("Invoke", {
        FunctionName: functionName,
        InvocationType: "Event",
        DurableExecutionName: name,
        Payload: new TextEncoder().encode(JSON.stringify(payload)),
      });
      return starter.start(name, payload);
    },
    async status(name) {
      lambda().checkInput("ListDurableExecutionsByFunction", {
        FunctionName: functionName,
        Qualifier: "1",
        DurableExecutionName: name,
      });
      return starter.status?.(name);
    },
    execution: (name) => starter.execution(name),
    executions: () => starter.executions(),
  };
}

/** A callback sender whose every answer is checked as Lambda's SendDurableExecutionCallbackSuccess. */
export function modelCheckedCallbackSender(sender: CallbackSender): CallbackSender {
  return {
    async succeed(callbackId, result) {
      lambda().checkInput("SendDurableExecutionCallbackSuccess", {
        CallbackId: callbackId,
        Result: new TextEncoder().encode(result),
      });
      return sender.succeed(callbackId, result);
    },
  };
}
