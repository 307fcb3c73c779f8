/**
 * The contract (functions/api/schemas.ts) against what the service answers with: the API builds its answers
 * from the core's and adapters' own types, and those types carry no field the contract does not name (checked
 * by the compiler below: a field added to the core without the contract is a type error naming its path).
 * At run time, the answers the core's values make parse strictly, every kind of history event included.
 */
import { describe, expect, it } from "vitest";
import * as z from "zod/mini";
import type { ListResult } from "../../functions/adapters/rotation-reads.ts";
import type { ViewerMigrationReads } from "../../functions/adapters/viewer-migration-reads.ts";
import {
  ControlAnswer,
  RotationAnswer,
  RotationEventView,
  ViewerControlAnswer,
  ViewerMigrationAnswer,
  ViewerMigrationEventView,
  type ViewerMigrationListAnswer,
  type ViewerMigrationPlanView,
  ViewerMigrationRequestView,
  type ViewerMigrationStateView,
} from "../../functions/api/answers.ts";
import { historyView, rotationView } from "../../functions/api/rotations.ts";
import type { RotationListAnswer, RotationPlanView, RotationStateView } from "../../functions/api/schemas.ts";
import { foldEvents, type RotationEvent, RotationReason } from "../../functions/core/rotation.ts";
import {
  applyViewerEvent,
  initialViewerState,
  type ViewerMigrationEvent,
  type ViewerMigrationPlan,
  type ViewerMigrationRequest,
  type ViewerMigrationState,
} from "../../functions/core/viewer-migration.ts";
import type { ControlResult } from "../../functions/dispatch/control-rotation.ts";
import { OPERATOR_DECISIONS } from "../../functions/dispatch/control-rotation.ts";
import type { ViewerControlResult } from "../../functions/dispatch/control-viewer-migration.ts";
import type { RotationPlan } from "../../functions/workflow/plan.ts";
import { strictly } from "../support/contract.ts";
import { partnersPlan } from "../support/viewer-plan.ts";

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
const viewerStateCovered: Covers<ViewerMigrationState, z.output<typeof ViewerMigrationStateView>> = true;
const viewerEventCovered: Covers<ViewerMigrationEvent, z.output<typeof ViewerMigrationEventView>> = true;
const viewerPlanCovered: Covers<ViewerMigrationPlan, z.output<typeof ViewerMigrationPlanView>> = true;
const viewerRequestCovered: Covers<
  ViewerMigrationRequest,
  z.output<typeof ViewerMigrationRequestView>
> = true;
const viewerListCovered: Covers<
  Awaited<ReturnType<ViewerMigrationReads["page"]>>,
  z.output<typeof ViewerMigrationListAnswer>
> = true;
const viewerControlCovered: Covers<ViewerControlResult, z.output<typeof ViewerControlAnswer>> = true;

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

const VIEWER_CA =
  "arn:aws:acm-pca:us-east-2:123456789012:certificate-authority/44444444-5555-4666-8777-888888888888";
const VIEWER_NEXT_CA = VIEWER_CA.replace("44444444", "55555555");
const caFacts = { subject: "CN=Viewer CA", fingerprint: "ab".repeat(32), notAfter: at(59) };
const viewerPlan = partnersPlan({ from: VIEWER_CA, to: VIEWER_NEXT_CA, now: new Date(at(0)) });
const published = { trustPoint: "TS1", ok: true, changed: true, version: "v2", error: "none" };

/** One viewer migration event of every type, each with every field it can have. */
const EVERY_VIEWER_EVENT: ViewerMigrationEvent[] = [
  { type: "viewer-planned", at: at(30), plan: viewerPlan },
  { type: "viewer-trust-published", at: at(31), wave: 1, results: [published] },
  { type: "viewer-trust-failed", at: at(32), trustPoint: "TS1", reason: "failed" },
  { type: "viewer-trust-restored", at: at(33), results: [published] },
  {
    type: "viewer-proved",
    at: at(34),
    attempt: 1,
    ok: true,
    trustStores: [{ trustStoreId: "TS1", status: "active", trustsNewCa: true }],
    origins: [{ origin: "api", status: 200, accepted: true, error: "none" }],
  },
  {
    type: "viewer-control",
    at: at(35),
    action: "approve",
    actor: "arn:aws:iam::123456789012:user/a",
    reason: "ok",
  },
  {
    type: "viewer-announced",
    at: at(36),
    authorityArn: VIEWER_NEXT_CA,
    retireAfter: at(57),
    retiring: [VIEWER_CA],
  },
  { type: "viewer-retired", at: at(37), removed: [caFacts] },
  { type: "viewer-ended", at: at(38), status: "failed", reason: "ProofFailed", detail: "origin api refused" },
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
    expect([
      viewerStateCovered,
      viewerEventCovered,
      viewerPlanCovered,
      viewerRequestCovered,
      viewerListCovered,
      viewerControlCovered,
    ]).toEqual([true, true, true, true, true, true]);
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

  it("holds GET /viewer-migrations/{id}'s answer strictly, with every kind of event", () => {
    const types = new Set(EVERY_VIEWER_EVENT.map((e) => e.type));
    expect(types.size).toBe(ViewerMigrationEventView._zod.def.options.length);
    const request: ViewerMigrationRequest = {
      migrationId: "vmig-m-partners-0123456789ab",
      domain: "partners",
      action: "migrate",
      actor: "arn:aws:iam::123456789012:user/a",
      reason: "new CA",
      dryRun: true,
    };
    for (let end = 1; end <= EVERY_VIEWER_EVENT.length; end += 1) {
      const events = EVERY_VIEWER_EVENT.slice(0, end);
      const answer = {
        request,
        state: events.reduce(applyViewerEvent, initialViewerState(request.migrationId)),
        startedAt: at(30),
        updatedAt: at(38),
        history: events,
        historyStart: 0,
        control: { kind: "approval" },
        see: { api: "GET /viewer-migrations/x", cli: "mtls-rotator viewer-migration x" },
      };
      const parsed = z.safeParse(strictly(ViewerMigrationAnswer), JSON.parse(JSON.stringify(answer)));
      expect(parsed.error?.issues ?? [], `after ${events.at(-1)?.type}`).toEqual([]);
    }
    expect(z.safeParse(strictly(ViewerMigrationRequestView), request).success).toBe(true);
  });

  it("says which decisions an operator may take, as the dispatcher does", () => {
    expect(ViewerControlAnswer.shape.action.options).toEqual([...OPERATOR_DECISIONS]);
    expect(ControlAnswer.shape.action.options).toEqual([...OPERATOR_DECISIONS]);
  });
});
