/**
 * The shipped sandbox scenarios, run in process against real nginx origins (the report is what is asserted):
 * healthy, failing-wave, faults. The others are in shipped-scenarios-2.test.ts, one per defect of issue
 * 11 in shipped-scenarios-3.test.ts, and acknowledgement-preflight in shipped-scenarios-4.test.ts (the files
 * run in parallel). Each checks statuses, refusals, final ARNs, AWS calls by operation, and that no key material
 * appears in the progress lines or the report.
 */
import { expect, it } from "vitest";
import { describeWithNginx } from "../support/tools.ts";
import { expectNoKeysLeaked, finalArns, refusedByOrigin, runShippedScenario } from "./run-scenario.ts";

describeWithNginx()("shipped sandbox scenarios (nginx origins)", () => {
  it("healthy: the scan starts one rotation; two waves; every origin ends on the new certificate, zero refused", async () => {
    const run = await runShippedScenario("healthy");
    const { report } = run;
    expect(run.exitCode).toBe(0);
    expect(report.result).toEqual({ passed: true, exitCode: 0, timedOut: false });
    expect(report.expectations.every((e) => e.passed)).toBe(true);
    expect(report.sandbox.origins).toBe("nginx");
    expect(run.lines[1]).toMatch(/^\[ +0\.\ds\] origins: nginx \(/);

    expect(report.rotations).toHaveLength(1);
    const [rotation] = report.rotations;
    expect(rotation).toMatchObject({
      certificate: "edge",
      status: "completed",
      execution: { status: "SUCCEEDED" },
    });
    expect(rotation!.triggers).toEqual([expect.objectContaining({ source: "scan", started: true })]);
    expect(rotation!.waves.map((w) => [w.index, w.distributions.length, w.gatePassed])).toEqual([
      [0, 1, true],
      [1, 2, true],
    ]);
    expect(rotation!.phases.map((p) => p.phase)).toEqual([
      "plan",
      "issue",
      "trust",
      "preflight",
      "wave 0",
      "wave 1",
      "finalize",
    ]);
    const newArn = rotation!.newCertificateArn!;
    expect(Object.values(finalArns(report))).toEqual([newArn, newArn, newArn]);
    expect(report.certificates[0]!.initialArn).not.toBe(newArn);

    expect(report.edge.refused).toBe(0);
    expect(report.edge.requests).toBeGreaterThan(60);
    for (const origin of report.distributions.flatMap((d) => d.origins)) {
      expect(origin.requests).toBeGreaterThan(20);
      expect(origin.finalCertificate).toBe(`new from ${rotation!.rotationId}`);
    }
    expect(report.awsCalls).toMatchObject({
      "acm-pca:IssueCertificate": 1,
      // One page of the scan, and the issuance's look-up of an earlier import of its serial.
      "acm:SearchCertificates": 2,
      "cloudfront:UpdateDistribution": 3,
      "acm:DeleteCertificate": 1,
    });
    expect(report.awsCalls["acm:ListCertificates"]).toBeUndefined();
    expect(report.modelChecks).toMatchObject({ botocore: "1.44.5", violations: 0, details: [] });
    expect(report.modelChecks.checked).toBeGreaterThan(100);
    // ACM takes one import per second: right after the setup's own import the SDK may be throttled once.
    expect(report.awsCalls["acm:ImportCertificate"]).toBeGreaterThanOrEqual(1);
    expect(report.awsCalls["cloudfront:CreateDistribution"]).toBeUndefined();
    expect(report.awsCallsOutsideTheService.setup["cloudfront:CreateDistribution"]).toBe(3);
    expect(report.awsCallsOutsideTheService.originSync["s3:GetObject"]).toBeGreaterThan(3);
    expect(report.notifications.map((n) => n.event)).toEqual([
      "certificate-expiring",
      "rotation-started",
      "trust-published",
      "wave-completed",
      "wave-completed",
      "rotation-completed",
    ]);
    expect(report.timings.totalMs).toBeLessThan(60_000);
    // The credential secret: one version, the new credential, AWSCURRENT; nothing pending anywhere.
    expect(report.certificates[0]!.credentialSecret).toEqual({
      name: expect.stringMatching(/^mtls-rotator\/sandbox\/credentials\//),
      versions: 1,
      current: {
        versionId: expect.any(String),
        certificateArn: newArn,
        serial: rotation!.newSerial,
        rotationId: rotation!.rotationId,
      },
      incomplete: 0,
      pending: [],
    });
    expect(report.expectations.find((e) => e.name === "credential secret of edge")?.passed).toBe(true);
    expectNoKeysLeaked(run);
  }, 90_000);

  it("failing-wave: an origin drops the new CA after its swap; the gate fails and everything is rolled back", async () => {
    const run = await runShippedScenario("failing-wave");
    const { report } = run;
    expect(run.exitCode).toBe(0);
    const [rotation] = report.rotations;
    expect(rotation).toMatchObject({
      status: "rolled-back",
      reason: "GateFailed",
      execution: { status: "FAILED" },
    });
    expect(rotation!.waves.map((w) => w.distributions.map((d) => `${d.name}:${d.outcome}`).sort())).toEqual([
      ["shop:rolled-back"],
      ["blog:rolled-back", "media:rolled-back"],
    ]);
    expect(rotation!.waves[1]!.gatePassed).toBe(false);
    const initial = report.certificates[0]!.initialArn;
    expect(Object.values(finalArns(report))).toEqual([initial, initial, initial]);
    // Refusals only where the origin stopped trusting the new CA, and only until the rollback deployed.
    const refused = refusedByOrigin(report);
    expect(refused["blog/web"]).toBeGreaterThan(0);
    expect({ ...refused, "blog/web": 0 }).toEqual({ "shop/api": 0, "blog/web": 0, "media/assets": 0 });
    // Three swaps, three put back; the new certificate deleted again.
    expect(report.awsCalls["cloudfront:UpdateDistribution"]).toBe(6);
    expect(report.awsCalls["acm:DeleteCertificate"]).toBe(1);
    expect(report.notifications.map((n) => n.event)).toContain("rolled-back");
    expect(rotation!.phases.map((p) => p.phase)).toContain("rollback");
    // A first rotation rolled back: its credential secret has no version (no AWSCURRENT on anything).
    expect(report.certificates[0]!.credentialSecret).toMatchObject({
      versions: 0,
      incomplete: 0,
      pending: [],
    });
    expect(report.certificates[0]!.credentialSecret.current).toBeUndefined();
    expect(report.expectations.find((e) => e.name === "credential secret of edge")?.passed).toBe(true);
    expectNoKeysLeaked(run);
  }, 90_000);

  it("faults: three triggers converge on one rotation that completes with one certificate through throttling, 5xx and crashes", async () => {
    const run = await runShippedScenario("faults");
    const { report } = run;
    expect(run.exitCode).toBe(0);
    expect(report.rotations).toHaveLength(1);
    const [rotation] = report.rotations;
    expect(rotation!.status).toBe("completed");
    expect(rotation!.triggers.map((t) => t.source).sort()).toEqual(["acm-event", "manual", "scan"]);
    expect(rotation!.triggers.filter((t) => t.started)).toHaveLength(1);
    // Every fault reached the service, and none cost a second certificate.
    expect(report.faults.aws.map((f) => [f.service, f.delivered])).toEqual([
      ["acm-pca", 2],
      ["cloudfront", 1],
      ["secretsmanager", 1],
    ]);
    expect(report.faults.crashes.map((c) => [c.step, c.delivered])).toEqual([
      ["issue:request", 1],
      ["swap:1:blog", 1],
    ]);
    expect(report.awsCalls["acm-pca:IssueCertificate"]).toBe(4);
    expect(run.lines.some((l) => l.includes("(step retried: recorded again, same event)"))).toBe(true);
    const newArn = rotation!.newCertificateArn!;
    expect(Object.values(finalArns(report))).toEqual([newArn, newArn]);
    expect(report.edge.refused).toBe(0);
    // Crashes and retries made one credential version, the new one.
    expect(report.certificates[0]!.credentialSecret).toMatchObject({
      versions: 1,
      current: { certificateArn: newArn },
      incomplete: 0,
      pending: [],
    });
    expectNoKeysLeaked(run);
  }, 90_000);
});
