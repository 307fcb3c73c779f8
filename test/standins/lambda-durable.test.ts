/**
 * The local doubles of Lambda durable execution (standins/durable.ts: localDurableStarter, localWorkflowSdk,
 * localWorkflowStarter, localCallbackSender): the AWS rules they enforce, each pinned by the
 * id of its row in docs/aws-behaviour.md.
 */
import type { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { describe, expect, it } from "vitest";
import { CallbackClosedError } from "../../functions/dispatch/control-rotation.ts";
import { ALREADY_STARTED, startErrorCode } from "../../functions/dispatch/start-rotation.ts";
import type { RotationInput } from "../../functions/workflow/rotation-workflow.ts";
import { localCallbackSender, localWorkflowSdk, localWorkflowStarter } from "../../standins/durable.ts";

const payload = { rotationId: "rot-test" } as unknown as RotationInput;

describe("execution names", () => {
  it("[lambda.execution-name-once] runs the first start of a name, and refuses every later start of it", async () => {
    const runs: string[] = [];
    const starter = localWorkflowStarter((name) => ({
      run: async () => {
        runs.push(name);
        return "done";
      },
    }));
    expect(await starter.start("rot-a", payload)).toMatchObject({ started: true });
    // The same payload again: Lambda would answer the existing execution; the double answers "not started".
    expect(await starter.start("rot-a", payload)).toMatchObject({ started: false });
    expect(await starter.start("rot-b", payload)).toMatchObject({ started: true });
    await Promise.all(starter.executions().map((e) => e.done));
    expect(runs.sort()).toEqual(["rot-a", "rot-b"]);

    // Through workflow.start, as the deployed dispatcher sees it: DurableExecutionAlreadyStartedException.
    const sdk = localWorkflowSdk(starter);
    const error = await sdk
      .start({ name: "rotation-workflow", qualifier: "$LATEST" } as never, { name: "rot-a", payload })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(sdk.StartError);
    expect(await startErrorCode((error as InstanceType<typeof sdk.StartError>).response)).toBe(
      ALREADY_STARTED,
    );
  });
});

describe("callbacks", () => {
  /** A local durable API whose checkpoint server knows the callback ids in `open`. */
  function runnerWith(open: Set<string>) {
    const delivered: string[] = [];
    const runner = {
      createDurableApi: () => ({
        sendCallbackSuccess: async ({ CallbackId }: { CallbackId: string }) => {
          if (!open.has(CallbackId)) throw new Error(`execution not found for callback ${CallbackId}`);
          delivered.push(CallbackId);
          return {};
        },
      }),
    } as unknown as typeof LocalDurableTestRunner;
    return { runner, delivered };
  }

  it("[lambda.callback-answered-once] refuses a second answer, and an answer to a callback no execution has", async () => {
    const { runner, delivered } = runnerWith(new Set(["Y2FsbGJhY2stb25l"]));
    const sender = localCallbackSender(runner);
    await sender.succeed("Y2FsbGJhY2stb25l", '{"action":"approve"}');
    await expect(sender.succeed("Y2FsbGJhY2stb25l", '{"action":"approve"}')).rejects.toBeInstanceOf(
      CallbackClosedError,
    );
    await expect(sender.succeed("dW5rbm93bg==", "{}")).rejects.toBeInstanceOf(CallbackClosedError);
    expect(delivered).toEqual(["Y2FsbGJhY2stb25l"]);
  });
});

describe("execution status", () => {
  it("[lambda.execution-status] RUNNING until the run settles, then how it ended; a name never started has none", async () => {
    let finish: (value: unknown) => void = () => undefined;
    const starter = localWorkflowStarter((name) => ({
      run: () =>
        name === "rot-fails"
          ? Promise.reject(new Error("first step failed until its retries were spent"))
          : new Promise((resolve) => {
              finish = resolve;
            }),
    }));
    expect(await starter.status!("rot-never")).toBeUndefined();
    await starter.start("rot-runs", payload);
    await starter.start("rot-fails", payload);
    expect(await starter.status!("rot-runs")).toBe("RUNNING");
    await starter.execution("rot-fails")!.done;
    await Promise.resolve();
    expect(await starter.status!("rot-fails")).toBe("FAILED");
    finish({ getStatus: () => "SUCCEEDED" });
    await starter.execution("rot-runs")!.done;
    await Promise.resolve();
    expect(await starter.status!("rot-runs")).toBe("SUCCEEDED");
    // The runner's own word on how a run ended counts: a run that resolved FAILED is FAILED.
    const failing = localWorkflowStarter(() => ({ run: async () => ({ getStatus: () => "FAILED" }) }));
    await failing.start("rot-x", payload);
    await failing.execution("rot-x")!.done;
    await Promise.resolve();
    expect(await failing.status!("rot-x")).toBe("FAILED");
  });
});
