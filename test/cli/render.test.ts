/**
 * What `watch` says a rotation waits for, and what an operator can do about it (functions/cli/render.ts
 * waitingLines), for the waits issue 11 added: the grace period after the promotion (a control point when
 * the promotion can be undone) and a rotation waiting its turn for distributions another rotation changes.
 */
import { describe, expect, it } from "vitest";
import { describeEvent, gateLine, waitingLines } from "../../functions/cli/render.ts";
import type { RotationEvent } from "../../functions/core/rotation.ts";
import { at, completedRotation, detailOf, ROTATION_ID } from "./fixtures.ts";

const beforeRetirement = (restorable: boolean): RotationEvent[] => {
  const events = completedRotation();
  const promoted = events.findIndex((e) => e.type === "promoted");
  return [...events.slice(0, promoted), { type: "promoted", at: at(2900), restorable }];
};

describe("waitingLines", () => {
  it("the grace period, open as a control point: says what a rollback does now and how to ask for it", () => {
    const lines = waitingLines(detailOf(beforeRetirement(true), { kind: "grace", wave: 2 }));
    expect(lines).toEqual([
      "Grace period: every wave passed and the new credential is promoted; the old certificate is deleted when it ends.",
      `  To roll back (every distribution and the credential secret go back): mtls-rotator rollback ${ROTATION_ID} --reason "<why>"`,
    ]);
  });

  it("a rotation waiting its turn names the distribution and the rotation changing it", () => {
    const events: RotationEvent[] = [
      ...completedRotation().slice(0, 2),
      {
        type: "waiting-for-distributions",
        at: at(5),
        heldBy: [{ distributionId: "E2BBBBBBBBBBBB", rotationId: "rot-other" }],
      },
    ];
    const [first, second] = waitingLines(detailOf(events));
    expect(first).toMatch(
      /^Waiting its turn since .*: another rotation is changing E2BBBBBBBBBBBB \(rotation rot-other\)\.$/,
    );
    expect(second).toBe(
      "  One rotation at a time per distribution; nothing is issued or swapped until it ends.",
    );
    expect(describeEvent(events[2]!)).toBe(
      "waiting for E2BBBBBBBBBBBB (changed by rotation rot-other): one rotation at a time per distribution",
    );
  });
});

describe("gateLine: a wave's gate in a line, whole or bounded", () => {
  const check = (id: string, errorRate: number, passed: boolean) => ({
    distributionId: id,
    errorRate,
    baseline: 0,
    threshold: 2,
    passed,
    datapoints: 5,
    reason: passed ? ("WithinThreshold" as const) : ("OverThreshold" as const),
  });

  it("an older record (whole lists, no counts) reads as before", () => {
    expect(
      gateLine({
        passed: false,
        checks: [check("E1", 0.5, true), check("E2", 9, false)],
        probes: [
          { target: "E1/o", status: 200, accepted: true },
          { target: "E2/o", status: 400, accepted: false },
        ],
      }),
    ).toBe(
      "gate FAILED: 5xx over threshold: E2 9.00% > 2.00% (baseline 0.00%); 5xx within threshold on 1/2 (highest 0.50% vs 2.00%); probes 1/2 accepted (refused: E2/o HTTP 400)",
    );
  });

  it("a bounded record of a wave of 2,000: its first failures named, the rest counted", () => {
    const line = gateLine({
      passed: false,
      verdict: "failed",
      checks: [check("E1", 9, false), check("E2", 8, false), check("E3", 1.5, true)],
      probes: [{ target: "E1/o", status: 400, accepted: false }],
      counts: {
        checks: 2_000,
        checksPassed: 1_970,
        byReason: { OverThreshold: 30, WithinThreshold: 1_970 },
        probes: 2_000,
        probesRefused: 200,
      },
    });
    expect(line).toBe(
      "gate FAILED: 5xx over threshold: E1 9.00% > 2.00% (baseline 0.00%), E2 8.00% > 2.00% (baseline 0.00%), and 28 more; 5xx within threshold on 1970/2000 (highest 1.50% vs 2.00%); probes 1800/2000 accepted (refused: E1/o HTTP 400, and 199 more)",
    );
  });
});
