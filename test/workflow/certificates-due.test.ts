/**
 * Several certificates due at once, each rotated by its own durable execution with its own dependencies (as
 * in Lambda: no in-process pacing shared), on the local durable runner with REAL timers against the
 * stand-ins (ACM: 1 ImportCertificate per second, Private CA: 25 IssueCertificate per second) and dynalite.
 * The account's pacer gives each rotation its own slots: those behind wait for theirs durably, every import
 * lands in its own second, nothing is throttled and none fails.
 */
import { LocalDurableTestRunner } from "@aws/durable-execution-sdk-js-testing";
import { workflow } from "sst/aws/workflow";
import { afterEach, describe, expect, it } from "vitest";
import { PACED_OPERATIONS } from "../../functions/core/pacing.ts";
import { createRotationWorkflow, type RotationOutcome } from "../../functions/workflow/rotation-workflow.ts";
import { buildDueFleet, type DueFleet } from "../support/certificates-due.ts";
import { useDurableRunner } from "../support/durable.ts";

useDurableRunner({ skipTime: false });

let fleets: DueFleet[] = [];
afterEach(async () => {
  await Promise.all(fleets.map((f) => f.close()));
  fleets = [];
});

describe("certificates due at once", () => {
  it("five rotations at once: each imports in its own slot (those behind wait durably), none throttled, none failed", async () => {
    const f = await buildDueFleet({ certificates: 5 });
    fleets.push(f);
    const runs = f.certificates.map((certificate) => {
      const runner = new LocalDurableTestRunner<RotationOutcome>({
        handlerFunction: createRotationWorkflow(workflow, f.depsForExecution()),
      });
      return runner.run({ payload: certificate.input });
    });
    const results = await Promise.all(runs);

    expect(results.map((r) => r.getStatus())).toEqual(Array(5).fill("SUCCEEDED"));
    expect(results.map((r) => r.getResult()?.status)).toEqual(Array(5).fill("completed"));

    const calls = f.pacedCalls();
    const imports = calls.filter((c) => c.operation === "acm:ImportCertificate");
    const issues = calls.filter((c) => c.operation === "acm-pca:IssueCertificate");
    // One call each, never throttled: the pacer kept them apart, not the SDK's retries.
    expect(imports.map((c) => c.error ?? c.status)).toEqual(Array(5).fill(200));
    expect(issues.map((c) => c.error ?? c.status)).toEqual(Array(5).fill(200));
    const at = imports.map((c) => c.atMs).sort((a, b) => a - b);
    for (let i = 1; i < at.length; i += 1) {
      expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(1_000);
    }
    // And not much slower than the quota: 4 intervals, plus a little scheduling.
    expect(at.at(-1)! - at[0]!).toBeLessThan(4 * PACED_OPERATIONS["acm-import"].intervalMs + 2_000);

    // The rotations behind the first two waited for their import slot durably (a wait, no compute).
    const waited = results.filter((r) =>
      r.getOperations().some((op) => op.getName() === "issue:pace:import:wait"),
    );
    expect(waited.length).toBeGreaterThanOrEqual(2);
    for (const result of results) {
      const names = result.getOperations().map((op) => op.getName());
      expect(names.indexOf("issue:pace:pca")).toBeLessThan(names.indexOf("issue:request"));
      expect(names.indexOf("issue:pace:import")).toBeLessThan(names.indexOf("issue:complete"));
    }
    // Every hold was released once its call was made.
    for (const certificate of f.certificates) {
      expect((await f.pacer.reserve("acm-import", `probe-${certificate.serial}`)).reused).toBe(false);
    }
  }, 120_000);
});
