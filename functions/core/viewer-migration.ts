/**
 * A viewer CA migration, as a pure fold: its request, its plan, the events its steps record and the state
 * they fold into. The invariant is origin mTLS's, on the other side of CloudFront: every trust point (the
 * CloudFront trust stores of distributions in required/optional mode, the origins of distributions in
 * passthrough mode) trusts the new viewer CA, and that is PROVED, before "viewer CA ready" tells anyone the
 * new CA may issue viewer certificates; the old CA leaves the trust points only after the longest-lived
 * viewer certificate it issued can have expired.
 *
 * Two actions, each its own durable execution:
 * - `migrate`: publish old + new CA to every trust point (trust stores in waves, each `active` before the
 *   next wave; a `failed` store aborts the migration and every trust point gets its previous bundle back),
 *   prove acceptance, (optionally) wait for approval, announce, and record when the old CA may retire;
 * - `retire`: remove the CAs viewers moved away from, refused before their recorded retirement time.
 */

/** What a migration is asked to do. */
export type ViewerMigrationAction = "migrate" | "retire";

export interface ViewerMigrationRequest {
  migrationId: string;
  /** The viewer trust domain's name (settings). */
  domain: string;
  action: ViewerMigrationAction;
  actor: string;
  reason: string;
  dryRun?: boolean;
}

/** A CA certificate as a plan or event names it: public facts only. */
export interface CaFacts {
  subject: string;
  fingerprint: string;
  notAfter: string;
}

/**
 * The viewer trust domain's settings as a plan records them (config/viewer-settings.ts ViewerTrustDomain):
 * every step after the plan runs with these, so a deploy that changes or removes the domain mid-run changes
 * neither the path a replay takes nor what a restore writes.
 */
export interface PlannedDomain {
  name: string;
  trustStoreIds: string[];
  passthrough?: {
    bucketKey: string;
    bundleSecretName?: string;
    origins: Array<{ name: string; distributionId: string; originId: string; path: string }>;
  };
  maxViewerCertificateLifetimeDays: number;
  retirementGraceSeconds: number;
  proofTimeoutSeconds: number;
  proofIntervalSeconds: number;
  approval: "none" | "before-announce";
  approvalTimeoutSeconds: number;
}

export interface ViewerMigrationPlan {
  domain: string;
  /** The domain's settings this run follows from here on. */
  settings: PlannedDomain;
  /**
   * The CAs of the bundles, by role: trusted before and after (`kept`), after only (`added`: the new CA),
   * before only (`removed`: a retirement's). The bundles are made from these ARNs' chains, never from the
   * settings of a later deploy.
   */
  authorities: { kept: string[]; added: string[]; removed: string[] };
  /** The bundle the trust points held before this run (what a restore writes back). */
  before: { sha256: string };
  action: ViewerMigrationAction;
  /** migrate: the CA viewers move away from, and the one they move to; retire: what leaves. */
  fromAuthorityArns: string[];
  toAuthorityArn: string;
  /** The bundle every trust point will hold. */
  bundle: { sha256: string; certificates: CaFacts[]; bytes: number };
  /** Trust stores, in waves (the canary first). */
  trustStoreWaves: string[][];
  passthrough?: { bundleTargets: string[]; origins: string[] };
  /**
   * migrate: how long after the announcement the old CA(s) may retire (the longest viewer certificate
   * lifetime + grace), in seconds, and the earliest date if announced now; retire: the recorded times.
   */
  retirement: { afterAnnouncementSeconds: number; earliestIfAnnouncedNow: string; note: string };
}

/** A trust point's outcome, as events name it. */
export interface TrustPointResult {
  trustPoint: string;
  ok: boolean;
  changed?: boolean;
  version?: string;
  error?: string;
}

export interface OriginProof {
  origin: string;
  status: number | null;
  accepted: boolean;
  error?: string;
}

export type ViewerMigrationEvent =
  | { type: "viewer-planned"; at: string; plan: ViewerMigrationPlan }
  | { type: "viewer-trust-published"; at: string; wave: number; results: TrustPointResult[] }
  | { type: "viewer-trust-failed"; at: string; trustPoint: string; reason: string }
  | { type: "viewer-trust-restored"; at: string; results: TrustPointResult[] }
  | {
      type: "viewer-proved";
      at: string;
      attempt: number;
      ok: boolean;
      trustStores: Array<{ trustStoreId: string; status: string; trustsNewCa: boolean }>;
      origins: OriginProof[];
    }
  | {
      type: "viewer-control";
      at: string;
      action: "approve" | "rollback" | "timeout";
      actor?: string;
      reason?: string;
    }
  | { type: "viewer-announced"; at: string; authorityArn: string; retireAfter: string; retiring: string[] }
  | { type: "viewer-retired"; at: string; removed: CaFacts[] }
  | {
      type: "viewer-ended";
      at: string;
      status: ViewerMigrationStatus;
      reason?: ViewerMigrationReason;
      detail?: string;
    };

export type ViewerMigrationStatus =
  | "running"
  | "dry-run"
  | "announced"
  | "retired"
  | "failed"
  | "rolled-back"
  | "refused";

export const ViewerMigrationReason = {
  /** A setting, a CA or a bundle limit makes the migration impossible as asked. */
  Refused: "Refused",
  /** A trust store ended `failed` (CloudFront's reason is in the detail). */
  TrustStoreFailed: "TrustStoreFailed",
  /** A trust point could not be written (not a CloudFront refusal: access, throttling, timeout). */
  PublishFailed: "PublishFailed",
  /** A passthrough origin did not accept the probe, or a trust store did not trust the new CA, in time. */
  ProofFailed: "ProofFailed",
  /** A step failed after its retries (AWS refused, a timeout): the detail names it. */
  StepFailed: "StepFailed",
  /** An operator asked for a rollback, or approval timed out. */
  RollbackRequested: "RollbackRequested",
  /** The old CA's certificates may still be in use (retire before retireAfter). */
  TooEarly: "TooEarly",
  /** Another migration of the domain is running. */
  Locked: "Locked",
} as const;
export type ViewerMigrationReason = (typeof ViewerMigrationReason)[keyof typeof ViewerMigrationReason];

export interface ViewerMigrationState {
  migrationId: string;
  status: ViewerMigrationStatus;
  plan?: ViewerMigrationPlan;
  published: TrustPointResult[];
  failed?: { trustPoint: string; reason: string };
  restored?: TrustPointResult[];
  proofAttempts: number;
  lastProof?: Extract<ViewerMigrationEvent, { type: "viewer-proved" }>;
  announced?: { at: string; authorityArn: string; retireAfter: string; retiring: string[] };
  removed?: CaFacts[];
  reason?: ViewerMigrationReason;
  detail?: string;
  endedAt?: string;
}

export function initialViewerState(migrationId: string): ViewerMigrationState {
  return { migrationId, status: "running", published: [], proofAttempts: 0 };
}

/** The state after one more event (pure: a replay folds the checkpointed events into the same state). */
export function applyViewerEvent(
  state: ViewerMigrationState,
  event: ViewerMigrationEvent,
): ViewerMigrationState {
  switch (event.type) {
    case "viewer-planned":
      return { ...state, plan: event.plan };
    case "viewer-trust-published":
      return { ...state, published: [...state.published, ...event.results] };
    case "viewer-trust-failed":
      return { ...state, failed: { trustPoint: event.trustPoint, reason: event.reason } };
    case "viewer-trust-restored":
      return { ...state, restored: event.results };
    case "viewer-proved":
      return { ...state, proofAttempts: event.attempt, lastProof: event };
    case "viewer-control":
      return state;
    case "viewer-announced":
      return {
        ...state,
        announced: {
          at: event.at,
          authorityArn: event.authorityArn,
          retireAfter: event.retireAfter,
          retiring: event.retiring,
        },
      };
    case "viewer-retired":
      return { ...state, removed: event.removed };
    case "viewer-ended":
      return {
        ...state,
        status: event.status,
        endedAt: event.at,
        ...(event.reason ? { reason: event.reason } : {}),
        ...(event.detail ? { detail: event.detail } : {}),
      };
  }
}

const DAY_SECONDS = 86_400;

/** Seconds after the announcement before the CA(s) viewers moved away from may leave the trust points. */
export function retirementDelaySeconds(policy: {
  maxViewerCertificateLifetimeDays: number;
  retirementGraceSeconds: number;
}): number {
  return policy.maxViewerCertificateLifetimeDays * DAY_SECONDS + policy.retirementGraceSeconds;
}

/** When a CA announced away from at `announcedAt` may retire. */
export function retireAfter(
  announcedAt: Date,
  policy: { maxViewerCertificateLifetimeDays: number; retirementGraceSeconds: number },
): Date {
  return new Date(announcedAt.getTime() + retirementDelaySeconds(policy) * 1000);
}

/** Trust stores in waves: `canary` on their own first, then the rest together. */
export function trustStoreWaves(ids: readonly string[], canary: number): string[][] {
  if (ids.length === 0) return [];
  const first = Math.min(Math.max(canary, 0), ids.length);
  if (first === 0 || first === ids.length) return [[...ids]];
  return [ids.slice(0, first), ids.slice(first)];
}

/** A CA viewers moved away from, with when it may leave the trust points (recorded at announcement). */
export interface RetiringAuthority {
  authorityArn: string;
  retireAfter: string;
  /** The migration that announced the move. */
  migrationId: string;
}

/**
 * Whether a CA can still issue certificates, as AWS Private CA describes it: only an `ACTIVE` CA issues
 * (DescribeCertificateAuthority `Status`); `stoppedAt` is its `LastStateChangeAt` when it is not active.
 */
export interface AuthorityIssuance {
  authorityArn: string;
  status: string;
  /** When the CA last changed (AWS: "Date and time at which your private CA was last updated"). */
  lastStateChangeAt?: string;
}

/** A previous CA that may not retire yet, and why. */
export interface WaitingAuthority {
  authorityArn: string;
  /** When it may retire, once known (a CA that still issues has no date yet). */
  retireAfter?: string;
  /** Why it waits, in words an operator acts on. */
  because: string;
}

/**
 * Which previous CAs a retirement may remove now. Each needs a recorded announcement ("viewer CA ready") whose
 * retireAfter has passed — and, because the announcement only says the new CA *may* issue, the old CA must
 * have stopped issuing too: a CA still `ACTIVE` in AWS Private CA may have issued a viewer certificate after
 * the announcement, which would outlive the recorded time. So a CA still issuing waits (disable it in AWS
 * Private CA), and one that stopped retires no earlier than the longest viewer certificate lifetime + grace
 * (`delaySeconds`) after it stopped (its LastStateChangeAt: AWS documents it as the CA's last update, which is
 * at or after the status change, so the time it gives is never too early). A previous CA with no announcement
 * on record is never removed (nothing says when its last certificate expires).
 */
export function retirementDecision(
  previous: readonly string[],
  recorded: readonly RetiringAuthority[],
  now: Date,
  issuance: { authorities: readonly AuthorityIssuance[]; delaySeconds: number },
): { retire: string[]; waiting: WaitingAuthority[] } {
  const retire: string[] = [];
  const waiting: WaitingAuthority[] = [];
  for (const arn of previous) {
    const times = recorded.filter((r) => r.authorityArn === arn).map((r) => Date.parse(r.retireAfter));
    // The latest announcement counts: a CA announced away from twice retires after the later one.
    if (times.length === 0) {
      waiting.push({ authorityArn: arn, because: "it has no recorded migration away from it" });
      continue;
    }
    const announced = Math.max(...times);
    const described = issuance.authorities.find((a) => a.authorityArn === arn);
    if (!described) {
      waiting.push({ authorityArn: arn, because: "its status in AWS Private CA is unknown" });
      continue;
    }
    if (described.status === "ACTIVE") {
      waiting.push({
        authorityArn: arn,
        because:
          "it is still ACTIVE in AWS Private CA and may issue viewer certificates: disable it " +
          `(UpdateCertificateAuthority Status=DISABLED); it may retire ${issuance.delaySeconds} s after that`,
      });
      continue;
    }
    const stopped = described.lastStateChangeAt ? Date.parse(described.lastStateChangeAt) : Number.NaN;
    if (Number.isNaN(stopped)) {
      waiting.push({
        authorityArn: arn,
        because: `AWS Private CA gives no time at which it stopped issuing (status ${described.status})`,
      });
      continue;
    }
    const after = Math.max(announced, stopped + issuance.delaySeconds * 1000);
    if (after <= now.getTime()) retire.push(arn);
    else
      waiting.push({
        authorityArn: arn,
        retireAfter: new Date(after).toISOString(),
        because:
          after === announced
            ? "viewer certificates it issued before the announcement may still be valid"
            : `it stopped issuing (${described.status}) at ${new Date(stopped).toISOString()}; certificates it issued until then may still be valid`,
      });
  }
  return { retire, waiting };
}

/** Whether every published trust point succeeded, by name (a replay's idempotent results included). */
export function publishedTrustPoints(state: ViewerMigrationState): string[] {
  return [...new Set(state.published.filter((r) => r.ok).map((r) => r.trustPoint))];
}
