/**
 * Wave planning: order the distributions that present the old certificate into waves, canary first.
 * Deterministic: the same targets and policy always give the same plan, whatever the input order.
 */
import { PolicyError } from "./renewal.ts";

/** One distribution to swap, with the origins on it that present the certificate. */
export interface SwapTarget {
  distributionId: string;
  originIds: string[];
}

export type WaveSize = { count: number } | { percent: number };

export interface WavePolicy {
  /** Distributions in the first (canary) wave. Default 1. */
  canarySize?: number;
  /** Sizes of the waves after the canary; whatever is left forms one last wave. Default: [{ percent: 50 }]. */
  waves?: WaveSize[];
  /** Distributions preferred for the canary wave, in order (e.g. the least critical ones). */
  canaryPreference?: string[];
}

export interface Wave {
  /** 0 is the canary. */
  index: number;
  canary: boolean;
  targets: SwapTarget[];
}

export const DEFAULT_WAVE_POLICY: Required<Omit<WavePolicy, "canaryPreference">> = {
  canarySize: 1,
  waves: [{ percent: 50 }],
};

export function validateWavePolicy(policy: WavePolicy): void {
  const canary = policy.canarySize ?? DEFAULT_WAVE_POLICY.canarySize;
  if (!Number.isInteger(canary) || canary < 1) {
    throw new PolicyError(`canarySize must be a whole number >= 1, got ${canary}`);
  }
  for (const [i, size] of (policy.waves ?? []).entries()) {
    if ("count" in size) {
      if (!Number.isInteger(size.count) || size.count < 1) {
        throw new PolicyError(`waves[${i}].count must be a whole number >= 1, got ${size.count}`);
      }
    } else if (!Number.isFinite(size.percent) || size.percent <= 0 || size.percent > 100) {
      throw new PolicyError(`waves[${i}].percent must be > 0 and <= 100, got ${size.percent}`);
    }
  }
}

export function planWaves(targets: readonly SwapTarget[], policy: WavePolicy = {}): Wave[] {
  validateWavePolicy(policy);
  const seen = new Set<string>();
  for (const t of targets) {
    if (seen.has(t.distributionId)) throw new PolicyError(`distribution ${t.distributionId} is listed twice`);
    seen.add(t.distributionId);
  }
  const preference = policy.canaryPreference ?? [];
  const rank = (id: string) => {
    const i = preference.indexOf(id);
    return i === -1 ? preference.length : i;
  };
  const ordered = [...targets]
    .map((t) => ({ ...t, originIds: [...t.originIds].sort() }))
    .sort(
      (a, b) =>
        rank(a.distributionId) - rank(b.distributionId) || compare(a.distributionId, b.distributionId),
    );

  const total = ordered.length;
  const sizes = [policy.canarySize ?? DEFAULT_WAVE_POLICY.canarySize];
  for (const size of policy.waves ?? DEFAULT_WAVE_POLICY.waves) {
    sizes.push("count" in size ? size.count : Math.max(1, Math.ceil((total * size.percent) / 100)));
  }

  const waves: Wave[] = [];
  let next = 0;
  for (const size of sizes) {
    if (next >= total) break;
    waves.push({
      index: waves.length,
      canary: waves.length === 0,
      targets: ordered.slice(next, next + size),
    });
    next += size;
  }
  if (next < total)
    waves.push({ index: waves.length, canary: waves.length === 0, targets: ordered.slice(next) });
  return waves;
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
