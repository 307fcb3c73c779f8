import { X509Certificate } from "node:crypto";
/**
 * Whole rotations driven through the API: POST /rotations starts a real rotation on the local durable runner
 * (real timers) against the stand-ins, dynalite and real TLS origins; POST /rotations/{id}/rollback and
 * /approve deliver the operator's decision through controlRotation and the local callback sender, and the
 * rotation's history records the IAM principal who took it.
 */
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { workflow } from "sst/aws/workflow";
import { afterEach, describe, expect, it } from "vitest";
import { RotationPages } from "../../../functions/adapters/rotation-pages.ts";
import type { RotationRoutesDeps } from "../../../functions/api/rotations.ts";
import type { RotationSettings } from "../../../functions/config/settings.ts";
import { managedAuthorityOf } from "../../../functions/core/tracking.ts";
import { approveRotationHandler } from "../../../functions/handlers/api/approve-rotation.ts";
import { getRotationHandler } from "../../../functions/handlers/api/get-rotation.ts";
import { rollbackRotationHandler } from "../../../functions/handlers/api/rollback-rotation.ts";
import { startRotationHandler } from "../../../functions/handlers/api/start-rotation.ts";
import { createRotationWorkflow } from "../../../functions/workflow/rotation-workflow.ts";
import { localCallbackSender, localWorkflowStarter } from "../../../standins/durable.ts";
import { modelCheckedCallbackSender } from "../../../standins/lambda.ts";
import { type ApiEventOptions, apiEvent, invoke, PRINCIPAL, ROLE_SESSION } from "../../support/api-events.ts";
import { useDurableRunner } from "../../support/durable.ts";
import { buildFleet, type Fleet, REAL_TIME_GATE } from "../../support/fleet.ts";
import { expectNoKeyMaterial } from "../../support/key-material.ts";

useDurableRunner({ skipTime: false });

const quiet = { log: () => undefined };

/** Short real-time settings: one preflight, second-long polls, bake and grace (as rotation-replay.test.ts). */
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

/** A fleet and the API over it: rotations run on the local durable runner, decisions reach their callbacks. */
async function apiOverFleet(distributions: number) {
  const fleet = await buildFleet({ distributions, settings: FAST });
  fleets.push(fleet);
  const starter = localWorkflowStarter(
    () => new LocalDurableTestRunner({ handlerFunction: createRotationWorkflow(workflow, fleet.deps) }),
  );
  const deps: RotationRoutesDeps = {
    settings: fleet.settings,
    acm: fleet.deps.acm,
    distributions: fleet.deps.distributions,
    privateCa: fleet.deps.issuance.privateCa,
    trustTargets: fleet.deps.trustTargets,
    store: fleet.store,
    managedAuthorities: async () => [managedAuthorityOf(new X509Certificate(fleet.oldIssuer.certificatePem))],
    starter,
    callbacks: modelCheckedCallbackSender(localCallbackSender()),
  };
  const call = (handler: Parameters<typeof invoke>[0], route: string, options: ApiEventOptions = {}) =>
    invoke(handler, apiEvent(route, options));
  return {
    fleet,
    starter,
    start: (body: Record<string, unknown>, options: ApiEventOptions = {}) =>
      call(
        startRotationHandler(async () => deps, quiet),
        "POST /rotations",
        { ...options, body },
      ),
    rollback: (id: string, options: ApiEventOptions = {}) =>
      call(
        rollbackRotationHandler(async () => deps, quiet),
        "POST /rotations/{id}/rollback",
        { ...options, params: { id } },
      ),
    approve: (id: string, options: ApiEventOptions = {}) =>
      call(
        approveRotationHandler(async () => deps, quiet),
        "POST /rotations/{id}/approve",
        { ...options, params: { id } },
      ),
    get: (id: string) =>
      call(
        getRotationHandler(async () => ({ store: new RotationPages(fleet.store.tableReads) }), quiet),
        "GET /rotations/{id}",
        { params: { id } },
      ),
  };
}

/** Polls until the rotation waits at a control point of `kind`. */
async function controlPoint(fleet: Fleet, rotationId: string, kind: "bake" | "approval", timeoutMs = 20_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const control = await fleet.store.getControl(rotationId);
    if (control?.kind === kind) return control;
    if (Date.now() > deadline)
      throw new Error(`rotation ${rotationId} did not reach a ${kind} control point`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function presented(fleet: Fleet): string[] {
  return [...fleet.distributionIds]
    .sort()
    .map((id) => fleet.standins.cloudfront.originCertificates(id)["origin-1"]!);
}

describe("rollback through the API", () => {
  it("rolls a rotation back during its bake window; the history names the principal", async () => {
    const api = await apiOverFleet(2);
    const { fleet } = api;
    // The stage bakes for 1 s; this rotation asks for 30 s (an override), long enough to decide in.
    const started = await api.start({ certificateArn: fleet.oldCertificateArn, bakeSeconds: 30 });
    expect(started.status).toBe(202);
    const { rotationId } = started.body;
    expect(started.body).toEqual({ rotationId, started: true, status: expect.any(String) });

    const control = await controlPoint(fleet, rotationId, "bake");
    expect(control.wave).toBe(0);
    expect(presented(fleet)[0]).not.toBe(fleet.oldCertificateArn);

    // While it runs: a second start is a conflict naming it, and there is no approval to give.
    const again = await api.start({ certificateArn: fleet.oldCertificateArn });
    expect(again.status).toBe(409);
    expect(again.body.error.rotationId).toBe(rotationId);
    const approve = await api.approve(rotationId);
    expect(approve.status).toBe(409);
    expect(approve.body.error).toMatchObject({ code: "Conflict", rotationId });

    const rollback = await api.rollback(rotationId, { body: { reason: "canary 5xx doubled" } });
    expect(rollback.status).toBe(202);
    expect(rollback.body).toEqual({ rotationId, action: "rollback", kind: "bake", wave: 0 });

    const run = await api.starter.execution(rotationId)!.done;
    expect(run.error).toBeUndefined();
    expect(presented(fleet)).toEqual([fleet.oldCertificateArn, fleet.oldCertificateArn]);

    const shown = await api.get(rotationId);
    expect(shown.status).toBe(200);
    expect(shown.body.rotation).toMatchObject({
      status: "rolled-back",
      request: { actor: PRINCIPAL, reason: "manual rotation via API", overrides: { bakeSeconds: 30 } },
      rollback: { reason: "ManualRollback", actor: PRINCIPAL, detail: "canary 5xx doubled" },
    });
    const requested = shown.body.history.find((e: { type: string }) => e.type === "rollback-requested");
    expect(requested).toMatchObject({
      actor: PRINCIPAL,
      reason: "ManualRollback",
      detail: "canary 5xx doubled",
    });
    expectNoKeyMaterial(shown.body, [fleet.oldCredential.privateKeyPem]);

    // Over: nothing left to decide.
    const late = await api.rollback(rotationId);
    expect(late.status).toBe(409);
    expect(late.body.error.message).toContain("rolled-back");
  }, 60_000);
});

describe("approval through the API", () => {
  it("a rotation asked to wait between waves goes on when approved; the history names the approver", async () => {
    const api = await apiOverFleet(2);
    const { fleet } = api;
    // The stage does not ask for approval; this rotation does (and skips the bake window).
    const started = await api.start(
      { certificateArn: fleet.oldCertificateArn, approval: "between-waves", bakeSeconds: 0 },
      { principal: PRINCIPAL },
    );
    expect(started.status).toBe(202);
    const { rotationId } = started.body;

    const control = await controlPoint(fleet, rotationId, "approval");
    expect(control.wave).toBe(0);
    const [canary, rest] = presented(fleet);
    expect(canary).not.toBe(fleet.oldCertificateArn);
    expect(rest).toBe(fleet.oldCertificateArn);

    const approved = await api.approve(rotationId, {
      principal: ROLE_SESSION,
      body: { reason: "canary healthy" },
    });
    expect(approved.status).toBe(202);
    expect(approved.body).toEqual({ rotationId, action: "approve", kind: "approval", wave: 0 });

    const run = await api.starter.execution(rotationId)!.done;
    expect(run.error).toBeUndefined();
    const shown = await api.get(rotationId);
    expect(shown.body.rotation.status).toBe("completed");
    const newArn = shown.body.rotation.issued.certificateArn;
    expect(presented(fleet)).toEqual([newArn, newArn]);
    const history = shown.body.history as Array<{ type: string; actor?: string; wave?: number }>;
    expect(history.filter((e) => e.type === "approved")).toEqual([
      expect.objectContaining({ type: "approved", wave: 0, actor: ROLE_SESSION }),
    ]);
    expect(history.find((e) => e.type === "started")).toMatchObject({ request: { actor: PRINCIPAL } });
    // No bake window was opened (bakeSeconds 0): the only control point was the approval.
    expect(run.result).toBeDefined();
  }, 60_000);
});
