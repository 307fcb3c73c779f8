/**
 * The rotation workflow on the local durable runner with REAL timers: durable waits really suspend the
 * execution and the handler is invoked again and replays from its checkpoints; bake and approval windows
 * are durable callbacks an operator answers (or lets time out). Time skipping would fake Date for the whole
 * process, so these runs are kept short instead (1 s waits, few polls).
 */
import { LocalDurableTestRunner, WaitingOperationStatus } from "@aws/durable-execution-sdk-js-testing";
import { workflow } from "sst/aws/workflow";
import { afterEach, describe, expect, it } from "vitest";
import type { RotationSettings } from "../../functions/config/settings.ts";
import type { GateResult, RotationEvent } from "../../functions/core/rotation.ts";
import {
  createRotationWorkflow,
  credentialSecretName,
  type RotationOutcome,
  type RotationStorePort,
} from "../../functions/workflow/rotation-workflow.ts";
import { credentialSecrets, expectOnlyCompleteCredentials } from "../support/credential-secrets.ts";
import { useDurableRunner } from "../support/durable.ts";
import { buildFleet, type Fleet, type FleetOptions, REAL_TIME_GATE } from "../support/fleet.ts";

useDurableRunner({ skipTime: false });

/**
 * Short real-time settings: one preflight, second-long polls, waits, bakes and grace, and a gate that counts
 * second-long datapoints (CloudWatch publishing them a second late).
 */
const FAST: Partial<RotationSettings> = {
  bakeSeconds: 1,
  deploy: { timeoutSeconds: 60, pollSeconds: 1 },
  preflight: { timeoutSeconds: 2, intervalSeconds: 1, probePath: "/" },
  gate: REAL_TIME_GATE,
  graceSeconds: 1,
};

let fleets: Fleet[] = [];
afterEach(async () => {
  await Promise.all(fleets.map((f) => f.close()));
  fleets = [];
});

async function fleet(options: FleetOptions): Promise<Fleet> {
  const built = await buildFleet({ ...options, settings: { ...FAST, ...options.settings } });
  fleets.push(built);
  return built;
}

/**
 * Starts a rotation without awaiting it. Every step execution (not replay) is counted through the fault
 * hooks, and every history write through a store that notes the sequence it was given.
 */
function start(f: Fleet) {
  const stepRuns = new Map<string, number>();
  const writes: Array<{ sequence: number; type: RotationEvent["type"] }> = [];
  const store: RotationStorePort = {
    acquireLock: (arn, id) => f.store.acquireLock(arn, id),
    releaseLock: (arn, id) => f.store.releaseLock(arn, id),
    claimDistributions: (id, arn, ids, options) => f.store.claimDistributions(id, arn, ids, options),
    releaseDistributions: (id, ids) => f.store.releaseDistributions(id, ids),
    plannedTargetsPage: (id, options) => f.store.plannedTargetsPage(id, options),
    setControl: (id, control) => f.store.setControl(id, control),
    record: (state, event, sequence) => {
      writes.push({ sequence, type: event.type });
      return f.store.record(state, event, sequence);
    },
  };
  const handler = createRotationWorkflow(workflow, {
    ...f.deps,
    store,
    faults: { before: (step) => void stepRuns.set(step, (stepRuns.get(step) ?? 0) + 1) },
  });
  const runner = new LocalDurableTestRunner<RotationOutcome>({ handlerFunction: handler });
  const execution = runner.run({ payload: f.input() });
  // A failed wait below must not leave this promise rejecting unobserved.
  execution.catch(() => undefined);
  return { runner, execution, stepRuns, writes };
}

/** Waits until the control point `name` is open: the callback started and its id is in the store. */
async function controlOpened(run: ReturnType<typeof start>, name: string) {
  const callback = await run.runner.getOperation(name).waitForData(WaitingOperationStatus.STARTED);
  await run.runner.getOperation(`${name}:open`).waitForData(WaitingOperationStatus.COMPLETED);
  return callback;
}

function presented(f: Fleet): string[] {
  return [...f.distributionIds].sort().map((id) => f.standins.cloudfront.originCertificates(id)["origin-1"]!);
}

function elapsedSince(startedAt: number): number {
  return (performance.now() - startedAt) / 1000;
}

describe("replay with real waits", () => {
  it("suspends and replays across invocations without repeating a side effect or a history event", async () => {
    const f = await fleet({ distributions: 2, standins: { deployDelayMs: 1500 } });
    const run = start(f);
    const result = await run.execution;

    expect(result.getStatus()).toBe("SUCCEEDED");
    // Deploy polls, bakes and the grace period each suspended the execution: the handler ran many times.
    const invocations = result.getInvocations().length;
    expect(invocations).toBeGreaterThanOrEqual(4);
    // Each deploy poll found the distributions still deploying at least once (1.5 s vs 1 s polls).
    expect(run.stepRuns.get("wave:0:deploy:2")).toBe(1);
    expect(run.stepRuns.get("wave:1:deploy:2")).toBe(1);

    const outcome = result.getResult()!;
    expect(outcome.status).toBe("completed");
    const newArn = outcome.newCertificateArn!;
    expect(newArn).not.toBe(f.oldCertificateArn);
    expect(presented(f)).toEqual([newArn, newArn]);
    expect(f.standins.privateCa.issuedCount).toBe(1);
    expect(f.standins.server.count("cloudfront", "UpdateDistribution")).toBe(2);

    // No step body ran twice: replays take checkpointed results.
    const repeated = [...run.stepRuns].filter(([, count]) => count !== 1);
    expect(repeated).toEqual([]);
    expect(run.stepRuns.size).toBeGreaterThan(20);

    const rotationId = f.input().rotationId;
    expect((await f.store.get(rotationId))?.status).toBe("completed");
    const history = await f.store.history(rotationId);
    const swapped = history.flatMap((e) => (e.type === "swapped" ? [e.distributionId] : []));
    expect(swapped.sort()).toEqual([...f.distributionIds].sort());
    expect(history.filter((e) => e.type === "completed")).toHaveLength(1);
    // Sequences handed to the store are 0..n-1, each once, and the stored history is exactly those events.
    expect(run.writes.map((w) => w.sequence)).toEqual(run.writes.map((_, i) => i));
    expect(history.map((e) => e.type)).toEqual(run.writes.map((w) => w.type));
    expect(await f.store.getControl(rotationId)).toBeUndefined();

    // Across every replay, the credential secret got one version: the new credential, AWSCURRENT.
    const { credential, issuance } = credentialSecrets(
      f.standins,
      credentialSecretName(f.settings, f.oldCertificateArn),
    );
    expect(credential.versions).toHaveLength(1);
    const { current } = expectOnlyCompleteCredentials(credential, {
      trustAnchorsPem: f.newIssuer.certificatePem,
    });
    expect(current?.certificateArn).toBe(newArn);
    expect(issuance.holder("AWSPENDING")).toBeUndefined();
  }, 30_000);
});

describe("the gate's wait for datapoints, with real waits and replays", () => {
  /** The gate's metrics polls of a wave (checkpointed step results), in order. */
  function gatePolls(result: Awaited<ReturnType<typeof start>["execution"]>, wave: number) {
    return result
      .getOperations()
      .filter(
        (op) =>
          /^gate:\d+:metrics:\d+$/.test(op.getName() ?? "") && op.getName()!.startsWith(`gate:${wave}:`),
      )
      .map((op) => {
        // Each poll judges its reading inside its step: per distribution it names, the rate and datapoints.
        const poll = op.getStepDetails()?.result as { elapsedSeconds: number; result: GateResult };
        return {
          elapsedSeconds: poll.elapsedSeconds,
          metrics: Object.fromEntries(
            poll.result.checks.map((c) => [
              c.distributionId,
              { errorRate: c.errorRate, datapoints: c.datapoints },
            ]),
          ),
        };
      });
  }

  it("no datapoints: polls across replays until the deadline counted from the deployment, then rolls back", async () => {
    const f = await fleet({
      distributions: 1,
      traffic: "none",
      settings: { bakeSeconds: 0, gate: { ...REAL_TIME_GATE, metricsDeadlineSeconds: 4 } },
    });
    const [id] = f.distributionIds as [string];
    const run = start(f);
    const result = await run.execution;

    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError().errorMessage).toMatch(
      new RegExp(`rolled-back \\(GateFailed\\): wave 0: no 5xx datapoints for ${id} within 4 s`),
    );
    expect(presented(f)).toEqual([f.oldCertificateArn]);
    const polls = gatePolls(result, 0);
    // One-second polls, each its own step after a durable wait: the execution suspended and replayed.
    expect(polls.length).toBeGreaterThanOrEqual(4);
    expect(result.getInvocations().length).toBeGreaterThanOrEqual(polls.length);
    expect(polls.slice(0, -1).every((p) => p.elapsedSeconds < 4)).toBe(true);
    expect(polls.at(-1)!.elapsedSeconds).toBeGreaterThanOrEqual(4);
    expect(polls.at(-1)!.elapsedSeconds).toBeLessThan(4 + 3);
    // No poll ran twice: replays take the checkpointed readings (and with them the clock readings).
    const pollRuns = [...run.stepRuns].filter(([step]) => /^gate:0:metrics:\d+$/.test(step));
    expect(pollRuns).toHaveLength(polls.length);
    expect(pollRuns.every(([, count]) => count === 1)).toBe(true);
    // The deadline is counted from the recorded deployment, not from any invocation.
    const history = await f.store.history(f.input().rotationId);
    const deployed = history.find((e) => e.type === "deployed" && e.wave === 0)!;
    const gate = history.find((e) => e.type === "gate" && e.wave === 0)!;
    const waited = (Date.parse(gate.at) - Date.parse(deployed.at)) / 1000;
    expect(waited).toBeGreaterThanOrEqual(4);
    expect(waited).toBeLessThan(4 + 5);
  }, 30_000);

  it("datapoints published late (3 s) pass once they arrive; every poll step ran once", async () => {
    const f = await fleet({
      distributions: 2,
      standins: { awsMetricsDelayMs: 3_000 },
      settings: { bakeSeconds: 0, gate: { ...REAL_TIME_GATE, metricsDeadlineSeconds: 15 } },
    });
    const run = start(f);
    const result = await run.execution;

    expect(result.getStatus()).toBe("SUCCEEDED");
    expect(result.getResult()?.status).toBe("completed");
    for (const wave of [0, 1]) {
      const polls = gatePolls(result, wave);
      const state = await f.store.get(f.input().rotationId);
      const id = state!.waves[wave]!.distributions[0]!.distributionId;
      expect(polls[0]!.metrics[id]).toEqual({ errorRate: null, datapoints: 0 });
      expect(polls.at(-1)!.metrics[id]!.datapoints).toBeGreaterThanOrEqual(2);
      expect(polls.at(-1)!.elapsedSeconds).toBeGreaterThanOrEqual(3);
      expect(polls.at(-1)!.elapsedSeconds).toBeLessThan(15);
    }
    const repeated = [...run.stepRuns].filter(([, count]) => count !== 1);
    expect(repeated).toEqual([]);
  }, 30_000);
});

describe("manual intervention through the control callback", () => {
  it("a rollback message during a bake rolls back at once, long before the window ends", async () => {
    const f = await fleet({ distributions: 2, settings: { bakeSeconds: 30 } });
    const rotationId = f.input().rotationId;
    const run = start(f);

    const bake = await controlOpened(run, "bake:0");
    // The control point the API will use to reach this callback.
    const control = await f.store.getControl(rotationId);
    expect(control).toEqual({ callbackId: bake.getCallbackDetails()!.callbackId, kind: "bake", wave: 0 });
    expect(control?.callbackId).toBeTruthy();
    expect(presented(f)[0]).not.toBe(f.oldCertificateArn);

    const sentAt = performance.now();
    await bake.sendCallbackSuccess(
      JSON.stringify({ action: "rollback", actor: "alice@example.com", reason: "canary looks wrong" }),
    );
    const result = await run.execution;
    expect(elapsedSince(sentAt)).toBeLessThan(15);

    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError().errorMessage).toMatch(/rolled-back \(ManualRollback\): canary looks wrong/);
    expect(presented(f)).toEqual([f.oldCertificateArn, f.oldCertificateArn]);
    const state = await f.store.get(rotationId);
    expect(state?.status).toBe("rolled-back");
    expect(state?.rollback).toMatchObject({ actor: "alice@example.com", reason: "ManualRollback" });
    // The second wave never started; no gate ran for the first.
    expect(state?.waves[0]?.gate).toBeUndefined();
    expect(state?.waves[1]?.distributions.map((d) => d.outcome)).toEqual(["pending"]);
    expect(await f.store.getControl(rotationId)).toBeUndefined();
    expect(await f.store.activeRotationFor(f.oldCertificateArn)).toBeUndefined();
    expect(f.standins.sns.messages(f.topicArn).at(-1)?.attributes.event).toBe("rolled-back");
    // A first rotation rolled back: no credential secret (so no AWSCURRENT on anything), nothing pending.
    const { credential, issuance } = credentialSecrets(
      f.standins,
      credentialSecretName(f.settings, f.oldCertificateArn),
    );
    expect(credential.exists).toBe(false);
    expect(issuance.holder("AWSPENDING")).toBeUndefined();
  }, 25_000);

  it("an unreadable operator message is treated as a rollback", async () => {
    const f = await fleet({ distributions: 1, settings: { bakeSeconds: 30 } });
    const rotationId = f.input().rotationId;
    const run = start(f);

    const bake = await controlOpened(run, "bake:0");
    const sentAt = performance.now();
    await bake.sendCallbackSuccess("not json");
    const result = await run.execution;
    expect(elapsedSince(sentAt)).toBeLessThan(15);

    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError().errorMessage).toMatch(
      /rolled-back \(ManualRollback\): unreadable control message/,
    );
    expect(presented(f)).toEqual([f.oldCertificateArn]);
    const state = await f.store.get(rotationId);
    expect(state?.status).toBe("rolled-back");
    expect(state?.rollback?.actor).toBe("unknown");
    expect(await f.store.getControl(rotationId)).toBeUndefined();
  }, 25_000);

  it("a failed callback (SendDurableExecutionCallbackFailure) during a bake is treated as a rollback", async () => {
    const f = await fleet({ distributions: 2, settings: { bakeSeconds: 30 } });
    const rotationId = f.input().rotationId;
    const run = start(f);

    const bake = await controlOpened(run, "bake:0");
    const sentAt = performance.now();
    await bake.sendCallbackFailure({ ErrorType: "OperatorAbort", ErrorMessage: "pager went off" });
    const result = await run.execution;
    expect(elapsedSince(sentAt)).toBeLessThan(15);

    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError().errorMessage).toMatch(/rolled-back \(ManualRollback\): control bake:0 failed/);
    expect(presented(f)).toEqual(f.distributionIds.map(() => f.oldCertificateArn));
    const state = await f.store.get(rotationId);
    expect(state?.status).toBe("rolled-back");
    expect(await f.store.getControl(rotationId)).toBeUndefined();
    expect(await f.store.activeRotationFor(f.oldCertificateArn)).toBeUndefined();
    expect(f.standins.sns.messages(f.topicArn).at(-1)?.attributes.event).toBe("rolled-back");
  }, 25_000);

  it("approval between waves: wave 1 swaps only after the operator approved wave 0", async () => {
    const f = await fleet({
      distributions: 2,
      settings: { approval: { mode: "between-waves", timeoutSeconds: 30, onTimeout: "rollback" } },
    });
    const rotationId = f.input().rotationId;
    const run = start(f);

    const approval = await controlOpened(run, "approval:0");
    expect(await f.store.getControl(rotationId)).toEqual({
      callbackId: approval.getCallbackDetails()!.callbackId,
      kind: "approval",
      wave: 0,
    });
    // Waiting for the operator: the canary presents the new certificate, the rest still the old one.
    const [canary, rest] = presented(f);
    expect(canary).not.toBe(f.oldCertificateArn);
    expect(rest).toBe(f.oldCertificateArn);
    expect(run.stepRuns.has(`swap:1:${[...f.distributionIds].sort()[1]}`)).toBe(false);

    const sentAt = performance.now();
    await approval.sendCallbackSuccess(
      JSON.stringify({ action: "approve", actor: "bob", reason: "looks good" }),
    );
    const result = await run.execution;
    expect(elapsedSince(sentAt)).toBeLessThan(20);

    expect(result.getStatus()).toBe("SUCCEEDED");
    expect(result.getResult()?.status).toBe("completed");
    const newArn = result.getResult()!.newCertificateArn!;
    expect(presented(f)).toEqual([newArn, newArn]);
    const history = await f.store.history(rotationId);
    const approvedAt = history.findIndex((e) => e.type === "approved");
    expect(history[approvedAt]).toMatchObject({ type: "approved", wave: 0, actor: "bob" });
    const swapWave = (wave: number) => history.findIndex((e) => e.type === "swapped" && e.wave === wave);
    expect(swapWave(0)).toBeGreaterThanOrEqual(0);
    expect(swapWave(0)).toBeLessThan(approvedAt);
    expect(swapWave(1)).toBeGreaterThan(approvedAt);
    expect(history.filter((e) => e.type === "approved")).toHaveLength(1);
    expect(await f.store.getControl(rotationId)).toBeUndefined();
  }, 30_000);
});

describe("an approval window that times out follows the policy", () => {
  it('onTimeout "rollback": the rotation ends rolled back (ApprovalTimedOut)', async () => {
    const f = await fleet({
      distributions: 2,
      settings: { approval: { mode: "between-waves", timeoutSeconds: 1, onTimeout: "rollback" } },
    });
    const rotationId = f.input().rotationId;
    const result = await start(f).execution;

    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError().errorMessage).toMatch(
      /rolled-back \(ApprovalTimedOut\): no approval within 1 s/,
    );
    expect(presented(f)).toEqual([f.oldCertificateArn, f.oldCertificateArn]);
    const state = await f.store.get(rotationId);
    expect(state?.status).toBe("rolled-back");
    expect(state?.rollback).toMatchObject({ actor: "policy", reason: "ApprovalTimedOut" });
    const history = await f.store.history(rotationId);
    expect(history.some((e) => e.type === "approved")).toBe(false);
    expect(history.some((e) => e.type === "swapped" && e.wave === 1)).toBe(false);
    expect(f.standins.acm.arns()).toEqual([f.oldCertificateArn]);
    expect(await f.store.getControl(rotationId)).toBeUndefined();
    expect(f.standins.sns.messages(f.topicArn).at(-1)?.attributes.event).toBe("rolled-back");
  }, 25_000);

  it('onTimeout "proceed": the policy approves and the rotation completes', async () => {
    const f = await fleet({
      distributions: 2,
      settings: { approval: { mode: "between-waves", timeoutSeconds: 1, onTimeout: "proceed" } },
    });
    const rotationId = f.input().rotationId;
    const result = await start(f).execution;

    expect(result.getStatus()).toBe("SUCCEEDED");
    const newArn = result.getResult()!.newCertificateArn!;
    expect(presented(f)).toEqual([newArn, newArn]);
    expect((await f.store.get(rotationId))?.status).toBe("completed");
    const history = await f.store.history(rotationId);
    expect(history.filter((e) => e.type === "approved")).toEqual([
      expect.objectContaining({ wave: 0, actor: "policy" }),
    ]);
    expect(await f.store.getControl(rotationId)).toBeUndefined();
  }, 25_000);
});
