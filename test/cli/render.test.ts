/**
 * What `watch` says a rotation waits for, and what an operator can do about it (functions/cli/render.ts
 * waitingLines), for the waits issue 11 added: the grace period after the promotion (a control point when
 * the promotion can be undone) and a rotation waiting its turn for distributions another rotation changes.
 */
import { describe, expect, it } from "vitest";
import { describeEvent, waitingLines } from "../../functions/cli/render.ts";
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
