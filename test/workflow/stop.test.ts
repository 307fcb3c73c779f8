/**
 * functions/workflow/phases/stop.ts and the step toolkit's size check (functions/workflow/steps.ts): which
 * errors are a storage limit, and a step result over the durable runtime's checkpoint limit refused before it
 * is checkpointed. The whole path (a rotation stopping in place) is in rotation-workflow.test.ts.
 */
import type { workflow } from "sst/aws/workflow";
import { describe, expect, it } from "vitest";
import { StepResultTooLargeError } from "../../functions/adapters/errors.ts";
import { ItemTooLargeError } from "../../functions/adapters/rotation-store.ts";
import type { RotationDeps } from "../../functions/workflow/contract.ts";
import { isStorageLimit } from "../../functions/workflow/phases/stop.ts";
import { isRetryable } from "../../functions/workflow/retry.ts";
import { openRotation, STEP_RESULT_LIMIT_BYTES } from "../../functions/workflow/steps.ts";

/** A durable context whose steps just run (no checkpoints): what `act` does around the step is under test. */
const context = {
  step: (_name: string, run: () => Promise<unknown>) => run(),
} as unknown as workflow.Context;
const deps = { now: () => new Date("2026-12-04T12:00:00Z"), settings: {} } as unknown as RotationDeps;
const input = { rotationId: "r-1", certificateArn: "arn", serial: "01", reason: "Due", actor: "test" };

describe("a step result over the checkpoint limit", () => {
  it("is refused before the checkpoint with a final StepResultTooLargeError; one at the limit passes", async () => {
    const r = openRotation(input, context, deps);
    // A JSON string of n characters is n + 2 bytes.
    const atLimit = "x".repeat(STEP_RESULT_LIMIT_BYTES - 2);
    expect(await r.act("fits", async () => atLimit)).toBe(atLimit);
    const refused = await r.act("too-large", async () => `${atLimit}x`).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(StepResultTooLargeError);
    expect((refused as Error).message).toMatch(/step too-large produced a 261121-byte result/);
    expect(isRetryable(refused)).toBe(false);
  });
});

describe("isStorageLimit", () => {
  it("knows the size limits by name, thrown directly or as the cause of the SDK's step error", () => {
    expect(isStorageLimit(new ItemTooLargeError("item"))).toBe(true);
    expect(isStorageLimit(new StepResultTooLargeError("result"))).toBe(true);
    const stepError = Object.assign(new Error("item"), {
      name: "StepError",
      cause: { name: "ItemTooLargeError" },
    });
    expect(isStorageLimit(stepError)).toBe(true);
    expect(isStorageLimit(new Error("Item size has exceeded the maximum allowed size"))).toBe(false);
    expect(isStorageLimit(undefined)).toBe(false);
  });
});
