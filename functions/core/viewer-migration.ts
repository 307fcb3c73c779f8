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
 * Which previous CAs a retirement may remove now: each needs a recorded announcement whose retireAfter has
 * passed. A previous CA with no announcement on record is never removed (nothing says when its last
 * certificate expires); one whose time has not come is named with its date.
 */
export function retirementDecision(
  previous: readonly string[],
  recorded: readonly RetiringAuthority[],
  now: Date,
): { retire: string[]; waiting: Array<{ authorityArn: string; retireAfter?: string }> } {
  const retire: string[] = [];
  const waiting: Array<{ authorityArn: string; retireAfter?: string }> = [];
  for (const arn of previous) {
    const times = recorded.filter((r) => r.authorityArn === arn).map((r) => Date.parse(r.retireAfter));
    // The latest announcement counts: a CA announced away from twice retires after the later one.
    const after = times.length > 0 ? Math.max(...times) : undefined;
    if (after !== undefined && after <= now.getTime()) retire.push(arn);
    else
      waiting.push({
        authorityArn: arn,
        ...(after !== undefined ? { retireAfter: new Date(after).toISOString() } : {}),
      });
  }
  return { retire, waiting };
}

/** Whether every published trust point succeeded, by name (a replay's idempotent results included). */
export function publishedTrustPoints(state: ViewerMigrationState): string[] {
  return [...new Set(state.published.filter((r) => r.ok).map((r) => r.trustPoint))];
}
