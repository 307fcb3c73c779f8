/**
 * The contract (functions/api/schemas.ts) against what the service answers with: the API builds its answers
 * from the core's and adapters' own types, and those types carry no field the contract does not name (checked
 * by the compiler below: a field added to the core without the contract is a type error naming its path).
 * At run time, the answers the core's values make parse strictly, every kind of history event included.
 */
import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import type { ListResult } from "../../functions/adapters/rotation-reads.ts";
import { ControlAnswer, RotationAnswer, RotationEventView } from "../../functions/api/answers.ts";
import { historyView, rotationView } from "../../functions/api/rotations.ts";
import type { RotationListAnswer, RotationPlanView, RotationStateView } from "../../functions/api/schemas.ts";
import { foldEvents, type RotationEvent, RotationReason } from "../../functions/core/rotation.ts";
import type { ControlResult } from "../../functions/dispatch/control-rotation.ts";
import { OPERATOR_DECISIONS } from "../../functions/dispatch/control-rotation.ts";
import type { RotationPlan } from "../../functions/workflow/plan.ts";
import { strictly } from "../support/contract.ts";

/** The view variants `Core` is assignable to (the event of the same type, for a union of events). */
type Matching<Core, View> = View extends unknown ? (Core extends View ? View : never) : never;

/** Paths of the fields `Core` has and `View` does not name; never when it names them all. */
type Uncovered<Core, View, Path extends string = ""> = Core extends readonly (infer C)[]
  ? View extends readonly (infer V)[]
    ? Uncovered<C, V, `${Path}[]`>
    : Path
  : Core extends object
    ? {
        [K in keyof Core & string]-?: K extends keyof Matching<Core, View>
          ? Uncovered<NonNullable<Core[K]>, NonNullable<Matching<Core, View>[K]>, `${Path}.${K}`>
          : `${Path}.${K}`;
      }[keyof Core & string]
    : never;

/** `true` when the contract names every field; otherwise the type of the missing paths (a type error). */
type Covers<Core, View> = [Uncovered<Core, View>] extends [never] ? true : Uncovered<Core, View>;

const stateCovered: Covers<ReturnType<typeof rotationView>, z.output<typeof RotationStateView>> = true;
const historyCovered: Covers<
  ReturnType<typeof historyView>[number],
  z.output<typeof RotationEventView>
> = true;
const planCovered: Covers<RotationPlan, z.output<typeof RotationPlanView>> = true;
const listCovered: Covers<ListResult, z.output<typeof RotationListAnswer>> = true;
const controlCovered: Covers<ControlResult, z.output<typeof ControlAnswer>> = true;

const at = (second: number) => new Date(Date.UTC(2026, 2, 1, 6, 0, second)).toISOString();
const CERTIFICATE_ARN = "arn:aws:acm:us-east-1:123456789012:certificate/0f3c9b1e-7a2d-4c5e-9b8a-1d2e3f4a5b6c";
const gate = {
  passed: true,
  checks: [
    {
      distributionId: "E1",
      errorRate: 0.2,
      baseline: null,
      threshold: 2,
      passed: true,
      datapoints: 5,
      reason: "WithinThreshold" as const,
    },
  ],
  probes: [{ target: "E1/origin", status: null, accepted: false, error: "ECONNRESET" }],
  verdict: "passed" as const,
  metrics: { minDatapoints: 3, deadlineSeconds: 900, periodSeconds: 60, elapsedSeconds: 600 },
  counts: {
    checks: 1,
    checksPassed: 1,
    byReason: { WithinThreshold: 1 },
    probes: 1,
    probesRefused: 1,
  },
};

/** One event of every type, each with every field it can have. */
const EVERY_EVENT: RotationEvent[] = [
  {
    type: "started",
    at: at(0),
    request: {
      certificateArn: CERTIFICATE_ARN,
      serial: "0a1b",
      reason: "r",
      actor: "scan",
      dryRun: false,
      overrides: {
        waves: { canarySize: 1, waves: [{ count: 1 }, { percent: 50 }] },
        bakeSeconds: 60,
        approval: "between-waves",
      },
    },
  },
  {
    type: "planned",
    at: at(1),
    old: {
      arn: CERTIFICATE_ARN,
      serial: "0a1b",
      keyAlgorithm: "RSA_2048",
      subject: "CN=a",
      notAfter: at(2),
      certificatePem: "-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n",
    },
    waves: [{ index: 0, canary: true, targets: [{ distributionId: "E1", originIds: ["origin"] }] }],
    newIssuerArn: "arn:aws:acm-pca:us-east-1:123456789012:certificate-authority/1",
    replacementKey: {
      keyAlgorithm: "EC_prime256v1",
      reason: "SameAsCa",
      caKeyAlgorithm: "EC_prime256v1",
      inServiceKeyAlgorithm: "RSA_2048",
      message: "EC_prime256v1 (follows CA key EC_prime256v1; was RSA_2048)",
    },
    baselines: { E1: 0.1, E2: null },
    credentialSecret: "mtls-rotator/credential/x",
  },
  {
    type: "issued",
    at: at(3),
    certificateArn: CERTIFICATE_ARN,
    serial: "0c",
    notAfter: at(4),
    fingerprint: "ab",
  },
  {
    type: "trust-published",
    at: at(5),
    bundleSha256: "00",
    targets: [{ target: "s3://b/k", changed: true }],
  },
  {
    type: "preflight",
    at: at(6),
    attempt: 1,
    probes: [
      {
        target: "E1/origin",
        status: 403,
        accepted: false,
        current: { status: 200 },
        reason: "StatusClassDiffers",
      },
      {
        target: "E1/other",
        status: null,
        accepted: false,
        error: "ECONNRESET",
        current: { status: null, error: "ECONNRESET" },
        reason: "Refused",
      },
    ],
    compared: { with: "current-credential", certificateArn: CERTIFICATE_ARN, serial: "0a1b" },
    deadlinePassed: false,
  },
  {
    type: "preflight",
    at: at(6),
    attempt: 2,
    probes: [{ target: "E1/origin", status: 403, accepted: true, reason: "NotCompared" }],
    compared: { with: "nothing", why: "no credential in service" },
    deadlinePassed: false,
    elapsedSeconds: 31,
    counts: { probes: 120, refused: 0 },
  },
  {
    type: "swapped",
    at: at(7),
    wave: 0,
    distributionId: "E1",
    outcome: "swapped",
    changedOriginIds: ["origin"],
  },
  { type: "deployed", at: at(8), wave: 0 },
  { type: "gate", at: at(9), wave: 0, result: gate },
  { type: "approved", at: at(10), wave: 0, actor: "alice" },
  {
    type: "rollback-requested",
    at: at(11),
    reason: RotationReason.ManualRollback,
    actor: "alice",
    detail: "d",
  },
  { type: "rolled-back-distribution", at: at(12), distributionId: "E1", ok: false, error: "throttled" },
  { type: "rolled-back", at: at(13) },
  { type: "aborted", at: at(14), reason: RotationReason.PreflightRefused, detail: "d" },
  { type: "promoted", at: at(15) },
  { type: "retired", at: at(16), deleted: true, revoked: false, detail: "d" },
  { type: "completed", at: at(17) },
  { type: "failed", at: at(18), reason: RotationReason.Unexpected, detail: "d" },
  { type: "dry-run", at: at(19) },
  {
    type: "waiting-for-distributions",
    at: at(20),
    heldBy: [{ distributionId: "E1", rotationId: "rot-other" }],
  },
  { type: "distributions-claimed", at: at(21), distributionIds: ["E1"], baselines: { E1: 0.5 } },
  // A claim of more distributions than an event lists: counted, their baselines in the store.
  {
    type: "distributions-claimed",
    at: at(22),
    distributionIds: [],
    baselines: {},
    stored: { distributions: 600 },
  },
  {
    type: "notification-undelivered",
    at: at(23),
    notification: "wave-completed",
    error: "Invalid parameter: Message too long",
  },
];

describe("the contract", () => {
  it("names every field the API's answers are built from (checked by the compiler)", () => {
    expect([stateCovered, historyCovered, planCovered, listCovered, controlCovered]).toEqual([
      true,
      true,
      true,
      true,
      true,
    ]);
  });

  it("holds GET /rotations/{id}'s answer strictly, with every kind of event", () => {
    const types = new Set(EVERY_EVENT.map((e) => e.type));
    expect(types.size).toBe(RotationEventView._zod.def.options.length);
    for (let end = 1; end <= EVERY_EVENT.length; end += 1) {
      const events = EVERY_EVENT.slice(0, end);
      const answer = {
        rotation: rotationView(foldEvents("rot-x", events)),
        history: historyView(events),
        control: { kind: "bake", wave: 0 },
      };
      const parsed = z.safeParse(strictly(RotationAnswer), JSON.parse(JSON.stringify(answer)));
      expect(parsed.error?.issues ?? [], `after ${events.at(-1)?.type}`).toEqual([]);
    }
  });

  it("says which decisions an operator may take, as the dispatcher does", () => {
    expect(ControlAnswer.shape.action.options).toEqual([...OPERATOR_DECISIONS]);
  });
});
