/**
 * The shipped sandbox scenarios, part 2 (see shipped-scenarios-1.test.ts): untrusted-origin, ca-migration,
 * ca-migration-by-scan, ca-migration-key-type, manual-rollback against real nginx origins; and one run with
 * Node TLS origins through the CLI, which needs nothing installed.
 */
import { mkdtemp, readFile, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { expect, it } from "vitest";
import { runSandboxCli } from "../../sandbox/cli.ts";
import type { SandboxReport } from "../../sandbox/report.ts";
import { describeWithNginx } from "../support/tools.ts";
import { expectNoKeysLeaked, finalArns, runShippedScenario } from "./run-scenario.ts";

describeWithNginx()("shipped sandbox scenarios (nginx origins), part 2", () => {
  it("untrusted-origin: the preflight refuses, the rotation aborts before any swap, nothing is refused", async () => {
    const run = await runShippedScenario("untrusted-origin");
    const { report } = run;
    expect(run.exitCode).toBe(0);
    const [rotation] = report.rotations;
    expect(rotation).toMatchObject({ status: "aborted", reason: "PreflightRefused" });
    expect(rotation!.detail).toContain("/app (400)");
    // The deadline is time (3 s, an attempt a second): as many attempts as start within it, never one after.
    expect(rotation!.preflightAttempts).toBeGreaterThanOrEqual(2);
    expect(rotation!.preflightAttempts).toBeLessThanOrEqual(3);
    expect(report.awsCalls["cloudfront:UpdateDistribution"]).toBeUndefined();
    expect(report.awsCalls["acm:DeleteCertificate"]).toBe(1);
    const initial = report.certificates[0]!.initialArn;
    expect(Object.values(finalArns(report))).toEqual([initial, initial, initial]);
    expect(report.edge.refused).toBe(0);
    expect(report.notifications.at(-1)?.event).toBe("rotation-aborted");
    expectNoKeysLeaked(run);
  }, 90_000);

  it("ca-migration: A + B before the swap, zero refused, then A leaves the bundle everywhere", async () => {
    const run = await runShippedScenario("ca-migration");
    const { report } = run;
    expect(run.exitCode).toBe(0);
    const [rotation] = report.rotations;
    expect(rotation!.status).toBe("completed");
    // Two RSA CAs: the replacement stays RSA_2048, following CA B's key.
    expect(rotation!.newKeyType).toBe("RSA_2048");
    // The late origin held the preflight until it trusted B.
    expect(rotation!.preflightAttempts).toBeGreaterThan(1);
    const newArn = rotation!.newCertificateArn!;
    expect(Object.values(finalArns(report))).toEqual([newArn, newArn, newArn, newArn]);
    expect(report.edge.refused).toBe(0);
    const [a, b] = report.authorities;
    expect(report.trustBundle.published).toEqual([b!.subject]);
    for (const origin of report.distributions.flatMap((d) => d.origins))
      expect(origin.trusts).toEqual([b!.subject]);
    expect(report.scans.at(-1)?.retiredAuthorities.sort()).toEqual([
      `authority (${a!.subject})`,
      `authority root (CN=Acme Origin Client CA A Root, O=mtls-rotator sandbox)`,
    ]);
    expectNoKeysLeaked(run);
  }, 90_000);

  it("ca-migration-by-scan: the scan starts it, and the next scan retires CA A once the old certificate is gone", async () => {
    const run = await runShippedScenario("ca-migration-by-scan");
    const { report } = run;
    expect(run.exitCode).toBe(0);
    expect(report.rotations.map((r) => r.status)).toEqual(["completed"]);
    expect(report.edge.refused).toBe(0);
    const [a, b] = report.authorities;
    expect(report.trustBundle.published).toEqual([b!.subject]);
    expect(report.scans.at(-1)?.retiredAuthorities).toContain(`authority (${a!.subject})`);
    expectNoKeysLeaked(run);
  }, 90_000);

  it("ca-migration-key-type: RSA CA A -> P-256 CA B; the plan says EC, ACM imports it, zero refused, A retired", async () => {
    const run = await runShippedScenario("ca-migration-key-type");
    const { report } = run;
    expect(run.exitCode).toBe(0);
    expect(report.expectations.every((e) => e.passed)).toBe(true);
    const [a, b] = report.authorities;
    expect([a!.keyType, b!.keyType]).toEqual(["RSA_2048", "EC_prime256v1"]);
    expect(report.certificates[0]!.keyType).toBe("RSA_2048");

    // The dry run (the API's plan) says why the key type changes.
    const [dry] = report.dryRuns;
    expect(dry!.issuer).toBe("nextAuthority");
    expect(dry!.plan).toMatchObject({
      keyAlgorithm: "EC_prime256v1",
      replacementKey: {
        reason: "SameAsCa",
        caKeyAlgorithm: "EC_prime256v1",
        inServiceKeyAlgorithm: "RSA_2048",
        message: "EC_prime256v1 (follows CA key EC_prime256v1; was RSA_2048)",
      },
      issuer: { authorityArn: b!.arn },
    });
    expect(run.lines.join("\n")).toContain(
      "dry run edge:   replacement: EC_prime256v1 (follows CA key EC_prime256v1; was RSA_2048), issued by nextAuthority",
    );

    // The rotation had a P-256 certificate issued by B and imported into ACM (the stand-in refuses an import
    // whose key type is not its CA's), trusted everywhere before any swap: zero refused requests.
    const [rotation] = report.rotations;
    expect(rotation).toMatchObject({ status: "completed", newKeyType: "EC_prime256v1" });
    expect(rotation!.preflightAttempts).toBeGreaterThan(1);
    expect(report.awsCalls["acm:ImportCertificate"]).toBeGreaterThanOrEqual(1);
    const newArn = rotation!.newCertificateArn!;
    expect(Object.values(finalArns(report))).toEqual([newArn, newArn, newArn, newArn]);
    expect(report.edge.refused).toBe(0);
    expect(report.edge.requests).toBeGreaterThan(100);

    // A leaves the bundle: published and on every origin.
    expect(report.trustBundle.published).toEqual([b!.subject]);
    for (const origin of report.distributions.flatMap((d) => d.origins))
      expect(origin.trusts).toEqual([b!.subject]);
    expect(report.scans.at(-1)?.retiredAuthorities).toContain(`authority (${a!.subject})`);
    expectNoKeysLeaked(run);
  }, 90_000);

  it("manual-rollback: a dry run, an approval, then a rollback during the next bake", async () => {
    const run = await runShippedScenario("manual-rollback");
    const { report } = run;
    expect(run.exitCode).toBe(0);
    // The dry run is the API's plan: no rotation, no execution, no notification of its own.
    expect(report.rotations.map((r) => [r.rotationId.slice(0, 4), r.status, r.reason])).toEqual([
      ["rot-", "rolled-back", "ManualRollback"],
    ]);
    expect(report.dryRuns).toHaveLength(1);
    const [dry] = report.dryRuns;
    expect(dry!.waves.map((w) => [w.canary, [...w.distributions].sort()])).toEqual([
      [true, ["shop"]],
      [false, ["blog", "media"]],
    ]);
    expect(dry!.plan).toMatchObject({
      certificateArn: report.certificates[0]!.initialArn,
      keyAlgorithm: "EC_prime256v1",
      replacementKey: { message: "EC_prime256v1 (follows CA key EC_prime256v1; unchanged)" },
      issuer: { authorityArn: report.authorities[0]!.arn },
    });
    expect(dry!.plan.trustTargets).toHaveLength(2);
    expect(dry!.plan.expectedDurationSeconds.worstCase).toBeGreaterThan(
      dry!.plan.expectedDurationSeconds.typical,
    );
    expect(report.notifications.filter((n) => n.event === "rotation-started")).toHaveLength(1);
    expect(run.lines.join("\n")).toContain("dry run edge:   canary wave 0: shop (api)");
    expect(report.actions.map((a) => [a.action, a.outcome])).toEqual([
      ["dryRun", "ok"],
      ["rotate", "ok"],
      ["approve", "ok"],
      ["rollback", "ok"],
      ["wait", "ok"],
    ]);
    expect(report.actions[0]!.detail).toMatch(/^edge: plan of 3 distribution\(s\) in 2 wave\(s\)/);
    expect(report.actions[2]!.detail).toMatch(/at its approval of wave 0$/);
    expect(report.actions[3]!.detail).toMatch(/at its bake of wave 1$/);
    const initial = report.certificates[0]!.initialArn;
    expect(Object.values(finalArns(report))).toEqual([initial, initial, initial]);
    expect(report.edge.refused).toBe(0);
    expectNoKeysLeaked(run);
  }, 90_000);
});

it("runs with Node TLS origins through the CLI and writes the report where asked (no nginx needed)", async () => {
  const dir = await mkdtemp(join(tmpdir(), "sandbox-cli-run-"));
  try {
    const stdout: string[] = [];
    const path = join(dir, "out", "report.json");
    const code = await runSandboxCli(["untrusted-origin", "--origins", "node", "--report", path, "--quiet"], {
      stdout: (line) => stdout.push(line),
      stderr: (line) => stdout.push(line),
    });
    expect(code).toBe(0);
    expect(stdout[1]).toMatch(/origins: Node TLS servers \(asked for\)$/);
    expect(stdout.at(-1)).toBe(`report: ${path}`);
    // Quiet: the header, the summary and the report path only.
    expect(stdout.length).toBeLessThan(10);
    const report = JSON.parse(await readFile(path, "utf8")) as SandboxReport;
    expect(report.sandbox.origins).toBe("node");
    expect(report.rotations.map((r) => [r.status, r.reason])).toEqual([["aborted", "PreflightRefused"]]);
    expect(report.result.passed).toBe(true);
    expect(JSON.stringify(report)).not.toContain("PRIVATE KEY");
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}, 90_000);
