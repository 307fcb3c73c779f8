import { describe, expect, it } from "vitest";
import {
  applyViewerEvent,
  initialViewerState,
  retireAfter,
  retirementDecision,
  retirementDelaySeconds,
  trustStoreWaves,
  type ViewerMigrationEvent,
} from "../../functions/core/viewer-migration.ts";

const A = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/aaaaaaaa-0000-0000-0000-000000000001";
const B = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/aaaaaaaa-0000-0000-0000-000000000002";
const C = "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/aaaaaaaa-0000-0000-0000-000000000003";

describe("retirement time", () => {
  it("is the longest viewer certificate lifetime plus the grace after the announcement", () => {
    const policy = { maxViewerCertificateLifetimeDays: 397, retirementGraceSeconds: 7 * 86_400 };
    expect(retirementDelaySeconds(policy)).toBe(404 * 86_400);
    expect(retireAfter(new Date("2026-12-04T10:00:00Z"), policy).toISOString()).toBe(
      "2028-01-12T10:00:00.000Z",
    );
  });
});

describe("retirementDecision", () => {
  const now = new Date("2027-06-01T00:00:00Z");
  it("retires a previous CA only once its recorded time has passed", () => {
    const decision = retirementDecision(
      [A, B],
      [
        { authorityArn: A, retireAfter: "2027-05-31T23:59:59.000Z", migrationId: "m1" },
        { authorityArn: B, retireAfter: "2027-06-01T00:00:01.000Z", migrationId: "m2" },
      ],
      now,
    );
    expect(decision).toEqual({
      retire: [A],
      waiting: [{ authorityArn: B, retireAfter: "2027-06-01T00:00:01.000Z" }],
    });
  });

  it("the latest announcement away from a CA counts", () => {
    const decision = retirementDecision(
      [A],
      [
        { authorityArn: A, retireAfter: "2027-01-01T00:00:00.000Z", migrationId: "m1" },
        { authorityArn: A, retireAfter: "2027-09-01T00:00:00.000Z", migrationId: "m3" },
      ],
      now,
    );
    expect(decision.retire).toEqual([]);
    expect(decision.waiting).toEqual([{ authorityArn: A, retireAfter: "2027-09-01T00:00:00.000Z" }]);
  });

  it("never retires a CA nothing recorded a migration away from", () => {
    expect(retirementDecision([C], [], now)).toEqual({ retire: [], waiting: [{ authorityArn: C }] });
  });
});

describe("trustStoreWaves", () => {
  it("puts the canary stores first, the rest in a second wave", () => {
    expect(trustStoreWaves(["t1", "t2", "t3"], 1)).toEqual([["t1"], ["t2", "t3"]]);
    expect(trustStoreWaves(["t1", "t2", "t3"], 2)).toEqual([["t1", "t2"], ["t3"]]);
  });
  it("one wave when there is no canary or nothing besides it", () => {
    expect(trustStoreWaves(["t1", "t2"], 0)).toEqual([["t1", "t2"]]);
    expect(trustStoreWaves(["t1"], 1)).toEqual([["t1"]]);
    expect(trustStoreWaves(["t1", "t2"], 5)).toEqual([["t1", "t2"]]);
    expect(trustStoreWaves([], 1)).toEqual([]);
  });
});

describe("applyViewerEvent", () => {
  it("folds a migration's events into its state", () => {
    const events: ViewerMigrationEvent[] = [
      {
        type: "viewer-trust-published",
        at: "t1",
        wave: 1,
        results: [{ trustPoint: "cloudfront-trust-store:t1", ok: true, changed: true }],
      },
      {
        type: "viewer-trust-failed",
        at: "t2",
        trustPoint: "cloudfront-trust-store:t2",
        reason: "chain too deep",
      },
      {
        type: "viewer-trust-restored",
        at: "t3",
        results: [{ trustPoint: "cloudfront-trust-store:t1", ok: true }],
      },
      { type: "viewer-ended", at: "t4", status: "failed", reason: "TrustStoreFailed", detail: "t2 failed" },
    ];
    const state = events.reduce(applyViewerEvent, initialViewerState("vm-1"));
    expect(state).toMatchObject({
      migrationId: "vm-1",
      status: "failed",
      reason: "TrustStoreFailed",
      detail: "t2 failed",
      endedAt: "t4",
      failed: { trustPoint: "cloudfront-trust-store:t2", reason: "chain too deep" },
      restored: [{ trustPoint: "cloudfront-trust-store:t1", ok: true }],
    });
    expect(state.published).toHaveLength(1);
  });

  it("records the announcement and the proof attempts", () => {
    const state = [
      {
        type: "viewer-proved",
        at: "t1",
        attempt: 2,
        ok: true,
        trustStores: [],
        origins: [{ origin: "api", status: 200, accepted: true }],
      },
      { type: "viewer-announced", at: "t2", authorityArn: B, retireAfter: "t9", retiring: [A] },
    ].reduce((s, e) => applyViewerEvent(s, e as ViewerMigrationEvent), initialViewerState("vm-2"));
    expect(state.proofAttempts).toBe(2);
    expect(state.announced).toEqual({ at: "t2", authorityArn: B, retireAfter: "t9", retiring: [A] });
  });
});
