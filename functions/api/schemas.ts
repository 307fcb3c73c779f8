/**
 * The HTTP API's contract as zod schemas, the one definition of its requests and answers: every request the
 * API accepts (path, query, body), every answer it gives, and the routes tying them together
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
import { RenewalReason } from "../core/renewal.ts";
import {
  CERTIFICATE_ARN,
  CERTIFICATE_ID,
  LIMITS,
  ROTATION_ID,
  VIEWER_DOMAIN_NAME,
  VIEWER_MIGRATION_ID,
} from "../core/requests.ts";
import {
  DEFAULT_DISTRIBUTIONS_PAGE,
  DEFAULT_HISTORY_PAGE,
  MAX_DISTRIBUTIONS_PAGE,
  MAX_HISTORY_PAGE,
  MAX_HISTORY_SEQUENCE,
  RotationStatus,
} from "../core/rotation.ts";
import { DriftKind } from "../core/tracking.ts";
import {
  InvalidViewerSerialError,
  MAX_REVOCATION_REASON,
  normalViewerSerial,
  VIEWER_SERIAL_NORMAL_FORM,
} from "../core/viewer-serial.ts";
import type { OPERATOR_DECISIONS } from "../dispatch/control-rotation.ts";
import type * as A from "./answers.ts";

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

export const ROTATION_STATUSES = Object.values(RotationStatus) as [RotationStatus, ...RotationStatus[]];
export const RENEWAL_REASONS = Object.values(RenewalReason) as [RenewalReason, ...RenewalReason[]];
export const DRIFT_KINDS = Object.values(DriftKind) as [DriftKind, ...DriftKind[]];
/**
 * What free text must not hold (one rule for every free-text field, the API's and the dispatcher's): C0 and
 * C1 control characters (U+0000–U+001F, U+007F–U+009F), the line and paragraph separators U+2028/U+2029 and
 * the bidirectional overrides and isolates (U+202A–U+202E, U+2066–U+2069). Free text ends up in terminals
 * (escape sequences), notifications (line breaks forging extra lines) and history (text shown reversed).
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what this rejects
const NO_CONTROL_CHARACTERS = /^[^\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]*$/;
const CONTROL_CHARACTERS_MESSAGE =
  "must not contain control characters (U+0000–U+001F, U+007F–U+009F), line/paragraph separators (U+2028, U+2029) or bidirectional overrides (U+202A–U+202E, U+2066–U+2069)";

/** `is required` for an absent value, else `otherwise`. */
const requiredOr = (otherwise: string) => (issue: { input?: unknown }) =>
  issue.input === undefined ? "is required" : otherwise;
/** An opaque nextToken of GET /certificates: base64url parts joined by `.`, at most 1024 characters. */
const NEXT_TOKEN = /^[A-Za-z0-9_.-]{1,1024}$/;
const ANY_CERTIFICATE_REF = new RegExp(
  `^(${CERTIFICATE_ID.source.slice(1, -1)}|${CERTIFICATE_ARN.source.slice(1, -1)})$`,
);

// ---- building blocks ------------------------------------------------------------------------------------

export const CertificateArn = z
  .string({
    error: requiredOr(
      "must be an ACM certificate ARN in us-east-1: arn:aws:acm:us-east-1:<12-digit account>:certificate/<id>",
    ),
  })
  .check(
    z.maxLength(200),
    z.regex(
      CERTIFICATE_ARN,
      "must be an ACM certificate ARN in us-east-1: arn:aws:acm:us-east-1:<12-digit account>:certificate/<id>",
    ),
    z.meta({ description: "ACM certificate ARN in us-east-1 (where CloudFront takes certificates from)." }),
  );

/** The armour every PEM block opens with: free text holding it could carry a key into a record. */
const PEM_ARMOUR = "-----BEGIN";

/**
 * Free text of at most `max` characters, trimmed, never blank, never with control characters, never with PEM
 * (free text is recorded and answered back: history, notifications, GET answers, which never hold PEM).
 */
export function freeText(max: number) {
  return z.string({ error: requiredOr("must be text") }).check(
    z.trim(),
    z.minLength(1, "must not be blank"),
    z.maxLength(max, `must be at most ${max} characters`),
    z.regex(NO_CONTROL_CHARACTERS, CONTROL_CHARACTERS_MESSAGE),
    z.refine((text) => !text.includes(PEM_ARMOUR), "must not contain PEM material"),
  );
}

/** Why an operator acts, recorded in the rotation's history and notifications. */
export const Reason = freeText(MAX_REASON_LENGTH);

/** Whether the request only plans (a dry run). */
export const DryRun = z.boolean();

/** A query value `true` or `false` (a boolean once parsed: what the OpenAPI document shows). */
const BooleanText = z.pipe(
  z.pipe(
    z.enum(["true", "false"], "must be true or false"),
    z.transform((v) => v === "true"),
  ),
  z.boolean(),
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
export function optional<T extends z.ZodMiniType>(schema: T, description: string) {
  return z.optional(schema).check(z.meta({ description }));
}

/** `schema` with the description the OpenAPI document shows for it. */
export function described<T extends z.ZodMiniType>(schema: T, description: string): T {
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

/** A rotation's own wave sizes (instead of the stage's). */
export const WaveOverrides = z.strictObject({
  canarySize: optional(z.int().check(z.gte(1)), "Distributions in the first (canary) wave."),
  waves: optional(
    z.array(WaveSize).check(z.maxLength(MAX_WAVE_SIZES, `must list at most ${MAX_WAVE_SIZES} wave sizes`)),
    "Sizes of the waves after the canary; what is left forms one last wave.",
  ),
});

/** A rotation's own manual-rollback window after each wave deployed. */
export const BakeSeconds = z
  .int()
  .check(z.gte(0), z.lte(MAX_BAKE_SECONDS, `must be at most ${MAX_BAKE_SECONDS} seconds`));

/** Whether each wave after the canary waits for an operator's approval. */
export const ApprovalMode = z.enum(["none", "between-waves"]);

export const StartRotationBody = z.strictObject({
  certificateArn: CertificateArn,
  dryRun: optional(DryRun, "Answer the plan and change nothing (no execution, no lock, no store write)."),
  waves: optional(WaveOverrides, "Wave sizes for this rotation instead of the stage's."),
  bakeSeconds: optional(BakeSeconds, "Manual-rollback window after each wave deployed, for this rotation."),
  approval: optional(ApprovalMode, "Whether each wave after the canary waits for an operator's approval."),
  reason: optional(Reason, 'Why; default "manual rotation via API".'),
});

export const ListRotationsQuery = z.strictObject({
  status: z.optional(z.enum(ROTATION_STATUSES)),
  limit: optional(wholeNumberText(1, MAX_LIST_LIMIT), "Rotations per page (default 25)."),
  nextToken: optional(
    z.string().check(z.regex(/^[A-Za-z0-9_-]{1,4096}$/, "is not a nextToken this listing handed out")),
    "The nextToken of the previous page (base64url, as the listing hands them out).",
  ),
});

/** A page of a history (a rotation's, a viewer migration's): its newest events, or those before a sequence. */
const HISTORY_PAGE_QUERY = {
  historyLimit: optional(
    wholeNumberText(1, MAX_HISTORY_PAGE),
    `Events per page (default ${DEFAULT_HISTORY_PAGE}, at most ${MAX_HISTORY_PAGE}): the newest ones, in order.`,
  ),
  historyBefore: optional(
    wholeNumberText(0, MAX_HISTORY_SEQUENCE + 1),
    "Only events before this sequence number (the historyStart of a newer page): the next older page.",
  ),
};

export const GetRotationQuery = z.strictObject({
  limit: optional(
    wholeNumberText(1, MAX_DISTRIBUTIONS_PAGE),
    `Distributions per page (default ${DEFAULT_DISTRIBUTIONS_PAGE}, at most ${MAX_DISTRIBUTIONS_PAGE}), in plan order; each wave says its size and counts for all pages.`,
  ),
  nextToken: optional(
    z.string().check(z.regex(/^[A-Za-z0-9_-]{1,1024}$/, "is not a nextToken this rotation handed out")),
    "The distributionsNextToken of the previous page.",
  ),
  ...HISTORY_PAGE_QUERY,
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

/**
 * A viewer certificate's serial number as operators paste it (openssl's `4A:3F:5C`, Node's `4A3F5C`, with
 * the DER sign octet `00:…`), taken in its normal form (functions/core/viewer-serial.ts): the key of the
 * revocation list. Anything else is refused with the rule it breaks.
 */
const SERIAL_MESSAGE = "must be a certificate serial number: hexadecimal, optionally with colons";
export const ViewerSerial = z.pipe(
  z.pipe(
    z
      .string({ error: requiredOr(SERIAL_MESSAGE) })
      .check(z.maxLength(200, `${SERIAL_MESSAGE} (at most 200 characters)`)),
    z.transform((text: string, ctx) => {
      try {
        return normalViewerSerial(text);
      } catch (error) {
        if (!(error instanceof InvalidViewerSerialError)) throw error;
        ctx.issues.push({ code: "custom", message: error.message, input: text });
        return z.NEVER;
      }
    }),
  ),
  z
    .string()
    .check(
      z.regex(VIEWER_SERIAL_NORMAL_FORM),
      z.meta({ description: "Lower-case hexadecimal, no colons, no leading zeros (0 for zero)." }),
    ),
);

/** Why a viewer certificate is revoked or reinstated: recorded in the list and the notification. */
export const RevocationReason = freeText(MAX_REVOCATION_REASON);

export const RevokeViewerBody = z.strictObject({
  serial: described(
    ViewerSerial,
    "The certificate's serial number, as openssl or Node print it (4A:3F:5C, 4a3f5c, 00:4A:3F:5C are one serial).",
  ),
  reason: described(RevocationReason, "Why (recorded in the list and the notification)."),
});

export const ViewerRevocationPath = z.strictObject({
  serial: described(
    z.pipe(z.pipe(z.string().check(z.maxLength(600)), z.transform(decodeOnce)), ViewerSerial),
    "The certificate's serial number (colons URL-encoded, or none).",
  ),
});

/**
 * DELETE's reason is a query value: RFC 9110 gives content in a DELETE request no meaning (9.3.5) and some
 * clients and proxies drop it.
 */
export const ReinstateViewerQuery = z.strictObject({
  reason: described(
    RevocationReason,
    "Why the certificate may connect again (recorded in the notification).",
  ),
});

export const RollbackBody = z.strictObject({ reason: z.optional(Reason) });

/** What a viewer CA migration does: move viewers to the domain's next CA, or retire the CAs they left. */
export const VIEWER_MIGRATION_ACTIONS = ["migrate", "retire"] as const;

export const StartViewerMigrationBody = z.strictObject({
  domain: described(
    z
      .string({ error: requiredOr("must be a viewer trust domain's name") })
      .check(
        z.regex(
          VIEWER_DOMAIN_NAME,
          "must be a viewer trust domain's name (lower-case letters, digits and -, at most 40)",
        ),
      ),
    "The viewer trust domain (the stage's settings: MTLS_ROTATOR_VIEWER_TRUST_DOMAINS).",
  ),
  action: optional(
    z.enum(VIEWER_MIGRATION_ACTIONS),
    "migrate (default): publish old + new CA to every trust point, prove it, announce the new CA; " +
      "retire: remove the CAs viewers moved away from, once their recorded retirement time has passed.",
  ),
  reason: described(Reason, "Why; recorded in the migration's history and notifications."),
  dryRun: optional(
    DryRun,
    "Plan only: the migration plans (bundle CAs, trust-store waves, passthrough origins, retirement) and ends; " +
      "nothing is published.",
  ),
});

export const ListViewerMigrationsQuery = z.strictObject({
  limit: optional(wholeNumberText(1, MAX_LIST_LIMIT), "Migrations per page (default 25)."),
  nextToken: optional(
    z.string().check(z.regex(/^[A-Za-z0-9_-]{1,4096}$/, "is not a nextToken this listing handed out")),
    "The nextToken of the previous page (base64url, as the listing hands them out).",
  ),
});

export const GetViewerMigrationQuery = z.strictObject({
  ...HISTORY_PAGE_QUERY,
});

export const ViewerMigrationPath = z.strictObject({
  id: described(
    z
      .string()
      .check(
        z.regex(
          VIEWER_MIGRATION_ID,
          "must be a viewer migration id: vmig-… or vdry-… (lowercase letters, digits, dashes)",
        ),
      ),
    "Viewer migration id, as POST /viewer-migrations answered it.",
  ),
});
export const ApproveBody = z.strictObject({ reason: z.optional(Reason) });
export const ScanBody = z.strictObject({});

/**
 * The answers' schemas live in answers.ts (the OpenAPI document and the tests read them from there as
 * ROUTE_ANSWERS); a route carries only their types, so a Lambda validating requests builds no answer schema.
 */
function answersOf<T>(): T {
  return {} as T;
}

// ---- routes ---------------------------------------------------------------------------------------------

/** Any zod schema (this module's are zod/mini ones). */
type Schema = z.core.$ZodType;

/**
 * One route of the API: its method and path, the schemas its request is validated with (path parameters,
 * query, body; a part without one must be empty), the answer of each success status, and the error
 * statuses it may answer besides 400 and 500 (every error answer is an ErrorAnswer).
 */
export interface Route {
  method: "GET" | "POST" | "DELETE";
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
    answers: answersOf<{ 202: typeof A.ControlAnswer }>(),
    errors: [404, 409, 413, 415],
  } as const;
}

/** POST /viewer-migrations/{id}/<decision>: an operator's decision, delivered to the migration's approval. */
function viewerDecisionRoute<const D extends (typeof OPERATOR_DECISIONS)[number], B extends z.ZodMiniObject>(
  decision: D,
  body: B,
) {
  return {
    method: "POST",
    path: `/viewer-migrations/{id}/${decision}`,
    params: ViewerMigrationPath,
    body,
    answers: answersOf<{ 202: typeof A.ViewerControlAnswer }>(),
    errors: [404, 409, 413, 415],
  } as const;
}

/** The routes, by operation id: the one definition of what the API takes and answers. */
export const ROUTES = {
  listCertificates: {
    method: "GET",
    path: "/certificates",
    query: ListCertificatesQuery,
    answers: answersOf<{ 200: typeof A.CertificateListAnswer }>(),
  },
  getCertificate: {
    method: "GET",
    path: "/certificates/{id}",
    params: CertificatePath,
    answers: answersOf<{ 200: typeof A.CertificateAnswer }>(),
    errors: [404],
  },
  startRotation: {
    method: "POST",
    path: "/rotations",
    body: StartRotationBody,
    bodyRequired: true,
    answers: answersOf<{ 200: typeof A.DryRunAnswer; 202: typeof A.RotationStartedAnswer }>(),
    errors: [404, 409, 413, 415],
  },
  listRotations: {
    method: "GET",
    path: "/rotations",
    query: ListRotationsQuery,
    answers: answersOf<{ 200: typeof A.RotationListAnswer }>(),
  },
  getRotation: {
    method: "GET",
    path: "/rotations/{id}",
    params: RotationPath,
    query: GetRotationQuery,
    answers: answersOf<{ 200: typeof A.RotationAnswer }>(),
    errors: [404],
  },
  rollbackRotation: decisionRoute("rollback", RollbackBody),
  approveRotation: decisionRoute("approve", ApproveBody),
  startScan: {
    method: "POST",
    path: "/scan",
    body: ScanBody,
    answers: answersOf<{ 202: typeof A.ScanAcceptedAnswer }>(),
    errors: [413, 415],
  },
  revokeViewer: {
    method: "POST",
    path: "/viewer-revocations",
    body: RevokeViewerBody,
    bodyRequired: true,
    answers: answersOf<{ 200: typeof A.ViewerRevokedAnswer }>(),
    errors: [409, 413, 415],
  },
  getViewerRevocation: {
    method: "GET",
    path: "/viewer-revocations/{serial}",
    params: ViewerRevocationPath,
    answers: answersOf<{ 200: typeof A.ViewerRevocationAnswer }>(),
    errors: [409],
  },
  reinstateViewer: {
    method: "DELETE",
    path: "/viewer-revocations/{serial}",
    params: ViewerRevocationPath,
    query: ReinstateViewerQuery,
    answers: answersOf<{ 200: typeof A.ViewerReinstatedAnswer }>(),
    errors: [409],
  },
  startViewerMigration: {
    method: "POST",
    path: "/viewer-migrations",
    body: StartViewerMigrationBody,
    bodyRequired: true,
    answers: answersOf<{ 202: typeof A.ViewerMigrationStartedAnswer }>(),
    errors: [404, 409, 413, 415],
  },
  listViewerMigrations: {
    method: "GET",
    path: "/viewer-migrations",
    query: ListViewerMigrationsQuery,
    answers: answersOf<{ 200: typeof A.ViewerMigrationListAnswer }>(),
  },
  getViewerMigration: {
    method: "GET",
    path: "/viewer-migrations/{id}",
    params: ViewerMigrationPath,
    query: GetViewerMigrationQuery,
    answers: answersOf<{ 200: typeof A.ViewerMigrationAnswer }>(),
    errors: [404],
  },
  approveViewerMigration: viewerDecisionRoute("approve", ApproveBody),
  rollbackViewerMigration: viewerDecisionRoute("rollback", RollbackBody),
  getViewerMtls: {
    method: "GET",
    path: "/viewer-mtls",
    answers: answersOf<{ 200: typeof A.ViewerMtlsAnswer }>(),
    errors: [404],
  },
} as const satisfies Record<string, Route>;
export type OperationId = keyof typeof ROUTES;

export type * from "./answers.ts";
