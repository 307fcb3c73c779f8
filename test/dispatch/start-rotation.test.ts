import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { workflow } from "sst/aws/workflow";
import { describe, expect, it, vi } from "vitest";
import { sha256Hex } from "../../functions/core/pem.ts";
import { type RotationStatus, rotationIdFor } from "../../functions/core/rotation.ts";
import {
  ALREADY_STARTED,
  type ExecutionStatus,
  executionNameFor,
  InvalidRotationRequestError,
  type RotationHistory,
  sstWorkflowStarter,
  startErrorCode,
  startRotation,
  type WorkflowSdk,
  type WorkflowStarter,
} from "../../functions/dispatch/start-rotation.ts";
import type { RotationInput } from "../../functions/workflow/rotation-workflow.ts";
import { type LocalRunner, localWorkflowStarter } from "../../standins/durable.ts";
import { useDurableRunner } from "../support/durable.ts";

useDurableRunner({ skipTime: false });

const ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0f3c9b1e-7a2d-4c5e-9b8a-1d2e3f4a5b6c";
const OTHER_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/7d1e2f3a-4b5c-4d6e-8f90-a1b2c3d4e5f6";
const request = { certificateArn: ARN, serial: "5a3c0f9e12", reason: "Due", actor: "scan" };

/** A local starter whose runs are counted (nothing to execute: the dispatch is under test). */
function countingStarter() {
  const runs: RotationInput[] = [];
  const starter = localWorkflowStarter(() => ({
    run: async ({ payload }) => {
      runs.push(payload);
      return { rotationId: payload.rotationId };
    },
  }));
  return { starter, runs };
}

async function rejection(body: unknown): Promise<InvalidRotationRequestError> {
  const start = vi.fn();
  const error = await startRotation({ start }, body).catch((e: unknown) => e);
  expect(error).toBeInstanceOf(InvalidRotationRequestError);
  expect(start).not.toHaveBeenCalled();
  return error as InvalidRotationRequestError;
}

describe("request validation: nothing starts on a rejected request", () => {
  it.each([
    ["null", null],
    ["an array", [request]],
    ["a string", JSON.stringify(request)],
  ])("refuses %s", async (_, body) => {
    expect((await rejection(body)).problems).toEqual(["the request must be a JSON object"]);
  });

  it("lists every problem of an empty request at once", async () => {
    const error = await rejection({});
    expect(error.problems).toEqual([
      "certificateArn is required",
      "serial is required",
      "reason is required",
      "actor is required",
    ]);
    expect(error.message).toContain("certificateArn is required; serial is required");
  });

  it.each([
    ["another region", ARN.replace("us-east-1", "eu-west-1")],
    ["another service", ARN.replace(":acm:", ":acm-pca:")],
    ["another partition", ARN.replace("arn:aws:", "arn:aws-cn:")],
    ["a short account", ARN.replace("123456789012", "12345")],
    ["a malformed id", `${ARN.slice(0, -1)}z`],
    ["an id with a path", `${ARN}/extra`],
    ["a private CA certificate ARN", "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/x"],
  ])("refuses a certificateArn in %s", async (_, certificateArn) => {
    const { problems } = await rejection({ ...request, certificateArn });
    expect(problems).toEqual([
      "certificateArn must be an ACM certificate ARN in us-east-1: arn:aws:acm:us-east-1:<12-digit account>:certificate/<id>",
    ]);
  });

  it.each([
    ["not hex", "12xz", "serial must be hexadecimal (colons between bytes are allowed)"],
    ["decimal with a sign", "-12", "serial must be hexadecimal (colons between bytes are allowed)"],
    ["too long", "a".repeat(65), "serial must be at most 64 hex digits, got 65"],
    ["zero", "00:00", "serial must not be zero"],
    ["blank", "   ", "serial is required"],
    ["a number", 42, "serial is required"],
  ])("refuses a serial that is %s", async (_, serial, problem) => {
    expect((await rejection({ ...request, serial })).problems).toEqual([problem]);
  });

  it("bounds reason and actor and refuses control characters", async () => {
    const { problems } = await rejection({
      ...request,
      reason: "r".repeat(513),
      actor: "alice\nbob",
    });
    expect(problems).toEqual([
      "reason must be at most 512 characters",
      "actor must not contain control characters (U+0000–U+001F, U+007F–U+009F), line/paragraph separators (U+2028, U+2029) or bidirectional overrides (U+202A–U+202E, U+2066–U+2069)",
    ]);
  });

  it.each(["\u202e", "\u2066", "\u2028", "\u0085"])(
    "refuses a reason with %j: one free-text rule with the API (the contract's Reason)",
    async (character) => {
      const { problems } = await rejection({ ...request, reason: `rollback${character}now` });
      expect(problems).toEqual([expect.stringMatching(/^reason must not contain control characters/)]);
    },
  );

  it("refuses unknown fields, so a misspelt dryRun cannot start a real rotation", async () => {
    const { problems } = await rejection({ ...request, dryrun: true });
    expect(problems).toEqual([
      "unknown field(s): dryrun (allowed: certificateArn, serial, reason, actor, dryRun, overrides)",
    ]);
  });

  it("refuses a dryRun that is not a boolean", async () => {
    expect((await rejection({ ...request, dryRun: "yes" })).problems).toEqual([
      "dryRun Invalid input: expected boolean, received string",
    ]);
  });
});

describe("per-rotation overrides", () => {
  it("are checked, normalized and passed to the execution", async () => {
    const { starter, runs } = countingStarter();
    const overrides = {
      approval: "between-waves",
      bakeSeconds: 0,
      waves: { waves: [{ percent: 50 }], canarySize: 2 },
    };
    const result = await startRotation(starter, { ...request, overrides });
    await starter.execution(result.rotationId)!.done;
    // Same name as without overrides: they do not make another certificate generation.
    expect(result.rotationId).toBe(executionNameFor(request));
    expect(runs[0]?.overrides).toEqual({
      waves: { canarySize: 2, waves: [{ percent: 50 }] },
      bakeSeconds: 0,
      approval: "between-waves",
    });
  });

  it("an empty override is no override", async () => {
    const { starter, runs } = countingStarter();
    await startRotation(starter, { ...request, overrides: { waves: {} } });
    await Promise.all(starter.executions().map((e) => e.done));
    expect(runs[0]).not.toHaveProperty("overrides");
  });

  it.each([
    ["not an object", [], "overrides must be an object"],
    [
      "an unknown field",
      { bake: 1 },
      "unknown field(s) in overrides: bake (allowed: waves, bakeSeconds, approval)",
    ],
    [
      "a canary of 0",
      { waves: { canarySize: 0 } },
      "overrides.waves.canarySize Too small: expected number to be >=1",
    ],
    [
      "a null canary",
      { waves: { canarySize: null } },
      "overrides.waves.canarySize Invalid input: expected number, received null",
    ],
    [
      "a percent over 100",
      { waves: { waves: [{ percent: 150 }] } },
      "overrides.waves.waves[0].percent Too big: expected number to be <=100",
    ],
    [
      "a wave size with both",
      { waves: { waves: [{ count: 1, percent: 5 }] } },
      "overrides.waves.waves[0] must be { count: whole number >= 1 } or { percent: number > 0 and <= 100 }",
    ],
    [
      "a fractional bake",
      { bakeSeconds: 1.5 },
      "overrides.bakeSeconds Invalid input: expected int, received number",
    ],
    ["a bake over a day", { bakeSeconds: 86_401 }, "overrides.bakeSeconds must be at most 86400 seconds"],
    [
      "an unknown approval mode",
      { approval: "always" },
      'overrides.approval Invalid option: expected one of "none"|"between-waves"',
    ],
  ])("refuses %s", async (_, overrides, problem) => {
    expect((await rejection({ ...request, overrides })).problems).toEqual([problem]);
  });
});

describe("duplicate triggers converge on one execution", () => {
  it("starts the same request once and reports the second as converged", async () => {
    const { starter, runs } = countingStarter();
    const first = await startRotation(starter, request);
    const second = await startRotation(starter, request);

    expect(first).toMatchObject({ rotationId: rotationIdFor(ARN, "5a3c0f9e12", sha256Hex), started: true });
    expect(second).toMatchObject({ rotationId: first.rotationId, started: false });
    await starter.execution(first.rotationId)?.done;
    expect(runs).toHaveLength(1);
    expect(runs[0]).toEqual({ rotationId: first.rotationId, ...request });
  });

  it("converges a different actor and reason for the same certificate and serial", async () => {
    const { starter, runs } = countingStarter();
    const first = await startRotation(starter, request);
    const second = await startRotation(starter, {
      ...request,
      actor: "arn:aws:iam::123456789012:user/alice",
      reason: "manual: key compromise drill",
    });

    expect(second).toEqual({
      rotationId: first.rotationId,
      started: false,
      executionArn: expect.any(String),
    });
    await Promise.all(starter.executions().map((e) => e.done));
    expect(runs.map((r) => r.actor)).toEqual(["scan"]);
  });

  it("treats ACM's and X.509's spellings of one serial as the same generation", async () => {
    const { starter } = countingStarter();
    const a = await startRotation(starter, { ...request, serial: "5A:3C:0F:9E:12" });
    const b = await startRotation(starter, { ...request, serial: " 5a3c0f9e12 " });
    expect(b).toMatchObject({ rotationId: a.rotationId, started: false });
    expect(starter.executions()[0]!.payload.serial).toBe("5a3c0f9e12");
  });

  it("gives a different serial (the next generation) a different rotation", async () => {
    const { starter, runs } = countingStarter();
    const first = await startRotation(starter, request);
    const next = await startRotation(starter, { ...request, serial: "7b01" });
    const otherCertificate = await startRotation(starter, { ...request, certificateArn: OTHER_ARN });

    expect(new Set([first.rotationId, next.rotationId, otherCertificate.rotationId]).size).toBe(3);
    expect([first.started, next.started, otherCertificate.started]).toEqual([true, true, true]);
    await Promise.all(starter.executions().map((e) => e.done));
    expect(runs).toHaveLength(3);
  });

  it("names a dry run apart, so it never blocks the real rotation", async () => {
    const { starter } = countingStarter();
    const dry = await startRotation(starter, { ...request, dryRun: true });
    const real = await startRotation(starter, { ...request, dryRun: false });

    expect(dry.rotationId).toMatch(/^dry-/);
    expect(real.rotationId).toMatch(/^rot-/);
    expect([dry.started, real.started]).toEqual([true, true]);
    // dryRun: false is the absence of dryRun: the payload of an identical retry stays identical.
    expect(starter.execution(real.rotationId)!.payload).not.toHaveProperty("dryRun");
    expect(starter.execution(dry.rotationId)!.payload.dryRun).toBe(true);
  });

  it("every derived name is a valid durable execution name", async () => {
    const { starter } = countingStarter();
    for (const body of [request, { ...request, dryRun: true }, { ...request, serial: "f".repeat(64) }]) {
      const { rotationId } = await startRotation(starter, body);
      expect(rotationId).toMatch(/^[A-Za-z0-9_-]{1,64}$/);
    }
  });

  it("treats a starter's AlreadyStarted error as converged and lets other errors through", async () => {
    const alreadyStarted: WorkflowStarter = {
      start: async () => {
        throw Object.assign(new Error("already started"), { name: ALREADY_STARTED });
      },
    };
    expect(await startRotation(alreadyStarted, request)).toEqual({
      rotationId: rotationIdFor(ARN, request.serial, sha256Hex),
      started: false,
    });

    const throttled: WorkflowStarter = {
      start: async () => {
        throw Object.assign(new Error("Rate exceeded"), { name: "TooManyRequestsException" });
      },
    };
    await expect(startRotation(throttled, request)).rejects.toThrow("Rate exceeded");
  });

  it("runs the first start on the real durable runner", async () => {
    const handler = workflow.handler<RotationInput, string>(async (input, ctx) =>
      ctx.step("echo", async () => `ran ${input.rotationId} for ${input.actor}`),
    );
    const factory = vi.fn((): LocalRunner => new LocalDurableTestRunner({ handlerFunction: handler }));
    const starter = localWorkflowStarter(factory);

    const { rotationId } = await startRotation(starter, request);
    await startRotation(starter, { ...request, actor: "someone-else" });

    const outcome = await starter.execution(rotationId)!.done;
    const result = outcome.result as Awaited<ReturnType<LocalDurableTestRunner["run"]>>;
    expect(result.getStatus()).toBe("SUCCEEDED");
    expect(result.getResult()).toBe(`ran ${rotationId} for scan`);
    expect(factory).toHaveBeenCalledTimes(1);
  });
});

describe("sstWorkflowStarter", () => {
  const resource = { name: "mtls-rotator-dev-RotationWorkflowHandler", qualifier: "7" };

  function sdk(start: WorkflowSdk["start"]): WorkflowSdk {
    return { start, StartError: workflow.StartError };
  }

  function lambdaError(status: number, code: string, via: "header" | "body"): workflow.StartError {
    const body = JSON.stringify(
      via === "body" ? { __type: code, message: "refused" } : { Type: "User", message: "refused" },
    );
    const headers: Record<string, string> =
      via === "header" ? { "x-amzn-ErrorType": `${code}:http://internal.amazon.com/` } : {};
    return new workflow.StartError(new Response(body, { status, headers }));
  }

  it("starts with the execution name and the payload, and returns the execution ARN", async () => {
    const start = vi.fn<WorkflowSdk["start"]>(async () => ({ arn: "arn:exec/1", statusCode: 202 }));
    const result = await startRotation(sstWorkflowStarter(resource, sdk(start)), request);

    expect(result).toEqual({ rotationId: result.rotationId, started: true, executionArn: "arn:exec/1" });
    expect(start).toHaveBeenCalledWith(
      resource,
      { name: result.rotationId, payload: { rotationId: result.rotationId, ...request } },
      undefined,
    );
  });

  it.each(["header", "body"] as const)(
    "maps AlreadyStarted (error code in the %s) to converged",
    async (via) => {
      const starter = sstWorkflowStarter(
        resource,
        sdk(async () => {
          throw lambdaError(409, ALREADY_STARTED, via);
        }),
      );
      expect(await startRotation(starter, request)).toMatchObject({ started: false });
    },
  );

  it("lets every other start failure through", async () => {
    const failure = lambdaError(429, "TooManyRequestsException", "header");
    const starter = sstWorkflowStarter(
      resource,
      sdk(async () => {
        throw failure;
      }),
    );
    await expect(startRotation(starter, request)).rejects.toBe(failure);
  });

  it("reads error codes the way Lambda sends them", async () => {
    expect(
      await startErrorCode(
        new Response("", { headers: { "X-Amzn-ErrorType": "ResourceNotFoundException" } }),
      ),
    ).toBe("ResourceNotFoundException");
    expect(await startErrorCode(new Response('{"__type":"com.amazon#ServiceException:"}'))).toBe(
      "ServiceException",
    );
    expect(await startErrorCode(new Response("<html>gateway</html>", { status: 502 }))).toBeUndefined();
  });
});

describe("retrying after a rotation that did not complete", () => {
  const request = {
    certificateArn: "arn:aws:acm:us-east-1:111122223333:certificate/4f1b2c3d-5e6f-4a7b-8c9d-0e1f2a3b4c5d",
    serial: "0a1b2c",
    reason: "Due",
    actor: "scan",
  };

  function historyOf(statuses: Record<string, RotationStatus>): RotationHistory {
    return { statusOf: async (id) => statuses[id] };
  }

  function recordingStarter() {
    const names: string[] = [];
    const starter: WorkflowStarter = {
      start: async (name) => {
        names.push(name);
        return { started: true };
      },
    };
    return { starter, names };
  }

  it.each([
    ["no earlier rotation", {}, ""],
    ["the first attempt is still running", { base: "swapping" }, ""],
    ["the first attempt completed (converge, do not rotate twice)", { base: "completed" }, ""],
    ["the first attempt rolled back", { base: "rolled-back" }, "-2"],
    ["the first attempt aborted, the second failed", { base: "aborted", "-2": "failed" }, "-3"],
    ["an earlier dry run", { base: "dry-run" }, "-2"],
  ] as const)("%s", async (_name, statuses, suffix) => {
    const base = executionNameFor(request);
    const resolved = Object.fromEntries(
      Object.entries(statuses).map(([k, v]) => [k === "base" ? base : `${base}${k}`, v as RotationStatus]),
    );
    const { starter, names } = recordingStarter();
    const result = await startRotation(starter, request, historyOf(resolved));
    expect(result.rotationId).toBe(`${base}${suffix}`);
    expect(names).toEqual([`${base}${suffix}`]);
    expect(result.rotationId.length).toBeLessThanOrEqual(64);
  });

  // Attempt 1 is recorded as running, 2 rolled back, 3 recorded as running: the lock decides which is alive.
  it.each([
    ["attempt 1 holds the lock: alive, converge on it", "", ""],
    ["attempt 3 holds the lock: 1 is dead, converge on 3", "-3", "-3"],
    ["nobody holds the lock (released after the executions died): a new name", undefined, "-4"],
  ] as const)("%s", async (_name, holderSuffix, expectedSuffix) => {
    const base = executionNameFor(request);
    const statuses: Record<string, RotationStatus> = {
      [base]: "swapping",
      [`${base}-2`]: "rolled-back",
      [`${base}-3`]: "issued",
    };
    const locks: string[] = [];
    const history: RotationHistory = {
      statusOf: async (id) => statuses[id],
      activeRotationFor: async (arn) => {
        locks.push(arn);
        return holderSuffix === undefined ? undefined : `${base}${holderSuffix}`;
      },
    };
    const { starter, names } = recordingStarter();
    const result = await startRotation(starter, request, history);
    expect(result.rotationId).toBe(`${base}${expectedSuffix}`);
    expect(names).toEqual([result.rotationId]);
    // The lock is read once, for this certificate.
    expect(locks).toEqual([request.certificateArn]);
  });

  // What Lambda says of each execution decides before the store: dead executions never hold a name.
  it.each([
    ["no record, no execution: a fresh start", {}, {}, ""],
    ["no record, RUNNING (it has not recorded yet): converge", {}, { base: "RUNNING" }, ""],
    ["no record, FAILED (died at its first step): the next attempt", {}, { base: "FAILED" }, "-2"],
    ["no record, TIMED_OUT or STOPPED: the next attempt", {}, { base: "TIMED_OUT", "-2": "STOPPED" }, "-3"],
    ["recorded running, FAILED: the next attempt", { base: "swapping" }, { base: "FAILED" }, "-2"],
    ["recorded running, RUNNING: converge", { base: "swapping" }, { base: "RUNNING" }, ""],
    // Unknown to Lambda (started by an earlier version, or dropped): never taken for dead; the store decides.
    [
      "recorded running, unknown to Lambda: converge (the store's word, no lock reading)",
      { base: "issued" },
      {},
      "",
    ],
    ["completed: converge, whatever Lambda says", { base: "completed" }, {}, ""],
  ] as const)("%s", async (_name, recorded, executions, suffix) => {
    const base = executionNameFor(request);
    const name = (k: string) => (k === "base" ? base : `${base}${k}`);
    const statuses = Object.fromEntries(Object.entries(recorded).map(([k, v]) => [name(k), v])) as Record<
      string,
      RotationStatus
    >;
    const lambda = Object.fromEntries(Object.entries(executions).map(([k, v]) => [name(k), v])) as Record<
      string,
      ExecutionStatus
    >;
    const { starter, names } = recordingStarter();
    const result = await startRotation(
      { ...starter, status: async (n) => lambda[n] },
      request,
      historyOf(statuses),
    );
    expect(result.rotationId).toBe(`${base}${suffix}`);
    expect(names).toEqual([`${base}${suffix}`]);
  });

  it("a liveness question Lambda cannot answer (throttled, not allowed) is not taken for dead", async () => {
    const base = executionNameFor(request);
    const releases: string[] = [];
    const history: RotationHistory = {
      statusOf: async (id) => (id === base ? "swapping" : undefined),
      activeRotationFor: async () => base,
      releaseLock: async (_arn, id) => {
        releases.push(id);
      },
    };
    const { starter, names } = recordingStarter();
    const result = await startRotation(
      {
        ...starter,
        status: async () => {
          throw new Error("TooManyRequestsException");
        },
      },
      request,
      history,
    );
    // The store and the lock decide, as without liveness: base holds the lock, so converge on it.
    expect(result.rotationId).toBe(base);
    expect(names).toEqual([base]);
    expect(releases).toEqual([]);
  });

  it("releases the lock of a dead holder before starting, and never a live holder's", async () => {
    for (const [holderStatus, released] of [
      ["FAILED", true],
      ["TIMED_OUT", true],
      // Not listed under the current version (started before a deploy) or no answer: the lease decides.
      [undefined, false],
      ["RUNNING", false],
    ] as const) {
      const releases: Array<[string, string]> = [];
      const history: RotationHistory = {
        statusOf: async () => undefined,
        activeRotationFor: async () => "rot-dead-holder",
        releaseLock: async (arn, id) => {
          releases.push([arn, id]);
        },
      };
      const { starter } = recordingStarter();
      await startRotation(
        { ...starter, status: async (n) => (n === "rot-dead-holder" ? holderStatus : undefined) },
        request,
        history,
      );
      expect(releases, String(holderStatus)).toEqual(
        released ? [[request.certificateArn, "rot-dead-holder"]] : [],
      );
    }
  });

  it("gives up after too many failed attempts", async () => {
    const { starter, names } = recordingStarter();
    await expect(startRotation(starter, request, { statusOf: async () => "failed" })).rejects.toThrow(
      expect.objectContaining({
        name: "AttemptsExhaustedError",
        message: expect.stringMatching(/has failed 20 rotations/),
      }),
    );
    expect(names).toEqual([]);
  });
});
