/**
 * Rotation settings: one typed object per stage, validated before anything runs. Durations in seconds so
 * they fit the durable runtime's `{ seconds }` and stay JSON-friendly.
 */
import { DEFAULT_GATE_POLICY, type GatePolicy, validateGatePolicy } from "../core/gate.ts";
import { DEFAULT_RENEW_BEFORE, type RenewBefore, validateRenewBefore } from "../core/renewal.ts";
import { DEFAULT_WAVE_POLICY, validateWavePolicy, type WavePolicy } from "../core/waves.ts";

export interface RotationSettings {
  /** Private CA that issues replacements (the "next" CA during a migration). */
  authorityArn: string;
  /** Credential secret name = prefix + ACM certificate id. */
  credentialSecretPrefix: string;
  validityDays: number;
  renewBefore: RenewBefore;
  waves: WavePolicy;
  /** Manual-rollback window after each wave deployed, before its gate. */
  bakeSeconds: number;
  deploy: { timeoutSeconds: number; pollSeconds: number };
  preflight: { timeoutSeconds: number; intervalSeconds: number; probePath: string };
  /**
   * The health gate after each wave's bake (core/gate.ts): thresholds over the pre-rotation baseline, and how
   * it waits for CloudFront's late datapoints (minDatapoints per distribution after the swap deployed, until
   * metricsDeadlineSeconds after the deployment, then onNoData). resolveSettings fills in every field.
   */
  gate: GatePolicy & { baselineWindowSeconds: number };
  approval: { mode: "none" | "between-waves"; timeoutSeconds: number; onTimeout: "rollback" | "proceed" };
  /** After the last wave: how long the retired certificate stays before it is deleted. */
  graceSeconds: number;
  revokeRetired: boolean;
  /** Extra CA certificates trusted for origins' SERVER certificates when probing (private origins). */
  originServerCaPem?: string;
  /**
   * The only distributions this deployment may change (MTLS_ROTATOR_DISTRIBUTION_IDS; IAM is scoped to
   * them). A certificate also presented elsewhere is refused at planning, before anything is issued:
   * swapping only part of its fleet would leave the rest on a certificate that is later deleted.
   */
  distributionIds?: string[];
  /**
   * The longest a rotation may run: the durable execution's timeout. Per-request overrides that could
   * outlast it are refused (the stage's own policy is checked against it at deploy time).
   */
  maxRotationSeconds?: number;
}

export const DEFAULT_SETTINGS: Omit<RotationSettings, "authorityArn"> = {
  credentialSecretPrefix: "mtls-rotator/credentials/",
  validityDays: 90,
  renewBefore: DEFAULT_RENEW_BEFORE,
  waves: DEFAULT_WAVE_POLICY,
  bakeSeconds: 15 * 60,
  deploy: { timeoutSeconds: 30 * 60, pollSeconds: 30 },
  preflight: { timeoutSeconds: 15 * 60, intervalSeconds: 30, probePath: "/" },
  gate: { ...DEFAULT_GATE_POLICY, baselineWindowSeconds: 60 * 60 },
  approval: { mode: "none", timeoutSeconds: 24 * 3600, onTimeout: "rollback" },
  graceSeconds: 24 * 3600,
  revokeRetired: false,
};

export class SettingsError extends Error {
  override name = "SettingsError";
}

const PCA_ARN = /^arn:aws[\w-]*:acm-pca:[a-z0-9-]+:\d{12}:certificate-authority\/[0-9a-f-]{36}$/;

export function resolveSettings(
  input: Partial<RotationSettings> & { authorityArn: string },
): RotationSettings {
  // A field given as `undefined` keeps its default (a config loader's `x: env.X ?? undefined`).
  const given = Object.fromEntries(Object.entries(input).filter(([, value]) => value !== undefined));
  const s = { ...DEFAULT_SETTINGS, ...given } as RotationSettings;
  // The gate field by field: a stage written before a gate field existed gets that field's default.
  if (s.gate && typeof s.gate === "object") {
    const gate = Object.fromEntries(Object.entries(s.gate).filter(([, value]) => value !== undefined));
    s.gate = { ...DEFAULT_SETTINGS.gate, ...gate };
  }
  const problems: string[] = [];
  if (!PCA_ARN.test(s.authorityArn)) problems.push(`authorityArn is not a Private CA ARN: ${s.authorityArn}`);
  if (!/^[A-Za-z0-9/_+=.@-]*$/.test(s.credentialSecretPrefix))
    problems.push("credentialSecretPrefix has characters Secrets Manager refuses");
  if (!Number.isInteger(s.validityDays) || s.validityDays < 1 || s.validityDays > 3650) {
    problems.push(`validityDays must be 1..3650, got ${s.validityDays}`);
  }
  const seconds: Array<[string, number, number]> = [
    ["bakeSeconds", s.bakeSeconds, 0],
    ["deploy.timeoutSeconds", s.deploy.timeoutSeconds, 1],
    ["deploy.pollSeconds", s.deploy.pollSeconds, 1],
    ["preflight.timeoutSeconds", s.preflight.timeoutSeconds, 0],
    ["preflight.intervalSeconds", s.preflight.intervalSeconds, 1],
    ["gate.baselineWindowSeconds", s.gate.baselineWindowSeconds, 60],
    ["approval.timeoutSeconds", s.approval.timeoutSeconds, 1],
    ["graceSeconds", s.graceSeconds, 0],
  ];
  for (const [name, value, min] of seconds) {
    if (!Number.isInteger(value) || value < min || value > 366 * 86_400)
      problems.push(`${name} must be a whole number of seconds >= ${min}, got ${value}`);
  }
  // The workflow compares these literally: a misspelt mode would silently skip approval or proceed on timeout.
  if (s.approval.mode !== "none" && s.approval.mode !== "between-waves")
    problems.push(`approval.mode must be "none" or "between-waves", got ${s.approval.mode}`);
  if (s.approval.onTimeout !== "rollback" && s.approval.onTimeout !== "proceed")
    problems.push(`approval.onTimeout must be "rollback" or "proceed", got ${s.approval.onTimeout}`);
  if (
    s.maxRotationSeconds !== undefined &&
    (!Number.isInteger(s.maxRotationSeconds) || s.maxRotationSeconds < 1)
  )
    problems.push(`maxRotationSeconds must be a whole number of seconds >= 1, got ${s.maxRotationSeconds}`);
  if (s.distributionIds !== undefined) {
    if (!Array.isArray(s.distributionIds) || s.distributionIds.length === 0)
      problems.push("distributionIds must be a non-empty list of CloudFront distribution ids when set");
    else
      for (const id of s.distributionIds)
        if (typeof id !== "string" || !/^[A-Z0-9]{8,20}$/.test(id))
          problems.push(
            `distributionIds has ${JSON.stringify(id)}, which is not a CloudFront distribution id`,
          );
  }
  for (const check of [
    () => validateWavePolicy(s.waves),
    () => validateGatePolicy(s.gate),
    () => validateRenewBefore(s.renewBefore),
  ]) {
    try {
      check();
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length > 0) throw new SettingsError(`invalid rotation settings: ${problems.join("; ")}`);
  return s;
}
