/**
 * The durable-execution side of Lambda on this machine, for tests and the sandbox, over the real durable
 * runtime's local runner (`@aws/durable-execution-sdk-js-testing`):
 * - localWorkflowStarter: Lambda's naming rules for durable starts (the first start of a name runs, a later
 *   one runs nothing and reports `started: false`);
 * - localDurableStarter / localWorkflowSdk: SST's `workflow.start` (an asynchronous durable Invoke with an
 *   execution name) answered in process: the first start of a name runs the real workflow handler, a second
 *   start of that name is refused with Lambda's DurableExecutionAlreadyStartedException, exactly what the
 *   deployed dispatcher (sstWorkflowStarter) sees;
 * - localCallbackSender: SendDurableExecutionCallbackSuccess, delivered to whichever local execution waits.
 *
 * The local runner needs its environment (`LocalDurableTestRunner.setupTestEnvironment`) for as long as
 * executions run; the sandbox sets it up with real timers (no time skipping: that would fake Date for the
 * whole process while TLS checks certificate validity against the real clock).
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
import { workflow } from "sst/aws/workflow";
import { CallbackClosedError, type CallbackSender } from "../functions/dispatch/control-rotation.ts";
import {
  ALREADY_STARTED,
  type ExecutionStatus,
  type WorkflowSdk,
  type WorkflowStarter,
} from "../functions/dispatch/start-rotation.ts";
import type { RotationInput } from "../functions/workflow/rotation-workflow.ts";
import { modelCheckedStarter } from "./lambda.ts";

/** Runs one execution in process, e.g. a LocalDurableTestRunner over the workflow handler. */
export interface LocalRunner {
  run(input: { payload: RotationInput }): Promise<unknown>;
}

export interface LocalExecution {
  name: string;
  payload: RotationInput;
  /** Settles when the run ends; never rejects (a failed run resolves to `{ error }`). */
  done: Promise<{ result?: unknown; error?: unknown }>;
}

export interface LocalWorkflowStarter extends WorkflowStarter {
  execution(name: string): LocalExecution | undefined;
  executions(): LocalExecution[];
}

/**
 * An in-memory starter with Lambda's naming rules: the first start of a name runs (without being awaited,
 * like an asynchronous Invoke); any later start of that name runs nothing and reports `started: false`.
 */
export function localWorkflowStarter(runnerFactory: (name: string) => LocalRunner): LocalWorkflowStarter {
  const runs = new Map<string, LocalExecution>();
  const ended = new Map<string, ExecutionStatus>();
  return {
    async start(name, payload) {
      if (runs.has(name)) return { started: false, executionArn: localArn(name) };
      const runner = runnerFactory(name);
      const done = Promise.resolve()
        .then(() => runner.run({ payload }))
        .then(
          (result) => ({ result }),
          (error: unknown) => ({ error }),
        );
      runs.set(name, { name, payload, done });
      void done.then((outcome) => ended.set(name, endStatusOf(outcome)));
      return { started: true, executionArn: localArn(name) };
    },
    // Lambda's ExecutionStatus of the name: RUNNING until the run settles, then how it ended.
    async status(name) {
      if (!runs.has(name)) return undefined;
      return ended.get(name) ?? "RUNNING";
    },
    execution: (name) => runs.get(name),
    executions: () => [...runs.values()],
  };
}

/** How a local run ended, as Lambda reports an execution: the runner's status when it has one. */
function endStatusOf(outcome: { result?: unknown; error?: unknown }): ExecutionStatus {
  if (outcome.error !== undefined) return "FAILED";
  const status = (outcome.result as { getStatus?: () => unknown } | undefined)?.getStatus?.();
  if (status === undefined) return "SUCCEEDED";
  return status === "SUCCEEDED"
    ? "SUCCEEDED"
    : status === "TIMED_OUT"
      ? "TIMED_OUT"
      : status === "STOPPED"
        ? "STOPPED"
        : "FAILED";
}

function localArn(name: string): string {
  return `arn:aws:lambda:local:000000000000:function:rotation-workflow:$LATEST/durable-execution/${name}/local`;
}

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
  return {
    start,
    StartError: workflow.StartError,
    executionStatus: async (_resource, name) => starter.status?.(name),
  };
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
