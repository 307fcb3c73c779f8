/**
 * The HTTP API's contract as zod schemas, the one definition of its requests and answers: every request the
 * API accepts (path, query, body), every answer it gives, and the eight routes tying them together
 * (ROUTES). Handlers validate requests with these and are typed to answer by them (http.ts apiRoute), the
 * OpenAPI document (openapi.ts) is generated from the very same schemas, and the CLI's types are inferred
 * from them (functions/cli/api-types.ts), so none of the three can drift from the others.
 *
 * Requests are strict: an unknown field is refused (a misspelt `dryRun` must not start a real rotation).
 * Query values arrive as text and are converted here (`"true"` -> true, `"25"` -> 25).
 *
 * Written with `zod/mini`, zod's tree-shakable functional API (same schemas, same parsing, same messages):
 * every API function bundles this module, and full `zod` would add ~470 KB minified to each of them.
 * `.check(z.meta(...))` is mini's `.meta(...)`: the description the OpenAPI document shows.
 */
import { en } from "zod/locales";
import * as z from "zod/mini";
import { PLANNED_KEY_REASONS, SUPPORTED_KEY_ALGORITHMS } from "../core/certificate.ts";
import { RenewalReason } from "../core/renewal.ts";
import {
  type DistributionOutcome,
  type GateCheckReason,
  type GateVerdict,
  RotationReason,
  RotationStatus,
  type WaveState,
} from "../core/rotation.ts";
import { DriftKind } from "../core/tracking.ts";
import { OPERATOR_DECISIONS } from "../dispatch/control-rotation.ts";
import { CERTIFICATE_ARN, CERTIFICATE_ID, LIMITS, ROTATION_ID } from "../dispatch/start-rotation.ts";

/** Largest request body accepted, in bytes (decoded). */
export const MAX_BODY_BYTES = 16 * 1024;
/** Longest `expiringWithinDays` (ten years). */
export const MAX_EXPIRY_WINDOW_DAYS = 3650;
/** Most rotations per page of GET /rotations. */
export const MAX_LIST_LIMIT = 100;
/** Certificates per page of GET /certificates: by default, and at most. */
export const DEFAULT_CERTIFICATE_PAGE = 100;
export const MAX_CERTIFICATE_PAGE = 500;
/** Longest bake window a rotation may ask for, in seconds (the dispatcher's limit). */
export const MAX_BAKE_SECONDS = LIMITS.bakeSeconds;
/** Most wave sizes a rotation may list after its canary (the dispatcher's limit). */
export const MAX_WAVE_SIZES = LIMITS.waves;
/** Longest `reason`, in characters (the dispatcher's limit). */
export const MAX_REASON_LENGTH = LIMITS.reason;

// zod/mini loads no locale: without English, every message zod writes itself would be "Invalid input".
z.config(en());

const ROTATION_STATUSES = Object.values(RotationStatus) as [RotationStatus, ...RotationStatus[]];
const RENEWAL_REASONS = Object.values(RenewalReason) as [RenewalReason, ...RenewalReason[]];
const DRIFT_KINDS = Object.values(DriftKind) as [DriftKind, ...DriftKind[]];
/**
 * What free text must not hold: C0 and C1 control characters (U+0000–U+001F, U+007F–U+009F) and the line and
 * paragraph separators U+2028/U+2029. Free text ends up in terminals (escape sequences) and notifications
 * (line breaks forging extra lines).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this rejects
const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f-\u009f\u2028\u2029]*$/;
/** An opaque nextToken of GET /certificates: base64url parts joined by `.`, at most 1024 characters. */
const NEXT_TOKEN = /^[A-Za-z0-9_.-]{1,1024}$/;
const ANY_CERTIFICATE_REF = new RegExp(
  `^(${CERTIFICATE_ID.source.slice(1, -1)}|${CERTIFICATE_ARN.source.slice(1, -1)})$`,
);

// ---- building blocks ------------------------------------------------------------------------------------

export const CertificateArn = z
  .string()
  .check(
    z.maxLength(200),
    z.regex(
      CERTIFICATE_ARN,
      "must be an ACM certificate ARN in us-east-1: arn:aws:acm:us-east-1:<12-digit account>:certificate/<id>",
    ),
    z.meta({ description: "ACM certificate ARN in us-east-1 (where CloudFront takes certificates from)." }),
  );

/** Why an operator acts, recorded in the rotation's history and notifications. */
export const Reason = z
  .string()
  .check(
    z.trim(),
    z.minLength(1, "must not be blank"),
    z.maxLength(MAX_REASON_LENGTH, `must be at most ${MAX_REASON_LENGTH} characters`),
    z.regex(
      NO_CONTROL_CHARACTERS,
      "must not contain control characters (U+0000–U+001F, U+007F–U+009F) or line/paragraph separators (U+2028, U+2029)",
    ),
  );

/** A query value `true` or `false`. */
const BooleanText = z.pipe(
  z.enum(["true", "false"], "must be true or false"),
  z.transform((v) => v === "true"),
);

/** A query value that is a whole number from `min` to `max`. */
function wholeNumberText(min: number, max: number) {
  const message = `must be a whole number from ${min} to ${max}`;
  return z.pipe(
    z.pipe(z.string().check(z.regex(/^\d{1,9}$/, message)), z.transform(Number)),
    z.int().check(z.gte(min, message), z.lte(max, message)),
  );
}

/** Decodes a percent-encoded path value once (an ARN passed as `arn%3Aaws%3A…%2F<id>`); raw when malformed. */
function decodeOnce(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/** `schema`, optional, with the description the OpenAPI document shows for it. */
function optional<T extends z.ZodMiniType>(schema: T, description: string) {
  return z.optional(schema).check(z.meta({ description }));
}

/** `schema` with the description the OpenAPI document shows for it. */
function described<T extends z.ZodMiniType>(schema: T, description: string): T {
  return schema.check(z.meta({ description }));
}

export const WaveSize = z.union(
  [
    z.strictObject({ count: described(z.int().check(z.gte(1)), "Distributions in this wave.") }),
    z.strictObject({
      percent: described(
        z.number().check(z.gt(0), z.lte(100)),
        "Share of all distributions in this wave (rounded up, at least one).",
      ),
    }),
  ],
  { error: "must be { count: whole number >= 1 } or { percent: number > 0 and <= 100 }" },
);

// ---- requests -------------------------------------------------------------------------------------------

export const ListCertificatesQuery = z.strictObject({
  due: optional(BooleanText, "Only certificates that are (true) or are not (false) due."),
  expiringWithinDays: optional(
    wholeNumberText(0, MAX_EXPIRY_WINDOW_DAYS),
    "Only certificates expiring within this many days (expired ones included).",
  ),
  managed: optional(BooleanText, "Only managed (true) or unmanaged (false) certificates."),
  limit: optional(
    wholeNumberText(1, MAX_CERTIFICATE_PAGE),
    `Certificates per page (default ${DEFAULT_CERTIFICATE_PAGE}, at most ${MAX_CERTIFICATE_PAGE}). ` +
      "A page may hold fewer (it is also kept under a size budget) and still have a nextToken.",
  ),
  nextToken: optional(
    z.string().check(z.regex(NEXT_TOKEN, "is not a nextToken this listing handed out")),
    "The nextToken of the previous page; valid only with the same filters (due, expiringWithinDays, managed).",
  ),
});

/** The filters of GET /certificates (a nextToken is valid only with the ones it was handed out for). */
export type CertificateFilter = Omit<z.output<typeof ListCertificatesQuery>, "limit" | "nextToken">;

export const CertificatePath = z.strictObject({
  id: described(
    z.pipe(
      z.pipe(z.string().check(z.maxLength(600)), z.transform(decodeOnce)),
      z
        .string()
        .check(z.regex(ANY_CERTIFICATE_REF, "must be a certificate id (UUID) or an ACM certificate ARN")),
    ),
    "The ACM certificate id (UUID, the ARN's last segment) or the URL-encoded full ARN.",
  ),
});

export const StartRotationBody = z.strictObject({
  certificateArn: CertificateArn,
  dryRun: optional(
    z.boolean(),
    "Answer the plan and change nothing (no execution, no lock, no store write).",
  ),
  waves: optional(
    z.strictObject({
      canarySize: optional(z.int().check(z.gte(1)), "Distributions in the first (canary) wave."),
      waves: optional(
        z
          .array(WaveSize)
          .check(z.maxLength(MAX_WAVE_SIZES, `must list at most ${MAX_WAVE_SIZES} wave sizes`)),
        "Sizes of the waves after the canary; what is left forms one last wave.",
      ),
    }),
    "Wave sizes for this rotation instead of the stage's.",
  ),
  bakeSeconds: optional(
    z.int().check(z.gte(0), z.lte(MAX_BAKE_SECONDS, `must be at most ${MAX_BAKE_SECONDS} seconds`)),
    "Manual-rollback window after each wave deployed, for this rotation.",
  ),
  approval: optional(
    z.enum(["none", "between-waves"]),
    "Whether each wave after the canary waits for an operator's approval.",
  ),
  reason: optional(Reason, 'Why; default "manual rotation via API".'),
});

export const ListRotationsQuery = z.strictObject({
  status: z.optional(z.enum(ROTATION_STATUSES)),
  limit: optional(wholeNumberText(1, MAX_LIST_LIMIT), "Rotations per page (default 25)."),
  nextToken: optional(
    z.string().check(z.minLength(1), z.maxLength(4096)),
    "The nextToken of the previous page.",
  ),
});

export const RotationPath = z.strictObject({
  id: described(
    z
      .string()
      .check(
        z.regex(ROTATION_ID, "must be a rotation id: rot-… or dry-… (lowercase letters, digits, dashes)"),
      ),
    "Rotation id, as POST /rotations answered it.",
  ),
});

export const RollbackBody = z.strictObject({ reason: z.optional(Reason) });
export const ApproveBody = z.strictObject({ reason: z.optional(Reason) });
export const ScanBody = z.strictObject({});

// ---- answers --------------------------------------------------------------------------------------------

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

/** An ISO 8601 UTC timestamp, as the service writes them (`2026-03-01T06:00:00.000Z`). */
const Timestamp = z.string().check(z.meta({ format: "date-time" }));

export const CertificateView = z.object({
  id: described(z.string(), "ACM certificate id (the ARN's last segment)."),
  arn: z.string(),
  subject: z.string(),
  issuer: z.string(),
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
  status: z.nullable(z.int()),
  accepted: z.boolean(),
  error: z.optional(z.string()),
});

export const GateResultView = recorded({
  passed: z.boolean(),
  checks: z.array(
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
  probes: z.array(ProbeResultView),
  verdict: z.optional(z.enum(GATE_VERDICTS)),
  metrics: z.optional(
    recorded({
      minDatapoints: z.int(),
      deadlineSeconds: z.number(),
      periodSeconds: z.number(),
      elapsedSeconds: z.number(),
    }),
  ),
});

/** Pre-rotation 5xx error rate per distribution id (percent; null: no traffic). */
const Baselines = z.record(z.string(), z.nullable(z.number()));

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
      gate: z.optional(GateResultView),
    }),
  ),
  preflightAttempts: z.int(),
  lastPreflight: z.optional(z.array(ProbeResultView)),
  rollback: z.optional(recorded({ reason: z.enum(ROTATION_REASONS), actor: z.string(), detail: z.string() })),
  outcome: z.optional(
    recorded({ reason: z.optional(z.enum(ROTATION_REASONS)), detail: z.optional(z.string()) }),
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
      }),
    ),
    newIssuerArn: z.string(),
    replacementKey: optional(RecordedReplacementKey, "Absent in rotations planned before it was recorded."),
    baselines: Baselines,
    credentialSecret: z.optional(z.string()),
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
  }),
  event("preflight", { attempt: z.int(), probes: z.array(ProbeResultView), deadlinePassed: z.boolean() }),
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
  event("promoted", {}),
  event("retired", { deleted: z.boolean(), revoked: z.boolean(), detail: z.string() }),
  event("completed", {}),
  event("failed", { reason: z.enum(ROTATION_REASONS), detail: z.string() }),
  event("dry-run", {}),
]);

const CONTROL_POINT_KINDS = ["bake", "approval"] as const;

export const RotationAnswer = z.object({
  rotation: RotationStateView,
  history: z.array(RotationEventView),
  control: optional(
    z.object({ kind: z.enum(CONTROL_POINT_KINDS), wave: z.int() }),
    "The control point the rotation waits at now, if any (where rollback/approve land).",
  ),
});

export const ControlAnswer = z.object({
  rotationId: z.string(),
  action: z.enum(OPERATOR_DECISIONS),
  kind: described(z.enum(CONTROL_POINT_KINDS), "The control point the decision was delivered to."),
  wave: z.int(),
});

export const ScanAcceptedAnswer = z.object({ accepted: z.literal(true) });

// ---- routes ---------------------------------------------------------------------------------------------

/** Any zod schema (this module's are zod/mini ones). */
type Schema = z.core.$ZodType;

/**
 * One route of the API: its method and path, the schemas its request is validated with (path parameters,
 * query, body; a part without one must be empty), the answer of each success status, and the error
 * statuses it may answer besides 400 and 500 (every error answer is an ErrorAnswer).
 */
export interface Route {
  method: "GET" | "POST";
  path: string;
  params?: z.ZodMiniObject;
  query?: z.ZodMiniObject;
  /** A route with a body schema reads the body: size limit, JSON media type, parse, validation. */
  body?: z.ZodMiniObject;
  bodyRequired?: boolean;
  answers: Readonly<Record<number, Schema>>;
  errors?: readonly (404 | 409 | 413 | 415)[];
}

/** What a route's handler answers: one of its success statuses, with that status's answer. */
export type AnswerOf<R extends Route> = {
  [S in keyof R["answers"] & number]: { status: S; body: z.input<R["answers"][S]> };
}[keyof R["answers"] & number];

/** POST /rotations/{id}/<decision>: an operator's decision, delivered to the rotation's control point. */
function decisionRoute<const D extends (typeof OPERATOR_DECISIONS)[number], B extends z.ZodMiniObject>(
  decision: D,
  body: B,
) {
  return {
    method: "POST",
    path: `/rotations/{id}/${decision}`,
    params: RotationPath,
    body,
    answers: { 202: ControlAnswer },
    errors: [404, 409, 413, 415],
  } as const;
}

/** The eight routes, by operation id: the one definition of what the API takes and answers. */
export const ROUTES = {
  listCertificates: {
    method: "GET",
    path: "/certificates",
    query: ListCertificatesQuery,
    answers: { 200: CertificateListAnswer },
  },
  getCertificate: {
    method: "GET",
    path: "/certificates/{id}",
    params: CertificatePath,
    answers: { 200: CertificateAnswer },
    errors: [404],
  },
  startRotation: {
    method: "POST",
    path: "/rotations",
    body: StartRotationBody,
    bodyRequired: true,
    answers: { 200: DryRunAnswer, 202: RotationStartedAnswer },
    errors: [404, 409, 413, 415],
  },
  listRotations: {
    method: "GET",
    path: "/rotations",
    query: ListRotationsQuery,
    answers: { 200: RotationListAnswer },
  },
  getRotation: {
    method: "GET",
    path: "/rotations/{id}",
    params: RotationPath,
    answers: { 200: RotationAnswer },
    errors: [404],
  },
  rollbackRotation: decisionRoute("rollback", RollbackBody),
  approveRotation: decisionRoute("approve", ApproveBody),
  startScan: {
    method: "POST",
    path: "/scan",
    body: ScanBody,
    answers: { 202: ScanAcceptedAnswer },
    errors: [413, 415],
  },
} as const satisfies Record<string, Route>;
export type OperationId = keyof typeof ROUTES;
