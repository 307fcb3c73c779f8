/**
 * The scan's listing handed to the rotations it starts (functions/core/presented-by.ts): only small hints are
 * made, and a plan uses one only when it is well formed and fresh; anything else is ignored (the plan lists).
 */
import { describe, expect, it } from "vitest";
import {
  PRESENTED_BY_MAX_AGE_MS,
  PRESENTED_BY_MAX_TARGETS,
  presentedByHint,
  usablePresentedBy,
} from "../../functions/core/presented-by.ts";

const LISTED = new Date("2026-12-04T12:00:00Z");
const target = (i: number) => ({
  distributionId: `E${String(i).padStart(13, "0")}`,
  originIds: ["origin-1"],
});
const targets = (n: number) => Array.from({ length: n }, (_, i) => target(i));

describe("presentedByHint", () => {
  it("hands over up to PRESENTED_BY_MAX_TARGETS distributions, with the listing's start", () => {
    expect(presentedByHint(targets(2), LISTED)).toEqual({
      listedAt: LISTED.toISOString(),
      targets: targets(2),
    });
    expect(presentedByHint(targets(PRESENTED_BY_MAX_TARGETS), LISTED)?.targets).toHaveLength(100);
  });

  it("makes none over PRESENTED_BY_MAX_BYTES (long origin ids), and ignores one", () => {
    const long = targets(80).map((t) => ({ ...t, originIds: ["o".repeat(200), "p".repeat(200)] }));
    expect(presentedByHint(long, LISTED)).toBeUndefined();
    expect(usablePresentedBy({ listedAt: LISTED.toISOString(), targets: long }, LISTED)).toBeUndefined();
  });

  it("makes none for more (the plan lists), for none, or without a listing", () => {
    expect(presentedByHint(targets(PRESENTED_BY_MAX_TARGETS + 1), LISTED)).toBeUndefined();
    expect(presentedByHint([], LISTED)).toBeUndefined();
    expect(presentedByHint(undefined, LISTED)).toBeUndefined();
  });
});

describe("usablePresentedBy", () => {
  const hint = presentedByHint(targets(3), LISTED)!;
  const at = (ms: number) => new Date(LISTED.getTime() + ms);

  it("is the targets while the listing is at most PRESENTED_BY_MAX_AGE_MS old", () => {
    expect(usablePresentedBy(hint, at(0))).toEqual(targets(3));
    expect(usablePresentedBy(hint, at(PRESENTED_BY_MAX_AGE_MS))).toEqual(targets(3));
  });

  it("is nothing once stale, or from a listing in the future (a clock that disagrees)", () => {
    expect(usablePresentedBy(hint, at(PRESENTED_BY_MAX_AGE_MS + 1))).toBeUndefined();
    expect(usablePresentedBy(hint, at(-1))).toBeUndefined();
  });

  it.each([
    ["no hint", undefined],
    ["not an object", "E1"],
    ["no date", { targets: targets(1) }],
    ["an unreadable date", { listedAt: "yesterday", targets: targets(1) }],
    ["no targets", { listedAt: LISTED.toISOString(), targets: [] }],
    ["too many targets", { listedAt: LISTED.toISOString(), targets: targets(PRESENTED_BY_MAX_TARGETS + 1) }],
    [
      "a malformed id",
      { listedAt: LISTED.toISOString(), targets: [{ distributionId: "e1; drop", originIds: ["o"] }] },
    ],
    ["no origins", { listedAt: LISTED.toISOString(), targets: [{ distributionId: "E1", originIds: [] }] }],
    [
      "an origin that is no string",
      { listedAt: LISTED.toISOString(), targets: [{ distributionId: "E1", originIds: [1] }] },
    ],
    ["a distribution twice", { listedAt: LISTED.toISOString(), targets: [target(1), target(1)] }],
  ])("ignores %s", (_what, value) => {
    expect(usablePresentedBy(value, at(1000))).toBeUndefined();
  });
});
