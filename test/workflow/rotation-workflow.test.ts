/**
 * The rotation workflow on the real durable-execution runtime (local runner, time skipped), against the
 * stand-ins, dynalite and real TLS origins. Real timers, replay, manual rollback and approvals: rotation-replay.test.ts.
 */

import { X509Certificate } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { LocalDurableTestRunner, WaitingOperationStatus } from "@aws/durable-execution-sdk-js-testing";
import { PutObjectCommand } from "@aws-sdk/client-s3";
import { workflow } from "sst/aws/workflow";
import { afterEach, describe, expect, it } from "vitest";
import { ItemTooLargeError } from "../../functions/adapters/rotation-store.ts";
import { DEFAULT_SETTINGS, worstCaseSeconds } from "../../functions/config/settings.ts";
import { sha256Hex } from "../../functions/core/pem.ts";
import { type GateResult, type RotationEvent, rotationIdFor } from "../../functions/core/rotation.ts";
import { startRotation } from "../../functions/dispatch/start-rotation.ts";
import { originSync } from "../../functions/origin-sync/origin-sync.ts";
import {
  createRotationWorkflow,
  credentialSecretName,
  type RotationDeps,
  type RotationInput,
  type RotationOutcome,
  type StepFaults,
} from "../../functions/workflow/rotation-workflow.ts";
import { localDurableStarter } from "../../standins/durable.ts";
import { credentialSecrets, expectOnlyCompleteCredentials } from "../support/credential-secrets.ts";
import {
  advanceFakeClock,
  resetFakeClock,
  useDurableRunner,
  withWaitsThatAddUp,
} from "../support/durable.ts";
import { Edge } from "../support/edge.ts";
import { buildFleet, type Fleet, type FleetOptions } from "../support/fleet.ts";
import { expectNoKeyMaterial } from "../support/key-material.ts";

useDurableRunner({ skipTime: true });

let fleets: Fleet[] = [];
/** Directories of origin hosts' live files (origin-sync's --out). */
const tempDirs: string[] = [];
afterEach(async () => {
  await Promise.all(fleets.map((f) => f.close()));
  fleets = [];
  await Promise.all(tempDirs.splice(0).map((dir) => rm(dir, { recursive: true, force: true })));
});

async function fleet(options: FleetOptions): Promise<Fleet> {
  const built = await buildFleet(options);
  fleets.push(built);
  return built;
}

async function rotate(
  f: Fleet,
  options: {
    faults?: StepFaults;
    deps?: Partial<RotationDeps>;
    dryRun?: boolean;
    input?: Partial<RotationInput>;
  } = {},
) {
  const handler = createRotationWorkflow(withWaitsThatAddUp(workflow), {
    ...f.deps,
    ...options.deps,
    faults: options.faults,
  });
  const runner = new LocalDurableTestRunner({ handlerFunction: handler });
  const result = await runner.run({
    payload: f.input({ ...(options.dryRun ? { dryRun: true } : {}), ...options.input }),
  });
  return { runner, result };
}

/**
 * CloudFront's 5xx rate of a distribution for the first whole minute after now (call it once its swap
 * deployed): a datapoint the gate may read, which CloudWatch publishes minutes later.
 */
function badMinuteAfter(f: Fleet, distributionId: string, errorRate: number): void {
  f.standins.cloudwatch.record(
    "AWS/CloudFront",
    "5xxErrorRate",
    { DistributionId: distributionId, Region: "Global" },
    errorRate,
    new Date(Math.ceil(Date.now() / 60_000) * 60_000),
  );
}

function presented(f: Fleet): string[] {
  return f.distributionIds.map((id) => f.standins.cloudfront.originCertificates(id)["origin-1"]!);
}

/** The credential secret (and issuance secret) of the fleet's certificate lineage. */
function secretsOf(f: Fleet) {
  return credentialSecrets(f.standins, credentialSecretName(f.settings, f.oldCertificateArn));
}

/** Every private key: the one in service and every key the rotations stored (both secrets). */
async function keyMaterialOf(f: Fleet): Promise<string[]> {
  const { credential, issuance } = secretsOf(f);
  return [
    f.oldCredential.privateKeyPem,
    ...[...credential.versions, ...issuance.versions]
      .map((v) => v.document?.privateKeyPem)
      .filter((key): key is string => typeof key === "string"),
  ];
}

/** Everything that is checkpointed, stored, published or answered: none of it may carry a key. */
async function expectNoKeyLeak(f: Fleet, result: Awaited<ReturnType<typeof rotate>>["result"]) {
  const rotationId = f.input().rotationId;
  const keys = await keyMaterialOf(f);
  expect(keys.length).toBeGreaterThan(1);
  expectNoKeyMaterial(result.getOperations(), keys);
  expectNoKeyMaterial(result.getStatus() === "SUCCEEDED" ? result.getResult() : result.getError(), keys);
  expectNoKeyMaterial(f.standins.sns.messages(), keys);
  expectNoKeyMaterial(await f.store.get(rotationId), keys);
  expectNoKeyMaterial(await f.store.history(rotationId), keys);
}

describe("a healthy rotation", () => {
  it("swaps three waves, promotes the credential, retires the old certificate and tells subscribers", async () => {
    const f = await fleet({ distributions: 3 });
    const { result } = await rotate(f);

    expect(result.getStatus()).toBe("SUCCEEDED");
    const outcome = result.getResult() as { status: string; newCertificateArn: string; waves: number };
    expect(outcome).toMatchObject({ status: "completed", waves: 3 });
    const newArn = outcome.newCertificateArn;
    expect(newArn).not.toBe(f.oldCertificateArn);

    // Every distribution presents the new certificate; the old one is gone from ACM; one certificate issued.
    expect(presented(f)).toEqual([newArn, newArn, newArn]);
    expect(f.standins.acm.arns()).not.toContain(f.oldCertificateArn);
    expect(f.standins.privateCa.issuedCount).toBe(1);

    // The credential secret (never rotated before) holds one version: the complete new credential,
    // AWSCURRENT, with no AWSPREVIOUS; nothing is pending anywhere.
    const { credential, issuance } = secretsOf(f);
    expect(Object.values(credential.stages)).toEqual([["AWSCURRENT"]]);
    const { current, previous } = expectOnlyCompleteCredentials(credential, {
      trustAnchorsPem: f.newIssuer.certificatePem,
    });
    expect(current?.certificateArn).toBe(newArn);
    expect(f.standins.acm.certificatePemOf(newArn)).toBe(current?.certificatePem);
    expect(previous).toBeUndefined();
    expect(issuance.holder("AWSPENDING")).toBeUndefined();

    // The state the API will show, and the history, in DynamoDB.
    const rotationId = f.input().rotationId;
    const state = await f.store.get(rotationId);
    expect(state?.status).toBe("completed");
    expect(state?.waves.map((w) => [w.status, w.distributions.map((d) => d.outcome)])).toEqual([
      ["passed", ["swapped"]],
      ["passed", ["swapped"]],
      ["passed", ["swapped"]],
    ]);
    const history = (await f.store.history(rotationId)).map((e) => e.type);
    expect(history.slice(0, 4)).toEqual(["started", "planned", "issued", "trust-published"]);
    expect(history.slice(-3)).toEqual(["promoted", "retired", "completed"]);
    expect(await f.store.activeRotationFor(f.oldCertificateArn)).toBeUndefined();

    // Notifications: subject, JSON body, attributes.
    const events = f.standins.sns.messages(f.topicArn).map((m) => m.attributes.event);
    expect(events).toEqual([
      "rotation-started",
      "trust-published",
      "wave-completed",
      "wave-completed",
      "wave-completed",
      "rotation-completed",
    ]);
    for (const message of f.standins.sns.messages(f.topicArn)) {
      expect(message.subject).toMatch(/^\[mtls-rotator\] /);
      expect(message.attributes.certificateArn).toBe(f.oldCertificateArn);
      expect(JSON.parse(message.message).rotationId).toBe(rotationId);
    }
    await expectNoKeyLeak(f, result);
  });

  it("leaves a certificate it did not import in place (its role may delete only certificates with its mark) and completes", async () => {
    // The lineage's first rotation: the certificate in service was imported by an operator, without tags.
    const f = await fleet({ distributions: 1, oldImportedBy: "operator" });
    const { result } = await rotate(f);

    expect(result.getStatus()).toBe("SUCCEEDED");
    const outcome = result.getResult() as { status: string; newCertificateArn: string };
    expect(outcome.status).toBe("completed");
    expect(presented(f)).toEqual([outcome.newCertificateArn]);
    // Not deleted, not even tried: IAM would refuse it (infra/rotation.ts), and the rotation is not stuck.
    expect(f.standins.acm.arns()).toContain(f.oldCertificateArn);
    expect(f.standins.server.count("acm", "DeleteCertificate")).toBe(0);
    const rotationId = f.input().rotationId;
    const retired = (await f.store.history(rotationId)).find((e) => e.type === "retired");
    expect(retired).toMatchObject({
      deleted: false,
      revoked: false,
      detail: expect.stringMatching(/^left in place: not imported by mtls-rotator/),
    });
    expect((await f.store.get(rotationId))?.status).toBe("completed");
    expect(await f.store.activeRotationFor(f.oldCertificateArn)).toBeUndefined();
    // The certificate it imported carries the mark: the next rotation of the lineage retires it.
    expect(await f.deps.acm.tagsOf(outcome.newCertificateArn)).toMatchObject({
      "mtls-rotator:managed": "true",
    });
  });

  it("a dry run plans and changes nothing", async () => {
    const f = await fleet({ distributions: 3 });
    const { result } = await rotate(f, { dryRun: true });
    expect(result.getStatus()).toBe("SUCCEEDED");
    expect((result.getResult() as { status: string }).status).toBe("dry-run");
    expect(presented(f)).toEqual(f.distributionIds.map(() => f.oldCertificateArn));
    expect(f.standins.privateCa.issuedCount).toBe(0);
    expect(f.standins.server.count("cloudfront", "UpdateDistribution")).toBe(0);
    const state = await f.store.get(f.input().rotationId);
    expect(state?.waves.map((w) => w.distributions.length)).toEqual([1, 1, 1]);
  });
});

describe("a replacement its CA's chain caps (issue 13)", () => {
  it("is issued for the days the chain has left, and subscribers are told: plan a CA migration", async () => {
    // The issuing CA's certificate has about 1,824 days left (standins/pki.ts); 2,000 are asked for.
    const f = await fleet({ distributions: 1, settings: { validityDays: 2_000, bakeSeconds: 0 } });
    const { result } = await rotate(f);

    expect(result.getStatus()).toBe("SUCCEEDED");
    const caNotAfter = new Date(new X509Certificate(f.newIssuer.certificatePem).validTo);
    const grantedDays = Math.floor((caNotAfter.getTime() - Date.now()) / 86_400_000);
    const messages = f.standins.sns.messages(f.topicArn);
    expect(messages.map((m) => m.attributes.event)).toEqual([
      "rotation-started",
      "validity-capped",
      "trust-published",
      "wave-completed",
      "rotation-completed",
    ]);
    const capped = messages[1]!;
    expect(capped.attributes).toEqual({
      event: "validity-capped",
      severity: "warning",
      certificateArn: f.oldCertificateArn,
    });
    expect(capped.subject).toMatch(/^\[mtls-rotator\] certificate validity capped by its CA: /);
    const body = JSON.parse(capped.message);
    expect(body).toMatchObject({
      rotationId: f.input().rotationId,
      requestedDays: 2_000,
      authorityArn: f.authorityArn,
      caCertificate: { subject: "CN=Acme Origin Client CA 1, O=Acme", notAfter: caNotAfter.toISOString() },
      advice: expect.stringMatching(/^plan a CA migration/),
    });
    // Whole days left before the CA's notAfter when the step ran (a day's boundary may pass during the test).
    expect(body.grantedDays).toBeGreaterThanOrEqual(grantedDays - 1);
    expect(body.grantedDays).toBeLessThanOrEqual(grantedDays);
    expect(capped.message).not.toContain("BEGIN CERTIFICATE");
    // The certificate issued ends before its CA's does.
    const issued = (await f.store.history(f.input().rotationId)).find((e) => e.type === "issued");
    expect(Date.parse((issued as { notAfter: string }).notAfter)).toBeLessThanOrEqual(caNotAfter.getTime());
    await expectNoKeyLeak(f, result);
  });

  it("one the chain does not cap sends no validity-capped notification", async () => {
    const f = await fleet({ distributions: 1, settings: { validityDays: 90, bakeSeconds: 0 } });
    const { result } = await rotate(f);
    expect(result.getStatus()).toBe("SUCCEEDED");
    expect(f.standins.sns.messages(f.topicArn).map((m) => m.attributes.event)).toEqual([
      "rotation-started",
      "trust-published",
      "wave-completed",
      "rotation-completed",
    ]);
    expect(result.getOperations().map((op) => op.getName())).not.toContain("notify:validity-capped");
  });
});

describe("the scan's listing handed to the rotation (core/presented-by.ts)", () => {
  const listing = (ids: string[], listedAt: Date) => ({
    presentedBy: {
      listedAt: listedAt.toISOString(),
      targets: ids.map((distributionId) => ({ distributionId, originIds: ["origin-1"] })),
    },
  });
  const listings = (f: Fleet, from: number) =>
    f.standins.server.calls.slice(from).filter((c) => c.operation === "ListDistributions").length;

  it("a fresh one: the plan lists nothing and the rotation completes", async () => {
    const f = await fleet({ distributions: 2, settings: { bakeSeconds: 0 } });
    const from = f.standins.server.calls.length;
    const { result } = await rotate(f, { input: listing(f.distributionIds, new Date()) });
    expect(result.getStatus()).toBe("SUCCEEDED");
    expect(listings(f, from)).toBe(0);
    const newArn = (await f.store.get(f.input().rotationId))?.issued?.certificateArn;
    expect(presented(f)).toEqual([newArn, newArn]);
  });

  it("a stale one is ignored: the plan lists", async () => {
    const f = await fleet({ distributions: 2, settings: { bakeSeconds: 0 } });
    const from = f.standins.server.calls.length;
    const stale = new Date(Date.now() - 11 * 60_000);
    const { result } = await rotate(f, { input: listing([f.distributionIds[0]!], stale) });
    expect(result.getStatus()).toBe("SUCCEEDED");
    expect(listings(f, from)).toBe(1);
    const newArn = (await f.store.get(f.input().rotationId))?.issued?.certificateArn;
    expect(presented(f)).toEqual([newArn, newArn]);
  });

  it("one that missed a distribution: that one keeps the old certificate, which is not retired", async () => {
    const f = await fleet({ distributions: 2, settings: { bakeSeconds: 0 } });
    const [named, missed] = f.distributionIds as [string, string];
    const { result } = await rotate(f, { input: listing([named], new Date()) });
    expect(result.getStatus()).toBe("SUCCEEDED");
    const newArn = (await f.store.get(f.input().rotationId))?.issued?.certificateArn;
    expect(f.standins.cloudfront.originCertificates(named)["origin-1"]).toBe(newArn);
    expect(f.standins.cloudfront.originCertificates(missed)["origin-1"]).toBe(f.oldCertificateArn);
    // Still presented: ACM refuses to delete it (acm.delete-in-use), kept for the next scan to rotate.
    expect(f.standins.acm.arns()).toContain(f.oldCertificateArn);
    const retired = (await f.store.history(f.input().rotationId)).find((e) => e.type === "retired");
    expect(retired).toMatchObject({ deleted: false, detail: expect.stringMatching(/^still in use: /) });
  });
});

describe("a record over an AWS size limit stops the rotation in place (issue 12)", () => {
  it("an item too large while recording wave 1's swap: nothing rolled back, the old certificate kept, told", async () => {
    const f = await fleet({ distributions: 3 });
    const { result } = await rotate(f, {
      faults: {
        before: async (step) => {
          if (step.startsWith("swap:1:")) {
            throw new ItemTooLargeError(
              "the history item is 412345 bytes, over DynamoDB's 409600-byte item limit",
            );
          }
        },
      },
    });

    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError()?.errorMessage).toMatch(/rotation failed \(StorageLimit\)/);
    // Not retried (final), and no rollback: wave 0 keeps the new certificate, the rest the old one.
    const names = result.getOperations().map((op) => op.getName() ?? "");
    expect(names.filter((n) => n.startsWith("rollback"))).toEqual([]);
    expect(names).toContain("stop");
    const swap = result.getOperations().find((op) => op.getName()?.startsWith("swap:1:"));
    expect(swap?.getOperationData()?.StepDetails?.Attempt).toBe(1);
    const state = await f.store.get(f.input().rotationId);
    const newArn = state?.issued?.certificateArn;
    expect(newArn).toBeDefined();
    expect(presented(f).filter((arn) => arn === newArn)).toHaveLength(1);
    expect(presented(f).filter((arn) => arn === f.oldCertificateArn)).toHaveLength(2);
    expect(f.standins.acm.arns()).toEqual(expect.arrayContaining([f.oldCertificateArn, newArn]));
    expect(state?.status).toBe("failed");
    expect(state?.outcome?.reason).toBe("StorageLimit");
    expect(state?.outcome?.detail).toMatch(/1 of 3 distributions present the new certificate/);
    // The new certificate's credential stays staged (its only key copy besides ACM).
    expect(secretsOf(f).issuance.holder("AWSPENDING")).toBeDefined();
    // Claims and lock released: the next scan can start a rotation for the distributions left.
    expect(await f.store.acquireLock(f.oldCertificateArn, "next-rotation")).toEqual({ acquired: true });
    expect(f.standins.sns.messages(f.topicArn).at(-1)?.attributes).toMatchObject({
      event: "rotation-failed",
      severity: "critical",
    });
    await expectNoKeyLeak(f, result);
  });
});

describe("a record over an AWS size limit after its change was made", () => {
  it("a swap made but not recorded is counted from CloudFront, and said to be ungated", async () => {
    const f = await fleet({ distributions: 3 });
    const store = f.deps.store;
    // The store refuses the record of wave 1's swap, after CloudFront changed the distribution.
    const refusing = new Proxy(store, {
      get(target, property) {
        if (property === "record") {
          return async (...args: Parameters<typeof store.record>) => {
            const event = args[1];
            if (event.type === "swapped" && event.wave === 1) {
              throw new ItemTooLargeError("the history item is over DynamoDB's 409600-byte item limit");
            }
            return target.record(...args);
          };
        }
        const value = Reflect.get(target, property, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const { result } = await rotate(f, { deps: { store: refusing } });
    expect(result.getError()?.errorMessage).toMatch(/rotation failed \(StorageLimit\)/);
    const state = await f.store.get(f.input().rotationId);
    const newArn = state?.issued?.certificateArn;
    expect(presented(f).filter((arn) => arn === newArn)).toHaveLength(2);
    expect(state?.outcome?.detail).toMatch(
      /2 of 3 distributions present the new certificate, the rest the old one \(not retired\); 1 of them were swapped without a gate that passed$/,
    );
    expect(result.getOperations().map((op) => op.getName())).not.toContain("rollback:requested");
  });
});

describe("a failing gate rolls everything back", () => {
  it("an origin that stops trusting the new issuer after its wave swapped -> every swapped distribution back", async () => {
    const f = await fleet({ distributions: 3, newIssuer: "other" });
    for (const origin of f.origins.values()) await origin.trust(f.bothTrustPem);
    const second = [...f.distributionIds].sort()[1]!;
    const { result } = await rotate(f, {
      faults: {
        // Just before wave 1's gate, that wave's origin drops the new CA from its bundle.
        before: async (step) => {
          if (step === "gate:1") await f.origins.get(second)!.trust(f.oldTrustPem);
        },
      },
    });

    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError()?.errorMessage).toMatch(/rolled-back \(GateFailed\)/);
    expect(presented(f)).toEqual(f.distributionIds.map(() => f.oldCertificateArn));
    const state = await f.store.get(f.input().rotationId);
    expect(state?.status).toBe("rolled-back");
    expect(state?.waves.map((w) => w.status)).toEqual(["passed", "failed", "pending"]);
    expect(state?.waves.flatMap((w) => w.distributions.map((d) => d.outcome))).toEqual([
      "rolled-back",
      "rolled-back",
      "pending",
    ]);
    expect(state?.waves[1]?.gate?.probes.find((p) => !p.accepted)?.status).toBe(400);
    // The new certificate is retired again, the old one kept; the secret has nothing pending.
    expect(f.standins.acm.arns()).toContain(f.oldCertificateArn);
    expect(f.standins.acm.arns()).toHaveLength(1);
    // The credential secret was never written (first rotation: it does not exist); nothing is pending.
    expect(secretsOf(f).credential.exists).toBe(false);
    expect(secretsOf(f).issuance.holder("AWSPENDING")).toBeUndefined();
    expect(f.standins.sns.messages(f.topicArn).at(-1)?.attributes).toMatchObject({
      event: "rolled-back",
      severity: "critical",
    });
    await expectNoKeyLeak(f, result);
  });

  it("a 5xx error rate above the baseline fails the gate", async () => {
    const f = await fleet({ distributions: 2 });
    // The canary is the first distribution in wave order (planning sorts by id).
    const canary = [...f.distributionIds].sort()[0]!;
    const { result } = await rotate(f, {
      faults: {
        // Once the canary's swap deployed: its first whole minute after the deployment goes bad. CloudWatch
        // publishes it minutes later; the gate, polling, sees it then.
        after: (step) => {
          if (step === "deployed:0") badMinuteAfter(f, canary, 37.5);
        },
      },
    });
    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError()?.errorMessage).toMatch(
      /rolled-back \(GateFailed\): wave 0: .*5xx 37\.50% > 2\.00%/,
    );
    const state = await f.store.get(f.input().rotationId);
    expect(state?.status).toBe("rolled-back");
    const check = state?.waves[0]?.gate?.checks[0];
    expect(check).toMatchObject({
      distributionId: canary,
      errorRate: 37.5,
      passed: false,
      reason: "OverThreshold",
    });
    expect(presented(f)).toEqual([f.oldCertificateArn, f.oldCertificateArn]);
  });
});

describe("the gate waits for CloudFront's late datapoints, then fails closed", () => {
  const MINUTE = 60_000;

  /**
   * The metrics polls of a wave's gate, in order, with what each judged (a checkpointed step result): its
   * elapsed seconds and, per distribution it names, the rate and datapoints it read.
   */
  function gatePolls(result: Awaited<ReturnType<typeof rotate>>["result"], wave: number) {
    const prefix = `gate:${wave}:metrics:`;
    return result
      .getOperations()
      .filter((op) => op.getName()?.startsWith(prefix) && !op.getName()?.endsWith(":wait"))
      .map((op) => {
        const poll = op.getStepDetails()?.result as { elapsedSeconds: number; result: GateResult };
        return {
          elapsedSeconds: poll.elapsedSeconds,
          verdict: poll.result.verdict,
          metrics: Object.fromEntries(
            poll.result.checks.map((c) => [
              c.distributionId,
              { errorRate: c.errorRate, datapoints: c.datapoints },
            ]),
          ),
        };
      });
  }

  it("a distribution that never gets datapoints rolls back at the deadline (GateFailed), by default", async () => {
    const f = await fleet({ distributions: 1, traffic: "none" });
    const [id] = f.distributionIds as [string];
    const { result } = await rotate(f);

    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError()?.errorMessage).toMatch(
      new RegExp(`rolled-back \\(GateFailed\\): wave 0: no 5xx datapoints for ${id} within 1200 s`),
    );
    expect(presented(f)).toEqual([f.oldCertificateArn]);
    const state = await f.store.get(f.input().rotationId);
    expect(state?.status).toBe("rolled-back");
    const gate = state?.waves[0]?.gate;
    expect(gate?.checks).toEqual([
      expect.objectContaining({
        distributionId: id,
        errorRate: null,
        datapoints: 0,
        reason: "TooFewDatapoints",
        passed: false,
      }),
    ]);
    // It waited for them, durably, until the deadline counted from the deployment; the probes still ran.
    expect(gate?.probes.map((p) => p.accepted)).toEqual([true]);
    const polls = gatePolls(result, 0);
    expect(polls.length).toBeGreaterThan(10);
    expect(polls.slice(0, -1).every((p) => p.elapsedSeconds < 1200)).toBe(true);
    expect(polls.at(-1)!.elapsedSeconds).toBeGreaterThanOrEqual(1200);
    expect(polls.at(-1)!.elapsedSeconds).toBeLessThan(1200 + 60);
    expect(gate?.metrics).toMatchObject({ minDatapoints: 5, deadlineSeconds: 1200 });
  });

  it('the same distribution passes with onNoData "pass": the probes decide', async () => {
    const f = await fleet({
      distributions: 1,
      traffic: "none",
      settings: { gate: { ...DEFAULT_SETTINGS.gate, onNoData: "pass" } },
    });
    const { result } = await rotate(f);

    expect(result.getStatus()).toBe("SUCCEEDED");
    expect((result.getResult() as { status: string }).status).toBe("completed");
    const gate = (await f.store.get(f.input().rotationId))?.waves[0]?.gate;
    expect(gate?.passed).toBe(true);
    expect(gate?.checks[0]).toMatchObject({ datapoints: 0, reason: "TooFewDatapointsAllowed" });
    // Still waited until the deadline before letting it pass.
    expect(gatePolls(result, 0).at(-1)!.elapsedSeconds).toBeGreaterThanOrEqual(1200);
  });

  it("datapoints that arrive late (CloudWatch publishes them 10 minutes late) pass once they arrive", async () => {
    const f = await fleet({ distributions: 2, standins: { awsMetricsDelayMs: 10 * MINUTE } });
    const { result } = await rotate(f);

    expect(result.getStatus()).toBe("SUCCEEDED");
    const state = await f.store.get(f.input().rotationId);
    expect(state?.status).toBe("completed");
    for (const wave of [0, 1]) {
      const polls = gatePolls(result, wave);
      const id = state!.waves[wave]!.distributions[0]!.distributionId;
      // Nothing at first (not "no errors": not known yet), then enough, within the deadline.
      expect(polls[0]!.metrics[id]).toEqual({ errorRate: null, datapoints: 0 });
      expect(polls.at(-1)!.metrics[id]!.datapoints).toBeGreaterThanOrEqual(5);
      expect(polls.at(-1)!.elapsedSeconds).toBeGreaterThan(10 * 60);
      expect(polls.at(-1)!.elapsedSeconds).toBeLessThan(1200);
      expect(state!.waves[wave]!.gate?.checks).toEqual([
        expect.objectContaining({
          distributionId: id,
          errorRate: 0,
          reason: "WithinThreshold",
          passed: true,
        }),
      ]);
    }
  });

  it("datapoints that arrive after the deadline (25 minutes late) are too late: rolled back", async () => {
    const f = await fleet({ distributions: 1, standins: { awsMetricsDelayMs: 25 * MINUTE } });
    const { result } = await rotate(f);

    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError()?.errorMessage).toMatch(
      /GateFailed\): wave 0: no 5xx datapoints for .* within 1200 s/,
    );
    expect(presented(f)).toEqual([f.oldCertificateArn]);
  });

  it("the gate never reads datapoints from before the swap deployed", async () => {
    const f = await fleet({ distributions: 1, settings: { bakeSeconds: 0 } });
    const [id] = f.distributionIds as [string];
    const { result } = await rotate(f, {
      faults: {
        // Just before the deployment is recorded: every request fails (on the old certificate, say). The
        // minute this falls in also holds the deployment; its datapoint is not evidence about the swap.
        before: (step) => {
          if (step === "deployed:0") {
            for (const at of [Date.now() - 90_000, Date.now() - 1]) {
              f.standins.cloudwatch.record(
                "AWS/CloudFront",
                "5xxErrorRate",
                { DistributionId: id, Region: "Global" },
                100,
                new Date(at),
              );
            }
          }
        },
      },
    });

    expect(result.getStatus()).toBe("SUCCEEDED");
    const gate = (await f.store.get(f.input().rotationId))?.waves[0]?.gate;
    expect(gate?.checks).toEqual([
      expect.objectContaining({ distributionId: id, errorRate: 0, passed: true }),
    ]);
    for (const poll of gatePolls(result, 0)) expect(poll.metrics[id]!.errorRate ?? 0).toBe(0);
  });
});

describe("any unrecoverable error after the first swap rolls back", () => {
  it("a gate step that cannot run (permission error, not retried) -> everything back, lock released", async () => {
    const f = await fleet({ distributions: 2, settings: { bakeSeconds: 0 } });
    const { result } = await rotate(f, {
      faults: {
        before: (step) => {
          if (step === "gate:0") {
            const denied = new Error("User is not authorized to perform: cloudwatch:GetMetricData");
            denied.name = "AccessDeniedException";
            throw denied;
          }
        },
      },
    });
    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError()?.errorMessage).toMatch(/rolled-back \(Unexpected\).*not authorized/);
    expect(presented(f)).toEqual(f.distributionIds.map(() => f.oldCertificateArn));
    const state = await f.store.get(f.input().rotationId);
    expect(state?.status).toBe("rolled-back");
    expect(await f.store.activeRotationFor(f.oldCertificateArn)).toBeUndefined();
    expect(f.standins.acm.arns()).toEqual([f.oldCertificateArn]);
    expect(f.standins.sns.messages(f.topicArn).at(-1)?.attributes.event).toBe("rolled-back");
  });
});

describe("any unrecoverable error before the first swap ends the rotation and releases the lock", () => {
  const denied = (what: string) =>
    Object.assign(new Error(`User is not authorized to perform: ${what}`), { name: "AccessDeniedException" });

  it("the plan cannot read the distributions -> failed, nothing issued, lock released", async () => {
    const f = await fleet({ distributions: 2 });
    const { result } = await rotate(f, {
      faults: {
        before: (step) => {
          if (step === "plan") throw denied("cloudfront:ListDistributions");
        },
      },
    });
    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError()?.errorMessage).toMatch(/failed \(Unexpected\): plan failed: .*not authorized/);
    expect((await f.store.get(f.input().rotationId))?.status).toBe("failed");
    expect(await f.store.activeRotationFor(f.oldCertificateArn)).toBeUndefined();
    expect(f.standins.acm.arns()).toEqual([f.oldCertificateArn]);
    expect(presented(f)).toEqual(f.distributionIds.map(() => f.oldCertificateArn));
    expect(f.standins.sns.messages(f.topicArn).at(-1)?.attributes.event).toBe("rotation-failed");
  });

  it("a certificate also presented by a distribution it may not change is refused at planning", async () => {
    const f = await fleet({ distributions: 2 });
    const [allowed, other] = [...f.distributionIds].sort() as [string, string];
    const { result } = await rotate(f, { deps: { settings: { ...f.settings, distributionIds: [allowed] } } });
    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError()?.errorMessage).toMatch(/plan failed: .* is also presented by/);
    expect(result.getError()?.errorMessage).toContain(other);
    expect(f.standins.privateCa.issuedCount).toBe(0);
    expect(await f.store.activeRotationFor(f.oldCertificateArn)).toBeUndefined();
    expect(presented(f)).toEqual(f.distributionIds.map(() => f.oldCertificateArn));
  });

  it("preflight cannot probe (a distribution it may not read) -> failed, new certificate retired, lock released", async () => {
    const f = await fleet({ distributions: 2 });
    const { result } = await rotate(f, {
      faults: {
        before: (step) => {
          if (step === "preflight:1") throw denied("cloudfront:GetDistributionConfig");
        },
      },
    });
    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError()?.errorMessage).toMatch(
      /failed \(Unexpected\): preflight failed: .*not authorized/,
    );
    const state = await f.store.get(f.input().rotationId);
    expect(state?.status).toBe("failed");
    expect(state?.issued).toBeDefined();
    expect(await f.store.activeRotationFor(f.oldCertificateArn)).toBeUndefined();
    // The certificate issued for it is gone again; nothing presents anything new.
    expect(f.standins.acm.arns()).toEqual([f.oldCertificateArn]);
    expect(presented(f)).toEqual(f.distributionIds.map(() => f.oldCertificateArn));
  });
});

describe("a rollback that cannot put one distribution back", () => {
  it("carries on with the others, reports the one that failed and keeps the certificate it still presents", async () => {
    const f = await fleet({ distributions: 3, settings: { bakeSeconds: 0 } });
    const [first, second] = [...f.distributionIds].sort() as [string, string, string];
    const { result } = await rotate(f, {
      faults: {
        // Wave 1's gate fails (its first whole minute after the deployment is bad); then CloudFront keeps
        // refusing to put the first distribution back.
        after: (step) => {
          if (step === "deployed:1") badMinuteAfter(f, second, 50);
        },
        before: (step) => {
          if (step === `rollback:${first}`) throw new Error("CloudFront keeps answering 503");
        },
      },
    });
    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError()?.errorMessage).toMatch(/rotation failed \(RollbackIncomplete\)/);
    const state = await f.store.get(f.input().rotationId);
    expect(state?.status).toBe("failed");
    expect(state?.outcome?.reason).toBe("RollbackIncomplete");
    const outcomes = Object.fromEntries(
      state!.waves.flatMap((w) => w.distributions.map((d) => [d.distributionId, d])),
    );
    expect(outcomes[second]?.outcome).toBe("rolled-back");
    expect(outcomes[first]?.outcome).toBe("rollback-failed");
    expect(outcomes[first]?.error).toMatch(/CloudFront keeps answering 503/);
    // The second distribution is back on the old certificate; the first still presents the new one, so
    // the new certificate is kept (deleting it would break that distribution).
    expect(f.standins.cloudfront.originCertificates(second)["origin-1"]).toBe(f.oldCertificateArn);
    const stillNew = f.standins.cloudfront.originCertificates(first)["origin-1"]!;
    expect(stillNew).not.toBe(f.oldCertificateArn);
    expect(f.standins.acm.arns()).toContain(stillNew);
    const last = f.standins.sns.messages(f.topicArn).at(-1)!;
    expect(last.attributes).toMatchObject({ event: "rotation-failed", severity: "critical" });
    // The credential secret was not written; the new certificate's staged credential (its key's only copy
    // in Secrets Manager) keeps AWSPENDING while a distribution presents it.
    expect(secretsOf(f).credential.exists).toBe(false);
    expect(secretsOf(f).issuance.holder("AWSPENDING")?.document?.certificateArn).toBe(stillNew);
    const body = JSON.parse(last.message);
    expect(body.stuck).toEqual([first]);
    expect(body.attention[0]).toMatchObject({ id: first, outcome: "rollback-failed" });
  });
});

describe("trust before swap", () => {
  it("an origin that never trusts the new issuer aborts before any swap", async () => {
    const f = await fleet({ distributions: 3, newIssuer: "other" });
    // Two origins trust both CAs; the third only the old one.
    const ids = f.distributionIds;
    await f.origins.get(ids[0]!)!.trust(f.bothTrustPem);
    await f.origins.get(ids[1]!)!.trust(f.bothTrustPem);
    const { result } = await rotate(f);
    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError()?.errorMessage).toMatch(
      new RegExp(
        `aborted \\(PreflightRefused\\): origins refused the new certificate: ${ids[2]}/origin-1 \\(400\\)$`,
      ),
    );
    expect(f.standins.server.count("cloudfront", "UpdateDistribution")).toBe(0);
    expect(presented(f)).toEqual(ids.map(() => f.oldCertificateArn));
    // The unused new certificate is deleted again.
    expect(f.standins.acm.arns()).toEqual([f.oldCertificateArn]);
    const state = await f.store.get(f.input().rotationId);
    expect(state?.status).toBe("aborted");
    expect(state?.preflightAttempts).toBeGreaterThan(1);
    expect(f.standins.sns.messages(f.topicArn).at(-1)?.attributes.event).toBe("rotation-aborted");
    // No credential secret at all (no AWSCURRENT on an orphan key); the issuance secret has nothing pending.
    expect(secretsOf(f).credential.exists).toBe(false);
    expect(secretsOf(f).issuance.exists).toBe(true);
    expect(secretsOf(f).issuance.holder("AWSPENDING")).toBeUndefined();
  });

  it("an origin that trusts the new issuer late: preflight retries until it does, then swaps", async () => {
    const f = await fleet({ distributions: 2, newIssuer: "other" });
    const [first, second] = f.distributionIds as [string, string];
    await f.origins.get(first)!.trust(f.bothTrustPem);
    const { result } = await rotate(f, {
      faults: {
        before: async (step) => {
          if (step === "preflight:3") await f.origins.get(second)!.trust(f.bothTrustPem);
        },
      },
    });
    expect(result.getStatus()).toBe("SUCCEEDED");
    const state = await f.store.get(f.input().rotationId);
    expect(state?.preflightAttempts).toBe(3);
    expect(state?.status).toBe("completed");
  });
});

describe("a rollback asked for between control points is taken at the next safe point", () => {
  const request = (f: Fleet, at = "2026-12-01T00:00:00.000Z") =>
    f.rollbackRequests.request(f.input().rotationId, {
      actor: "arn:aws:iam::111122223333:user/operator",
      reason: "errors at the edge",
      requestedAt: at,
    });

  it("during a deploy wait: the wait ends at its next poll, and every swapped distribution goes back", async () => {
    const f = await fleet({
      distributions: 2,
      settings: { deploy: { timeoutSeconds: 3600, pollSeconds: 30 } },
    });
    const real = f.deps.distributions;
    let polls = 0;
    const { result } = await rotate(f, {
      deps: {
        distributions: {
          findDistributionsPresenting: (arn) => real.findDistributionsPresenting(arn),
          originEndpoints: (...a) => real.originEndpoints(...a),
          swapOriginCertificate: (...a) => real.swapOriginCertificate(...a),
          // The wave's deployment never ends by itself; the operator asks for a rollback after two polls.
          deploymentStatus: async (ids) => {
            polls += 1;
            if (polls === 2) await request(f);
            const statuses = await real.deploymentStatus(ids);
            return polls <= 2 ? Object.fromEntries(ids.map((id) => [id, "InProgress" as const])) : statuses;
          },
        },
      },
    });
    expect(result.getStatus()).toBe("FAILED");
    const state = await f.store.get(f.input().rotationId);
    expect(state?.status).toBe("rolled-back");
    expect(state?.rollback).toMatchObject({
      reason: "ManualRollback",
      actor: "arn:aws:iam::111122223333:user/operator",
      detail: "errors at the edge",
    });
    // Wave 0 (the canary) was swapped and waiting; it is back, and wave 1 was never swapped.
    expect(presented(f)).toEqual(f.distributionIds.map(() => f.oldCertificateArn));
    expect(state?.waves.map((w) => w.distributions.map((d) => d.outcome))).toEqual([
      ["rolled-back"],
      ["pending"],
    ]);
  });

  it("before a swap (asked while the preflight ran): nothing is swapped at all", async () => {
    const f = await fleet({ distributions: 2 });
    const { result } = await rotate(f, {
      faults: {
        before: async (step) => {
          if (step === "preflight:1") await request(f);
        },
      },
    });
    expect(result.getStatus()).toBe("FAILED");
    const state = await f.store.get(f.input().rotationId);
    expect(state?.status).toBe("rolled-back");
    expect(state?.rollback).toMatchObject({ reason: "ManualRollback", detail: "errors at the edge" });
    expect(f.standins.server.count("cloudfront", "UpdateDistribution")).toBe(0);
    expect(presented(f)).toEqual(f.distributionIds.map(() => f.oldCertificateArn));
  });

  it("after the last gate, before the promotion: every wave goes back and nothing is promoted", async () => {
    const f = await fleet({ distributions: 2 });
    const { result } = await rotate(f, {
      faults: {
        before: async (step) => {
          if (step === "finalize:promote") await request(f);
        },
      },
    });
    expect(result.getStatus()).toBe("FAILED");
    const state = await f.store.get(f.input().rotationId);
    expect(state?.status).toBe("rolled-back");
    expect(state?.rollback).toMatchObject({ reason: "ManualRollback", detail: "errors at the edge" });
    expect(presented(f)).toEqual(f.distributionIds.map(() => f.oldCertificateArn));
    // Never promoted: the credential secret was not written.
    expect(secretsOf(f).credential.exists).toBe(false);
    expect((await f.store.history(f.input().rotationId)).some((e) => e.type === "promoted")).toBe(false);
  });

  it("a swap done by a step attempt that failed to record it is recorded on retry, and put back", async () => {
    const f = await fleet({ distributions: 2 });
    const canary = [...f.distributionIds].sort()[0]!;
    let failed = false;
    const { result } = await rotate(f, {
      deps: {
        store: {
          ...f.deps.store,
          acquireLock: (...a) => f.deps.store.acquireLock(...a),
          releaseLock: (...a) => f.deps.store.releaseLock(...a),
          claimDistributions: (...a) => f.deps.store.claimDistributions(...a),
          releaseDistributions: (...a) => f.deps.store.releaseDistributions(...a),
          setControl: (...a) => f.deps.store.setControl(...a),
          rollbackRequestOf: (id) => f.store.rollbackRequestOf(id),
          // The canary's swap happened, then recording it failed; the operator asked for a rollback meanwhile.
          record: async (state, event, sequence) => {
            if (!failed && event.type === "swapped" && event.distributionId === canary) {
              failed = true;
              await request(f);
              throw Object.assign(new Error("ServiceUnavailable: the table did not answer"), {
                retryable: true,
              });
            }
            return f.deps.store.record(state, event, sequence);
          },
        },
      },
    });
    expect(failed).toBe(true);
    expect(result.getStatus()).toBe("FAILED");
    const state = await f.store.get(f.input().rotationId);
    expect(state?.status).toBe("rolled-back");
    expect(state?.rollback).toMatchObject({ reason: "ManualRollback", detail: "errors at the edge" });
    // The canary was swapped by the failed attempt: recorded on retry, and put back.
    expect(presented(f)).toEqual(f.distributionIds.map(() => f.oldCertificateArn));
  });

  it("while the gate waits for datapoints: the gate ends at its next poll and the wave goes back", async () => {
    const f = await fleet({ distributions: 1, traffic: "none", settings: { bakeSeconds: 0 } });
    const { result } = await rotate(f, {
      faults: {
        before: async (step) => {
          if (step === "gate:0:metrics:2") await request(f);
        },
      },
    });
    expect(result.getStatus()).toBe("FAILED");
    const state = await f.store.get(f.input().rotationId);
    expect(state?.status).toBe("rolled-back");
    expect(state?.rollback).toMatchObject({ reason: "ManualRollback" });
    expect(state?.waves[0]?.gate).toBeUndefined();
    expect(presented(f)).toEqual([f.oldCertificateArn]);
  });
});

describe("a rotation that dies before its start is recorded blocks nothing", () => {
  it("the first step failing until its retries are spent: the next trigger starts a fresh attempt that rotates", async () => {
    const f = await fleet({ distributions: 2 });
    const request = {
      certificateArn: f.oldCertificateArn,
      serial: f.oldSerial,
      reason: "Due",
      actor: "scan",
    };
    let storeDown = true;
    const handler = createRotationWorkflow(withWaitsThatAddUp(workflow), {
      ...f.deps,
      faults: {
        // The store refuses the start record (after the lock was taken), every retry of it.
        before: async (step) => {
          if (storeDown && step === "start") throw new Error("ServiceUnavailable: DynamoDB is down");
        },
      },
    });
    const starter = localDurableStarter(handler);

    const first = await startRotation(starter, request, f.store);
    await starter.execution(first.rotationId)!.done;
    expect(await starter.status!(first.rotationId)).toBe("FAILED");
    // Nothing recorded, and the dead execution still holds the certificate's lock.
    expect(await f.store.statusOf(first.rotationId)).toBeUndefined();
    expect(await f.store.activeRotationFor(f.oldCertificateArn)).toBe(first.rotationId);

    storeDown = false;
    const second = await startRotation(starter, request, f.store);
    expect(second).toMatchObject({ rotationId: `${first.rotationId}-2`, started: true });
    await starter.execution(second.rotationId)!.done;
    expect(await f.store.statusOf(second.rotationId)).toBe("completed");
    expect(presented(f).every((arn) => arn !== f.oldCertificateArn)).toBe(true);
    expect(await f.store.activeRotationFor(f.oldCertificateArn)).toBeUndefined();
    // And a third trigger converges on the completed rotation: never two live rotations.
    expect(await startRotation(starter, request, f.store)).toMatchObject({
      rotationId: second.rotationId,
      started: false,
    });
  });
});

describe("one rotation at a time per distribution", () => {
  /** Another rotation (of another certificate) holding its lock and the claim of `distributionId`. */
  async function anotherRotationChanging(f: Fleet, distributionId: string) {
    const other = { rotationId: "rot-other", certificateArn: `${f.oldCertificateArn.slice(0, -4)}0ther` };
    await f.store.acquireLock(other.certificateArn, other.rotationId, { leaseSeconds: 86_400 });
    expect(
      await f.store.claimDistributions(other.rotationId, other.certificateArn, [distributionId], {
        leaseSeconds: 86_400,
      }),
    ).toEqual({ claimed: true });
    return {
      ...other,
      end: async () => {
        await f.store.releaseDistributions(other.rotationId, [distributionId]);
        await f.store.releaseLock(other.certificateArn, other.rotationId);
      },
    };
  }

  it("waits its turn (visible in its status and history), issues nothing meanwhile, then rotates with fresh baselines", async () => {
    const f = await fleet({ distributions: 2 });
    const busy = [...f.distributionIds].sort()[1]!;
    const other = await anotherRotationChanging(f, busy);
    const rotationId = f.input().rotationId;
    const seenWhileWaiting: unknown[] = [];
    const { result } = await rotate(f, {
      faults: {
        before: async (step) => {
          if (step !== "claim:3") return;
          const state = await f.store.get(rotationId);
          seenWhileWaiting.push(state?.waitingFor, f.standins.privateCa.issuedCount);
          await other.end();
        },
      },
    });
    expect(result.getStatus()).toBe("SUCCEEDED");
    expect(seenWhileWaiting).toEqual([
      { since: expect.any(String), heldBy: [{ distributionId: busy, rotationId: "rot-other" }] },
      0,
    ]);
    const history = (await f.store.history(rotationId)).map((e) => e.type);
    expect(history.slice(0, 5)).toEqual([
      "started",
      "planned",
      "waiting-for-distributions",
      "distributions-claimed",
      "issued",
    ]);
    const claimed = (await f.store.history(rotationId)).find((e) => e.type === "distributions-claimed");
    expect(claimed).toMatchObject({ distributionIds: [...f.distributionIds].sort() });
    expect(Object.keys((claimed as { baselines: object }).baselines).sort()).toEqual(
      [...f.distributionIds].sort(),
    );
    const state = await f.store.get(rotationId);
    expect(state?.waitingFor).toBeUndefined();
    expect(state?.status).toBe("completed");
    // Ended: its claims are gone with its lock.
    for (const id of f.distributionIds) expect(await f.store.distributionHolder(id)).toBeUndefined();
  });

  it("gives up at its wait's deadline (shorter when the execution's timeout leaves less room): aborted, nothing issued, claims and lock released", async () => {
    // The execution's timeout leaves 10 minutes beside the rotation's own worst case: it waits 10 minutes.
    const probe = await fleet({ distributions: 0 });
    const f = await fleet({
      distributions: 2,
      settings: { maxRotationSeconds: worstCaseSeconds(probe.settings) + 600 },
    });
    const [free, busy] = [...f.distributionIds].sort();
    await anotherRotationChanging(f, busy!);
    const { result } = await rotate(f);
    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError()?.errorMessage).toMatch(
      new RegExp(
        `aborted \\(DistributionsBusy\\): another rotation is changing ${busy} \\(rotation rot-other\\); waited \\d+ s of at most 600 s`,
      ),
    );
    expect(f.standins.privateCa.issuedCount).toBe(0);
    expect(f.standins.acm.arns()).toEqual([f.oldCertificateArn]);
    expect(await f.store.activeRotationFor(f.oldCertificateArn)).toBeUndefined();
    // The distribution it had claimed while it waited is free again; the other rotation's is still its own.
    expect(await f.store.distributionHolder(free!)).toBeUndefined();
    expect(await f.store.distributionHolder(busy!)).toBe("rot-other");
    const history = (await f.store.history(f.input().rotationId)).map((e) => e.type);
    expect(history).toEqual(["started", "planned", "waiting-for-distributions", "aborted"]);
  });
});

describe("application-level refusals (issue 11): the preflight compares with the current certificate", () => {
  type Preflight = Extract<RotationEvent, { type: "preflight" }>;
  const preflights = async (f: Fleet) =>
    (await f.store.history(f.input().rotationId)).filter((e): e is Preflight => e.type === "preflight");

  it("an origin answering 403 to the new certificate and 200 to the current one: aborted, nothing swapped", async () => {
    // Origin 2 does not trust the new CA and says so at the application level (no TLS-level refusal).
    const f = await fleet({
      distributions: 2,
      newIssuer: "other",
      currentCredential: true,
      originAnswers: { 1: { untrusted: 403 } },
    });
    const [first, second] = f.distributionIds as [string, string];
    await f.origins.get(first)!.trust(f.bothTrustPem);
    const { result } = await rotate(f);
    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError()?.errorMessage).toMatch(
      new RegExp(
        `aborted \\(PreflightRefused\\): origins refused the new certificate: ${second}/origin-1 \\(403 to the new certificate, 200 to the current one: a different answer\\)$`,
      ),
    );
    expect(f.standins.server.count("cloudfront", "UpdateDistribution")).toBe(0);
    expect(presented(f)).toEqual([f.oldCertificateArn, f.oldCertificateArn]);
    expect(f.standins.acm.arns()).toEqual([f.oldCertificateArn]);
    const last = (await preflights(f)).at(-1)!;
    expect(last.compared).toEqual({
      with: "current-credential",
      certificateArn: f.oldCertificateArn,
      serial: f.oldSerial,
    });
    // In wave order (the plan's), so compared as a set.
    expect(last.probes).toHaveLength(2);
    expect(last.probes).toEqual(
      expect.arrayContaining([
        {
          target: `${first}/origin-1`,
          status: 200,
          accepted: true,
          current: { status: 200 },
          reason: "SameStatusClass",
        },
        {
          target: `${second}/origin-1`,
          status: 403,
          accepted: false,
          current: { status: 200 },
          reason: "StatusClassDiffers",
        },
      ]),
    );
    const state = await f.store.get(f.input().rotationId);
    expect(state?.status).toBe("aborted");
    expect(state?.lastPreflightCompared?.with).toBe("current-credential");
    // The credential in service is untouched; the rotation's staged credential is no longer pending.
    expect(secretsOf(f).credential.holder("AWSCURRENT")?.document?.certificateArn).toBe(f.oldCertificateArn);
    expect(secretsOf(f).issuance.holder("AWSPENDING")).toBeUndefined();
    await expectNoKeyLeak(f, result);
  });

  it("an origin answering 200 to both: accepted, and the rotation completes", async () => {
    const f = await fleet({ distributions: 1, currentCredential: true });
    const { result } = await rotate(f);
    expect(result.getStatus()).toBe("SUCCEEDED");
    const [only] = await preflights(f);
    expect(only?.compared?.with).toBe("current-credential");
    expect(only?.probes).toEqual([
      {
        target: `${f.distributionIds[0]}/origin-1`,
        status: 200,
        accepted: true,
        current: { status: 200 },
        reason: "SameStatusClass",
      },
    ]);
    // The credential it compared with is now the rollback record.
    const { credential } = secretsOf(f);
    expect(credential.holder("AWSPREVIOUS")?.document?.certificateArn).toBe(f.oldCertificateArn);
    expect(credential.holder("AWSCURRENT")?.document?.certificateArn).not.toBe(f.oldCertificateArn);
    await expectNoKeyLeak(f, result);
  });

  it("an origin answering 401 to both (it wants a header no probe sends): accepted, same status class", async () => {
    const f = await fleet({
      distributions: 1,
      currentCredential: true,
      originAnswers: { 0: { trusted: 401 } },
    });
    const { result } = await rotate(f);
    expect(result.getStatus()).toBe("SUCCEEDED");
    const [only] = await preflights(f);
    expect(only?.probes[0]).toMatchObject({ status: 401, accepted: true, current: { status: 401 } });
    expect(only?.probes[0]?.reason).toBe("SameStatusClass");
  });

  it("the current certificate refused and no 2xx to the new one: the origin proves nothing, aborted", async () => {
    // The origin already trusts only the new CA (the current certificate gets the TLS-level 400) and wants a
    // header: the new certificate's 401 says nothing about whether the origin accepts it.
    const f = await fleet({
      distributions: 1,
      newIssuer: "other",
      currentCredential: true,
      originAnswers: { 0: { trusted: 401 } },
    });
    const [only] = f.distributionIds as [string];
    await f.origins.get(only)!.trust(f.newTrustPem);
    const { result } = await rotate(f);
    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError()?.errorMessage).toContain(
      `${only}/origin-1 (401 to the new certificate, 400 to the current one: the current certificate is refused too, the origin proves nothing)`,
    );
    expect(f.standins.server.count("cloudfront", "UpdateDistribution")).toBe(0);
    expect((await preflights(f)).at(-1)?.probes[0]?.reason).toBe("CurrentRefused");
  });

  it("the current certificate refused and a 200 to the new one: served, the swap mends the origin", async () => {
    const f = await fleet({ distributions: 1, newIssuer: "other", currentCredential: true });
    const [only] = f.distributionIds as [string];
    await f.origins.get(only)!.trust(f.newTrustPem);
    const { result } = await rotate(f);
    expect(result.getStatus()).toBe("SUCCEEDED");
    expect((await preflights(f))[0]?.probes[0]).toMatchObject({
      status: 200,
      accepted: true,
      current: { status: 400 },
      reason: "Served",
    });
  });

  it("no credential in service (a first rotation): today's rule alone, and the event says so", async () => {
    // The 403 passes: without the current certificate's key there is nothing to compare with.
    const f = await fleet({ distributions: 1, newIssuer: "other", originAnswers: { 0: { untrusted: 403 } } });
    const { result } = await rotate(f);
    expect(result.getStatus()).toBe("SUCCEEDED");
    const [only] = await preflights(f);
    expect(only?.compared).toMatchObject({ with: "nothing" });
    expect(only?.compared?.with === "nothing" && only.compared.why).toMatch(/^no credential in service in /);
    expect(only?.probes).toEqual([
      { target: `${f.distributionIds[0]}/origin-1`, status: 403, accepted: true, reason: "NotCompared" },
    ]);
  });
});

describe("deadlines are time, not attempts", () => {
  it("a preflight whose origin takes 4 s to refuse ends within its 6 s deadline plus one probe", async () => {
    const f = await fleet({
      distributions: 1,
      settings: { preflight: { timeoutSeconds: 6, intervalSeconds: 1, probePath: "/" } },
    });
    const { result } = await rotate(f, {
      deps: {
        // Each attempt takes 4 s of the (fake) clock, then the origin refuses.
        probe: async (endpoints) => {
          advanceFakeClock(4_000);
          return endpoints.map((e) => ({ target: e.target, status: 400, accepted: false }));
        },
      },
    });
    expect(result.getStatus()).toBe("FAILED");
    const state = await f.store.get(f.input().rotationId);
    expect(state?.status).toBe("aborted");
    const attempts = (await f.store.history(f.input().rotationId)).filter(
      (e): e is Extract<RotationEvent, { type: "preflight" }> => e.type === "preflight",
    );
    // Attempt 1 ends at 4 s (2 s left: wait 1 s), attempt 2 runs from 5 s to 9 s: past the deadline.
    expect(attempts.map((a) => [a.attempt, Math.round(a.elapsedSeconds!), a.deadlinePassed])).toEqual([
      [1, 4, false],
      [2, 9, true],
    ]);
    expect(attempts.at(-1)!.elapsedSeconds!).toBeLessThanOrEqual(6 + 4);
  });

  it("a deploy wait whose polls take 20 s each gives up within its 60 s plus one poll", async () => {
    const f = await fleet({
      distributions: 1,
      settings: { deploy: { timeoutSeconds: 60, pollSeconds: 30 } },
    });
    // What CloudFront is asked, in order: the swap, its deploy polls, the swap back, the rollback's polls.
    const calls: Array<{ call: "swap" | "poll"; at: number }> = [];
    const real = f.deps.distributions;
    // The fake clock also moves with real time (20 ms ticks): what the run took in real time is slack.
    const realStart = process.uptime();
    const { result } = await rotate(f, {
      deps: {
        distributions: {
          findDistributionsPresenting: (arn) => real.findDistributionsPresenting(arn),
          originEndpoints: (...a) => real.originEndpoints(...a),
          swapOriginCertificate: async (...a) => {
            calls.push({ call: "swap", at: Date.now() });
            return real.swapOriginCertificate(...a);
          },
          // CloudFront never finishes deploying, and each look takes 20 s.
          deploymentStatus: async (ids) => {
            advanceFakeClock(20_000);
            calls.push({ call: "poll", at: Date.now() });
            return Object.fromEntries(ids.map((id) => [id, "InProgress" as const]));
          },
        },
      },
    });
    expect(result.getStatus()).toBe("FAILED");
    const swaps = calls.flatMap((c, i) => (c.call === "swap" ? [i] : []));
    expect(swaps.length).toBeGreaterThanOrEqual(2);
    const swapWait = calls.slice(swaps[0]! + 1, swaps[1]!).map((c) => c.at);
    // From the end of its first poll to its last, at most the 60 s deadline plus one poll (20 s): polls at
    // 0, 50 (after a 30 s wait) and about 80 s (what is left of the deadline, then a poll), then it gives up.
    const offsets = swapWait.map((at) => (at - swapWait[0]!) / 1000);
    expect(offsets).toHaveLength(3);
    expect(Math.round(offsets[1]!)).toBe(50);
    expect(offsets[2]!).toBeGreaterThan(60);
    expect(offsets[2]!).toBeLessThanOrEqual(60 + 20 + (process.uptime() - realStart));
  });
});

describe("a retired certificate is revoked at the CA that issued it (revokeRetired)", () => {
  const revokedSerials = (f: Fleet) =>
    f.standins.privateCa
      .issuedCertificates()
      .filter((c) => c.revoked)
      .map((c) => c.serial);
  const oldSerial = (f: Fleet) =>
    new X509Certificate(f.oldCredential.certificatePem).serialNumber.toLowerCase();

  it("after a CA migration: at the previous CA, not the configured one", async () => {
    const f = await fleet({ distributions: 2, newIssuer: "other", settings: { revokeRetired: true } });
    for (const origin of f.origins.values()) await origin.trust(f.bothTrustPem);
    const { result } = await rotate(f);
    expect(result.getStatus()).toBe("SUCCEEDED");
    const retired = (await f.store.history(f.input().rotationId)).find((e) => e.type === "retired");
    expect(retired).toMatchObject({ deleted: true, revoked: true });
    expect(revokedSerials(f)).toEqual([oldSerial(f)]);
    // The stand-in finds a serial only under the CA that issued it: one call, answered, at the old CA.
    expect(
      f.standins.server.calls.filter((c) => c.operation === "RevokeCertificate").map((c) => c.status),
    ).toEqual([200]);
  });

  it("without a migration: at the configured CA", async () => {
    const f = await fleet({ distributions: 1, settings: { revokeRetired: true } });
    const { result } = await rotate(f);
    expect(result.getStatus()).toBe("SUCCEEDED");
    const retired = (await f.store.history(f.input().rotationId)).find((e) => e.type === "retired");
    expect(retired).toMatchObject({ deleted: true, revoked: true });
    expect(revokedSerials(f)).toEqual([oldSerial(f)]);
  });
});

describe("a CA migration to a CA of another key type", () => {
  // ACM imports a certificate only with its signing CA's key type (the stand-in enforces it), so the
  // replacement's key follows the new CA's, whatever the certificate in service had.
  it.each([
    {
      from: "RSA_2048",
      leaf: "RSA_2048",
      to: "EC_prime256v1",
      replacement: "EC_prime256v1",
      reason: "SameAsCa",
      message: "EC_prime256v1 (follows CA key EC_prime256v1; was RSA_2048)",
    },
    {
      from: "EC_prime256v1",
      leaf: "EC_prime256v1",
      to: "RSA_4096",
      replacement: "RSA_2048",
      reason: "RsaCaOtherSize",
      message:
        "RSA_2048 (follows CA key RSA_4096: RSA, at the one RSA size CloudFront presents; was EC_prime256v1)",
    },
  ] as const)(
    "$leaf certificates of a $from CA -> a $to CA: the plan says $replacement, ACM imports it, trust before swap, zero refused",
    async (c) => {
      const f = await fleet({
        distributions: 3,
        keyAlgorithm: c.leaf,
        newIssuer: "other",
        newCaKeyAlgorithm: c.to,
      });
      expect(new X509Certificate(f.oldCredential.certificatePem).publicKey.asymmetricKeyType).toBe(
        c.leaf.startsWith("RSA") ? "rsa" : "ec",
      );
      // Real mTLS requests to every origin after every step, presenting what each distribution presents.
      const edge = new Edge({
        standins: f.standins,
        distributionIds: f.distributionIds,
        serverCaPem: f.serverCaPem,
      });
      const published = () =>
        f.standins.s3.object(f.bucket, "trust/origin-client-ca.pem")?.body.toString("utf8") ?? "";
      const { result } = await rotate(f, {
        faults: {
          after: async (step) => {
            // The origins take the bundle the rotation published, as origin-sync would.
            if (step === "trust:publish")
              for (const origin of f.origins.values()) await origin.trust(published());
            await edge.round();
          },
        },
      });
      expect(result.getStatus()).toBe("SUCCEEDED");
      const newArn = (result.getResult() as { newCertificateArn: string }).newCertificateArn;

      // The plan recorded the new CA's key and why; the dry run answers the same (plan.test.ts).
      const history = await f.store.history(f.input().rotationId);
      const planned = history.find(
        (e): e is Extract<RotationEvent, { type: "planned" }> => e.type === "planned",
      )!;
      expect(planned.replacementKey).toEqual({
        keyAlgorithm: c.replacement,
        reason: c.reason,
        caKeyAlgorithm: c.to,
        inServiceKeyAlgorithm: c.leaf,
        message: c.message,
      });
      expect(planned.newIssuerArn).toBe(f.authorityArn);

      // ACM imported the new CA's certificate of that key type, with no refused import.
      const issued = new X509Certificate(f.standins.acm.certificatePemOf(newArn)!);
      expect(f.standins.acm.describeForCloudFront(newArn)?.keyAlgorithm).toBe(c.replacement);
      expect(issued.verify(new X509Certificate(f.newIssuer.certificatePem).publicKey)).toBe(true);
      const refusedImports = f.standins.server.calls.filter(
        (call) =>
          call.operation === "ImportCertificate" && call.error && call.error !== "ThrottlingException",
      );
      expect(refusedImports).toEqual([]);

      // Trust before swap: the bundle carried both CAs before the first swap; nothing was ever refused.
      const types = history.map((e) => e.type);
      expect(types.indexOf("trust-published")).toBeLessThan(types.indexOf("swapped"));
      expect(presented(f)).toEqual([newArn, newArn, newArn]);
      await edge.round();
      const summary = await edge.stop();
      expect(summary.refused).toBe(0);
      expect(summary.requests).toBeGreaterThan(30 * 3);
      await expectNoKeyLeak(f, result);
    },
  );
});

describe("per-rotation overrides change what the rotation does", () => {
  it("wave sizes and the bake window: two waves instead of three, no bake window at all", async () => {
    const f = await fleet({ distributions: 3 });
    // The stage's settings: a canary of 1 and waves of 1 (three waves), a 1 s bake window after each.
    expect(f.settings.waves).toMatchObject({ canarySize: 1, waves: [{ count: 1 }] });
    expect(f.settings.bakeSeconds).toBeGreaterThan(0);

    const overrides = { waves: { canarySize: 2, waves: [] }, bakeSeconds: 0 };
    const handler = createRotationWorkflow(withWaitsThatAddUp(workflow), f.deps);
    const result = await new LocalDurableTestRunner({ handlerFunction: handler }).run({
      payload: f.input({ overrides }),
    });

    expect(result.getStatus()).toBe("SUCCEEDED");
    const rotationId = f.input().rotationId;
    const state = await f.store.get(rotationId);
    expect(state?.status).toBe("completed");
    expect(state?.waves.map((w) => w.distributions.length)).toEqual([2, 1]);
    expect(state?.request?.overrides).toEqual(overrides);
    const names = result.getOperations().map((op) => op.getName());
    expect(names.filter((name) => name?.startsWith("bake:"))).toEqual([]);
    expect(names).toContain("gate:1");
    expect(f.settings.bakeSeconds).toBeGreaterThan(0);
  });

  it("approval: a stage without approvals waits between waves for this rotation, until approved", async () => {
    const f = await fleet({ distributions: 2 });
    expect(f.settings.approval.mode).toBe("none");
    const handler = createRotationWorkflow(withWaitsThatAddUp(workflow), f.deps);
    const runner = new LocalDurableTestRunner({ handlerFunction: handler });
    const execution = runner.run({ payload: f.input({ overrides: { approval: "between-waves" } }) });
    execution.catch(() => undefined);

    const approval = await runner.getOperation("approval:0").waitForData(WaitingOperationStatus.STARTED);
    await runner.getOperation("approval:0:open").waitForData(WaitingOperationStatus.COMPLETED);
    const rotationId = f.input().rotationId;
    expect(await f.store.getControl(rotationId)).toMatchObject({ kind: "approval", wave: 0 });
    expect(presented(f).filter((arn) => arn === f.oldCertificateArn)).toHaveLength(1);
    await approval.sendCallbackSuccess(JSON.stringify({ action: "approve", actor: "carol", reason: "ok" }));

    const result = await execution;
    expect(result.getStatus()).toBe("SUCCEEDED");
    const history = await f.store.history(rotationId);
    expect(history.filter((e) => e.type === "approved")).toEqual([
      expect.objectContaining({ wave: 0, actor: "carol" }),
    ]);
  });
});

describe("the credential secret across a lineage's rotations: the rollback record", () => {
  /**
   * The next generation of a lineage after `first` completed: the certificate the fleet presents now
   * (imported by the first rotation, tagged with its lineage, so the same credential secret), its
   * credential (AWSCURRENT) and the input that rotates it.
   */
  function nextGeneration(f: Fleet, first: Awaited<ReturnType<typeof rotate>>["result"]) {
    const anchors = { trustAnchorsPem: f.newIssuer.certificatePem };
    const gen1 = (first.getResult() as RotationOutcome).newCertificateArn!;
    const afterFirst = secretsOf(f);
    const firstCredential = expectOnlyCompleteCredentials(afterFirst.credential, anchors).current!;
    expect(firstCredential.certificateArn).toBe(gen1);
    const serial = new X509Certificate(firstCredential.certificatePem).serialNumber.toLowerCase();
    const next: Partial<RotationInput> = {
      certificateArn: gen1,
      serial,
      rotationId: rotationIdFor(gen1, serial, sha256Hex),
    };
    return { anchors, gen1, afterFirst, firstCredential, next };
  }

  it("second rotation: rolled back, the credential secret is exactly as the first left it; completed, AWSPREVIOUS is the first rotation's credential and AWSCURRENT the new one", async () => {
    const f = await fleet({ distributions: 2 });
    const anchors = { trustAnchorsPem: f.newIssuer.certificatePem };
    const first = await rotate(f);
    expect(first.result.getStatus()).toBe("SUCCEEDED");
    const { gen1, afterFirst, firstCredential, next } = nextGeneration(f, first.result);

    // The first rotation's skipped waits moved the fake clock ahead of real time; the origins check the next
    // certificate's validity against the real clock, so start the next generation on real time.
    resetFakeClock();
    // An operator rolls it back during the canary's bake window.
    const runner = new LocalDurableTestRunner({ handlerFunction: createRotationWorkflow(workflow, f.deps) });
    const execution = runner.run({ payload: f.input({ ...next, overrides: { bakeSeconds: 300 } }) });
    execution.catch(() => undefined);
    const bake = await runner.getOperation("bake:0").waitForData(WaitingOperationStatus.STARTED);
    await runner.getOperation("bake:0:open").waitForData(WaitingOperationStatus.COMPLETED);
    // The canary presents the next generation's certificate now; the credential secret is untouched.
    expect(presented(f).filter((arn) => arn !== gen1)).toHaveLength(1);
    expect(secretsOf(f).credential.versions).toEqual(afterFirst.credential.versions);
    await bake.sendCallbackSuccess(JSON.stringify({ action: "rollback", actor: "dave", reason: "test" }));
    const rolledBack = await execution;
    expect(rolledBack.getStatus()).toBe("FAILED");
    expect(rolledBack.getError()?.errorMessage).toMatch(/rolled-back \(ManualRollback\)/);
    expect(presented(f)).toEqual([gen1, gen1]);
    const afterRollback = secretsOf(f);
    expect(afterRollback.credential.versions).toEqual(afterFirst.credential.versions);
    expect(expectOnlyCompleteCredentials(afterRollback.credential, anchors).current?.certificateArn).toBe(
      gen1,
    );
    expect(afterRollback.issuance.holder("AWSPENDING")).toBeUndefined();

    // The next attempt (a new execution name, as the dispatcher gives it) completes.
    resetFakeClock();
    // A later generation's grace period is a control point (a durable callback, whose window the local runner
    // lets run in real time): a short one.
    const second = await rotate(f, {
      input: { ...next, rotationId: `${next.rotationId}-2` },
      deps: { settings: { ...f.deps.settings, graceSeconds: 1 } },
    });
    expect(second.result.getStatus()).toBe("SUCCEEDED");
    const gen2 = (second.result.getResult() as RotationOutcome).newCertificateArn!;
    expect(presented(f)).toEqual([gen2, gen2]);
    const afterSecond = secretsOf(f);
    expect(afterSecond.credential.versions).toHaveLength(2);
    const { current, previous } = expectOnlyCompleteCredentials(afterSecond.credential, anchors);
    expect(current?.certificateArn).toBe(gen2);
    expect(previous?.certificateArn).toBe(gen1);
    expect(previous?.versionId).toBe(firstCredential.versionId);
    expect(afterSecond.issuance.holder("AWSPENDING")).toBeUndefined();
    // Three rotations issued three certificates; the first generation's is retired, its credential kept.
    expect(f.standins.privateCa.issuedCount).toBe(3);
    expect(f.standins.acm.arns()).toEqual([gen2]);
    await expectNoKeyLeak(f, second.result);
  });

  it("a rollback in the grace period undoes the promotion: every distribution and AWSCURRENT go back, the old certificate stays", async () => {
    const f = await fleet({ distributions: 2 });
    // The lineage's first credential: nothing before it, so its grace period is a plain wait (no control
    // point) and its promotion says it cannot be undone.
    const first = await rotate(f);
    expect(first.result.getStatus()).toBe("SUCCEEDED");
    expect(first.result.getOperations().map((o) => o.getName())).not.toContain("grace");
    const firstState = await f.store.get(f.input().rotationId);
    expect(firstState?.promoted).toEqual({ at: expect.any(String), restorable: false });
    const { anchors, gen1, firstCredential, next } = nextGeneration(f, first.result);

    resetFakeClock();
    const runner = new LocalDurableTestRunner({
      handlerFunction: createRotationWorkflow(withWaitsThatAddUp(workflow), {
        ...f.deps,
        settings: { ...f.deps.settings, graceSeconds: 300 },
      }),
    });
    const execution = runner.run({ payload: f.input(next) });
    execution.catch(() => undefined);
    const grace = await runner.getOperation("grace").waitForData(WaitingOperationStatus.STARTED);
    await runner.getOperation("grace:open").waitForData(WaitingOperationStatus.COMPLETED);
    // Promoted: every distribution presents the new generation, which is AWSCURRENT; the old one is previous.
    const promoted = await f.store.get(next.rotationId!);
    expect(promoted?.status).toBe("finalizing");
    expect(promoted?.promoted?.restorable).toBe(true);
    expect(await f.store.getControl(next.rotationId!)).toMatchObject({ kind: "grace", wave: 1 });
    const gen2 = promoted!.issued!.certificateArn;
    expect(presented(f)).toEqual([gen2, gen2]);
    const during = expectOnlyCompleteCredentials(secretsOf(f).credential, anchors);
    expect(during.current?.certificateArn).toBe(gen2);
    expect(during.previous?.versionId).toBe(firstCredential.versionId);

    await grace.sendCallbackSuccess(
      JSON.stringify({ action: "rollback", actor: "erin", reason: "5xx after the promotion" }),
    );
    const rolledBack = await execution;
    expect(rolledBack.getStatus()).toBe("FAILED");
    expect(rolledBack.getError()?.errorMessage).toMatch(
      /rolled-back \(ManualRollback\): 5xx after the promotion/,
    );
    // Every distribution back on the generation before, which is AWSCURRENT again; the rolled-back
    // credential keeps no label (its certificate is gone); the old certificate was never deleted.
    expect(presented(f)).toEqual([gen1, gen1]);
    const after = expectOnlyCompleteCredentials(secretsOf(f).credential, anchors);
    expect(after.current?.versionId).toBe(firstCredential.versionId);
    expect(after.current?.certificateArn).toBe(gen1);
    expect(after.previous).toBeUndefined();
    expect(f.standins.acm.arns()).toEqual([gen1]);
    const state = await f.store.get(next.rotationId!);
    expect(state?.status).toBe("rolled-back");
    expect(state?.rollback).toMatchObject({ reason: "ManualRollback", actor: "erin" });
    expect(await f.store.getControl(next.rotationId!)).toBeUndefined();
    expect(await f.store.activeRotationFor(gen1)).toBeUndefined();
    await expectNoKeyLeak(f, rolledBack);
  }, 90_000);
});

describe("origins the workflow cannot reach (issue 11): an acknowledgement from origin-sync as the proof", () => {
  type Preflight = Extract<RotationEvent, { type: "preflight" }>;
  const preflights = async (f: Fleet) =>
    (await f.store.history(f.input().rotationId)).filter((e): e is Preflight => e.type === "preflight");
  const ACK_ID = "shop-api";

  /** Which proof counts for the fleet's first origin (by "distributionId/originId"). */
  function proveFirstOriginBy(f: Fleet, proof: "probe" | "acknowledgement" | "both"): string {
    const target = `${f.distributionIds[0]}/origin-1`;
    f.deps.settings = {
      ...f.deps.settings,
      preflight: { ...f.deps.settings.preflight, proofs: { [target]: { proof, ackId: ACK_ID } } },
    };
    return target;
  }

  /** Reachable only through CloudFront: nothing answers the workflow's probes (the port is closed). */
  async function unreachable(f: Fleet): Promise<void> {
    await f.origins.get(f.distributionIds[0]!)!.stop();
  }

  /** origin-sync on the origin's host: installs the published bundle, reloads, and acknowledges it. */
  async function originSyncOnHost(f: Fleet, options: { reload?: string } = {}) {
    const dir = await mkdtemp(join(tmpdir(), "ack-host-"));
    tempDirs.push(dir);
    return originSync(
      {
        source: `s3://${f.bucket}/trust/origin-client-ca.pem`,
        out: join(dir, "client-ca.pem"),
        check: "true",
        reload: options.reload ?? "true",
        ackId: ACK_ID,
      },
      { clients: { s3: () => f.standins.clients().s3 }, host: "origin-1.internal" },
    );
  }

  it('proof "acknowledgement": an origin that refuses direct connections but acknowledged the new bundle is accepted, and the rotation completes', async () => {
    const f = await fleet({ distributions: 2, newIssuer: "other" });
    const target = proveFirstOriginBy(f, "acknowledgement");
    await unreachable(f);
    await f.origins.get(f.distributionIds[1]!)!.trust(f.bothTrustPem);
    let synced: Awaited<ReturnType<typeof originSyncOnHost>> | undefined;
    const { result } = await rotate(f, {
      faults: {
        before: async (step) => {
          // The host's timer runs after the trust phase published the bundle and its probe certificates.
          if (step === "preflight:2") synced = await originSyncOnHost(f);
        },
      },
    });
    expect(synced).toMatchObject({ exitCode: 0, outcome: "updated" });
    expect(result.getStatus()).toBe("SUCCEEDED");
    const state = await f.store.get(f.input().rotationId);
    expect(state?.status).toBe("completed");
    const attempts = await preflights(f);
    // Attempt 1: nothing acknowledged yet; attempt 2: acknowledged. The origin itself is never probed.
    expect(attempts.map((a) => a.probes.find((p) => p.target === target))).toEqual([
      {
        target,
        status: null,
        accepted: false,
        reason: "NotAcknowledged",
        proof: "acknowledgement",
        acknowledgement: { ackId: ACK_ID, accepted: false, reason: "Missing" },
      },
      {
        target,
        status: null,
        accepted: true,
        reason: "Acknowledged",
        proof: "acknowledgement",
        acknowledgement: {
          ackId: ACK_ID,
          accepted: true,
          reason: "Acknowledged",
          bundleSha256: state?.bundleSha256,
          host: "origin-1.internal",
          reloadedAt: expect.any(String),
          acknowledgedAt: expect.any(String),
        },
      },
    ]);
    // The other origin is probed as before.
    expect(attempts[1]?.probes.find((p) => p.target !== target)).toMatchObject({
      status: 200,
      accepted: true,
    });
    // The acknowledgement on S3 names the bundle, the new certificate and no key.
    const trust = (await f.store.history(f.input().rotationId)).find((e) => e.type === "trust-published");
    expect(trust).toMatchObject({ probeCertificates: { certificates: 2, changed: true } });
    const ack = JSON.parse(
      f.standins.s3.object(f.bucket, `acks/${ACK_ID}.json`)?.body.toString("utf8") ?? "{}",
    );
    expect(ack).toMatchObject({
      version: 1,
      originId: ACK_ID,
      bundleSha256: state?.bundleSha256,
      checks: { verified: true, reloaded: true },
    });
    expect(ack.probes.map((p: { certificateSha256: string }) => p.certificateSha256)).toContain(
      state?.issued?.fingerprint,
    );
    await expectNoKeyLeak(f, result);
    expectNoKeyMaterial(ack, await keyMaterialOf(f));
  });

  it('proof "probe" (the default): the same unreachable origin aborts the rotation, as before', async () => {
    const f = await fleet({ distributions: 1, newIssuer: "other" });
    await unreachable(f);
    const { result } = await rotate(f, {
      faults: {
        before: async (step) => {
          if (step === "preflight:2") await originSyncOnHost(f);
        },
      },
    });
    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError()?.errorMessage).toMatch(
      /aborted \(PreflightRefused\): origins refused the new certificate: .*ECONNREFUSED/,
    );
    expect(f.standins.server.count("cloudfront", "UpdateDistribution")).toBe(0);
    expect((await preflights(f)).at(-1)?.probes[0]).not.toHaveProperty("proof");
  });

  it("an acknowledgement of an older bundle does not count: aborted, nothing swapped", async () => {
    const f = await fleet({ distributions: 1, newIssuer: "other" });
    proveFirstOriginBy(f, "acknowledgement");
    await unreachable(f);
    // What origin-sync acknowledged before this rotation: the bundle of the old CA alone.
    const older = {
      version: 1,
      originId: ACK_ID,
      host: "origin-1.internal",
      bundleSha256: sha256Hex("an older bundle"),
      installedAt: "2026-11-01T00:00:00.000Z",
      reloadedAt: "2026-11-01T00:00:01.000Z",
      acknowledgedAt: "2026-11-01T00:00:02.000Z",
      caKeyFingerprints: [],
      probes: [],
      unprobedCaKeyFingerprints: [],
      checks: { verified: true, reloaded: true },
    };
    await f.standins
      .clients()
      .s3.send(
        new PutObjectCommand({ Bucket: f.bucket, Key: `acks/${ACK_ID}.json`, Body: JSON.stringify(older) }),
      );
    const { result } = await rotate(f);
    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError()?.errorMessage).toMatch(
      new RegExp(
        `aborted \\(PreflightRefused\\): origins refused the new certificate: ${f.distributionIds[0]}/origin-1 \\(not acknowledged: acks/${ACK_ID}.json acknowledges bundle ${older.bundleSha256.slice(0, 16)}…, not this rotation's\\)$`,
      ),
    );
    expect(f.standins.server.count("cloudfront", "UpdateDistribution")).toBe(0);
    expect((await preflights(f)).at(-1)?.probes[0]?.acknowledgement?.reason).toBe("OtherBundle");
  });

  it('proof "both": the probe alone is not enough (no acknowledgement): aborted', async () => {
    const f = await fleet({ distributions: 1, newIssuer: "other" });
    proveFirstOriginBy(f, "both");
    await f.origins.get(f.distributionIds[0]!)!.trust(f.bothTrustPem);
    const { result } = await rotate(f);
    expect(result.getStatus()).toBe("FAILED");
    expect(result.getError()?.errorMessage).toMatch(
      /\(200 to the new certificate, not acknowledged: no acknowledgement acks\/shop-api\.json\)$/,
    );
    expect(f.standins.server.count("cloudfront", "UpdateDistribution")).toBe(0);
    expect((await preflights(f)).at(-1)?.probes[0]).toMatchObject({
      status: 200,
      accepted: false,
      reason: "NotAcknowledged",
      proof: "both",
      acknowledgement: { reason: "Missing" },
    });
  });

  it('proof "both": nor the acknowledgement alone (the origin refuses the new certificate): aborted', async () => {
    // The host acknowledged the bundle, but the server still trusts the old CA only (another file, say).
    const f = await fleet({ distributions: 1, newIssuer: "other" });
    proveFirstOriginBy(f, "both");
    const { result } = await rotate(f, {
      faults: {
        before: async (step) => {
          if (step === "preflight:1") await originSyncOnHost(f);
        },
      },
    });
    expect(result.getStatus()).toBe("FAILED");
    expect(f.standins.server.count("cloudfront", "UpdateDistribution")).toBe(0);
    // Refused at the TLS layer, whatever the acknowledgement says.
    expect((await preflights(f)).at(-1)?.probes[0]).toMatchObject({
      accepted: false,
      reason: "Refused",
      proof: "both",
      acknowledgement: { accepted: true, reason: "Acknowledged" },
    });
  });

  it('proof "both": probe and acknowledgement together pass, and the rotation completes', async () => {
    const f = await fleet({ distributions: 1, newIssuer: "other" });
    proveFirstOriginBy(f, "both");
    await f.origins.get(f.distributionIds[0]!)!.trust(f.bothTrustPem);
    const { result } = await rotate(f, {
      faults: {
        before: async (step) => {
          if (step === "preflight:1") await originSyncOnHost(f);
        },
      },
    });
    expect(result.getStatus()).toBe("SUCCEEDED");
    expect((await preflights(f))[0]?.probes[0]).toMatchObject({
      status: 200,
      accepted: true,
      reason: "NotCompared",
      proof: "both",
      acknowledgement: { accepted: true, reason: "Acknowledged" },
    });
  });
});
