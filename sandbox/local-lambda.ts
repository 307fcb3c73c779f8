/**
 * The durable-execution side of Lambda on this machine, for the sandbox:
 * - {@link localWorkflowSdk}: SST's `workflow.start` (an asynchronous durable Invoke with an execution name)
 *   answered by an in-process starter over `LocalDurableTestRunner`: the first start of a name runs the real
 *   workflow handler, a second start of that name is refused with Lambda's
 *   DurableExecutionAlreadyStartedException, exactly what the deployed dispatcher (sstWorkflowStarter) sees.
 * (The CallbackSender for rollback and approval is functions/dispatch/local-callbacks.ts.)
 *
 * The local runner needs its environment (`LocalDurableTestRunner.setupTestEnvironment`) for as long as
 * executions run; the sandbox sets it up with real timers (no time skipping: that would fake Date for the
 * whole process while TLS checks certificate validity against the real clock).
 */
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { workflow } from "sst/aws/workflow";
import {
  ALREADY_STARTED,
  type LocalWorkflowStarter,
  localWorkflowStarter,
  type WorkflowSdk,
} from "../functions/dispatch/start-rotation.ts";
import type { RotationInput } from "../functions/workflow/rotation-workflow.ts";
import { modelCheckedStarter } from "../standins/lambda.ts";

type Handler = ConstructorParameters<typeof LocalDurableTestRunner>[0]["handlerFunction"];

/** The result of one local execution (the runner's TestResult). */
export type LocalExecutionResult = Awaited<ReturnType<LocalDurableTestRunner["run"]>>;

/** An in-process starter running each new execution name on its own LocalDurableTestRunner. */
export function localDurableStarter(handler: Handler): LocalWorkflowStarter {
  return modelCheckedStarter(
    localWorkflowStarter(() => new LocalDurableTestRunner({ handlerFunction: handler })),
  );
}

/** `workflow.start` over a local starter: Lambda's answers, including the refusal of a name already used. */
export function localWorkflowSdk(starter: LocalWorkflowStarter): WorkflowSdk {
  const start: WorkflowSdk["start"] = async (_resource, input) => {
    const result = await starter.start(input.name, input.payload as RotationInput);
    if (!result.started) {
      throw new workflow.StartError(
        new Response(JSON.stringify({ Type: "User", message: `execution ${input.name} already exists` }), {
          status: 409,
          headers: { "x-amzn-errortype": ALREADY_STARTED },
        }),
      );
    }
    return { arn: result.executionArn, statusCode: 202 } as Awaited<ReturnType<WorkflowSdk["start"]>>;
  };
  return { start, StartError: workflow.StartError };
}

/** Starts the local runner's environment with real timers; returns its teardown. */
export async function startLocalDurableEnvironment(): Promise<() => Promise<void>> {
  await LocalDurableTestRunner.setupTestEnvironment({ skipTime: false });
  let stopped: Promise<void> | undefined;
  return () => {
    stopped ??= LocalDurableTestRunner.teardownTestEnvironment();
    return stopped;
  };
}
