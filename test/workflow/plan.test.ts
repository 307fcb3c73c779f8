/**
 * Planning: the settings a rotation runs with (stage settings + request overrides), the expected duration,
 * and the dry-run plan — against the AWS stand-ins and dynalite, compared with what the workflow's own plan
 * step records, and shown to change nothing.
 */
import { X509Certificate } from "node:crypto";
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { workflow } from "sst/aws/workflow";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { AcmAdapter } from "../../functions/adapters/acm.ts";
import { DEFAULT_SETTINGS, type RotationSettings, resolveSettings } from "../../functions/config/settings.ts";
import { ReplacementKeyError } from "../../functions/core/certificate.ts";
import type { RotationEvent } from "../../functions/core/rotation.ts";
import {
  afterDeploySeconds,
  caKeyAlgorithmOf,
  expectedDurationSeconds,
  planRotation,
  settingsWithOverrides,
  TYPICAL_DEPLOY_SECONDS,
  TYPICAL_ISSUE_SECONDS,
  TYPICAL_METRICS_DELAY_SECONDS,
  WORST_ISSUE_SECONDS,
} from "../../functions/workflow/plan.ts";
import { createRotationWorkflow } from "../../functions/workflow/rotation-workflow.ts";
import {
  type CaKeyAlgorithm,
  createRootCa,
  createSubordinateCa,
  issueClientCredential,
} from "../../standins/pki.ts";
import { useDurableRunner } from "../support/durable.ts";
import { buildFleet, type Fleet } from "../support/fleet.ts";
import { expectNoKeyMaterial } from "../support/key-material.ts";

useDurableRunner({ skipTime: true });

const AUTHORITY =
  "arn:aws:acm-pca:eu-west-1:123456789012:certificate-authority/0f3c9b1e-7a2d-4c5e-9b8a-1d2e3f4a5b6c";

describe("settingsWithOverrides", () => {
  const stage = resolveSettings({
    authorityArn: AUTHORITY,
    waves: { canarySize: 1, waves: [{ percent: 50 }], canaryPreference: ["E1"] },
    approval: { mode: "none", timeoutSeconds: 3600, onTimeout: "proceed" },
  });

  it("without overrides is the stage's settings", () => {
    expect(settingsWithOverrides(stage, undefined)).toBe(stage);
  });

  it("replaces only what is overridden, keeping the rest of each setting", () => {
    const settings = settingsWithOverrides(stage, {
      waves: { canarySize: 2 },
      bakeSeconds: 0,
      approval: "between-waves",
    });
    expect(settings.waves).toEqual({ canarySize: 2, waves: [{ percent: 50 }], canaryPreference: ["E1"] });
    expect(settings.bakeSeconds).toBe(0);
    expect(settings.approval).toEqual({ mode: "between-waves", timeoutSeconds: 3600, onTimeout: "proceed" });
    expect(settings.gate).toBe(stage.gate);
    expect(stage.bakeSeconds).toBe(DEFAULT_SETTINGS.bakeSeconds);
  });

  it("replaces the later wave sizes as a whole", () => {
    expect(settingsWithOverrides(stage, { waves: { waves: [{ count: 3 }] } }).waves).toEqual({
      canarySize: 1,
      waves: [{ count: 3 }],
      canaryPreference: ["E1"],
    });
  });
});

describe("expectedDurationSeconds", () => {
  const settings: RotationSettings = resolveSettings({
    authorityArn: AUTHORITY,
    bakeSeconds: 600,
    deploy: { timeoutSeconds: 1800, pollSeconds: 45 },
    preflight: { timeoutSeconds: 900, intervalSeconds: 30, probePath: "/" },
    approval: { mode: "between-waves", timeoutSeconds: 7200, onTimeout: "rollback" },
    graceSeconds: 86_400,
    // The gate decides within the bake, typically (6 periods + 180 s = 540 s < 600 s) and at worst.
    gate: { ...DEFAULT_SETTINGS.gate, minDatapoints: 5, periodSeconds: 60, metricsDeadlineSeconds: 600 },
  });

  it("adds issuance, each wave's deploy and bake, approvals (worst case) and the grace period", () => {
    // A typical deploy is whole polls: ceil(300 / 45) * 45 = 315 s.
    expect(Math.ceil(TYPICAL_DEPLOY_SECONDS / 45) * 45).toBe(315);
    expect(expectedDurationSeconds(settings, 3)).toEqual({
      typical: TYPICAL_ISSUE_SECONDS + 3 * (315 + 600) + 86_400,
      worstCase: WORST_ISSUE_SECONDS + 900 + 3 * (1800 + 600) + 2 * 7200 + 86_400,
    });
  });

  it("with no distributions: issuance and the grace period only", () => {
    expect(expectedDurationSeconds(settings, 0)).toEqual({
      typical: TYPICAL_ISSUE_SECONDS + 86_400,
      worstCase: WORST_ISSUE_SECONDS + 86_400,
    });
  });

  it("without approvals, a worst case has no approval windows", () => {
    const none = settingsWithOverrides(settings, { approval: "none" });
    expect(expectedDurationSeconds(none, 3).worstCase).toBe(WORST_ISSUE_SECONDS + 900 + 3 * 2400 + 86_400);
  });

  it("a gate that waits for datapoints beyond the bake makes each wave longer: typically, and at worst its deadline", () => {
    const waiting = {
      ...settings,
      bakeSeconds: 60,
      gate: { ...settings.gate, metricsDeadlineSeconds: 1200 },
    };
    expect(afterDeploySeconds(waiting)).toEqual({
      typical: 6 * 60 + TYPICAL_METRICS_DELAY_SECONDS,
      worstCase: 1200,
    });
    expect(expectedDurationSeconds(waiting, 3)).toEqual({
      typical: TYPICAL_ISSUE_SECONDS + 3 * (315 + 540) + 86_400,
      worstCase: WORST_ISSUE_SECONDS + 900 + 3 * (1800 + 1200) + 2 * 7200 + 86_400,
    });
    // A bake longer than the deadline: the gate decides when the bake ends.
    expect(afterDeploySeconds({ ...waiting, bakeSeconds: 1500 })).toEqual({ typical: 1500, worstCase: 1500 });
  });
});

describe("planRotation against the stand-ins", () => {
  let fleet: Fleet;

  beforeAll(async () => {
    fleet = await buildFleet({ distributions: 3 });
  });
  afterAll(async () => {
    await fleet?.close();
  });

  const planDeps = () => ({
    settings: fleet.settings,
    acm: fleet.deps.acm,
    distributions: fleet.deps.distributions,
    privateCa: fleet.deps.issuance.privateCa,
    trustTargets: fleet.deps.trustTargets,
  });

  it("plans what the workflow's own plan step records, from read-only calls", async () => {
    const callsBefore = fleet.standins.server.calls.length;
    const plan = await planRotation(planDeps(), { certificateArn: fleet.oldCertificateArn });
    const calls = fleet.standins.server.calls.slice(callsBefore);

    const sortedIds = [...fleet.distributionIds].sort();
    expect(plan).toEqual({
      certificateArn: fleet.oldCertificateArn,
      serial: fleet.oldSerial,
      subject: "CN=cloudfront-to-origin, O=Acme",
      keyAlgorithm: "EC_prime256v1",
      replacementKey: {
        reason: "SameAsCa",
        caKeyAlgorithm: "EC_prime256v1",
        inServiceKeyAlgorithm: "EC_prime256v1",
        message: "EC_prime256v1 (follows CA key EC_prime256v1; unchanged)",
      },
      notAfter: expect.any(String),
      issuer: { authorityArn: fleet.authorityArn },
      trustTargets: fleet.deps.trustTargets.map((t) => t.name),
      waves: sortedIds.map((distributionId, index) => ({
        index,
        canary: index === 0,
        distributions: [{ distributionId, originIds: ["origin-1"] }],
      })),
      expectedDurationSeconds: expectedDurationSeconds(fleet.settings, 3),
    });
    expect(plan.trustTargets.length).toBeGreaterThanOrEqual(2);
    // Read-only: ACM GetCertificate, CloudFront listings and the CA's own certificate, nothing else.
    expect(calls.length).toBeGreaterThan(0);
    for (const call of calls) expect(call.operation).toMatch(/^(Get|List|Describe)/);
    expect(calls.map((c) => `${c.service}:${c.operation}`)).toContain(
      "acm-pca:GetCertificateAuthorityCertificate",
    );
    expectNoKeyMaterial(plan, [fleet.oldCredential.privateKeyPem]);

    // The workflow's dry run plans the same waves from the same shared planning step.
    const handler = createRotationWorkflow(workflow, fleet.deps);
    const result = await new LocalDurableTestRunner({ handlerFunction: handler }).run({
      payload: fleet.input({ dryRun: true, rotationId: "dry-plan-comparison" }),
    });
    expect(result.getStatus()).toBe("SUCCEEDED");
    const planned = (await fleet.store.history("dry-plan-comparison")).find(
      (e): e is Extract<RotationEvent, { type: "planned" }> => e.type === "planned",
    )!;
    expect(planned.old).toMatchObject({
      serial: plan.serial,
      keyAlgorithm: plan.keyAlgorithm,
      notAfter: plan.notAfter,
    });
    expect(planned.newIssuerArn).toBe(plan.issuer.authorityArn);
    expect(planned.replacementKey).toEqual({ keyAlgorithm: plan.keyAlgorithm, ...plan.replacementKey });
    expect(
      planned.waves.map((w) => ({ index: w.index, canary: w.canary, distributions: w.targets })),
    ).toEqual(plan.waves);
  });

  it("applies the request's overrides to the plan", async () => {
    const plan = await planRotation(planDeps(), {
      certificateArn: fleet.oldCertificateArn,
      overrides: { waves: { canarySize: 2, waves: [] }, bakeSeconds: 0, approval: "between-waves" },
    });
    expect(plan.waves.map((w) => w.distributions.length)).toEqual([2, 1]);
    const settings = settingsWithOverrides(fleet.settings, {
      waves: { canarySize: 2, waves: [] },
      bakeSeconds: 0,
      approval: "between-waves",
    });
    expect(plan.expectedDurationSeconds).toEqual(expectedDurationSeconds(settings, 2));
    expect(plan.expectedDurationSeconds.worstCase).toBeGreaterThan(
      expectedDurationSeconds(fleet.settings, 3).worstCase - 3 * fleet.settings.bakeSeconds,
    );
  });

  it("changes nothing: no rotation, no lock, no write to any service", async () => {
    const listed = await fleet.store.list({ limit: 100 });
    const messages = fleet.standins.sns.messages(fleet.topicArn).length;
    const callsBefore = fleet.standins.server.calls.length;
    const plan = await planRotation(planDeps(), { certificateArn: fleet.oldCertificateArn });
    expect(plan.waves).toHaveLength(3);
    expect(await fleet.store.list({ limit: 100 })).toEqual(listed);
    expect(await fleet.store.activeRotationFor(fleet.oldCertificateArn)).toBeUndefined();
    expect(await fleet.store.get(fleet.input().rotationId)).toBeUndefined();
    const writes = fleet.standins.server.calls
      .slice(callsBefore)
      .filter((c) => !/^(Get|List|Describe)/.test(c.operation));
    expect(writes).toEqual([]);
    expect(fleet.standins.privateCa.issuedCount).toBe(0);
    expect(fleet.standins.sns.messages(fleet.topicArn)).toHaveLength(messages);
  });

  it("refuses a certificate no distribution presents; the workflow fails at its plan and deletes nothing", async () => {
    const credential = await issueClientCredential(fleet.oldIssuer, {
      subject: "CN=presented-nowhere, O=Acme",
      notBefore: new Date(Date.now() - 80 * 86_400_000),
      notAfter: new Date(Date.now() + 10 * 86_400_000),
    });
    const acm = new AcmAdapter(fleet.standins.clients().acm);
    const unused = await acm.importCertificate({
      ...credential,
      lineage: { rotationId: "fixture", credential: "unused" },
    });
    await expect(planRotation(planDeps(), { certificateArn: unused })).rejects.toMatchObject({
      name: "NotPresentedError",
      retryable: false,
      message: expect.stringMatching(/^no CloudFront distribution presents .* nothing to rotate/),
    });

    const handler = createRotationWorkflow(workflow, fleet.deps);
    const serial = new X509Certificate(credential.certificatePem).serialNumber.toLowerCase();
    const input = fleet.input({ certificateArn: unused, serial, rotationId: "presented-nowhere" });
    const callsBefore = fleet.standins.server.calls.length;
    const result = await new LocalDurableTestRunner({ handlerFunction: handler }).run({ payload: input });
    expect(result.getStatus()).toBe("FAILED");
    const state = await fleet.store.get("presented-nowhere");
    expect(state).toMatchObject({ status: "failed" });
    expect(state?.outcome?.detail).toMatch(/no CloudFront distribution presents/);
    // Nothing issued, swapped or deleted: the certificate is still in ACM, and no longer locked.
    expect(fleet.standins.acm.arns()).toContain(unused);
    const writes = fleet.standins.server.calls
      .slice(callsBefore)
      .filter((c) => /^(Issue|Import|Update|Delete|Put|Create)/.test(c.operation) && c.service !== "sns");
    expect(writes).toEqual([]);
    expect(await fleet.store.activeRotationFor(unused)).toBeUndefined();
  });

  it("refuses a certificate also presented by distributions the deployment may not change", async () => {
    const [allowed, ...others] = [...fleet.distributionIds].sort();
    const limited = { ...planDeps(), settings: { ...fleet.settings, distributionIds: [allowed!] } };
    await expect(planRotation(limited, { certificateArn: fleet.oldCertificateArn })).rejects.toMatchObject({
      name: "DistributionsNotAllowedError",
      distributionIds: others,
      message: expect.stringContaining("MTLS_ROTATOR_DISTRIBUTION_IDS"),
    });
    const all = {
      ...planDeps(),
      settings: { ...fleet.settings, distributionIds: [...fleet.distributionIds] },
    };
    expect((await planRotation(all, { certificateArn: fleet.oldCertificateArn })).waves).toHaveLength(3);
  });

  describe("the replacement's key follows the configured CA's key (the new CA during a migration)", () => {
    // The fleet's certificate in service is P-256; each case configures another CA as the issuer.
    const cases: Array<[CaKeyAlgorithm, string, string, string]> = [
      ["RSA_2048", "RSA_2048", "SameAsCa", "RSA_2048 (follows CA key RSA_2048; was EC_prime256v1)"],
      [
        "RSA_4096",
        "RSA_2048",
        "RsaCaOtherSize",
        "RSA_2048 (follows CA key RSA_4096: RSA, at the one RSA size CloudFront presents; was EC_prime256v1)",
      ],
      [
        "EC_secp384r1",
        "EC_prime256v1",
        "EcCaOtherCurve",
        "EC_prime256v1 (follows CA key EC_secp384r1: EC, on the one curve CloudFront presents; unchanged)",
      ],
    ];
    it.each(cases)("a %s CA -> %s (%s)", async (caKey, keyAlgorithm, reason, message) => {
      const root = await createRootCa({ name: `CN=${caKey} Root, O=Acme`, keyAlgorithm: caKey });
      const ca = await createSubordinateCa(root, { name: `CN=${caKey} Issuing CA, O=Acme` });
      const authorityArn = fleet.standins.privateCa.addAuthority(ca);
      const deps = { ...planDeps(), settings: { ...fleet.settings, authorityArn } };
      const plan = await planRotation(deps, { certificateArn: fleet.oldCertificateArn });
      expect(plan).toMatchObject({
        keyAlgorithm,
        replacementKey: { reason, caKeyAlgorithm: caKey, inServiceKeyAlgorithm: "EC_prime256v1", message },
        issuer: { authorityArn },
      });
    });

    it("refuses a CA whose key no certificate CloudFront presents could share (ReplacementKeyError)", async () => {
      const deps = { ...planDeps(), privateCa: { authorityChainPem: async () => "not a certificate" } };
      await expect(planRotation(deps, { certificateArn: fleet.oldCertificateArn })).rejects.toMatchObject({
        name: "ReplacementKeyError",
        choice: { reason: "NoPresentableKey", caKeyAlgorithm: "unreadable" },
        message: expect.stringMatching(/^no replacement key for CA key unreadable: ACM imports/),
      });
      await expect(planRotation(deps, { certificateArn: fleet.oldCertificateArn })).rejects.toBeInstanceOf(
        ReplacementKeyError,
      );
    });
  });

  it("fails with ACM's ResourceNotFoundException for a certificate ACM does not have", async () => {
    const unknown = fleet.oldCertificateArn.replace(/[0-9a-f]{12}$/, "000000000000");
    await expect(planRotation(planDeps(), { certificateArn: unknown })).rejects.toMatchObject({
      name: "ResourceNotFoundException",
    });
  });
});

describe("caKeyAlgorithmOf", () => {
  it("reads the CA's key algorithm off the first certificate of its chain; 'unreadable' otherwise", async () => {
    const rsaRoot = await createRootCa({ name: "CN=RSA Root", keyAlgorithm: "RSA_2048" });
    const p384 = await createSubordinateCa(rsaRoot, { name: "CN=P-384 CA", keyAlgorithm: "EC_secp384r1" });
    expect(caKeyAlgorithmOf(p384.certificatePem + p384.chainPem)).toBe("EC_secp384r1");
    expect(caKeyAlgorithmOf(rsaRoot.certificatePem)).toBe("RSA_2048");
    expect(caKeyAlgorithmOf("")).toBe("unreadable");
    expect(caKeyAlgorithmOf("-----BEGIN CERTIFICATE-----\nZ2FyYmFnZQ==\n-----END CERTIFICATE-----\n")).toBe(
      "unreadable",
    );
  });
});
