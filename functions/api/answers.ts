/**
 * The API's answers as zod/mini schemas (the contract's other half; requests and ROUTES are in schemas.ts).
 * Routes carry only these schemas' types; the OpenAPI document and the tests read the schemas here
 * (ROUTE_ANSWERS), so no Lambda builds them at cold start.
 */
import * as z from "zod/mini";
import { ACKNOWLEDGEMENT_REASONS } from "../core/acknowledgement.ts";
import { PLANNED_KEY_REASONS, SUPPORTED_KEY_ALGORITHMS } from "../core/certificate.ts";
import { PREFLIGHT_PROBE_REASONS } from "../core/preflight.ts";
import {
  CONTROL_POINT_KINDS,
  type DistributionOutcome,
  type GateCheckReason,
  type GateVerdict,
  RotationReason,
  type WaveState,
} from "../core/rotation.ts";
import { VIEWER_DRIFT_KINDS, VIEWER_MTLS_MODES, VIEWER_QUOTAS } from "../core/viewer-inventory.ts";
import { ViewerMigrationReason, type ViewerMigrationStatus } from "../core/viewer-migration.ts";
import { OPERATOR_DECISIONS } from "../dispatch/control-rotation.ts";
import {
  DRIFT_KINDS,
  described,
  type OperationId,
  optional,
  RENEWAL_REASONS,
  ROTATION_STATUSES,
  VIEWER_MIGRATION_ACTIONS,
  WaveSize,
} from "./schemas.ts";

export const ErrorCode = z.enum([
  "ValidationError",
  "NotFound",
  "Conflict",
  "PayloadTooLarge",
  "UnsupportedMediaType",
  "InternalError",
]);
export type ErrorCode = z.infer<typeof ErrorCode>;

export const Problem = z.object({
  field: described(z.string(), 'Path of the field, e.g. "waves.waves[0].percent"; "body" for the body.'),
  message: z.string(),
});
export type Problem = z.infer<typeof Problem>;

export const ErrorAnswer = z.object({
  error: z.object({
    code: ErrorCode,
    message: z.string(),
    problems: z.optional(z.array(Problem)),
    rotationId: optional(z.string(), "The rotation a 409 is about."),
  }),
});
export type ErrorAnswer = z.infer<typeof ErrorAnswer>;

/**
 * API Gateway's own answer, given before any handler runs: 403 when IAM authorization refuses the request
 * (unsigned, badly signed, expired, or a principal without execute-api:Invoke on the route).
 */
export const GatewayMessage = z.object({ message: z.string() });

/** An ISO 8601 UTC timestamp, as the service writes them (`2026-03-01T06:00:00.000Z`). */
const Timestamp = z.string().check(z.meta({ format: "date-time" }));

export const CertificateView = z.object({
  id: described(z.string(), "ACM certificate id (the ARN's last segment)."),
  arn: z.string(),
  subject: z.string(),
  issuer: z.string(),
  authorityKey: z.optional(
    described(
      z.string(),
      "SHA-256 (hex) of the public key of the configured CA that signed it: the CA's identity (a CA re-keyed under the same name is another CA). Set on managed certificates.",
    ),
  ),
  keyAlgorithm: z.string(),
  serial: z.string(),
  notBefore: Timestamp,
  notAfter: Timestamp,
  daysToExpiry: described(z.int(), "Whole days until notAfter; negative once expired."),
  managed: z.boolean(),
  retired: described(z.boolean(), "A rotation replaced it: nothing should present it any more."),
  due: described(z.boolean(), "Its renewal decision says rotate (due or expired), and it is not retired."),
  usage: z.array(z.object({ distributionId: z.string(), originId: z.string() })),
  decision: z.object({
    reason: z.enum(RENEWAL_REASONS),
    message: z.string(),
    renewAt: z.optional(Timestamp),
  }),
  alerted: described(z.array(z.int()), "Expiry thresholds (days) already alerted."),
  drift: z.optional(
    z.array(
      z.object({
        kind: z.enum(DRIFT_KINDS),
        distributionId: z.string(),
        originId: z.string(),
        detail: z.string(),
      }),
    ),
  ),
  lastSeenAt: Timestamp,
});
export type CertificateView = z.infer<typeof CertificateView>;

export const CertificateListAnswer = z.object({
  certificates: z.array(CertificateView),
  nextToken: optional(
    z.string(),
    "Present when more certificates match: pass it as nextToken, with the same filters, for the next page.",
  ),
});
export type CertificateListAnswer = z.infer<typeof CertificateListAnswer>;
export const CertificateAnswer = z.object({ certificate: CertificateView });

const SwapTargetView = z.object({ distributionId: z.string(), originIds: z.array(z.string()) });

export const RotationPlanView = z.object({
  certificateArn: z.string(),
  serial: z.string(),
  subject: z.string(),
  keyAlgorithm: described(
    z.enum(SUPPORTED_KEY_ALGORITHMS),
    "Key algorithm of the replacement: it follows the issuing CA's key (ACM imports a certificate only " +
      "with its signing CA's key type, RSA or EC), in the size or curve CloudFront presents " +
      `(${SUPPORTED_KEY_ALGORITHMS.join(", ")}); see replacementKey for why.`,
  ),
  replacementKey: described(
    z.object({
      reason: z.enum(PLANNED_KEY_REASONS),
      caKeyAlgorithm: described(
        z.string(),
        "Key algorithm of the issuing CA (the new CA during a CA migration).",
      ),
      inServiceKeyAlgorithm: described(z.string(), "Key algorithm of the certificate in service."),
      message: described(
        z.string(),
        'For people, e.g. "EC_prime256v1 (follows CA key EC_prime256v1; was RSA_2048)".',
      ),
    }),
    "Why the replacement gets keyAlgorithm.",
  ),
  notAfter: Timestamp,
  issuer: z.object({ authorityArn: z.string() }),
  trustTargets: z.array(z.string()),
  waves: z.array(z.object({ index: z.int(), canary: z.boolean(), distributions: z.array(SwapTargetView) })),
  expectedDurationSeconds: z.object({ typical: z.int(), worstCase: z.int() }),
  waitsFor: optional(
    z.array(z.object({ distributionId: z.string(), rotationId: z.string() })),
    "Distributions other rotations are changing now: one rotation at a time per distribution, so a rotation started now waits its turn for them before it issues anything. Absent: none.",
  ),
});

export const DryRunAnswer = z.object({ dryRun: z.literal(true), plan: RotationPlanView });
export const RotationStartedAnswer = z.object({
  rotationId: z.string(),
  started: described(z.boolean(), "False when the request converged on an execution that already existed."),
  status: z.enum(ROTATION_STATUSES),
});

export const RotationSummaryView = z.object({
  rotationId: z.string(),
  certificateArn: z.string(),
  status: z.enum(ROTATION_STATUSES),
  startedAt: Timestamp,
  updatedAt: Timestamp,
});
export const RotationListAnswer = z.object({
  rotations: z.array(RotationSummaryView),
  nextToken: z.optional(z.string()),
});

// The rotation's state and history, as functions/core/rotation.ts records them. The enums below are that
// module's type unions: `satisfies` holds each value to them, and the answers the API builds from the core's
// types (rotations.ts) hold the core to these schemas, so the two cannot part.

const ROTATION_REASONS = Object.values(RotationReason) as [RotationReason, ...RotationReason[]];
const DISTRIBUTION_OUTCOMES = [
  "pending",
  "swapped",
  "rolled-back",
  "rollback-failed",
  "not-presenting",
] as const satisfies readonly DistributionOutcome[];
const WAVE_STATUSES = [
  "pending",
  "swapping",
  "baking",
  "gated",
  "passed",
  "failed",
] as const satisfies readonly WaveState["status"][];
const GATE_CHECK_REASONS = [
  "WithinThreshold",
  "OverThreshold",
  "AwaitingDatapoints",
  "TooFewDatapoints",
  "TooFewDatapointsAllowed",
] as const satisfies readonly GateCheckReason[];
const GATE_VERDICTS = ["passed", "failed", "waiting"] as const satisfies readonly GateVerdict[];

/**
 * An object the rotation store keeps as a workflow recorded it: the fields this version records, typed,
 * and the document leaves it open (`additionalProperties`), as it always did: records written by other
 * versions of the workflow may hold other fields.
 */
function recorded<S extends z.core.$ZodLooseShape>(shape: S) {
  return z.object(shape).check(z.meta({ additionalProperties: {} }));
}

export const RotationRequestView = recorded({
  certificateArn: z.string(),
  serial: z.string(),
  reason: z.string(),
  actor: z.string(),
  dryRun: z.optional(z.boolean()),
  overrides: z.optional(
    recorded({
      waves: z.optional(recorded({ canarySize: z.optional(z.int()), waves: z.optional(z.array(WaveSize)) })),
      bakeSeconds: z.optional(z.int()),
      approval: z.optional(z.enum(["none", "between-waves"])),
    }),
  ),
});

/** The certificate being replaced, without its body. */
const OldCertificateView = recorded({
  arn: z.string(),
  serial: z.string(),
  keyAlgorithm: z.string(),
  subject: z.string(),
  notAfter: Timestamp,
});

export const RecordedReplacementKey = recorded({
  keyAlgorithm: z.enum(SUPPORTED_KEY_ALGORITHMS),
  reason: z.enum(PLANNED_KEY_REASONS),
  caKeyAlgorithm: z.string(),
  inServiceKeyAlgorithm: z.string(),
  message: z.string(),
});

export const ProbeResultView = recorded({
  target: described(z.string(), '"distributionId/originId".'),
  status: described(
    z.nullable(z.int()),
    "What the origin answered the new certificate (null: no HTTP answer).",
  ),
  accepted: z.boolean(),
  error: z.optional(z.string()),
  current: optional(
    recorded({ status: z.nullable(z.int()), error: z.optional(z.string()) }),
    "Preflight: what the origin answered the certificate in service, same path, same attempt (absent: nothing to compare with).",
  ),
  reason: optional(
    z.enum(PREFLIGHT_PROBE_REASONS),
    "Preflight: why the origin accepted (NotCompared, SameStatusClass, Served, Acknowledged) or refused (Refused, StatusClassDiffers, CurrentRefused, NotAcknowledged) the new certificate.",
  ),
  proof: optional(
    z.enum(["acknowledgement", "both"]),
    'Preflight: the proof that counted for this origin when it is not the probe alone (settings preflight.proofs). With "acknowledgement" the origin is not probed (status null).',
  ),
  acknowledgement: optional(
    recorded({
      ackId: z.string(),
      accepted: z.boolean(),
      reason: z.enum(ACKNOWLEDGEMENT_REASONS),
      bundleSha256: z.optional(z.string()),
      host: z.optional(z.string()),
      reloadedAt: z.optional(Timestamp),
      acknowledgedAt: z.optional(Timestamp),
    }),
    "Preflight: what the origin's acknowledgement (acks/<ackId>.json, written by origin-sync on its host) showed: naming the new certificate among those that verified against the installed bundle, this rotation's or a later one (Acknowledged), or Missing, Unreadable, OtherBundle, NewCertificateNotVerified.",
  ),
});

/** What a preflight attempt compared the new certificate's answers with (ARN and serial, never a key). */
export const PreflightComparisonView = z.discriminatedUnion("with", [
  recorded({ with: z.literal("current-credential"), certificateArn: z.string(), serial: z.string() }),
  recorded({ with: z.literal("nothing"), why: z.string() }),
]);

export const GateResultView = recorded({
  passed: z.boolean(),
  checks: described(
    z.array(
      recorded({
        distributionId: z.string(),
        errorRate: described(
          z.nullable(z.number()),
          "5xx error rate (percent) since the swap; null before any datapoint.",
        ),
        baseline: z.nullable(z.number()),
        threshold: z.number(),
        passed: z.boolean(),
        datapoints: z.optional(z.int()),
        reason: z.optional(z.enum(GATE_CHECK_REASONS)),
      }),
    ),
    "Per distribution, its 5xx check. With `counts`: only the first 20 (failing first, then waiting, then passing ones closest to their threshold); without (older records): every distribution of the wave.",
  ),
  probes: described(
    z.array(ProbeResultView),
    "Per distribution's origin, its probe with the new certificate. With `counts`: only the first 20 (refused first).",
  ),
  verdict: z.optional(z.enum(GATE_VERDICTS)),
  metrics: z.optional(
    recorded({
      minDatapoints: z.int(),
      deadlineSeconds: z.number(),
      periodSeconds: z.number(),
      elapsedSeconds: z.number(),
    }),
  ),
  counts: optional(
    recorded({
      checks: z.int(),
      checksPassed: z.int(),
      byReason: recorded({
        WithinThreshold: z.optional(z.int()),
        OverThreshold: z.optional(z.int()),
        AwaitingDatapoints: z.optional(z.int()),
        TooFewDatapoints: z.optional(z.int()),
        TooFewDatapointsAllowed: z.optional(z.int()),
      }),
      probes: z.int(),
      probesRefused: z.int(),
    }),
    "Every distribution's check and every probe counted (checks by reason); `checks` and `probes` name the first ones only. Absent in older records, whose lists are whole.",
  ),
});

/** Pre-rotation 5xx error rate per distribution id (percent; null: no traffic). */
const Baselines = z.record(z.string(), z.nullable(z.number()));

/** A distribution another rotation is changing (it holds the distribution's claim). */
const DistributionClaimView = recorded({ distributionId: z.string(), rotationId: z.string() });

/** The rotation's state (functions/core/rotation.ts RotationState), without the old certificate's body. */
export const RotationStateView = recorded({
  rotationId: z.string(),
  status: z.enum(ROTATION_STATUSES),
  request: z.optional(RotationRequestView),
  startedAt: z.optional(Timestamp),
  updatedAt: z.optional(Timestamp),
  old: z.optional(OldCertificateView),
  newIssuerArn: z.optional(z.string()),
  credentialSecret: optional(z.string(), "Name of the secret the new credential goes to (never its value)."),
  replacementKey: z.optional(RecordedReplacementKey),
  baselines: z.optional(Baselines),
  issued: z.optional(
    recorded({
      certificateArn: z.string(),
      serial: z.string(),
      notAfter: Timestamp,
      fingerprint: z.string(),
    }),
  ),
  bundleSha256: z.optional(z.string()),
  waves: z.array(
    recorded({
      index: z.int(),
      canary: z.boolean(),
      status: z.enum(WAVE_STATUSES),
      distributions: z.array(
        recorded({
          distributionId: z.string(),
          originIds: z.array(z.string()),
          outcome: z.enum(DISTRIBUTION_OUTCOMES),
          changedOriginIds: z.optional(z.array(z.string())),
          error: z.optional(z.string()),
        }),
      ),
      size: optional(
        z.int(),
        "How many distributions the wave holds; `distributions` lists those of this page only (see distributionsNextToken). Absent in older records: then all are listed.",
      ),
      counts: optional(
        z.record(z.enum(DISTRIBUTION_OUTCOMES), z.int()),
        "The wave's distributions by outcome, all pages together.",
      ),
      gate: z.optional(GateResultView),
    }),
  ),
  preflightAttempts: z.int(),
  lastPreflight: z.optional(z.array(ProbeResultView)),
  lastPreflightCompared: z.optional(PreflightComparisonView),
  lastPreflightCount: optional(
    z.int(),
    "How many probes the last preflight made, when `lastPreflight` lists only the first of them (refused ones first).",
  ),
  rollback: z.optional(recorded({ reason: z.enum(ROTATION_REASONS), actor: z.string(), detail: z.string() })),
  outcome: z.optional(
    recorded({ reason: z.optional(z.enum(ROTATION_REASONS)), detail: z.optional(z.string()) }),
  ),
  promoted: optional(
    recorded({ at: Timestamp, restorable: z.boolean() }),
    "Set once the new credential was promoted (AWSCURRENT). restorable: a rollback in the grace period puts the one before it back.",
  ),
  undeliveredNotifications: optional(
    z.int(),
    "Notifications SNS did not take; each is a notification-undelivered event in the history.",
  ),
  waitingFor: optional(
    recorded({ since: Timestamp, heldBy: z.array(DistributionClaimView) }),
    "Set while the rotation waits for distributions another rotation is changing (one rotation at a time per distribution): since when, and which rotation holds which distribution. Nothing is issued or swapped meanwhile.",
  ),
});

/** A history event of type `type` with these fields besides `type` and `at`. */
function event<T extends string, S extends z.core.$ZodLooseShape>(type: T, shape: S) {
  return recorded({ type: z.literal(type), at: Timestamp, ...shape });
}

/** One history event (functions/core/rotation.ts RotationEvent); `type` says which. */
export const RotationEventView = z.discriminatedUnion("type", [
  event("started", { request: RotationRequestView }),
  event("planned", {
    old: OldCertificateView,
    waves: z.array(
      recorded({
        index: z.int(),
        canary: z.boolean(),
        targets: z.array(recorded({ distributionId: z.string(), originIds: z.array(z.string()) })),
        size: optional(
          z.int(),
          "The wave's size when `targets` is empty because the plan is stored (`stored`).",
        ),
      }),
    ),
    newIssuerArn: z.string(),
    replacementKey: optional(RecordedReplacementKey, "Absent in rotations planned before it was recorded."),
    baselines: Baselines,
    credentialSecret: z.optional(z.string()),
    stored: optional(
      recorded({ distributions: z.int() }),
      "A plan of more distributions than one event holds: its targets and baselines are the rotation's distributions (GET /rotations/{id} pages them), not listed here.",
    ),
  }),
  event("issued", {
    certificateArn: z.string(),
    serial: z.string(),
    notAfter: Timestamp,
    fingerprint: z.string(),
  }),
  event("trust-published", {
    bundleSha256: z.string(),
    targets: z.array(recorded({ target: z.string(), changed: z.boolean() })),
    probeCertificates: optional(
      recorded({
        certificates: z.int(),
        changed: z.boolean(),
        omitted: z.optional(z.array(z.string())),
      }),
      "The public probe certificates published next to the bundle for origin-sync's acknowledgements (how many, whether the object changed, and those left out because they do not verify against the bundle). Absent in older events.",
    ),
  }),
  event("preflight", {
    attempt: z.int(),
    probes: z.array(ProbeResultView),
    compared: optional(
      PreflightComparisonView,
      "Absent in events before the current certificate was probed too.",
    ),
    deadlinePassed: z.boolean(),
    elapsedSeconds: z.optional(z.number()),
    counts: optional(
      recorded({ probes: z.int(), refused: z.int() }),
      "When `probes` lists only the first of them (refused ones first): how many origins were judged and how many refused.",
    ),
  }),
  event("swapped", {
    wave: z.int(),
    distributionId: z.string(),
    outcome: z.enum(["swapped", "not-presenting"]),
    changedOriginIds: z.array(z.string()),
  }),
  event("deployed", { wave: z.int() }),
  event("gate", { wave: z.int(), result: GateResultView }),
  event("approved", { wave: z.int(), actor: z.string() }),
  event("rollback-requested", { reason: z.enum(ROTATION_REASONS), actor: z.string(), detail: z.string() }),
  event("rolled-back-distribution", {
    distributionId: z.string(),
    ok: z.boolean(),
    error: z.optional(z.string()),
  }),
  event("rolled-back", {}),
  event("aborted", { reason: z.enum(ROTATION_REASONS), detail: z.string() }),
  event("promoted", {
    restorable: optional(
      z.boolean(),
      "The credential it replaced is AWSPREVIOUS, so a rollback in the grace period can put it back (false: a lineage's first credential). Absent in older records.",
    ),
  }),
  event("retired", { deleted: z.boolean(), revoked: z.boolean(), detail: z.string() }),
  event("completed", {}),
  event("failed", { reason: z.enum(ROTATION_REASONS), detail: z.string() }),
  event("dry-run", {}),
  event("waiting-for-distributions", { heldBy: z.array(DistributionClaimView) }),
  event("notification-undelivered", {
    notification: described(z.string(), "The notification's event (e.g. wave-completed)."),
    error: described(z.string(), "Why SNS did not take it."),
  }),
  event("distributions-claimed", {
    distributionIds: z.array(z.string()),
    baselines: Baselines,
    stored: optional(
      recorded({ distributions: z.int() }),
      "Too many distributions to list: how many were claimed; their new baselines are the rotation's distributions.",
    ),
  }),
]);

export const RotationAnswer = z.object({
  rotation: RotationStateView,
  distributionsNextToken: optional(
    z.string(),
    "More distributions than this page holds: pass it as nextToken for the next page.",
  ),
  history: z.array(RotationEventView),
  historyStart: optional(
    z.int(),
    "Sequence number of the first event in `history`; when above 0, older events are read with historyBefore=historyStart.",
  ),
  control: optional(
    z.object({ kind: z.enum(CONTROL_POINT_KINDS), wave: z.int() }),
    "The control point the rotation waits at now, if any (where rollback/approve land).",
  ),
});

export const ControlAnswer = z.object({
  rotationId: z.string(),
  action: z.enum(OPERATOR_DECISIONS),
  kind: described(
    z.enum([...CONTROL_POINT_KINDS, "requested"]),
    "The control point the decision was delivered to; `requested`: a rollback asked for between control " +
      "points, recorded and taken at the rotation's next safe point (before its next swap, at its next deploy or gate poll).",
  ),
  wave: described(z.int(), "The wave of the control point, or the wave in progress (0 before any swap)."),
});

export const ScanAcceptedAnswer = z.object({ accepted: z.literal(true) });

/** A viewer certificate's revocation as the list records it (the value under its serial; no key material). */
export const ViewerRevocationView = z.object({
  reason: z.string(),
  revokedAt: Timestamp,
  revokedBy: optional(
    z.string(),
    "The IAM principal that revoked it; absent on a record written without one (not through the API).",
  ),
});

const SerialView = described(
  z.string(),
  "The serial in its normal form (lower-case hexadecimal, no colons, no leading zeros): the list's key.",
);
const Notified = described(
  z.boolean(),
  "Whether the change was announced on the notification topic. false: nothing changed, or publishing failed (the change stands; the log says why).",
);

export const ViewerRevokedAnswer = z.object({
  serial: SerialView,
  alreadyRevoked: described(
    z.boolean(),
    "It was on the list already: nothing changed, and `revocation` is the earlier record.",
  ),
  revocation: ViewerRevocationView,
  notified: Notified,
});

export const ViewerRevocationAnswer = z.object({
  serial: SerialView,
  revoked: z.boolean(),
  revocation: optional(ViewerRevocationView, "The record, when it is revoked."),
});

export const ViewerReinstatedAnswer = z.object({
  serial: SerialView,
  reinstated: described(z.boolean(), "false: it was not on the list, and nothing changed."),
  revocation: optional(ViewerRevocationView, "The revocation taken off the list."),
  notified: Notified,
});

// ---- viewer CA migrations (functions/core/viewer-migration.ts) --------------------------------------------

const VIEWER_MIGRATION_STATUSES = [
  "running",
  "dry-run",
  "announced",
  "retired",
  "failed",
  "rolled-back",
  "refused",
] as const satisfies readonly ViewerMigrationStatus[];
const VIEWER_MIGRATION_REASONS = Object.values(ViewerMigrationReason) as [
  ViewerMigrationReason,
  ...ViewerMigrationReason[],
];
const ViewerActionEnum = z.enum(VIEWER_MIGRATION_ACTIONS);

/** Where to follow a migration. */
const ViewerSee = z.object({
  api: described(z.string(), "The route that shows the migration: GET /viewer-migrations/{id}."),
  cli: described(z.string(), "The CLI command that shows it."),
});

export const ViewerMigrationStartedAnswer = z.object({
  migrationId: z.string(),
  domain: z.string(),
  action: ViewerActionEnum,
  dryRun: z.boolean(),
  started: described(
    z.boolean(),
    "False when the request converged on an execution that already existed (same domain, action and CAs).",
  ),
  see: ViewerSee,
});

export const ViewerMigrationSummaryView = z.object({
  migrationId: z.string(),
  status: z.enum(VIEWER_MIGRATION_STATUSES),
  startedAt: Timestamp,
  updatedAt: Timestamp,
});

export const ViewerMigrationListAnswer = z.object({
  migrations: z.array(ViewerMigrationSummaryView),
  nextToken: optional(z.string(), "More migrations: pass it as nextToken for the next page."),
});

export const ViewerMigrationRequestView = recorded({
  migrationId: z.string(),
  domain: z.string(),
  action: ViewerActionEnum,
  actor: z.string(),
  reason: z.string(),
  dryRun: z.optional(z.boolean()),
});

const CaFactsView = recorded({ subject: z.string(), fingerprint: z.string(), notAfter: Timestamp });
const TrustPointResultView = recorded({
  trustPoint: z.string(),
  ok: z.boolean(),
  changed: z.optional(z.boolean()),
  version: z.optional(z.string()),
  error: z.optional(z.string()),
});
const OriginProofView = recorded({
  origin: z.string(),
  status: z.nullable(z.int()),
  accepted: z.boolean(),
  error: z.optional(z.string()),
});

export const ViewerMigrationPlanView = recorded({
  domain: z.string(),
  action: ViewerActionEnum,
  settings: described(
    recorded({
      name: z.string(),
      trustStoreIds: z.array(z.string()),
      passthrough: z.optional(
        recorded({
          bucketKey: z.string(),
          bundleSecretName: z.optional(z.string()),
          origins: z.array(
            recorded({
              name: z.string(),
              distributionId: z.string(),
              originId: z.string(),
              path: z.string(),
            }),
          ),
        }),
      ),
      maxViewerCertificateLifetimeDays: z.int(),
      retirementGraceSeconds: z.int(),
      proofTimeoutSeconds: z.int(),
      proofIntervalSeconds: z.int(),
      approval: z.enum(["none", "before-announce"]),
      approvalTimeoutSeconds: z.int(),
    }),
    "The domain's settings this migration follows (recorded at its plan).",
  ),
  authorities: described(
    recorded({ kept: z.array(z.string()), added: z.array(z.string()), removed: z.array(z.string()) }),
    "The bundle's CAs by role: trusted before and after, after only (the new CA), before only (retired).",
  ),
  fromAuthorityArns: z.array(z.string()),
  toAuthorityArn: z.string(),
  before: recorded({ sha256: z.string() }),
  bundle: described(
    recorded({ sha256: z.string(), certificates: z.array(CaFactsView), bytes: z.int() }),
    "The bundle every trust point will hold (CA certificates' public facts only).",
  ),
  trustStoreWaves: described(
    z.array(z.array(z.string())),
    "CloudFront trust stores in waves, the canary first.",
  ),
  passthrough: z.optional(recorded({ bundleTargets: z.array(z.string()), origins: z.array(z.string()) })),
  retirement: described(
    recorded({ afterAnnouncementSeconds: z.int(), earliestIfAnnouncedNow: Timestamp, note: z.string() }),
    "When the CA(s) viewers move away from may leave the trust points.",
  ),
});

const ViewerProvedEvent = recorded({
  type: z.literal("viewer-proved"),
  at: Timestamp,
  attempt: z.int(),
  ok: z.boolean(),
  trustStores: z.array(recorded({ trustStoreId: z.string(), status: z.string(), trustsNewCa: z.boolean() })),
  origins: z.array(OriginProofView),
});

export const ViewerMigrationStateView = recorded({
  migrationId: z.string(),
  status: z.enum(VIEWER_MIGRATION_STATUSES),
  plan: z.optional(ViewerMigrationPlanView),
  published: z.array(TrustPointResultView),
  failed: z.optional(recorded({ trustPoint: z.string(), reason: z.string() })),
  restored: z.optional(z.array(TrustPointResultView)),
  proofAttempts: z.int(),
  lastProof: optional(
    ViewerProvedEvent,
    "The latest proof: each trust store's and passthrough origin's answer.",
  ),
  announced: optional(
    recorded({
      at: Timestamp,
      authorityArn: z.string(),
      retireAfter: Timestamp,
      retiring: z.array(z.string()),
    }),
    "Set once the new CA was announced: the CAs viewers move away from may retire after retireAfter.",
  ),
  removed: z.optional(z.array(CaFactsView)),
  reason: optional(z.enum(VIEWER_MIGRATION_REASONS), "Why it ended other than as planned."),
  detail: optional(z.string(), "What happened, in words."),
  endedAt: z.optional(Timestamp),
});

/** A viewer migration's history event of type `type`. */
function viewerEvent<T extends string, S extends z.core.$ZodLooseShape>(type: T, shape: S) {
  return recorded({ type: z.literal(type), at: Timestamp, ...shape });
}

export const ViewerMigrationEventView = z.discriminatedUnion("type", [
  viewerEvent("viewer-planned", { plan: ViewerMigrationPlanView }),
  viewerEvent("viewer-trust-published", { wave: z.int(), results: z.array(TrustPointResultView) }),
  viewerEvent("viewer-trust-failed", { trustPoint: z.string(), reason: z.string() }),
  viewerEvent("viewer-trust-restored", { results: z.array(TrustPointResultView) }),
  ViewerProvedEvent,
  viewerEvent("viewer-control", {
    action: z.enum(["approve", "rollback", "timeout"]),
    actor: z.optional(z.string()),
    reason: z.optional(z.string()),
  }),
  viewerEvent("viewer-announced", {
    authorityArn: z.string(),
    retireAfter: Timestamp,
    retiring: z.array(z.string()),
  }),
  viewerEvent("viewer-retired", { removed: z.array(CaFactsView) }),
  viewerEvent("viewer-ended", {
    status: z.enum(VIEWER_MIGRATION_STATUSES),
    reason: z.optional(z.enum(VIEWER_MIGRATION_REASONS)),
    detail: z.optional(z.string()),
  }),
]);

export const ViewerMigrationAnswer = z.object({
  request: ViewerMigrationRequestView,
  state: ViewerMigrationStateView,
  startedAt: Timestamp,
  updatedAt: Timestamp,
  history: z.array(ViewerMigrationEventView),
  historyStart: optional(
    z.int(),
    "Sequence number of the first event in `history`; when above 0, older events are read with historyBefore=historyStart.",
  ),
  control: optional(
    z.object({ kind: z.literal("approval") }),
    "The migration waits for an operator's approval now (approve or rollback land there).",
  ),
  see: ViewerSee,
});

export const ViewerControlAnswer = z.object({
  migrationId: z.string(),
  action: z.enum(OPERATOR_DECISIONS),
  kind: described(
    z.enum(["approval", "requested"]),
    "approval: delivered to the approval the migration waited at; requested: a rollback recorded while it waited at none (publishing, proving), acted on at its next safe point (before each publish, after each proof attempt).",
  ),
});
const ViewerMtlsMode = z.enum(VIEWER_MTLS_MODES);

export const ViewerDistributionView = z.object({
  distributionId: z.string(),
  arn: z.string(),
  mode: ViewerMtlsMode,
  trustStoreId: optional(z.string(), "The trust store validating its viewers (required and optional modes)."),
  behaviours: optional(
    z.array(
      z.object({
        pathPattern: described(z.string(), "`*` for the default cache behaviour."),
        default: z.boolean(),
        originRequestPolicyId: optional(z.string(), "Absent: the behaviour has no origin request policy."),
        legacyForwardedHeaders: optional(
          z.array(z.string()),
          "Without an origin request policy: the headers its legacy cache settings (ForwardedValues) forward.",
        ),
        policyName: z.optional(z.string()),
        originsWithoutMtls: optional(
          z.array(z.string()),
          "The origins its requests go to that present no origin-mTLS certificate (drift: they cannot tell CloudFront's Client-Cert from a forged one).",
        ),
        clientCertForwarding: described(
          z.enum(["yes", "no", "unknown"]),
          "Whether the policy sends the origin Client-Cert and Client-Cert-Chain: yes (listed), no, or unknown (it forwards all viewer headers without listing them, or legacy cache settings forward them: AWS does not document either).",
        ),
      }),
    ),
    "Passthrough distributions: each cache behaviour (default first) and whether its origins get the viewer's certificate.",
  ),
});

export const TrustStoreView = z.object({
  id: z.string(),
  arn: z.string(),
  name: z.string(),
  status: described(z.string(), "pending, active or failed (ListTrustStores)."),
  reason: optional(z.string(), "Why it failed, when it did."),
  caCertificates: described(z.int(), "CA certificates in its bundle (NumberOfCaCertificates)."),
  distributions: described(z.int(), "Distributions whose viewer mTLS names it."),
  distributionIds: z.array(z.string()),
});

export const ViewerDriftView = z.object({
  kind: z.enum(VIEWER_DRIFT_KINDS),
  resourceArn: described(
    z.string(),
    'The distribution or trust store it is about ("trust-stores" for the account\'s trust-store quota).',
  ),
  distributionId: z.optional(z.string()),
  pathPattern: z.optional(z.string()),
  originRequestPolicyId: z.optional(z.string()),
  originId: z.optional(z.string()),
  trustStoreId: z.optional(z.string()),
  quota: z.optional(z.enum(VIEWER_QUOTAS)),
  used: z.optional(z.int()),
  limit: z.optional(z.int()),
  detail: z.string(),
});

export const ViewerMtlsAnswer = z.object({
  scannedAt: described(Timestamp, "When the full scan that found this ran."),
  byMode: described(
    z.object({ none: z.int(), required: z.int(), optional: z.int(), passthrough: z.int() }),
    "Every distribution listed, counted by viewer mTLS mode (none: no ViewerMtlsConfig).",
  ),
  distributions: described(
    z.array(ViewerDistributionView),
    "The distributions with viewer mTLS (any mode but none), by id.",
  ),
  trustStores: described(z.array(TrustStoreView), "Every CloudFront trust store of the account, by id."),
  drift: z.array(ViewerDriftView),
  quotas: described(
    z.object({
      trustStoresPerAccount: z.int(),
      distributionsPerTrustStore: z.int(),
      caCertificatesPerTrustStore: z.int(),
      nearRatio: z.number(),
    }),
    "CloudFront's viewer mTLS quotas the drift checks against, and the share of a quota from which it is near.",
  ),
  omitted: optional(
    z.object({ distributions: z.int(), drift: z.int() }),
    "Present when the whole inventory would make too large an answer (very many passthrough distributions with drift): how many distributions and findings (the last ones, in order; findings are kept first) were left out. byMode and trustStores are always whole.",
  ),
});
export type ViewerMtlsAnswer = z.infer<typeof ViewerMtlsAnswer>;

/** Each route's answer schema per success status (ROUTES carries their types). */
export const ROUTE_ANSWERS = {
  listCertificates: { 200: CertificateListAnswer },
  getCertificate: { 200: CertificateAnswer },
  startRotation: { 200: DryRunAnswer, 202: RotationStartedAnswer },
  listRotations: { 200: RotationListAnswer },
  getRotation: { 200: RotationAnswer },
  rollbackRotation: { 202: ControlAnswer },
  approveRotation: { 202: ControlAnswer },
  startScan: { 202: ScanAcceptedAnswer },
  revokeViewer: { 200: ViewerRevokedAnswer },
  getViewerRevocation: { 200: ViewerRevocationAnswer },
  reinstateViewer: { 200: ViewerReinstatedAnswer },
  startViewerMigration: { 202: ViewerMigrationStartedAnswer },
  listViewerMigrations: { 200: ViewerMigrationListAnswer },
  getViewerMigration: { 200: ViewerMigrationAnswer },
  approveViewerMigration: { 202: ViewerControlAnswer },
  rollbackViewerMigration: { 202: ViewerControlAnswer },
  getViewerMtls: { 200: ViewerMtlsAnswer },
} as const satisfies Record<OperationId, Readonly<Record<number, z.core.$ZodType>>>;
