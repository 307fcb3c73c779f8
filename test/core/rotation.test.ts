/**
 * The rotation state as a pure fold over its events: a whole happy history and a rollback history, event by
 * event; events that do not apply leave the state as it was; the rotation id that makes duplicate triggers
 * converge on one execution.
 */
import { describe, expect, it } from "vitest";
import { sha256Hex } from "../../functions/core/pem.ts";
import {
  applyEvent,
  foldEvents,
  initialState,
  type PlannedCertificate,
  type RotationEvent,
  type RotationState,
  rotationIdFor,
  swappedDistributions,
  TERMINAL_STATUSES,
} from "../../functions/core/rotation.ts";
import { MINUTE, NOW } from "../support/pki-fixtures.ts";
import { UNCHANGED_EC_KEY } from "../support/replacement-key.ts";

const CERT = "arn:aws:acm:us-east-1:111122223333:certificate/0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const NEW_CERT = "arn:aws:acm:us-east-1:111122223333:certificate/9f8e7d6c-5b4a-4c3d-8e2f-1a0b9c8d7e6f";
const CA =
  "arn:aws:acm-pca:us-east-1:111122223333:certificate-authority/12345678-1234-1234-1234-123456789012";
const ID = "rot-test";

/** NOW + `minutes`, as events carry it. */
function at(minutes: number): string {
  return new Date(NOW.getTime() + minutes * MINUTE).toISOString();
}

const OLD: PlannedCertificate = {
  arn: CERT,
  serial: "0a1b2c",
  keyAlgorithm: "EC_prime256v1",
  subject: "CN=origin-client.example.com",
  notAfter: "2026-07-01T00:00:00.000Z",
  certificatePem: "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n",
};

const started: RotationEvent = {
  type: "started",
  at: at(0),
  request: { certificateArn: CERT, serial: "0a1b2c", reason: "Due", actor: "scheduler" },
};

/** Canary E1 (origins a, b), then wave 1 with E2 (origin c) and E3 (origin d). */
const planned: RotationEvent = {
  type: "planned",
  at: at(1),
  old: OLD,
  waves: [
    { index: 0, canary: true, targets: [{ distributionId: "E1", originIds: ["a", "b"] }] },
    {
      index: 1,
      canary: false,
      targets: [
        { distributionId: "E2", originIds: ["c"] },
        { distributionId: "E3", originIds: ["d"] },
      ],
    },
  ],
  newIssuerArn: CA,
  replacementKey: UNCHANGED_EC_KEY,
  baselines: { E1: 0.5, E2: null, E3: 1 },
};

const issued: RotationEvent = {
  type: "issued",
  at: at(2),
  certificateArn: NEW_CERT,
  serial: "ffee01",
  notAfter: "2026-08-30T00:00:00.000Z",
  fingerprint: "ab".repeat(32),
};

const trustPublished: RotationEvent = {
  type: "trust-published",
  at: at(3),
  bundleSha256: "cd".repeat(32),
  targets: [{ target: "s3://b/k", changed: true }],
};

const preflight: RotationEvent = {
  type: "preflight",
  at: at(4),
  attempt: 2,
  probes: [{ target: "E1/a", status: 200, accepted: true }],
  deadlinePassed: false,
};

const passedGate = (wave: number): RotationEvent => ({
  type: "gate",
  at: at(10 + wave * 10),
  wave,
  result: { passed: true, checks: [], probes: [] },
});

const happy: RotationEvent[] = [
  started,
  planned,
  issued,
  trustPublished,
  preflight,
  {
    type: "swapped",
    at: at(5),
    wave: 0,
    distributionId: "E1",
    outcome: "swapped",
    changedOriginIds: ["a", "b"],
  },
  { type: "deployed", at: at(6), wave: 0 },
  passedGate(0),
  { type: "approved", at: at(11), wave: 0, actor: "alice" },
  { type: "swapped", at: at(12), wave: 1, distributionId: "E2", outcome: "swapped", changedOriginIds: ["c"] },
  {
    type: "swapped",
    at: at(13),
    wave: 1,
    distributionId: "E3",
    outcome: "not-presenting",
    changedOriginIds: [],
  },
  { type: "deployed", at: at(14), wave: 1 },
  passedGate(1),
  { type: "promoted", at: at(21) },
  { type: "retired", at: at(22), deleted: true, revoked: false, detail: "deleted" },
  { type: "completed", at: at(23) },
];

/** A compact view of the state: status, each wave's status, each distribution's outcome. */
function summary(state: RotationState) {
  return {
    status: state.status,
    waves: state.waves.map((w) => w.status),
    outcomes: Object.fromEntries(
      state.waves.flatMap((w) => w.distributions.map((d) => [d.distributionId, d.outcome])),
    ),
  };
}

describe("foldEvents: a whole happy history, event by event", () => {
  const expected: Array<{
    after: string;
    status: string;
    waves: string[];
    outcomes: Record<string, string>;
  }> = [
    { after: "started", status: "started", waves: [], outcomes: {} },
    {
      after: "planned",
      status: "planned",
      waves: ["pending", "pending"],
      outcomes: { E1: "pending", E2: "pending", E3: "pending" },
    },
    {
      after: "issued",
      status: "issued",
      waves: ["pending", "pending"],
      outcomes: { E1: "pending", E2: "pending", E3: "pending" },
    },
    {
      after: "trust-published",
      status: "trust-published",
      waves: ["pending", "pending"],
      outcomes: { E1: "pending", E2: "pending", E3: "pending" },
    },
    {
      after: "preflight",
      status: "trust-published",
      waves: ["pending", "pending"],
      outcomes: { E1: "pending", E2: "pending", E3: "pending" },
    },
    {
      after: "swapped E1",
      status: "swapping",
      waves: ["swapping", "pending"],
      outcomes: { E1: "swapped", E2: "pending", E3: "pending" },
    },
    {
      after: "deployed 0",
      status: "swapping",
      waves: ["baking", "pending"],
      outcomes: { E1: "swapped", E2: "pending", E3: "pending" },
    },
    {
      after: "gate 0",
      status: "swapping",
      waves: ["passed", "pending"],
      outcomes: { E1: "swapped", E2: "pending", E3: "pending" },
    },
    {
      after: "approved",
      status: "swapping",
      waves: ["passed", "pending"],
      outcomes: { E1: "swapped", E2: "pending", E3: "pending" },
    },
    {
      after: "swapped E2",
      status: "swapping",
      waves: ["passed", "swapping"],
      outcomes: { E1: "swapped", E2: "swapped", E3: "pending" },
    },
    {
      after: "swapped E3 (not presenting)",
      status: "swapping",
      waves: ["passed", "swapping"],
      outcomes: { E1: "swapped", E2: "swapped", E3: "not-presenting" },
    },
    {
      after: "deployed 1",
      status: "swapping",
      waves: ["passed", "baking"],
      outcomes: { E1: "swapped", E2: "swapped", E3: "not-presenting" },
    },
    {
      after: "gate 1",
      status: "swapping",
      waves: ["passed", "passed"],
      outcomes: { E1: "swapped", E2: "swapped", E3: "not-presenting" },
    },
    {
      after: "promoted",
      status: "finalizing",
      waves: ["passed", "passed"],
      outcomes: { E1: "swapped", E2: "swapped", E3: "not-presenting" },
    },
    {
      after: "retired",
      status: "finalizing",
      waves: ["passed", "passed"],
      outcomes: { E1: "swapped", E2: "swapped", E3: "not-presenting" },
    },
    {
      after: "completed",
      status: "completed",
      waves: ["passed", "passed"],
      outcomes: { E1: "swapped", E2: "swapped", E3: "not-presenting" },
    },
  ];

  it("covers every event of the history", () => {
    expect(expected).toHaveLength(happy.length);
  });

  it.each(expected.map((e, i) => ({ ...e, i })))(
    "after $after: $status",
    ({ i, status, waves, outcomes }) => {
      const state = foldEvents(ID, happy.slice(0, i + 1));
      expect(summary(state)).toEqual({ status, waves, outcomes });
      expect(state.updatedAt).toBe(happy[i]!.at);
    },
  );

  it("keeps what each event carried", () => {
    const state = foldEvents(ID, happy);
    expect(state.rotationId).toBe(ID);
    expect(state.request).toEqual((started as Extract<RotationEvent, { type: "started" }>).request);
    expect(state.startedAt).toBe(at(0));
    expect(state.old).toEqual(OLD);
    expect(state.newIssuerArn).toBe(CA);
    expect(state.baselines).toEqual({ E1: 0.5, E2: null, E3: 1 });
    expect(state.issued).toEqual({
      certificateArn: NEW_CERT,
      serial: "ffee01",
      notAfter: "2026-08-30T00:00:00.000Z",
      fingerprint: "ab".repeat(32),
    });
    expect(state.bundleSha256).toBe("cd".repeat(32));
    expect(state.preflightAttempts).toBe(2);
    expect(state.lastPreflight).toEqual([{ target: "E1/a", status: 200, accepted: true }]);
    expect(state.waves.map((w) => ({ index: w.index, canary: w.canary }))).toEqual([
      { index: 0, canary: true },
      { index: 1, canary: false },
    ]);
    expect(state.waves[0]!.gate).toEqual({ passed: true, checks: [], probes: [] });
    expect(state.outcome).toBeUndefined();
    expect(state.rollback).toBeUndefined();
  });

  it("records the changed origins per distribution", () => {
    const state = foldEvents(ID, happy);
    const changed = Object.fromEntries(
      state.waves.flatMap((w) => w.distributions.map((d) => [d.distributionId, d.changedOriginIds])),
    );
    expect(changed).toEqual({ E1: ["a", "b"], E2: ["c"], E3: [] });
    expect(state.waves[0]!.distributions[0]!.originIds).toEqual(["a", "b"]);
  });

  it("swappedDistributions: the ones presenting the new certificate, not the not-presenting one", () => {
    expect(swappedDistributions(foldEvents(ID, happy)).map((d) => d.distributionId)).toEqual(["E1", "E2"]);
    expect(swappedDistributions(foldEvents(ID, happy.slice(0, 5)))).toEqual([]);
  });

  it("does not change the state it was given", () => {
    const before = foldEvents(ID, happy.slice(0, 2));
    const copy = structuredClone(before);
    applyEvent(before, happy[5]!);
    applyEvent(before, passedGate(0));
    expect(before).toEqual(copy);
  });

  it("completed is terminal, swapping is not", () => {
    expect(TERMINAL_STATUSES).toContain(foldEvents(ID, happy).status);
    expect(TERMINAL_STATUSES).not.toContain(foldEvents(ID, happy.slice(0, 6)).status);
  });
});

describe("foldEvents: a rollback history", () => {
  const failedGate: RotationEvent = {
    type: "gate",
    at: at(20),
    wave: 1,
    result: {
      passed: false,
      checks: [{ distributionId: "E2", errorRate: 9, baseline: null, threshold: 2, passed: false }],
      probes: [],
    },
  };
  const rollback: RotationEvent[] = [
    ...happy.slice(0, 10), // through "swapped E2"
    {
      type: "swapped",
      at: at(13),
      wave: 1,
      distributionId: "E3",
      outcome: "swapped",
      changedOriginIds: ["d"],
    },
    { type: "deployed", at: at(14), wave: 1 },
    failedGate,
    {
      type: "rollback-requested",
      at: at(21),
      reason: "GateFailed",
      actor: "rotation",
      detail: "wave 1: E2: 5xx 9.00% > 2.00%",
    },
    { type: "rolled-back-distribution", at: at(22), distributionId: "E1", ok: true },
    {
      type: "rolled-back-distribution",
      at: at(23),
      distributionId: "E2",
      ok: false,
      error: "PreconditionFailed",
    },
    { type: "rolled-back-distribution", at: at(24), distributionId: "E3", ok: true },
    { type: "rolled-back", at: at(25) },
  ];

  const expected: Array<{ upTo: number; status: string; waves: string[]; outcomes: Record<string, string> }> =
    [
      {
        upTo: 13,
        status: "swapping",
        waves: ["passed", "failed"],
        outcomes: { E1: "swapped", E2: "swapped", E3: "swapped" },
      },
      {
        upTo: 14,
        status: "rolling-back",
        waves: ["passed", "failed"],
        outcomes: { E1: "swapped", E2: "swapped", E3: "swapped" },
      },
      {
        upTo: 15,
        status: "rolling-back",
        waves: ["passed", "failed"],
        outcomes: { E1: "rolled-back", E2: "swapped", E3: "swapped" },
      },
      {
        upTo: 16,
        status: "rolling-back",
        waves: ["passed", "failed"],
        outcomes: { E1: "rolled-back", E2: "rollback-failed", E3: "swapped" },
      },
      {
        upTo: 17,
        status: "rolling-back",
        waves: ["passed", "failed"],
        outcomes: { E1: "rolled-back", E2: "rollback-failed", E3: "rolled-back" },
      },
      {
        upTo: 18,
        status: "rolled-back",
        waves: ["passed", "failed"],
        outcomes: { E1: "rolled-back", E2: "rollback-failed", E3: "rolled-back" },
      },
    ];

  it.each(expected)("after $upTo events: $status", ({ upTo, status, waves, outcomes }) => {
    expect(summary(foldEvents(ID, rollback.slice(0, upTo)))).toEqual({ status, waves, outcomes });
  });

  it("keeps the failed gate, the rollback request and the outcome", () => {
    const state = foldEvents(ID, rollback);
    expect(state.waves[1]!.gate).toEqual((failedGate as Extract<RotationEvent, { type: "gate" }>).result);
    expect(state.rollback).toEqual({
      reason: "GateFailed",
      actor: "rotation",
      detail: "wave 1: E2: 5xx 9.00% > 2.00%",
    });
    expect(state.outcome).toEqual({ reason: "GateFailed", detail: "wave 1: E2: 5xx 9.00% > 2.00%" });
    expect(TERMINAL_STATUSES).toContain(state.status);
  });

  it("records the error of a failed rollback and only there", () => {
    const state = foldEvents(ID, rollback);
    const errors = Object.fromEntries(
      state.waves.flatMap((w) => w.distributions.map((d) => [d.distributionId, d.error])),
    );
    expect(errors).toEqual({ E1: undefined, E2: "PreconditionFailed", E3: undefined });
  });

  it("swappedDistributions: every swapped one before the rollback, only the failed one after it", () => {
    expect(swappedDistributions(foldEvents(ID, rollback.slice(0, 14))).map((d) => d.distributionId)).toEqual([
      "E1",
      "E2",
      "E3",
    ]);
    const after = swappedDistributions(foldEvents(ID, rollback));
    expect(after.map((d) => ({ id: d.distributionId, changed: d.changedOriginIds }))).toEqual([
      { id: "E2", changed: ["c"] },
    ]);
  });
});

describe("applyEvent: other endings", () => {
  const cases: Array<{ name: string; events: RotationEvent[]; status: string; outcome?: object }> = [
    {
      name: "dry run after the plan",
      events: [started, planned, { type: "dry-run", at: at(2) }],
      status: "dry-run",
    },
    {
      name: "aborted before any swap",
      events: [
        started,
        planned,
        issued,
        trustPublished,
        { type: "aborted", at: at(9), reason: "PreflightRefused", detail: "E1/a (400)" },
      ],
      status: "aborted",
      outcome: { reason: "PreflightRefused", detail: "E1/a (400)" },
    },
    {
      name: "failed during issuance",
      events: [
        started,
        planned,
        { type: "failed", at: at(3), reason: "IssuanceFailed", detail: "CA disabled" },
      ],
      status: "failed",
      outcome: { reason: "IssuanceFailed", detail: "CA disabled" },
    },
  ];

  it.each(cases)("$name -> $status", ({ events, status, outcome }) => {
    const state = foldEvents(ID, events);
    expect(state.status).toBe(status);
    expect(state.outcome).toEqual(outcome);
    expect(TERMINAL_STATUSES).toContain(state.status);
  });
});

describe("applyEvent: events about unknown distributions or waves change nothing but the time", () => {
  const base = foldEvents(ID, [started, planned]);
  const cases: Array<{ name: string; event: RotationEvent; status?: string }> = [
    {
      name: "rolled back an unknown distribution",
      event: { type: "rolled-back-distribution", at: at(30), distributionId: "E404", ok: false, error: "x" },
    },
    { name: "deployed an unknown wave", event: { type: "deployed", at: at(30), wave: 7 } },
    {
      name: "gate of an unknown wave",
      event: { type: "gate", at: at(30), wave: 7, result: { passed: false, checks: [], probes: [] } },
    },
    {
      name: "swapped an unknown distribution in an unknown wave",
      event: {
        type: "swapped",
        at: at(30),
        wave: 7,
        distributionId: "E404",
        outcome: "swapped",
        changedOriginIds: ["z"],
      },
      status: "swapping",
    },
  ];

  it.each(cases)("$name", ({ event, status }) => {
    const next = applyEvent(base, event);
    expect(next.waves).toEqual(base.waves);
    expect(swappedDistributions(next)).toEqual([]);
    expect(next.status).toBe(status ?? base.status);
    expect(next.updatedAt).toBe(at(30));
  });

  it("swapped with a known distribution but another wave index marks only that wave as swapping", () => {
    const next = applyEvent(base, {
      type: "swapped",
      at: at(30),
      wave: 1,
      distributionId: "E1",
      outcome: "swapped",
      changedOriginIds: ["a"],
    });
    expect(summary(next).waves).toEqual(["pending", "swapping"]);
    expect(summary(next).outcomes.E1).toBe("swapped");
  });

  it("initialState is an empty started rotation", () => {
    expect(initialState("r1")).toEqual({
      rotationId: "r1",
      status: "started",
      waves: [],
      preflightAttempts: 0,
    });
    expect(foldEvents("r1", [])).toEqual(initialState("r1"));
  });
});

describe("rotationIdFor", () => {
  const id = (arn: string, serial: string) => rotationIdFor(arn, serial, sha256Hex);
  const OTHER_ACCOUNT = CERT.replace("111122223333", "444455556666");
  const LONG = `arn:aws:acm:us-east-1:111122223333:certificate/${"x".repeat(80)}`;
  const ODD = "arn:aws:acm:us-east-1:111122223333:certificate/ab_c.d!e f+g";

  it("is deterministic", () => {
    expect(id(CERT, "0a1b2c")).toBe(id(CERT, "0a1b2c"));
    expect(id(CERT, "0a1b2c")).toMatch(/^rot-0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d-[0-9a-f]{16}$/);
  });

  it("ignores the case of the serial", () => {
    expect(id(CERT, "0A1B2C")).toBe(id(CERT, "0a1b2c"));
  });

  it("ignores the colons ACM writes between serial bytes", () => {
    expect(id(CERT, "0a:1b:2c")).toBe(id(CERT, "0a1b2c"));
    expect(id(CERT, "0A:1B:2C")).toBe(id(CERT, "0a1b2c"));
  });

  it.each([
    { name: "another serial", arn: CERT, serial: "0a1b2d" },
    { name: "the same certificate id in another account", arn: OTHER_ACCOUNT, serial: "0a1b2c" },
    { name: "another certificate", arn: NEW_CERT, serial: "0a1b2c" },
  ])("differs for $name", ({ arn, serial }) => {
    expect(id(arn, serial)).not.toBe(id(CERT, "0a1b2c"));
  });

  it.each([
    { name: "a usual ARN", arn: CERT },
    { name: "a very long certificate id", arn: LONG },
    { name: "odd characters in the id", arn: ODD },
    { name: "no slash at all", arn: "certificate" },
    { name: "a trailing slash", arn: "arn:aws:acm:us-east-1:111122223333:certificate/" },
  ])("is a valid execution name for $name", ({ arn }) => {
    const value = id(arn, "0a1b2c");
    expect(value.length).toBeLessThanOrEqual(64);
    expect(value).toMatch(/^[A-Za-z0-9-]+$/);
  });

  it("keeps the different hashes of long ids apart", () => {
    expect(id(LONG, "01")).not.toBe(id(`${LONG}y`, "01"));
  });
});
