/**
 * Health gate for one wave: the CloudFront 5xx error rate of each swapped distribution against its
 * pre-rotation baseline, plus synthetic mTLS probes of the origins with the new certificate. Pure.
 *
 * CloudFront's metrics reach CloudWatch minutes after the fact, so a distribution without datapoints is not
 * "healthy": it is "not yet known". The gate waits (the workflow polls, with durable waits) until each
 * distribution has `minDatapoints` datapoints counted after its swap deployed, or until `metricsDeadlineSeconds`
 * after the deployment; then a distribution still short of datapoints fails the gate unless the policy says
 * `onNoData: "pass"` (fail closed, as CloudWatch's own guidance treats missing data of a continuously reporting
 * metric behind a rollback alarm as breaching). Evidence of harm needs no quorum: a distribution whose rate
 * is over its threshold fails at once, however few datapoints it has.
 */
import type {
  GateCheck,
  GateCheckReason,
  GateCounts,
  GateResult,
  GateVerdict,
  ProbeResult,
} from "./rotation.ts";

export type { GateCheckReason, GateCounts, GateVerdict };

export interface GatePolicy {
  /** Allowed increase of the 5xx error rate over the baseline, in percentage points. Default 2. */
  maxIncreasePoints?: number;
  /** Error rates at or below this always pass (noise floor), in percent. Default 1. */
  floorPercent?: number;
  /**
   * Datapoints (CloudWatch periods with data) each distribution needs after its swap deployed before its
   * rate is trusted. Whole number >= 1. Default 5 (five minutes of traffic at the default period).
   */
  minDatapoints?: number;
  /**
   * Seconds after the swap deployed until which missing datapoints mean "not yet": the gate keeps waiting
   * (past the bake window if need be) until then. Default 1200 (the default 15-minute bake plus 5 minutes for
   * late datapoints).
   */
  metricsDeadlineSeconds?: number;
  /**
   * CloudWatch period of the datapoints counted, in seconds (and how often the gate looks again). CloudFront
   * publishes one-minute metrics, which CloudWatch serves only at periods of 60 s or multiples: keep 60 in
   * AWS. The sandbox's stand-in edge publishes every second and uses 1. Default 60.
   */
  periodSeconds?: number;
  /**
   * A distribution with fewer than `minDatapoints` datapoints at the deadline: "fail" rolls the wave back
   * (default), "pass" leaves the verdict to its rate (if any) and the probes (for distributions that get too
   * little traffic to publish metrics).
   */
  onNoData?: "fail" | "pass";
}

export const DEFAULT_GATE_POLICY: Required<GatePolicy> = {
  maxIncreasePoints: 2,
  floorPercent: 1,
  minDatapoints: 5,
  metricsDeadlineSeconds: 20 * 60,
  periodSeconds: 60,
  onNoData: "fail",
};

/** The most polls one wave's gate may take (periods until the deadline): keeps an execution's operations bounded. */
export const MAX_GATE_POLLS = 240;

/** Periods CloudWatch's GetMetricData accepts (MetricStat.Period): 1, 5, 10, 30 or a multiple of 60. */
export function isCloudWatchPeriod(seconds: number): boolean {
  return Number.isInteger(seconds) && seconds > 0 && (seconds % 60 === 0 || [1, 5, 10, 30].includes(seconds));
}

/** The policy with every field given: a field spelt as `undefined` gets its default, not a NaN threshold. */
export function resolveGatePolicy(policy: GatePolicy = {}): Required<GatePolicy> {
  return {
    maxIncreasePoints: policy.maxIncreasePoints ?? DEFAULT_GATE_POLICY.maxIncreasePoints,
    floorPercent: policy.floorPercent ?? DEFAULT_GATE_POLICY.floorPercent,
    minDatapoints: policy.minDatapoints ?? DEFAULT_GATE_POLICY.minDatapoints,
    metricsDeadlineSeconds: policy.metricsDeadlineSeconds ?? DEFAULT_GATE_POLICY.metricsDeadlineSeconds,
    periodSeconds: policy.periodSeconds ?? DEFAULT_GATE_POLICY.periodSeconds,
    onNoData: policy.onNoData ?? DEFAULT_GATE_POLICY.onNoData,
  };
}

/** Every problem of the policy, one message each (empty when it is valid). */
export function gatePolicyProblems(policy: GatePolicy): string[] {
  const problems = fieldProblems(policy);
  return problems.length > 0 ? problems : relationProblems(resolveGatePolicy(policy));
}

/** Each given field on its own. */
function fieldProblems(policy: GatePolicy): string[] {
  const problems: string[] = [];
  for (const [name, value] of [
    ["maxIncreasePoints", policy.maxIncreasePoints],
    ["floorPercent", policy.floorPercent],
  ] as const) {
    if (value !== undefined && (!Number.isFinite(value) || value < 0 || value > 100)) {
      problems.push(`gate.${name} must be a percentage from 0 to 100, got ${value}`);
    }
  }
  const { minDatapoints, metricsDeadlineSeconds, periodSeconds, onNoData } = policy;
  if (minDatapoints !== undefined && (!Number.isInteger(minDatapoints) || minDatapoints < 1)) {
    problems.push(`gate.minDatapoints must be a whole number >= 1, got ${minDatapoints}`);
  }
  if (periodSeconds !== undefined && !isCloudWatchPeriod(periodSeconds)) {
    problems.push(
      `gate.periodSeconds must be 1, 5, 10, 30 or a multiple of 60 (CloudWatch periods), got ${periodSeconds}`,
    );
  }
  if (
    metricsDeadlineSeconds !== undefined &&
    (!Number.isInteger(metricsDeadlineSeconds) || metricsDeadlineSeconds < 0)
  ) {
    problems.push(
      `gate.metricsDeadlineSeconds must be a whole number of seconds >= 0, got ${metricsDeadlineSeconds}`,
    );
  }
  if (onNoData !== undefined && onNoData !== "fail" && onNoData !== "pass") {
    problems.push(`gate.onNoData must be "fail" or "pass", got ${String(onNoData)}`);
  }
  return problems;
}

/** Settings that are valid field by field but cannot work together (defaults filled in). */
function relationProblems(p: Required<GatePolicy>): string[] {
  const problems: string[] = [];
  if (p.metricsDeadlineSeconds > MAX_GATE_POLLS * p.periodSeconds) {
    problems.push(
      `gate.metricsDeadlineSeconds (${p.metricsDeadlineSeconds}) is more than ${MAX_GATE_POLLS} periods of ` +
        `gate.periodSeconds (${p.periodSeconds}): the gate would poll too often`,
    );
  }
  // The first whole period after a deployment starts up to one period later.
  const needed = (p.minDatapoints + 1) * p.periodSeconds;
  if (p.onNoData === "fail" && p.metricsDeadlineSeconds < needed) {
    problems.push(
      `gate.metricsDeadlineSeconds (${p.metricsDeadlineSeconds}) is shorter than ${needed} s, the time ` +
        `${p.minDatapoints} datapoint(s) of ${p.periodSeconds} s need after a deployment: with onNoData "fail" ` +
        "every gate would fail",
    );
  }
  return problems;
}

export function validateGatePolicy(policy: GatePolicy): void {
  const problems = gatePolicyProblems(policy);
  if (problems.length > 0) throw new RangeError(problems.join("; "));
}

/** What CloudWatch has for one distribution since its swap deployed (whole periods after it only). */
export interface MetricsReading {
  /** Mean of the per-period average 5xx error rates (percent); null without datapoints. */
  errorRate: number | null;
  /** Periods with a datapoint. */
  datapoints: number;
}

export interface GateInput {
  /** Per swapped distribution: its 5xx datapoints counted after its swap deployed. */
  metrics: Record<string, MetricsReading>;
  /** Pre-rotation 5xx error rate per distribution; null when there is no datapoint. */
  baselines: Record<string, number | null>;
  probes: ProbeResult[];
  /** Seconds from the swap deployed to the metrics reading (the deadline counts from the deployment). */
  elapsedSeconds: number;
  policy?: GatePolicy;
}

export function thresholdFor(
  baseline: number | null,
  policy: Pick<Required<GatePolicy>, "floorPercent" | "maxIncreasePoints">,
): number {
  return Math.max(policy.floorPercent, (baseline ?? 0) + policy.maxIncreasePoints);
}

/**
 * The gate's verdict on one metrics reading plus the probes: "waiting" while a distribution has too few
 * datapoints and the deadline has not passed (look again later), "failed" as soon as a distribution is over
 * its threshold, is short of datapoints at the deadline (unless onNoData is "pass") or a probe was refused,
 * otherwise "passed".
 */
export function evaluateGate(input: GateInput): GateResult {
  const policy = resolveGatePolicy(input.policy);
  // Field by field only: a deadline too short for minDatapoints is a settings problem, not an evaluation one.
  const problems = fieldProblems(policy);
  if (problems.length > 0) throw new RangeError(problems.join("; "));
  const deadlinePassed = input.elapsedSeconds >= policy.metricsDeadlineSeconds;
  const checks: GateCheck[] = Object.keys(input.metrics)
    .sort()
    .map((distributionId) => {
      const reading = input.metrics[distributionId];
      const datapoints = reading?.datapoints ?? 0;
      const errorRate = datapoints > 0 ? (reading?.errorRate ?? null) : null;
      const baseline = input.baselines[distributionId] ?? null;
      const threshold = thresholdFor(baseline, policy);
      const reason: GateCheckReason =
        errorRate !== null && errorRate > threshold
          ? "OverThreshold"
          : datapoints >= policy.minDatapoints
            ? "WithinThreshold"
            : !deadlinePassed
              ? "AwaitingDatapoints"
              : policy.onNoData === "pass"
                ? "TooFewDatapointsAllowed"
                : "TooFewDatapoints";
      return {
        distributionId,
        errorRate,
        baseline,
        threshold,
        datapoints,
        reason,
        passed: reason === "WithinThreshold" || reason === "TooFewDatapointsAllowed",
      };
    });
  const failed =
    checks.some((c) => c.reason === "OverThreshold" || c.reason === "TooFewDatapoints") ||
    input.probes.some((p) => !p.accepted);
  const verdict: GateVerdict = failed
    ? "failed"
    : checks.some((c) => c.reason === "AwaitingDatapoints")
      ? "waiting"
      : "passed";
  return {
    passed: verdict === "passed",
    verdict,
    checks,
    probes: input.probes,
    metrics: {
      minDatapoints: policy.minDatapoints,
      deadlineSeconds: policy.metricsDeadlineSeconds,
      periodSeconds: policy.periodSeconds,
      elapsedSeconds: Math.round(input.elapsedSeconds),
    },
  };
}

/**
 * How many checks and probes a recorded gate names at most: a wave may hold thousands of distributions, and
 * its gate is a step result (durable checkpoint, 256 KB) and an event; the rest are counted (`counts`).
 */
export const GATE_NAMED_ITEMS = 20;

/** A check's outcome in the order a bounded result names them: failures first, then waiting, then passes. */
const CHECK_ORDER: Record<GateCheckReason, number> = {
  OverThreshold: 0,
  TooFewDatapoints: 1,
  AwaitingDatapoints: 2,
  TooFewDatapointsAllowed: 3,
  WithinThreshold: 4,
};

function reasonOf(check: GateCheck): GateCheckReason {
  return check.reason ?? (check.passed ? "WithinThreshold" : "OverThreshold");
}

/** How close to its threshold a check's rate is (0 without a rate). */
function closeness(check: GateCheck): number {
  return check.errorRate === null ? 0 : check.errorRate / Math.max(check.threshold, 1e-9);
}

/**
 * The counts of a gate result: recorded ones, or for an older record (whole lists, no counts) counted from
 * its lists.
 */
export function gateCounts(result: GateResult): GateCounts {
  if (result.counts) return result.counts;
  const byReason: Partial<Record<GateCheckReason, number>> = {};
  for (const check of result.checks) byReason[reasonOf(check)] = (byReason[reasonOf(check)] ?? 0) + 1;
  return {
    checks: result.checks.length,
    checksPassed: result.checks.filter((c) => c.passed).length,
    byReason,
    probes: result.probes.length,
    probesRefused: result.probes.filter((p) => !p.accepted).length,
  };
}

/**
 * The result with its lists cut to the first `limit` entries (failing checks first — the most over their
 * threshold first —, then those still waiting, then passing ones closest to their threshold; refused probes
 * first) and every entry counted in `counts`, so its size does not grow with the wave. A result already
 * bounded keeps its counts (its lists are no longer whole).
 */
export function boundGateResult(result: GateResult, limit = GATE_NAMED_ITEMS): GateResult {
  const counts = gateCounts(result);
  const checks = [...result.checks]
    .sort(
      (a, b) =>
        CHECK_ORDER[reasonOf(a)] - CHECK_ORDER[reasonOf(b)] ||
        closeness(b) - closeness(a) ||
        a.distributionId.localeCompare(b.distributionId),
    )
    .slice(0, limit);
  const probes = [...result.probes]
    .sort((a, b) => Number(a.accepted) - Number(b.accepted) || a.target.localeCompare(b.target))
    .slice(0, limit);
  return { ...result, checks, probes, counts };
}

/**
 * A wave's gate: the metrics verdict its last poll reached (a bounded result judged without probes) together
 * with the probes' results, bounded. Failed when the metrics failed or any probe was refused.
 */
export function judgeGate(metrics: GateResult, probes: ProbeResult[], limit = GATE_NAMED_ITEMS): GateResult {
  const verdict: GateVerdict =
    metrics.verdict === "failed" || probes.some((p) => !p.accepted)
      ? "failed"
      : (metrics.verdict ?? (metrics.passed ? "passed" : "failed"));
  const counts: GateCounts = {
    ...gateCounts(metrics),
    probes: probes.length,
    probesRefused: probes.filter((p) => !p.accepted).length,
  };
  return boundGateResult({ ...metrics, probes, passed: verdict === "passed", verdict, counts }, limit);
}

/** One line a person can read: which distributions or origins failed and why (the first ones, and how many). */
export function describeGateFailure(result: GateResult): string {
  const counts = gateCounts(result);
  const within = result.metrics ? ` within ${result.metrics.deadlineSeconds} s of its swap deploying` : "";
  const needed = result.metrics?.minDatapoints;
  const failedChecks = result.checks.filter((c) => !c.passed);
  const refusedProbes = result.probes.filter((p) => !p.accepted);
  const failedCount = counts.checks - counts.checksPassed;
  const parts = [
    ...failedChecks.map((c) => {
      switch (c.reason) {
        case "TooFewDatapoints":
          return (c.datapoints ?? 0) === 0
            ? `no 5xx datapoints for ${c.distributionId}${within}`
            : `only ${c.datapoints} of ${needed ?? "the needed"} 5xx datapoints for ${c.distributionId}${within}`;
        case "AwaitingDatapoints":
          return `${c.distributionId}: still waiting for 5xx datapoints (${c.datapoints ?? 0} of ${needed ?? "?"})`;
        default:
          return `${c.distributionId}: 5xx ${c.errorRate?.toFixed(2)}% > ${c.threshold.toFixed(2)}%`;
      }
    }),
    ...refusedProbes.map(
      (p) =>
        `${p.target}: probe ${p.status === null ? `failed (${p.error ?? "no answer"})` : `answered ${p.status}`}`,
    ),
  ];
  if (parts.length === 0) return "gate passed";
  // A bounded result names the first ones only: say how many there are in all.
  const cut = failedCount > failedChecks.length || counts.probesRefused > refusedProbes.length;
  if (!cut) return parts.join("; ");
  const reasons = (
    [
      ["OverThreshold", "over threshold"],
      ["TooFewDatapoints", "too few 5xx datapoints"],
      ["AwaitingDatapoints", "still waiting for datapoints"],
    ] as const
  )
    .filter(([reason]) => (counts.byReason[reason] ?? 0) > 0)
    .map(([reason, words]) => `${counts.byReason[reason]} ${words}`);
  return `${parts.join("; ")}; in all, of ${counts.checks} distribution(s): ${reasons.join(", ") || "none failed"}; ${counts.probesRefused} of ${counts.probes} probe(s) refused`;
}
