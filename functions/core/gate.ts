/**
 * Health gate for one wave: the CloudFront 5xx error rate of each swapped distribution against its
 * pre-rotation baseline, plus synthetic mTLS probes of the origins with the new certificate. Pure.
 */
import type { GateCheck, GateResult, ProbeResult } from "./rotation.ts";

export interface GatePolicy {
  /** Allowed increase of the 5xx error rate over the baseline, in percentage points. Default 2. */
  maxIncreasePoints?: number;
  /** Error rates at or below this always pass (noise floor), in percent. Default 1. */
  floorPercent?: number;
}

export const DEFAULT_GATE_POLICY: Required<GatePolicy> = { maxIncreasePoints: 2, floorPercent: 1 };

export function validateGatePolicy(policy: GatePolicy): void {
  for (const [name, value] of [
    ["maxIncreasePoints", policy.maxIncreasePoints],
    ["floorPercent", policy.floorPercent],
  ] as const) {
    if (value !== undefined && (!Number.isFinite(value) || value < 0 || value > 100)) {
      throw new RangeError(`gate.${name} must be a percentage from 0 to 100, got ${value}`);
    }
  }
}

export interface GateInput {
  /** Observed 5xx error rate per distribution since its swap deployed; null when there is no datapoint. */
  errorRates: Record<string, number | null>;
  /** Pre-rotation 5xx error rate per distribution; null when there is no datapoint. */
  baselines: Record<string, number | null>;
  probes: ProbeResult[];
  policy?: GatePolicy;
}

export function thresholdFor(baseline: number | null, policy: Required<GatePolicy>): number {
  return Math.max(policy.floorPercent, (baseline ?? 0) + policy.maxIncreasePoints);
}

/**
 * A wave passes when every distribution's error rate is within its threshold (no datapoint counts as no
 * errors seen: the probes cover quiet distributions) and every synthetic probe was accepted.
 */
export function evaluateGate(input: GateInput): GateResult {
  // Field by field: a policy that spells a field as `undefined` gets the default, not a NaN threshold.
  const policy: Required<GatePolicy> = {
    maxIncreasePoints: input.policy?.maxIncreasePoints ?? DEFAULT_GATE_POLICY.maxIncreasePoints,
    floorPercent: input.policy?.floorPercent ?? DEFAULT_GATE_POLICY.floorPercent,
  };
  validateGatePolicy(policy);
  const checks: GateCheck[] = Object.keys(input.errorRates)
    .sort()
    .map((distributionId) => {
      const errorRate = input.errorRates[distributionId] ?? null;
      const baseline = input.baselines[distributionId] ?? null;
      const threshold = thresholdFor(baseline, policy);
      return {
        distributionId,
        errorRate,
        baseline,
        threshold,
        passed: errorRate === null || errorRate <= threshold,
      };
    });
  const passed = checks.every((c) => c.passed) && input.probes.every((p) => p.accepted);
  return { passed, checks, probes: input.probes };
}

/** One line a person can read: which distributions or origins failed and why. */
export function describeGateFailure(result: GateResult): string {
  const parts = [
    ...result.checks
      .filter((c) => !c.passed)
      .map((c) => `${c.distributionId}: 5xx ${c.errorRate?.toFixed(2)}% > ${c.threshold.toFixed(2)}%`),
    ...result.probes
      .filter((p) => !p.accepted)
      .map(
        (p) =>
          `${p.target}: probe ${p.status === null ? `failed (${p.error ?? "no answer"})` : `answered ${p.status}`}`,
      ),
  ];
  return parts.length > 0 ? parts.join("; ") : "gate passed";
}
