/**
 * The shipped sandbox scenarios, part 3 (see shipped-scenarios-1.test.ts): one per defect of issue 11 —
 * dead-first-attempt (1), ca-rekeyed-same-name (2), preflight-deadline-slow-origin (3),
 * one-rotation-per-distribution (6), rollback-between-control-points (7) — against real nginx origins. Each
 * asserts what would have been different before the defect's fix.
 */
import { expect, it } from "vitest";
import { describeWithNginx } from "../support/tools.ts";
import { expectNoKeysLeaked, finalArns, refusedByOrigin, runShippedScenario } from "./run-scenario.ts";

describeWithNginx()("shipped sandbox scenarios (nginx origins), part 3: issue 11's defects", () => {
  it("dead-first-attempt: a first attempt dead at its lock step does not block the certificate; the next scan starts attempt 2", async () => {
    const run = await runShippedScenario("dead-first-attempt");
    const { report } = run;
    expect(run.exitCode).toBe(0);
    const [dead, fresh] = report.rotations;
    // The first execution died before recording anything: no state, Lambda says FAILED.
    expect(dead).toMatchObject({ status: "unknown", execution: { status: "FAILED" } });
    expect(dead!.triggers).toEqual([expect.objectContaining({ source: "scan", started: true })]);
    expect(fresh!.rotationId).toBe(`${dead!.rotationId}-2`);
    expect(fresh).toMatchObject({ status: "completed", execution: { status: "SUCCEEDED" } });
    expect(fresh!.triggers).toEqual([expect.objectContaining({ source: "scan", started: true })]);
    expect(report.faults.crashes).toEqual([
      { step: "lock", when: "after", times: 1, final: true, delivered: 1 },
    ]);
    const newArn = fresh!.newCertificateArn!;
    expect(Object.values(finalArns(report))).toEqual([newArn, newArn]);
    expect(report.edge.refused).toBe(0);
    expectNoKeysLeaked(run);
  }, 90_000);

  it("ca-rekeyed-same-name: both certificates move to the new key; the next scan retires the old key's CA, zero refused", async () => {
    const run = await runShippedScenario("ca-rekeyed-same-name");
    const { report } = run;
    expect(run.exitCode).toBe(0);
    const [a, b] = report.authorities;
    // Same subject and root, another key.
    expect(b!.subject).toBe(a!.subject);
    expect(b!.rootFingerprint).toBe(a!.rootFingerprint);
    expect(b!.fingerprint).not.toBe(a!.fingerprint);
    expect(report.rotations.map((r) => r.status)).toEqual(["completed", "completed"]);
    expect(report.edge.refused).toBe(0);
    // Only the old key's CA certificate leaves: the root stays, the new key is trusted everywhere.
    expect(report.scans.at(-1)?.retiredAuthorities).toEqual([`authority (${a!.subject})`]);
    expect(report.trustBundle.published).toEqual([b!.subject]);
    for (const origin of report.distributions.flatMap((d) => d.origins)) {
      expect(origin.followsBundle).toBe(true);
      expect(origin.trusts).toEqual([b!.subject]);
    }
    expectNoKeysLeaked(run);
  }, 90_000);

  it("preflight-deadline-slow-origin: an origin 2 s slow to refuse does not stretch a 4 s deadline past 4 s + one probe timeout", async () => {
    const run = await runShippedScenario("preflight-deadline-slow-origin");
    const { report } = run;
    expect(run.exitCode).toBe(0);
    const [rotation] = report.rotations;
    expect(rotation).toMatchObject({ status: "aborted", reason: "PreflightRefused" });
    expect(rotation!.detail).toContain("/app (400)");
    // Attempts start only before the deadline: two here (0 s and ~3 s), where counting attempts gave four.
    expect(rotation!.preflightAttempts).toBe(2);
    const preflight = rotation!.phases.find((p) => p.phase === "preflight")!;
    expect(preflight.durationMs).toBeGreaterThan(4_000);
    expect(preflight.durationMs).toBeLessThanOrEqual(9_000);
    expect(report.awsCalls["cloudfront:UpdateDistribution"]).toBeUndefined();
    expect(report.edge.refused).toBe(0);
    expectNoKeysLeaked(run);
  }, 90_000);

  it("one-rotation-per-distribution: b waits for a's changes to shop to end, then completes; a's failure is not b's", async () => {
    const run = await runShippedScenario("one-rotation-per-distribution");
    const { report } = run;
    expect(run.exitCode).toBe(0);
    const [a, b] = report.rotations;
    expect(a).toMatchObject({ certificate: "a", status: "rolled-back", reason: "GateFailed" });
    expect(a!.waitedFor).toBeUndefined();
    expect(b).toMatchObject({ certificate: "b", status: "completed" });
    expect(b!.waitedFor).toEqual([`shop (rotation ${a!.rotationId})`]);
    // b issued nothing until it had shop: its first swap comes after a's rollback ended.
    const aEnd = Math.max(...a!.phases.map((p) => p.startMs + p.durationMs));
    const bIssue = b!.phases.find((p) => p.phase === "issue")!;
    expect(bIssue.startMs + bIssue.durationMs).toBeGreaterThan(aEnd);
    expect(b!.waves[0]!.gatePassed).toBe(true);
    expect(run.lines.join("\n")).toMatch(
      /rotation b: waiting for distributions another rotation is changing: shop \(rotation a\)/,
    );
    expect(refusedByOrigin(report)["shop/web"]).toBe(0);
    expect(refusedByOrigin(report)["shop/api"]).toBeGreaterThan(0);
    expectNoKeysLeaked(run);
  }, 120_000);

  it("rollback-between-control-points: requested while deploying and while the gate waits, taken at the next safe point", async () => {
    const run = await runShippedScenario("rollback-between-control-points");
    const { report } = run;
    expect(run.exitCode).toBe(0);
    expect(report.actions.map((a) => [a.action, a.outcome])).toEqual([
      ["rotate", "ok"],
      ["rotate", "ok"],
      ["rollback", "ok"],
      ["rollback", "ok"],
      ["wait", "ok"],
    ]);
    expect(report.actions[2]!.detail).toMatch(
      /during its deploy wait of wave 0: recorded for the next safe point/,
    );
    expect(report.actions[3]!.detail).toMatch(
      /during its gate's wait for datapoints of wave 0: recorded for the next safe point/,
    );
    const [edge, api] = report.rotations;
    for (const rotation of [edge!, api!]) {
      expect(rotation).toMatchObject({ status: "rolled-back", reason: "ManualRollback" });
      // Only the canary was swapped, and put back; wave 1 never started.
      expect(rotation.waves.map((w) => [w.index, w.status])).toEqual([
        [0, "failed"],
        [1, "pending"],
      ]);
    }
    // edge's wave ended before CloudFront had deployed it (4 s); api's gate never judged.
    expect(edge!.phases.find((p) => p.phase === "wave 0")!.durationMs).toBeLessThan(4_000);
    expect(api!.waves[0]!.gatePassed).toBeUndefined();
    const initial = Object.fromEntries(report.certificates.map((c) => [c.name, c.initialArn]));
    expect(finalArns(report)).toEqual({
      "shop/web": initial.edge,
      "blog/web": initial.edge,
      "media/assets": initial.api,
      "docs/static": initial.api,
    });
    expect(report.edge.refused).toBe(0);
    expectNoKeysLeaked(run);
  }, 90_000);
});
