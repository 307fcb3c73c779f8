/**
 * Planning a rotation: what the workflow's "plan" step reads (the certificate in service, the distributions
 * presenting it, their waves), the settings a rotation runs with (the stage's, with the request's
 * overrides), and the dry-run plan the API answers without changing anything.
 *
 * Read-only: ACM GetCertificate, CloudFront listings, Private CA GetCertificateAuthorityCertificate. No store
 * write, no lock, no execution, no metrics.
 */
import { X509Certificate } from "node:crypto";
import type { AcmAdapter } from "../adapters/acm.ts";
import type { CloudFrontAdapter } from "../adapters/cloudfront.ts";
import type { PrivateCaAdapter } from "../adapters/private-ca.ts";
import type { RotationSettings } from "../config/settings.ts";
import {
  type CertificateFacts,
  factsOf,
  keyAlgorithmOf,
  type PlannedReplacementKey,
  ReplacementKeyError,
  replacementKeyFor,
} from "../core/certificate.ts";
import { resolveGatePolicy } from "../core/gate.ts";
import { splitPem } from "../core/pem.ts";
import type { DistributionClaim, PlannedCertificate, RotationOverrides } from "../core/rotation.ts";
import { planWaves, type SwapTarget, type Wave, type WavePolicy } from "../core/waves.ts";
import type { TrustTarget } from "../trust/publish-bundle.ts";

/** The settings one rotation runs with: the stage's, with the request's overrides applied. */
export function settingsWithOverrides(
  settings: RotationSettings,
  overrides: RotationOverrides | undefined,
): RotationSettings {
  if (!overrides) return settings;
  return {
    ...settings,
    ...(overrides.waves ? { waves: { ...settings.waves, ...overrides.waves } } : {}),
    ...(overrides.bakeSeconds !== undefined ? { bakeSeconds: overrides.bakeSeconds } : {}),
    ...(overrides.approval ? { approval: { ...settings.approval, mode: overrides.approval } } : {}),
  };
}

/** The certificate is presented by distributions this deployment may not change. */
export class DistributionsNotAllowedError extends Error {
  override name = "DistributionsNotAllowedError";
  readonly retryable = false;
  readonly distributionIds: string[];
  constructor(certificateArn: string, distributionIds: string[]) {
    super(
      `${certificateArn} is also presented by ${distributionIds.join(", ")}, which this deployment may not ` +
        "change (MTLS_ROTATOR_DISTRIBUTION_IDS): add them, or move them to another certificate first",
    );
    this.distributionIds = distributionIds;
  }
}

/**
 * No distribution presents the certificate: a rotation would swap nothing, then delete the certificate
 * after the grace period. Refused, never "completed with zero waves".
 */
export class NotPresentedError extends Error {
  override name = "NotPresentedError";
  readonly retryable = false;
  constructor(certificateArn: string) {
    super(
      `no CloudFront distribution presents ${certificateArn}: a rotation would swap nothing and then delete ` +
        "it; nothing to rotate (attach it to an origin first, or retire it yourself)",
    );
  }
}

export interface PlanReadDeps {
  acm: Pick<AcmAdapter, "getCertificate">;
  distributions: Pick<CloudFrontAdapter, "findDistributionsPresenting">;
  /** The issuing CA's own certificate: its key decides the replacement's. */
  privateCa: Pick<PrivateCaAdapter, "authorityChainPem">;
}

export interface PlanTargetsRequest {
  certificateArn: string;
  /** The Private CA the replacement is issued by (the new one during a CA migration). */
  authorityArn: string;
  wavePolicy: WavePolicy;
  allowedDistributionIds?: readonly string[];
  /** The distributions presenting the certificate, already known (a fresh scan's listing): no listing then. */
  presentedBy?: SwapTarget[];
}

export interface PlannedTargets {
  /** The certificate in service, as the rotation records it. */
  old: PlannedCertificate;
  facts: CertificateFacts;
  /** The replacement's key: it follows the issuing CA's key (replacementKeyFor). */
  replacementKey: PlannedReplacementKey;
  /** Distributions presenting the certificate, with the origins that present it. */
  targets: SwapTarget[];
  waves: Wave[];
}

/**
 * The key algorithm of a CA, read off its own certificate (the first of its chain): the key ACM compares an
 * imported certificate's with. "unreadable" when the certificate or its key does not parse.
 */
export function caKeyAlgorithmOf(authorityChainPem: string): string {
  try {
    return keyAlgorithmOf(new X509Certificate(splitPem(authorityChainPem)[0] ?? ""));
  } catch {
    return "unreadable";
  }
}

/**
 * The certificate in service (read from ACM: its serial, subject and key come from the service, never from
 * the caller), the key its replacement gets from the issuing CA, and the distributions presenting it,
 * ordered into waves. The workflow's plan step and the dry-run plan both start here. Throws
 * ReplacementKeyError when the CA's key leaves no key CloudFront could present, NotPresentedError when no
 * distribution presents the certificate.
 */
export async function planTargets(deps: PlanReadDeps, request: PlanTargetsRequest): Promise<PlannedTargets> {
  const { certificateArn, allowedDistributionIds } = request;
  const [{ certificatePem }, authorityChainPem] = await Promise.all([
    deps.acm.getCertificate(certificateArn),
    deps.privateCa.authorityChainPem(request.authorityArn),
  ]);
  const facts = factsOf(new X509Certificate(certificatePem));
  const choice = replacementKeyFor({
    caKeyAlgorithm: caKeyAlgorithmOf(authorityChainPem),
    inServiceKeyAlgorithm: facts.keyAlgorithm,
  });
  if (choice.keyAlgorithm === undefined) throw new ReplacementKeyError(choice);
  const targets =
    request.presentedBy ?? (await deps.distributions.findDistributionsPresenting(certificateArn));
  if (targets.length === 0) throw new NotPresentedError(certificateArn);
  if (allowedDistributionIds) {
    const outside = targets.map((t) => t.distributionId).filter((id) => !allowedDistributionIds.includes(id));
    if (outside.length > 0) throw new DistributionsNotAllowedError(certificateArn, outside);
  }
  const waves = planWaves(targets, request.wavePolicy);
  return {
    old: {
      arn: certificateArn,
      serial: facts.serial,
      keyAlgorithm: facts.keyAlgorithm,
      subject: facts.subject,
      notAfter: facts.notAfter.toISOString(),
      certificatePem,
    },
    facts,
    replacementKey: choice,
    targets,
    waves,
  };
}

export interface PlanDeps extends PlanReadDeps {
  settings: RotationSettings;
  /** The configured trust targets (only their names are read). */
  trustTargets: ReadonlyArray<Pick<TrustTarget, "name">>;
  /** Which rotation is changing a distribution now (adapters/rotation-reads.ts); absent: not shown. */
  claims?: { distributionHolder(distributionId: string): Promise<string | undefined> };
}

export interface PlanRequest {
  certificateArn: string;
  overrides?: RotationOverrides;
}

/** A rotation as it would run now. Public facts only: no certificate body, no key material. */
export interface RotationPlan {
  certificateArn: string;
  /** Serial of the certificate in service (lowercase hex). */
  serial: string;
  subject: string;
  /** Key algorithm of the replacement (ACM spelling): it follows the issuing CA's key (replacementKeyFor). */
  keyAlgorithm: PlannedReplacementKey["keyAlgorithm"];
  /** Why: the reason code, the issuing CA's key, the key in service, and one line for people. */
  replacementKey: Omit<PlannedReplacementKey, "keyAlgorithm">;
  /** Expiry of the certificate in service. */
  notAfter: string;
  /** The Private CA the replacement would be issued by. */
  issuer: { authorityArn: string };
  /** Where the trust bundle would be published, before anything presents the replacement. */
  trustTargets: string[];
  waves: Array<{ index: number; canary: boolean; distributions: SwapTarget[] }>;
  /** Estimate of how long the rotation would run, in seconds (see expectedDurationSeconds). */
  expectedDurationSeconds: { typical: number; worstCase: number };
  /**
   * Distributions other rotations are changing now: one rotation at a time per distribution, so a rotation
   * started now waits its turn for them before it issues anything (absent: none).
   */
  waitsFor?: DistributionClaim[];
}

/** Holders looked up at once for a plan. */
const HOLDER_LOOKUPS = 8;

/** The distributions of `ids` another rotation is changing now, in id order. */
async function heldDistributions(
  claims: NonNullable<PlanDeps["claims"]>,
  ids: readonly string[],
): Promise<DistributionClaim[]> {
  const sorted = [...new Set(ids)].sort();
  const holders: Array<string | undefined> = new Array(sorted.length);
  let next = 0;
  const worker = async () => {
    while (next < sorted.length) {
      const i = next++;
      holders[i] = await claims.distributionHolder(sorted[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(HOLDER_LOOKUPS, sorted.length) }, worker));
  return sorted.flatMap((distributionId, i) =>
    holders[i] ? [{ distributionId, rotationId: holders[i]! }] : [],
  );
}

/**
 * What a rotation of `request.certificateArn` would do, from read-only calls. Throws what ACM, CloudFront or
 * Private CA throw (ResourceNotFoundException for an unknown certificate), and ReplacementKeyError.
 */
export async function planRotation(deps: PlanDeps, request: PlanRequest): Promise<RotationPlan> {
  const settings = settingsWithOverrides(deps.settings, request.overrides);
  const { old, replacementKey, waves } = await planTargets(deps, {
    certificateArn: request.certificateArn,
    authorityArn: settings.authorityArn,
    wavePolicy: settings.waves,
    allowedDistributionIds: settings.distributionIds,
  });
  const { keyAlgorithm, ...why } = replacementKey;
  const waitsFor = deps.claims
    ? await heldDistributions(
        deps.claims,
        waves.flatMap((w) => w.targets.map((t) => t.distributionId)),
      )
    : [];
  return {
    certificateArn: request.certificateArn,
    serial: old.serial,
    subject: old.subject,
    keyAlgorithm,
    replacementKey: why,
    notAfter: old.notAfter,
    issuer: { authorityArn: settings.authorityArn },
    trustTargets: deps.trustTargets.map((t) => t.name),
    waves: waves.map((w) => ({
      index: w.index,
      canary: w.canary,
      distributions: w.targets.map((t) => ({
        distributionId: t.distributionId,
        originIds: [...t.originIds],
      })),
    })),
    expectedDurationSeconds: expectedDurationSeconds(settings, waves.length),
    ...(waitsFor.length > 0 ? { waitsFor } : {}),
  };
}

/** How long issuing, validating, importing and publishing trust take when nothing needs a retry. */
export const TYPICAL_ISSUE_SECONDS = 60;
/** The same with every step retried to its limit (five attempts, back-off up to a minute). */
export const WORST_ISSUE_SECONDS = 600;
/** How long a CloudFront configuration change usually takes to deploy everywhere. */
export const TYPICAL_DEPLOY_SECONDS = 300;
/**
 * How long after its period CloudWatch usually has CloudFront's datapoint. ASSUMED (AWS documents no
 * publication latency for CloudFront's metrics; the CloudWatch stand-in assumes the same by default).
 */
export const TYPICAL_METRICS_DELAY_SECONDS = 180;

/**
 * From a wave deployed until its gate decides: the bake window, or longer while the gate waits for enough
 * datapoints (typically (minDatapoints + 1) periods plus CloudWatch's delay; at worst until its deadline).
 */
export function afterDeploySeconds(settings: RotationSettings): { typical: number; worstCase: number } {
  const gate = resolveGatePolicy(settings.gate);
  const typicalMetrics = Math.min(
    gate.metricsDeadlineSeconds,
    (gate.minDatapoints + 1) * gate.periodSeconds + TYPICAL_METRICS_DELAY_SECONDS,
  );
  return {
    typical: Math.max(settings.bakeSeconds, typicalMetrics),
    worstCase: Math.max(settings.bakeSeconds, gate.metricsDeadlineSeconds),
  };
}

/**
 * The expected duration of a rotation with `waveCount` waves under `settings`.
 * - typical: issuance without retries, the first preflight accepted, each wave deployed in about five
 *   minutes (whole deploy polls), its bake window (or the gate's typical wait for datapoints, if longer),
 *   approvals given at once, then the grace period;
 * - worstCase: issuance retried to its limits, preflight until its deadline, each wave's deploy until its
 *   timeout, its bake window or the gate's metrics deadline (whichever is later), every approval window
 *   running out, then the grace period.
 * A rollback adds to neither: it ends the rotation early.
 */
/**
 * The longest a rotation can take under `settings` whatever the fleet: the most waves the policy can make
 * (canary, each listed size, a last wave of the rest) at their worst, plus a rollback's deploy wait.
 */
export function worstCaseSeconds(settings: RotationSettings): number {
  const waves = 2 + (settings.waves.waves ?? [{ percent: 50 }]).length;
  return expectedDurationSeconds(settings, waves).worstCase + settings.deploy.timeoutSeconds;
}

export function expectedDurationSeconds(
  settings: RotationSettings,
  waveCount: number,
): { typical: number; worstCase: number } {
  const poll = settings.deploy.pollSeconds;
  const typicalDeploy = Math.min(
    settings.deploy.timeoutSeconds,
    Math.ceil(TYPICAL_DEPLOY_SECONDS / poll) * poll,
  );
  const approvals = settings.approval.mode === "between-waves" ? Math.max(0, waveCount - 1) : 0;
  const grace = Math.max(1, settings.graceSeconds);
  const preflight = waveCount > 0 ? settings.preflight.timeoutSeconds : 0;
  const afterDeploy = afterDeploySeconds(settings);
  return {
    typical: TYPICAL_ISSUE_SECONDS + waveCount * (typicalDeploy + afterDeploy.typical) + grace,
    worstCase:
      WORST_ISSUE_SECONDS +
      preflight +
      waveCount * (settings.deploy.timeoutSeconds + afterDeploy.worstCase) +
      approvals * settings.approval.timeoutSeconds +
      grace,
  };
}
