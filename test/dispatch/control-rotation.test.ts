/**
 * controlRotation: an operator's decision reaches the rotation's open control point, or is refused with the
 * state found (nothing delivered). Then end to end on the local durable runner: a real rotation, its
 * decision delivered by the local callback sender by callback id alone, and the actor in its history.
 */
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { workflow } from "sst/aws/workflow";
import { afterEach, describe, expect, it } from "vitest";
import type { RotationStatus } from "../../functions/core/rotation.ts";
import {
  CallbackClosedError,
  type CallbackSender,
  type ControlStore,
  controlRotation,
  NotControllableError,
  UnknownRotationError,
} from "../../functions/dispatch/control-rotation.ts";
import { createRotationWorkflow, type RotationOutcome } from "../../functions/workflow/rotation-workflow.ts";
import { localCallbackSender } from "../../standins/durable.ts";
import { modelCheckedCallbackSender } from "../../standins/lambda.ts";
import { useDurableRunner } from "../support/durable.ts";
import { buildFleet, type Fleet, REAL_TIME_GATE } from "../support/fleet.ts";

useDurableRunner({ skipTime: false });

const ID = "rot-0f3c9b1e-7a2d-4c5e-9b8a-1d2e3f4a5b6c-0123456789abcdef";
const ACTOR = "arn:aws:iam::123456789012:user/alice";

type Control = Awaited<ReturnType<ControlStore["getControl"]>>;

function memory(status: RotationStatus | undefined, control: Control) {
  const sent: Array<{ callbackId: string; result: string }> = [];
  const store: ControlStore = { statusOf: async () => status, getControl: async () => control };
  const sender: CallbackSender = {
    succeed: async (callbackId, result) => {
      sent.push({ callbackId, result });
    },
  };
  return { store, sender, sent };
}

async function refusal(promise: Promise<unknown>) {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeDefined();
  return error as Error;
}

describe("a rollback between control points", () => {
  function requester() {
    const requests: Array<{ rotationId: string; actor: string; reason: string; requestedAt: string }> = [];
    return {
      requests,
      requests_: {
        requester: {
          request: async (rotationId: string, r: { actor: string; reason: string; requestedAt: string }) => {
            requests.push({ rotationId, ...r });
            return requests.length === 1;
          },
        },
        now: () => new Date("2026-12-03T10:00:00.000Z"),
      },
    };
  }

  it.each(["started", "planned", "issued", "trust-published", "swapping"] as const)(
    "is recorded while the rotation is %s, for its next safe point; nothing is sent",
    async (status) => {
      const { store, sender, sent } = memory(status, undefined);
      const { requests, requests_ } = requester();
      const result = await controlRotation(
        store,
        sender,
        ID,
        { action: "rollback", actor: ACTOR, reason: "why" },
        requests_,
      );
      expect(result).toEqual({ rotationId: ID, action: "rollback", kind: "requested", wave: 0 });
      expect(requests).toEqual([
        { rotationId: ID, actor: ACTOR, reason: "why", requestedAt: "2026-12-03T10:00:00.000Z" },
      ]);
      expect(sent).toEqual([]);
    },
  );

  it.each(["finalizing", "rolling-back"] as const)(
    "is refused (409) while the rotation is %s, and nothing is recorded",
    async (status) => {
      const { store, sender } = memory(status, undefined);
      const { requests, requests_ } = requester();
      const error = await refusal(
        controlRotation(store, sender, ID, { action: "rollback", actor: ACTOR, reason: "" }, requests_),
      );
      expect(error).toBeInstanceOf(NotControllableError);
      expect(requests).toEqual([]);
    },
  );

  it.each([
    ["the wave in flight", "swapping"],
    ["the last wave once every wave passed (taken at the promotion)", "passed"],
  ] as const)("names %s", async (_name, lastStatus) => {
    const { store, sender } = memory("swapping", undefined);
    const { requests_ } = requester();
    const waves = [
      { index: 0, status: "passed" },
      { index: 1, status: lastStatus },
    ];
    expect(
      await controlRotation(
        { ...store, get: async () => ({ waves }) },
        sender,
        ID,
        { action: "rollback", actor: ACTOR, reason: "" },
        requests_,
      ),
    ).toMatchObject({ kind: "requested", wave: 1 });
  });

  it("an approval between control points is still refused: there is nothing to approve", async () => {
    const { store, sender } = memory("swapping", undefined);
    const { requests, requests_ } = requester();
    const error = await refusal(
      controlRotation(store, sender, ID, { action: "approve", actor: ACTOR, reason: "" }, requests_),
    );
    expect(error).toBeInstanceOf(NotControllableError);
    expect(requests).toEqual([]);
  });
});

describe("controlRotation", () => {
  it("delivers a rollback to a bake window as the message the workflow reads", async () => {
    const { store, sender, sent } = memory("swapping", { callbackId: "cb-1", kind: "bake", wave: 1 });
    const result = await controlRotation(store, sender, ID, {
      action: "rollback",
      actor: ACTOR,
      reason: "5xx",
    });
    expect(result).toEqual({ rotationId: ID, action: "rollback", kind: "bake", wave: 1 });
    expect(sent).toEqual([
      { callbackId: "cb-1", result: JSON.stringify({ action: "rollback", actor: ACTOR, reason: "5xx" }) },
    ]);
  });

  it("delivers a rollback to the grace period (after the promotion); an approval there is refused", async () => {
    const { store, sender, sent } = memory("finalizing", { callbackId: "cb-g", kind: "grace", wave: 2 });
    expect(
      await controlRotation(store, sender, ID, { action: "rollback", actor: ACTOR, reason: "late 5xx" }),
    ).toEqual({ rotationId: ID, action: "rollback", kind: "grace", wave: 2 });
    expect(JSON.parse(sent[0]!.result)).toEqual({ action: "rollback", actor: ACTOR, reason: "late 5xx" });
    const refused = await refusal(
      controlRotation(store, sender, ID, { action: "approve", actor: ACTOR, reason: "" }),
    );
    expect(refused).toBeInstanceOf(NotControllableError);
    expect(refused.message).toMatch(/is in its grace period, not waiting for approval/);
    expect(sent).toHaveLength(1);
  });

  it.each([
    [{ restorable: false }, /promoted its lineage's first credential: there is none before it to put back/],
    [{ restorable: true }, /grace period is not open .* retry in a moment/],
    [undefined, /grace period is not open .* retry in a moment/],
  ])(
    "finalizing without its grace control point (promoted %j): a rollback is refused and says why, nothing recorded",
    async (promoted, message) => {
      const { sender, sent } = memory("finalizing", undefined);
      const requests: unknown[] = [];
      const store: ControlStore = {
        statusOf: async () => "finalizing",
        getControl: async () => undefined,
        get: async () => ({ waves: [], ...(promoted ? { promoted } : {}) }),
      };
      const refused = await refusal(
        controlRotation(
          store,
          sender,
          ID,
          { action: "rollback", actor: ACTOR, reason: "late" },
          {
            requester: {
              request: async (...a) => {
                requests.push(a);
                return true;
              },
            },
            now: () => new Date(),
          },
        ),
      );
      expect(refused).toBeInstanceOf(NotControllableError);
      expect(refused.message).toMatch(message);
      expect(sent).toEqual([]);
      expect(requests).toEqual([]);
    },
  );

  it("delivers a rollback or an approval to an approval", async () => {
    for (const action of ["rollback", "approve"] as const) {
      const { store, sender, sent } = memory("swapping", { callbackId: "cb-2", kind: "approval", wave: 0 });
      expect(await controlRotation(store, sender, ID, { action, actor: ACTOR, reason: "" })).toMatchObject({
        action,
        kind: "approval",
      });
      expect(JSON.parse(sent[0]!.result)).toEqual({ action, actor: ACTOR, reason: "" });
    }
  });

  it.each([
    ["an unknown rotation", undefined, undefined, "rollback", UnknownRotationError, /no rotation/],
    [
      "a completed rotation",
      "completed",
      undefined,
      "rollback",
      NotControllableError,
      /already ended \(completed\)/,
    ],
    [
      "a rolled-back rotation",
      "rolled-back",
      { callbackId: "stale", kind: "bake", wave: 0 },
      "rollback",
      NotControllableError,
      /already ended/,
    ],
    ["a finished dry run", "dry-run", undefined, "approve", NotControllableError, /already ended/],
    [
      "a rotation between control points",
      "issued",
      undefined,
      "rollback",
      NotControllableError,
      /not at a bake window, approval or grace period/,
    ],
    [
      "an approval during a bake",
      "swapping",
      { callbackId: "cb", kind: "bake", wave: 0 },
      "approve",
      NotControllableError,
      /baking wave 0, not waiting for approval/,
    ],
  ] as Array<[string, RotationStatus | undefined, Control, "rollback" | "approve", typeof Error, RegExp]>)(
    "refuses %s and delivers nothing",
    async (_, status, control, action, type, message) => {
      const { store, sender, sent } = memory(status, control);
      const error = await refusal(controlRotation(store, sender, ID, { action, actor: ACTOR, reason: "" }));
      expect(error).toBeInstanceOf(type);
      expect(error.message).toMatch(message);
      if (error instanceof NotControllableError) {
        expect(error.rotationId).toBe(ID);
        expect(error.status).toBe(status);
      }
      expect(sent).toEqual([]);
    },
  );

  it("a window that closed before the decision arrived is NotControllable, not a failure", async () => {
    const { store } = memory("swapping", { callbackId: "cb", kind: "bake", wave: 2 });
    const closed: CallbackSender = {
      succeed: async () => {
        throw new CallbackClosedError("callback is no longer open (CallbackTimeoutException)");
      },
    };
    const error = await refusal(
      controlRotation(store, closed, ID, { action: "rollback", actor: ACTOR, reason: "" }),
    );
    expect(error).toBeInstanceOf(NotControllableError);
    expect(error.message).toMatch(/moved on from its bake of wave 2/);
    expect(error.cause).toBeInstanceOf(CallbackClosedError);
  });

  it("any other delivery failure is thrown as it is", async () => {
    const { store } = memory("swapping", { callbackId: "cb", kind: "bake", wave: 0 });
    const broken: CallbackSender = {
      succeed: async () => {
        throw Object.assign(new Error("Rate exceeded"), { name: "TooManyRequestsException" });
      },
    };
    const error = await refusal(
      controlRotation(store, broken, ID, { action: "rollback", actor: ACTOR, reason: "" }),
    );
    expect(error.name).toBe("TooManyRequestsException");
  });
});

describe("the local callback sender", () => {
  it("reports a callback id no local execution has as closed", async () => {
    const error = await refusal(
      modelCheckedCallbackSender(localCallbackSender()).succeed("bm8tc3VjaC1jYWxsYmFjaw==", "{}"),
    );
    expect(error).toBeInstanceOf(CallbackClosedError);
  });
});

describe("end to end on the local durable runner", () => {
  let fleet: Fleet | undefined;
  afterEach(async () => {
    await fleet?.close();
    fleet = undefined;
  });

  it("a rollback delivered by callback id alone ends the rotation rolled back, the actor in its history", async () => {
    fleet = await buildFleet({
      distributions: 2,
      settings: {
        bakeSeconds: 30,
        deploy: { timeoutSeconds: 60, pollSeconds: 1 },
        preflight: { timeoutSeconds: 2, intervalSeconds: 1, probePath: "/" },
        gate: REAL_TIME_GATE,
        graceSeconds: 1,
      },
    });
    const f = fleet;
    const input = f.input();
    const runner = new LocalDurableTestRunner<RotationOutcome>({
      handlerFunction: createRotationWorkflow(workflow, f.deps),
    });
    const execution = runner.run({ payload: input });
    execution.catch(() => undefined);

    // Wait for the bake window, then decide knowing nothing but the rotation id (as the API does).
    const deadline = Date.now() + 20_000;
    while (!(await f.store.getControl(input.rotationId))) {
      if (Date.now() > deadline) throw new Error("no control point");
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    const open = (await f.store.getControl(input.rotationId))!;
    const result = await controlRotation(
      f.store,
      modelCheckedCallbackSender(localCallbackSender()),
      input.rotationId,
      {
        action: "rollback",
        actor: ACTOR,
        reason: "drill",
      },
    );
    expect(result).toEqual({ rotationId: input.rotationId, action: "rollback", kind: "bake", wave: 0 });
    // The same callback answered twice (a retried request racing the first): refused, as Lambda does.
    const again = await refusal(
      modelCheckedCallbackSender(localCallbackSender()).succeed(open.callbackId, "{}"),
    );
    expect(again).toBeInstanceOf(CallbackClosedError);

    const done = await execution;
    expect(done.getStatus()).toBe("FAILED");
    expect(done.getError().errorMessage).toMatch(/rolled-back \(ManualRollback\): drill/);
    const history = await f.store.history(input.rotationId);
    expect(history.find((e) => e.type === "rollback-requested")).toMatchObject({
      actor: ACTOR,
      reason: "ManualRollback",
      detail: "drill",
    });
    expect((await f.store.get(input.rotationId))?.rollback?.actor).toBe(ACTOR);
    expect(await f.store.getControl(input.rotationId)).toBeUndefined();

    // The window is closed now: a second decision is refused, not delivered.
    const late = await refusal(
      controlRotation(f.store, modelCheckedCallbackSender(localCallbackSender()), input.rotationId, {
        action: "rollback",
        actor: ACTOR,
        reason: "",
      }),
    );
    expect(late).toBeInstanceOf(NotControllableError);
  }, 60_000);
});
