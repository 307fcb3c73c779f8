import { describe, expect, it } from "vitest";
import {
  type AuthorityIssuance,
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
  const DELAY = 30 * 86_400;
  const stopped = (authorityArn: string, at: string, status = "DISABLED") => ({
    authorityArn,
    status,
    lastStateChangeAt: at,
  });
  const issuance = (...authorities: AuthorityIssuance[]) => ({ authorities, delaySeconds: DELAY });

  it("retires a previous CA only once its recorded time has passed", () => {
    const decision = retirementDecision(
      [A, B],
      [
        { authorityArn: A, retireAfter: "2027-05-31T23:59:59.000Z", migrationId: "m1" },
        { authorityArn: B, retireAfter: "2027-06-01T00:00:01.000Z", migrationId: "m2" },
      ],
      now,
      issuance(stopped(A, "2027-01-01T00:00:00Z"), stopped(B, "2027-01-01T00:00:00Z")),
    );
    expect(decision).toEqual({
      retire: [A],
      waiting: [
        {
          authorityArn: B,
          retireAfter: "2027-06-01T00:00:01.000Z",
          because: "viewer certificates it issued before the announcement may still be valid",
        },
      ],
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
      issuance(stopped(A, "2026-12-01T00:00:00Z")),
    );
    expect(decision.retire).toEqual([]);
    expect(decision.waiting).toMatchObject([{ authorityArn: A, retireAfter: "2027-09-01T00:00:00.000Z" }]);
  });

  it("never retires a CA nothing recorded a migration away from", () => {
    expect(retirementDecision([C], [], now, issuance(stopped(C, "2020-01-01T00:00:00Z")))).toEqual({
      retire: [],
      waiting: [{ authorityArn: C, because: "it has no recorded migration away from it" }],
    });
  });

  it("never retires a CA that is still ACTIVE (it may still issue viewer certificates), however late", () => {
    const recorded = [{ authorityArn: A, retireAfter: "2027-01-01T00:00:00.000Z", migrationId: "m1" }];
    const decision = retirementDecision([A], recorded, new Date("2037-01-01T00:00:00Z"), {
      authorities: [{ authorityArn: A, status: "ACTIVE", lastStateChangeAt: "2026-01-01T00:00:00Z" }],
      delaySeconds: DELAY,
    });
    expect(decision.retire).toEqual([]);
    expect(decision.waiting).toHaveLength(1);
    expect(decision.waiting[0]!.retireAfter).toBeUndefined();
    expect(decision.waiting[0]!.because).toMatch(/still ACTIVE in AWS Private CA .* disable it/);
  });

  it("counts the lifetime + grace from when the CA stopped issuing, when that is after the announcement", () => {
    const recorded = [{ authorityArn: A, retireAfter: "2027-02-01T00:00:00.000Z", migrationId: "m1" }];
    // Disabled on 2027-03-01: a certificate issued that morning lives until 2027-03-31 (DELAY = 30 days).
    const late = issuance(stopped(A, "2027-03-01T00:00:00.000Z"));
    const before = retirementDecision([A], recorded, new Date("2027-03-30T23:59:59Z"), late);
    expect(before.retire).toEqual([]);
    expect(before.waiting[0]).toMatchObject({ retireAfter: "2027-03-31T00:00:00.000Z" });
    expect(before.waiting[0]!.because).toMatch(/stopped issuing \(DISABLED\) at 2027-03-01T00:00:00.000Z/);
    expect(retirementDecision([A], recorded, new Date("2027-03-31T00:00:00Z"), late).retire).toEqual([A]);
    // Stopped long before the announcement: the announcement's time is the one that counts.
    const early = issuance(stopped(A, "2026-01-01T00:00:00.000Z", "EXPIRED"));
    expect(retirementDecision([A], recorded, new Date("2027-01-31T23:59:59Z"), early).retire).toEqual([]);
    expect(retirementDecision([A], recorded, new Date("2027-02-01T00:00:00Z"), early).retire).toEqual([A]);
  });

  it("waits when AWS Private CA says nothing of the CA's status or of when it stopped", () => {
    const recorded = [{ authorityArn: A, retireAfter: "2027-01-01T00:00:00.000Z", migrationId: "m1" }];
    const unknown = retirementDecision([A], recorded, now, { authorities: [], delaySeconds: DELAY });
    expect(unknown).toEqual({
      retire: [],
      waiting: [{ authorityArn: A, because: "its status in AWS Private CA is unknown" }],
    });
    const undated = retirementDecision([A], recorded, now, {
      authorities: [{ authorityArn: A, status: "DISABLED" }],
      delaySeconds: DELAY,
    });
    expect(undated.retire).toEqual([]);
    expect(undated.waiting[0]!.because).toMatch(/gives no time at which it stopped issuing/);
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
