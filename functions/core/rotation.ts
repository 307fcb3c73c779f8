/**
 * The state of one rotation, as a pure fold over the events its steps return. The workflow re-derives the
 * state on every replay from checkpointed events (deterministic), the store persists it for the API, and
 * the history is the event list itself. Pure: no AWS, no clock (events carry their own timestamps).
 */

import type { AcknowledgementCheck } from "./acknowledgement.ts";
import type { PlannedReplacementKey } from "./certificate.ts";
import type { PreflightProbeReason } from "./preflight.ts";
import type { SwapTarget, Wave, WaveSize } from "./waves.ts";

export const RotationStatus = {
  Started: "started",
  Planned: "planned",
  Issued: "issued",
  TrustPublished: "trust-published",
  Swapping: "swapping",
  Finalizing: "finalizing",
  Completed: "completed",
  RollingBack: "rolling-back",
  RolledBack: "rolled-back",
  Aborted: "aborted",
  Failed: "failed",
  DryRun: "dry-run",
} as const;
export type RotationStatus = (typeof RotationStatus)[keyof typeof RotationStatus];

export const TERMINAL_STATUSES: readonly RotationStatus[] = [
  "completed",
  "rolled-back",
  "aborted",
  "failed",
  "dry-run",
];

/**
 * Where a rotation waits for an operator (a durable callback): a wave's bake window (rollback), an approval
 * between waves (approve / rollback), and the grace period after the promotion (rollback, which undoes it).
 */
export const CONTROL_POINT_KINDS = ["bake", "approval", "grace"] as const;
export type ControlPointKind = (typeof CONTROL_POINT_KINDS)[number];

/** Reason codes shared by logs, API answers and notifications. */
export const RotationReason = {
  GateFailed: "GateFailed",
  ManualRollback: "ManualRollback",
  ApprovalTimedOut: "ApprovalTimedOut",
  PreflightRefused: "PreflightRefused",
  SwapFailed: "SwapFailed",
  /** Some distributions could not be put back: they still present the new certificate. */
  RollbackIncomplete: "RollbackIncomplete",
  DeployTimedOut: "DeployTimedOut",
  IssuanceFailed: "IssuanceFailed",
  AlreadyRotating: "AlreadyRotating",
  /** Another rotation kept changing a distribution this one must change, past how long this one may wait. */
  DistributionsBusy: "DistributionsBusy",
  /**
   * A record the rotation must keep is over an AWS size limit (a DynamoDB item, a durable step's result):
   * it stopped where it stood, with nothing rolled back (functions/workflow/phases/stop.ts).
   */
  StorageLimit: "StorageLimit",
  Unexpected: "Unexpected",
} as const;
export type RotationReason = (typeof RotationReason)[keyof typeof RotationReason];

/**
 * Per-rotation changes to the stage's settings, asked for by whoever started the rotation (the API). They
 * replace the matching settings for this rotation only; everything else comes from the stage.
 */
export interface RotationOverrides {
  /** Wave sizes: replace the stage's canary size and/or later wave sizes (its canary preference stays). */
  waves?: { canarySize?: number; waves?: WaveSize[] };
  /** Manual-rollback window after each wave deployed, before its gate (0: none). */
  bakeSeconds?: number;
  /** Whether each wave after the canary waits for an operator's approval. */
  approval?: "none" | "between-waves";
}

export interface RotationRequest {
  certificateArn: string;
  /** Serial of the certificate being replaced: with the ARN it names the rotation. */
  serial: string;
  reason: string;
  actor: string;
  dryRun?: boolean;
  overrides?: RotationOverrides;
}

export interface PlannedCertificate {
  arn: string;
  serial: string;
  keyAlgorithm: string;
  subject: string;
  notAfter: string;
  /** Public certificate (no key): lets the replacement carry over subject and SANs exactly. */
  certificatePem: string;
}

export type DistributionOutcome =
  | "pending"
  | "swapped"
  | "rolled-back"
  | "rollback-failed"
  | "not-presenting";

export interface DistributionState {
  distributionId: string;
  originIds: string[];
  outcome: DistributionOutcome;
  /** Origins this rotation changed (the ones a rollback puts back). */
  changedOriginIds?: string[];
  error?: string;
}

/**
 * Why a distribution passed or failed its gate (core/gate.ts): within / over its threshold, still waiting
 * for datapoints (the metrics deadline has not passed), or short of datapoints at the deadline (a failure,
 * or allowed by the policy's onNoData "pass").
 */
export type GateCheckReason =
  | "WithinThreshold"
  | "OverThreshold"
  | "AwaitingDatapoints"
  | "TooFewDatapoints"
  | "TooFewDatapointsAllowed";

/** "waiting": not enough datapoints yet and the deadline has not passed (never recorded as a wave's gate). */
export type GateVerdict = "passed" | "failed" | "waiting";

export interface GateCheck {
  distributionId: string;
  /** 5xx error rate (percent) observed since the swap, or null when no datapoint exists yet. */
  errorRate: number | null;
  baseline: number | null;
  threshold: number;
  passed: boolean;
  /** CloudWatch datapoints (periods with data) counted after the swap deployed (absent in older records). */
  datapoints?: number;
  reason?: GateCheckReason;
}

export interface ProbeResult {
  /** "distributionId/originId" */
  target: string;
  /** What the origin answered the new certificate (null: no HTTP answer, see `error`). */
  status: number | null;
  accepted: boolean;
  error?: string;
  /**
   * Preflight: what the same origin answered the certificate in service, on the same path in the same
   * attempt (core/preflight.ts). Absent when there was nothing to compare with, and in gate probes.
   */
  current?: { status: number | null; error?: string };
  /** Preflight: why the origin accepted or refused (absent in gate probes and older events). */
  reason?: PreflightProbeReason;
  /** Preflight: the proof that counted, when it is not the probe alone (settings `preflight.proofs`). */
  proof?: "acknowledgement" | "both";
  /** Preflight, proof "acknowledgement" or "both": what the origin's acknowledgement showed. */
  acknowledgement?: AcknowledgementCheck;
}

/**
 * What a preflight attempt compared the new certificate's answers with: the credential in service (its ARN
 * and serial, never its key), or nothing, and why (then today's rule alone decides).
 */
export type PreflightComparison =
  | { with: "current-credential"; certificateArn: string; serial: string }
  | { with: "nothing"; why: string };

/**
 * How many distributions and origins a gate judged, by outcome: a recorded gate names only the first few of
 * each (core/gate.ts `boundGateResult`), whatever the size of its wave.
 */
export interface GateCounts {
  /** Distributions whose 5xx metrics were judged. */
  checks: number;
  /** Of them, the ones that passed. */
  checksPassed: number;
  /** Of them, how many per reason. */
  byReason: Partial<Record<GateCheckReason, number>>;
  /** Synthetic probes (one per distribution's origin probed). */
  probes: number;
  probesRefused: number;
}

export interface GateResult {
  passed: boolean;
  /**
   * Per distribution: its metrics against its threshold. With `counts`, only the first few (failing ones
   * first, then those still waiting, then the passing ones closest to their threshold); without (older
   * records), every distribution of the wave.
   */
  checks: GateCheck[];
  /** Per distribution's origin: its probe. With `counts`, only the first few (refused ones first). */
  probes: ProbeResult[];
  /** Absent in older records (passed or failed). */
  verdict?: GateVerdict;
  /** The metrics part of the policy the result was judged with, and how long after the deployment. */
  metrics?: { minDatapoints: number; deadlineSeconds: number; periodSeconds: number; elapsedSeconds: number };
  /** Every check and probe counted; absent in older records, whose lists are whole. */
  counts?: GateCounts;
}

export interface WaveState {
  index: number;
  canary: boolean;
  /**
   * The wave's distributions, in the plan's order. In the store's summary and in an API page they may be
   * fewer than `size` (the rest are on other pages).
   */
  distributions: DistributionState[];
  /** How many distributions the wave holds (absent in older records: then `distributions.length`). */
  size?: number;
  /**
   * The wave's distributions by outcome, where `distributions` may be a part of the wave (the store's
   * summary, an API page); absent in the workflow's own state (there it has them all).
   */
  counts?: Record<DistributionOutcome, number>;
  status: "pending" | "swapping" | "baking" | "gated" | "passed" | "failed";
  gate?: GateResult;
}

export type RotationEvent =
  | { type: "started"; at: string; request: RotationRequest }
  | {
      type: "planned";
      at: string;
      old: PlannedCertificate;
      /** `size`: the wave's distributions, when `targets` holds none of them (a `stored` plan). */
      waves: Array<Pick<Wave, "index" | "canary"> & { targets: SwapTarget[]; size?: number }>;
      newIssuerArn: string;
      /** The replacement's key algorithm, following the new issuer's key, and why. */
      replacementKey: PlannedReplacementKey;
      /** Pre-rotation 5xx error rate per distribution (percent; null = no traffic). */
      baselines: Record<string, number | null>;
      /**
       * Name of the credential secret the rotation promotes into: the one the certificate's lineage already
       * uses, so AWSPREVIOUS stays the previous credential. Absent in rotations planned before it existed.
       */
      credentialSecret?: string;
      /**
       * A plan too large to be one step's result (more than PLAN_INLINE_TARGETS distributions): its targets
       * and baselines are in the store's distribution items, and the waves here carry only their sizes; the
       * workflow reads them back in pages (applyPlannedTargets). Absent: everything is in this event.
       */
      stored?: { distributions: number };
    }
  | {
      type: "issued";
      at: string;
      certificateArn: string;
      serial: string;
      notAfter: string;
      fingerprint: string;
    }
  | {
      type: "trust-published";
      at: string;
      bundleSha256: string;
      targets: Array<{ target: string; changed: boolean }>;
      /**
       * The probe certificates published next to the bundle for origin-sync's acknowledgements (public
       * certificates: the new one, the one in service, earlier ones that still verify). Absent in older events.
       */
      probeCertificates?: {
        certificates: number;
        changed: boolean;
        /** Certificates left out because they do not verify against the bundle (fingerprint: why). */
        omitted?: string[];
      };
    }
  | {
      type: "preflight";
      /** When the attempt began. */
      at: string;
      attempt: number;
      probes: ProbeResult[];
      /** Absent in events before the current certificate was probed too. */
      compared?: PreflightComparison;
      deadlinePassed: boolean;
      /** Seconds from the first attempt's start to this attempt's end (absent in events before it was kept). */
      elapsedSeconds?: number;
      /**
       * When `probes` lists only the first PREFLIGHT_PROBES_LISTED (refused ones first): how many origins
       * were judged, and how many refused. Absent: `probes` lists them all.
       */
      counts?: { probes: number; refused: number };
    }
  | {
      type: "swapped";
      at: string;
      wave: number;
      distributionId: string;
      outcome: "swapped" | "not-presenting";
      changedOriginIds: string[];
    }
  | { type: "deployed"; at: string; wave: number }
  | { type: "gate"; at: string; wave: number; result: GateResult }
  | { type: "approved"; at: string; wave: number; actor: string }
  | { type: "rollback-requested"; at: string; reason: RotationReason; actor: string; detail: string }
  | { type: "rolled-back-distribution"; at: string; distributionId: string; ok: boolean; error?: string }
  | { type: "rolled-back"; at: string }
  | { type: "aborted"; at: string; reason: RotationReason; detail: string }
  | {
      type: "promoted";
      at: string;
      /**
       * The credential it replaced is AWSPREVIOUS: a rollback in the grace period can put it back as
       * AWSCURRENT (false: a lineage's first credential, nothing before it; absent in older records).
       */
      restorable?: boolean;
    }
  | { type: "retired"; at: string; deleted: boolean; revoked: boolean; detail: string }
  | { type: "completed"; at: string }
  | { type: "failed"; at: string; reason: RotationReason; detail: string }
  | { type: "dry-run"; at: string }
  /**
   * Another rotation is changing distributions this one must change: it waits its turn (nothing issued,
   * nothing swapped). Recorded when the holders first block it and whenever they change.
   */
  | { type: "waiting-for-distributions"; at: string; heldBy: DistributionClaim[] }
  /**
   * A notification SNS did not take (after the step's retries, or at once for a refusal a retry cannot
   * fix): which one, and why. Counted in the state; the rotation goes on.
   */
  | { type: "notification-undelivered"; at: string; notification: string; error: string }
  /** Every distribution of the plan is this rotation's to change until it ends. */
  | {
      type: "distributions-claimed";
      at: string;
      /** Every distribution claimed (empty when `stored`: then `count` says how many). */
      distributionIds: string[];
      /** The 5xx error rates before any change, read again once the other rotations were done. */
      baselines: Record<string, number | null>;
      /** As for `planned`: the baselines are in the store's distribution items, read back in pages. */
      stored?: { distributions: number };
    };

/** A distribution another rotation is changing. */
export interface DistributionClaim {
  distributionId: string;
  rotationId: string;
}

export interface RotationState {
  rotationId: string;
  status: RotationStatus;
  request?: RotationRequest;
  startedAt?: string;
  updatedAt?: string;
  old?: PlannedCertificate;
  newIssuerArn?: string;
  /** The credential secret (a name, no value): where the new credential goes at promotion. */
  credentialSecret?: string;
  replacementKey?: PlannedReplacementKey;
  baselines?: Record<string, number | null>;
  issued?: { certificateArn: string; serial: string; notAfter: string; fingerprint: string };
  bundleSha256?: string;
  waves: WaveState[];
  preflightAttempts: number;
  lastPreflight?: ProbeResult[];
  /** What the last preflight attempt compared the new certificate's answers with. */
  lastPreflightCompared?: PreflightComparison;
  /** In the store's summary: how many probes the last preflight made, when `lastPreflight` holds only some. */
  lastPreflightCount?: number;
  rollback?: { reason: RotationReason; actor: string; detail: string };
  outcome?: { reason?: RotationReason; detail?: string };
  /** Set once the new credential is AWSCURRENT (whether the one before it can be put back). */
  promoted?: { at: string; restorable: boolean };
  /** Notifications SNS did not take (each is a `notification-undelivered` event in the history). */
  undeliveredNotifications?: number;
  /** Set while the rotation waits for distributions another rotation is changing: since when, and who. */
  waitingFor?: { since: string; heldBy: DistributionClaim[] };
}

export function initialState(rotationId: string): RotationState {
  return { rotationId, status: "started", waves: [], preflightAttempts: 0 };
}

/**
 * The waves with one distribution changed. Only the wave holding it is copied (a wave holds thousands of
 * distributions at most; the fleet may hold more), so an event costs the size of one wave, not the fleet.
 */
function updateDistribution(
  state: RotationState,
  distributionId: string,
  change: (d: DistributionState) => DistributionState,
  waveIndex?: number,
): WaveState[] {
  // The wave the event names first, then the others (an event may name a wave the distribution is not in).
  const order = [...state.waves.entries()].sort(
    ([, a], [, b]) => Number(b.index === waveIndex) - Number(a.index === waveIndex),
  );
  for (const [w, wave] of order) {
    const at = wave.distributions.findIndex((d) => d.distributionId === distributionId);
    if (at < 0) continue;
    const distributions = wave.distributions.slice();
    distributions[at] = change(distributions[at]!);
    const waves = state.waves.slice();
    waves[w] = { ...wave, distributions };
    return waves;
  }
  return state.waves;
}

function updateWave(state: RotationState, index: number, change: (w: WaveState) => WaveState): WaveState[] {
  return state.waves.map((wave) => (wave.index === index ? change(wave) : wave));
}

/** The next state. Pure and total: an event that does not apply leaves the state as it was. */
export function applyEvent(state: RotationState, event: RotationEvent): RotationState {
  const base = { ...state, updatedAt: event.at };
  switch (event.type) {
    case "started":
      return { ...base, status: "started", request: event.request, startedAt: event.at };
    case "planned":
      return {
        ...base,
        status: "planned",
        old: event.old,
        newIssuerArn: event.newIssuerArn,
        ...(event.credentialSecret ? { credentialSecret: event.credentialSecret } : {}),
        replacementKey: event.replacementKey,
        baselines: event.baselines,
        waves: event.waves.map((w) => ({
          index: w.index,
          canary: w.canary,
          status: "pending",
          ...(w.size !== undefined ? { size: w.size } : {}),
          distributions: w.targets.map((t) => ({ ...t, outcome: "pending" as const })),
        })),
      };
    case "notification-undelivered":
      return { ...base, undeliveredNotifications: (state.undeliveredNotifications ?? 0) + 1 };
    case "waiting-for-distributions":
      return { ...base, waitingFor: { since: state.waitingFor?.since ?? event.at, heldBy: event.heldBy } };
    case "distributions-claimed": {
      const { waitingFor: _, ...rest } = base;
      return { ...rest, baselines: { ...state.baselines, ...event.baselines } };
    }
    case "dry-run":
      return { ...base, status: "dry-run" };
    case "issued":
      return {
        ...base,
        status: "issued",
        issued: {
          certificateArn: event.certificateArn,
          serial: event.serial,
          notAfter: event.notAfter,
          fingerprint: event.fingerprint,
        },
      };
    case "trust-published":
      return { ...base, status: "trust-published", bundleSha256: event.bundleSha256 };
    case "preflight": {
      const { lastPreflightCount: _, ...rest } = base;
      return {
        ...rest,
        preflightAttempts: event.attempt,
        lastPreflight: event.probes,
        ...(event.compared ? { lastPreflightCompared: event.compared } : {}),
        ...(event.counts ? { lastPreflightCount: event.counts.probes } : {}),
      };
    }
    case "swapped":
      return {
        ...base,
        status: "swapping",
        waves: updateDistribution(
          { ...state, waves: updateWave(state, event.wave, (w) => ({ ...w, status: "swapping" })) },
          event.distributionId,
          (d) => ({ ...d, outcome: event.outcome, changedOriginIds: event.changedOriginIds }),
          event.wave,
        ),
      };
    case "deployed":
      return { ...base, waves: updateWave(state, event.wave, (w) => ({ ...w, status: "baking" })) };
    case "gate":
      return {
        ...base,
        waves: updateWave(state, event.wave, (w) => ({
          ...w,
          status: event.result.passed ? "passed" : "failed",
          gate: event.result,
        })),
      };
    case "approved":
      return base;
    case "rollback-requested":
      return {
        ...base,
        status: "rolling-back",
        rollback: { reason: event.reason, actor: event.actor, detail: event.detail },
        // A wave interrupted while swapping or baking did not pass: it is what is being rolled back.
        waves: state.waves.map((w) =>
          w.status === "swapping" || w.status === "baking" ? { ...w, status: "failed" } : w,
        ),
      };
    case "rolled-back-distribution":
      return {
        ...base,
        waves: updateDistribution(state, event.distributionId, (d) => ({
          ...d,
          outcome: event.ok ? "rolled-back" : "rollback-failed",
          ...(event.error ? { error: event.error } : {}),
        })),
      };
    case "rolled-back":
      return {
        ...base,
        status: "rolled-back",
        outcome: { reason: state.rollback?.reason, detail: state.rollback?.detail },
      };
    case "aborted":
      return { ...base, status: "aborted", outcome: { reason: event.reason, detail: event.detail } };
    case "promoted":
      return {
        ...base,
        status: "finalizing",
        promoted: { at: event.at, restorable: event.restorable === true },
      };
    case "retired":
      return base;
    case "completed":
      return { ...base, status: "completed" };
    case "failed":
      return { ...base, status: "failed", outcome: { reason: event.reason, detail: event.detail } };
  }
}

export function foldEvents(rotationId: string, events: readonly RotationEvent[]): RotationState {
  return events.reduce(applyEvent, initialState(rotationId));
}

/** Distributions that present (or may present) the new certificate: the ones a rollback must put back. */
export function swappedDistributions(state: RotationState): DistributionState[] {
  return state.waves
    .flatMap((w) => w.distributions)
    .filter((d) => d.outcome === "swapped" || d.outcome === "rollback-failed");
}

/**
 * The rotation id (and durable execution name) for a certificate + serial: duplicate triggers for the same
 * certificate generation converge on one execution. Execution names allow [A-Za-z0-9-_], at most 64.
 */
export function rotationIdFor(
  certificateArn: string,
  serial: string,
  hash: (text: string) => string,
): string {
  const certificateId = certificateArn.split("/").pop() ?? "certificate";
  const safe = certificateId.replace(/[^A-Za-z0-9-]/g, "").slice(0, 36);
  // ACM writes serials as "0a:1b:..", X.509 tools as "0A1B..": both name the same certificate generation.
  const normalizedSerial = serial.replaceAll(":", "").toLowerCase();
  return `rot-${safe}-${hash(`${certificateArn}|${normalizedSerial}`).slice(0, 16)}`;
}

/**
 * Plans larger than this many distributions are not one step's result: their targets and baselines go to the
 * store's distribution items and come back in pages of PLANNED_TARGETS_PAGE (a durable step's result is at
 * most 256 KB; a page of 500 targets is ~40 KB, a 5,000-distribution plan inline ~360 KB).
 */
export const PLAN_INLINE_TARGETS = 500;
/** A preflight attempt's event lists at most this many probes (refused first) and counts the rest. */
export const PREFLIGHT_PROBES_LISTED = 50;
export const PLANNED_TARGETS_PAGE = 500;

/** One planned distribution as the store keeps it: its wave, its place in the wave, its baseline. */
export interface PlannedTarget {
  wave: number;
  position: number;
  distributionId: string;
  originIds: string[];
  baseline: number | null;
}

/** A page of planned targets read back from the store (a step result), and where the next page starts. */
export interface PlannedTargetsPage {
  targets: PlannedTarget[];
  next?: string;
}

/** Every distribution of the plan with its wave, place and baseline, in wave order (what the store keeps). */
export function plannedTargetsOf(state: RotationState): PlannedTarget[] {
  return state.waves.flatMap((wave) =>
    wave.distributions.map((d, position) => ({
      wave: wave.index,
      position,
      distributionId: d.distributionId,
      originIds: d.originIds,
      baseline: state.baselines?.[d.distributionId] ?? null,
    })),
  );
}

/**
 * The form of an event that a step returns (its durable checkpoint): the event itself, except a plan (or a
 * claim's new baselines) over PLAN_INLINE_TARGETS distributions, whose per-distribution part the store
 * keeps (it writes it from the whole event) and the workflow reads back in pages.
 */
export function checkpointForm<E extends RotationEvent>(event: E): E;
export function checkpointForm(event: RotationEvent): RotationEvent {
  if (event.type === "planned") {
    const count = event.waves.reduce((n, w) => n + w.targets.length, 0);
    if (count <= PLAN_INLINE_TARGETS) return event;
    return {
      ...event,
      waves: event.waves.map((w) => ({
        index: w.index,
        canary: w.canary,
        targets: [],
        size: w.targets.length,
      })),
      baselines: {},
      stored: { distributions: count },
    };
  }
  if (event.type === "preflight" && event.probes.length > PREFLIGHT_PROBES_LISTED) {
    const refused = event.probes.filter((p) => !p.accepted);
    return {
      ...event,
      probes: [...refused, ...event.probes.filter((p) => p.accepted)].slice(0, PREFLIGHT_PROBES_LISTED),
      counts: { probes: event.probes.length, refused: refused.length },
    };
  }
  if (event.type === "distributions-claimed" && event.distributionIds.length > PLAN_INLINE_TARGETS) {
    return {
      ...event,
      distributionIds: [],
      baselines: {},
      stored: { distributions: event.distributionIds.length },
    };
  }
  return event;
}

/**
 * A page of a stored plan read back: each target joins its wave (in place) with its baseline; with
 * `baselinesOnly` (a claim's new baselines) only the baselines change. Pure; a target of no planned wave is
 * ignored.
 */
export function applyPlannedTargets(
  state: RotationState,
  page: PlannedTargetsPage,
  options: { baselinesOnly?: boolean } = {},
): RotationState {
  const baselines = { ...state.baselines };
  for (const t of page.targets) baselines[t.distributionId] = t.baseline;
  if (options.baselinesOnly) return { ...state, baselines };
  const byWave = new Map<number, PlannedTarget[]>();
  for (const t of page.targets) {
    const list = byWave.get(t.wave);
    if (list) list.push(t);
    else byWave.set(t.wave, [t]);
  }
  const waves = state.waves.map((wave) => {
    const added = byWave.get(wave.index);
    if (!added) return wave;
    return {
      ...wave,
      distributions: [
        ...wave.distributions,
        ...added.map((t) => ({
          distributionId: t.distributionId,
          originIds: t.originIds,
          outcome: "pending" as const,
        })),
      ],
    };
  });
  return { ...state, baselines, waves };
}

/** Whether every planned distribution is in the state (a stored plan read back whole). */
export function planComplete(state: RotationState): boolean {
  return state.waves.every((w) => w.size === undefined || w.distributions.length >= w.size);
}

/** How many of the wave's distributions have each outcome. */
export function outcomeCounts(wave: Pick<WaveState, "distributions">): Record<DistributionOutcome, number> {
  const counts: Record<DistributionOutcome, number> = {
    pending: 0,
    swapped: 0,
    "rolled-back": 0,
    "rollback-failed": 0,
    "not-presenting": 0,
  };
  for (const d of wave.distributions) counts[d.outcome] += 1;
  return counts;
}

/** Pages of a rotation (GET /rotations/{id}): distributions in plan order, and its newest events. */
export const DEFAULT_DISTRIBUTIONS_PAGE = 100;
export const MAX_DISTRIBUTIONS_PAGE = 1000;
export const DEFAULT_HISTORY_PAGE = 200;
export const MAX_HISTORY_PAGE = 1000;
/** History sequence numbers are 0..MAX_HISTORY_SEQUENCE (six digits in the store's keys). */
export const MAX_HISTORY_SEQUENCE = 999_999;
