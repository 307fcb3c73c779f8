/**
 * Per-stage settings, validated when the app is deployed: before any resource is declared, a bad setting
 * stops `sst deploy` with a message naming every problem.
 *
 * Where the values come from (the choice):
 * - Rotation policy (validity, waves, bake, deploy/preflight deadlines, gate, approval, grace, revocation,
 *   workflow timeouts) is in STAGES below: reviewed in code, versioned with the app, the same for everyone
 *   who deploys a stage. Stages without an entry (personal and preview stages) use `default`.
 * - The home region (where everything but the ACM/CloudFront pieces runs) is sst.config.ts's
 *   providers.aws.region: MTLS_ROTATOR_REGION, default DEFAULT_HOME_REGION. It must be a region where AWS
 *   documents Lambda durable functions (DURABLE_FUNCTION_REGIONS in functions/config/stage.ts, with the sources); any other stops
 *   the deploy unless MTLS_ROTATOR_ALLOW_UNLISTED_DURABLE_REGION=1 says the deployer checked AWS's list.
 *   Origin-mTLS certificates (ACM), CloudFront and its metrics stay in us-east-1 whatever the home region.
 * - Account-specific identifiers come from the deploying shell or CI, falling back to STAGES:
 *     MTLS_ROTATOR_AUTHORITY_ARN     the Private CA that issues replacements (required)
 *     MTLS_ROTATOR_NOTIFY_EMAILS     comma-separated addresses subscribed to the notification topic
 *     MTLS_ROTATOR_DISTRIBUTION_IDS  comma-separated CloudFront distribution ids; when set, the workflow may
 *                                    read and update only these (default: every distribution of the account)
 *     MTLS_ROTATOR_PREVIOUS_AUTHORITY_ARNS  comma-separated Private CAs the service is migrating away from:
 *                                    certificates they issued stay managed (tracked, alerted, rotated)
 *     MTLS_ROTATOR_SCAN_SCHEDULE     EventBridge Scheduler expression of the fleet scan (UTC), e.g.
 *                                    "rate(12 hours)"; default STAGES[stage].tracking.schedule, else daily 06:00
 *   Trust targets beyond the bundle object and secret (always published), each optional
 *   (STAGES[stage].trustTargets, or these variables, which replace the stage's list when set):
 *     MTLS_ROTATOR_CLOUDFRONT_TRUST_STORE_IDS  CloudFront viewer-mTLS trust stores (ids) to keep in line
 *     MTLS_ROTATOR_ALB_TRUST_STORE_ARNS        ALB trust stores (ARNs, the service region)
 *     MTLS_ROTATOR_APIGATEWAY_DOMAINS          API Gateway custom domain names with mTLS (the service region)
 *     MTLS_ROTATOR_WEBHOOK_URL                 https:// endpoint of custom origins' signed bundle push, with
 *     MTLS_ROTATOR_WEBHOOK_SECRET_NAME         the Secrets Manager secret holding its HMAC key (never in config)
 *     MTLS_ROTATOR_EVENT_BUS                   EventBridge bus (name or ARN) for TrustBundlePublished events
 *   The viewer revocation list's store (docs/viewer-revocation.md), optional (STAGES[stage].viewerRevocationStoreArn):
 *     MTLS_ROTATOR_VIEWER_REVOCATION_STORE_ARN  the CloudFront KeyValueStore the connection function reads,
 *                                    which POST/DELETE /viewer-revocations write
 * - Expiry tracking is in STAGES[stage].tracking over DEFAULT_TRACKING, among it `caRetirementGraceSeconds`:
 *   how long a CA (the configured one or a previous one) that no managed certificate in service chains to
 *   any more stays in the published trust bundle before the scheduled scan's trust reconciliation removes it
 *   (functions/trust/reconcile.ts). Origins and clients that sync the bundle get that long to catch up, and
 *   a CA briefly unused (a rollback to it) is not dropped at once. 0 retires it on the first scan that finds
 *   it unused. Production keeps 7 days; shorter stages retire sooner so migrations can be tried end to end.
 * - Not `sst.Secret`: none of these values is secret, and a secret's value is only an Output inside the
 *   deploy, so it could neither be checked before resources are declared nor decide which resources to
 *   declare (one email subscription per address, IAM scoped to the CA).
 *
 * Every rule, default and derived value is in functions/config/ (one schema, zod): this file holds only the
 * stage table and hands it, with the environment, to deploySettings (functions/config/stage.ts). The
 * functions parse what infra links to them with the same schemas at cold start, so deploy time and cold
 * start cannot disagree (test/config/agreement.test.ts). This file declares no resources.
 */

import {
  DEFAULT_HOME_REGION,
  type DeploySettings,
  deploySettings,
  type StageSettings,
} from "../functions/config/stage.ts";

export {
  NO_TRUST_TARGETS,
  type TrustTargets as TrustTargetSettings,
  worstCaseSeconds,
} from "../functions/config/settings.ts";
export {
  ALLOW_UNLISTED_DURABLE_REGION,
  DEFAULT_HOME_REGION,
  DEFAULT_TRACKING,
  type DeploySettings,
  DeploySettingsError,
  DURABLE_FUNCTION_REGIONS,
  homeRegionProblems,
  type ScanSchedule,
  type StageSettings,
  scheduleProblem,
  type TrackingSettings,
} from "../functions/config/stage.ts";

const MINUTE = 60;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

export const STAGES: Record<string, StageSettings> & { default: StageSettings } = {
  production: {
    policy: {
      validityDays: 90,
      renewBefore: { fractionOfLifetime: 1 / 3 },
      waves: { canarySize: 1, waves: [{ percent: 25 }, { percent: 50 }] },
      bakeSeconds: 15 * MINUTE,
      deploy: { timeoutSeconds: 30 * MINUTE, pollSeconds: 30 },
      preflight: { timeoutSeconds: 15 * MINUTE, intervalSeconds: 30, probePath: "/" },
      // Five one-minute datapoints per distribution, which with CloudWatch's minutes of delay are there
      // before the 15-minute bake ends; five minutes more for late ones; no data fails the wave.
      gate: {
        maxIncreasePoints: 1,
        floorPercent: 1,
        baselineWindowSeconds: HOUR,
        minDatapoints: 5,
        metricsDeadlineSeconds: 20 * MINUTE,
        periodSeconds: 60,
        onNoData: "fail",
      },
      approval: { mode: "between-waves", timeoutSeconds: DAY, onTimeout: "rollback" },
      graceSeconds: 7 * DAY,
      revokeRetired: true,
    },
    tracking: { caRetirementGraceSeconds: 7 * DAY },
    workflow: { executionTimeoutDays: 30, retentionDays: 90 },
  },
  staging: {
    policy: {
      validityDays: 30,
      renewBefore: { fractionOfLifetime: 1 / 3 },
      waves: { canarySize: 1, waves: [{ percent: 50 }] },
      bakeSeconds: 10 * MINUTE,
      deploy: { timeoutSeconds: 30 * MINUTE, pollSeconds: 30 },
      preflight: { timeoutSeconds: 10 * MINUTE, intervalSeconds: 30, probePath: "/" },
      gate: {
        maxIncreasePoints: 2,
        floorPercent: 1,
        baselineWindowSeconds: HOUR,
        minDatapoints: 5,
        metricsDeadlineSeconds: 15 * MINUTE,
        periodSeconds: 60,
        onNoData: "fail",
      },
      approval: { mode: "none", timeoutSeconds: DAY, onTimeout: "rollback" },
      graceSeconds: DAY,
      revokeRetired: false,
    },
    tracking: { caRetirementGraceSeconds: DAY },
    workflow: { executionTimeoutDays: 14, retentionDays: 30 },
  },
  default: {
    policy: {
      validityDays: 7,
      renewBefore: { fractionOfLifetime: 1 / 3 },
      waves: { canarySize: 1, waves: [{ percent: 100 }] },
      bakeSeconds: 2 * MINUTE,
      deploy: { timeoutSeconds: 30 * MINUTE, pollSeconds: 30 },
      preflight: { timeoutSeconds: 5 * MINUTE, intervalSeconds: 15, probePath: "/" },
      // Short bakes: the gate waits past them for three datapoints (up to 10 minutes after the deployment).
      // A stage without traffic fails closed too: send traffic through it, or set onNoData "pass" here.
      gate: {
        maxIncreasePoints: 2,
        floorPercent: 1,
        baselineWindowSeconds: HOUR,
        minDatapoints: 3,
        metricsDeadlineSeconds: 10 * MINUTE,
        periodSeconds: 60,
        onNoData: "fail",
      },
      approval: { mode: "none", timeoutSeconds: HOUR, onTimeout: "rollback" },
      graceSeconds: HOUR,
      revokeRetired: false,
    },
    tracking: { caRetirementGraceSeconds: HOUR },
    workflow: { executionTimeoutDays: 14, retentionDays: 14 },
  },
};

/** The settings of `stage`, checked; DeploySettingsError lists every problem. */
export function settingsFor(stage: string, env: Record<string, string | undefined>): DeploySettings {
  return deploySettings(stage, env, STAGES);
}

/** The deployed stage's settings (evaluated when infra/ is loaded by sst.config.ts). */
export const settings: DeploySettings = settingsFor($app.stage, {
  ...process.env,
  // The region sst.config.ts deploys to, where region-bound targets (ALB trust stores) must be.
  MTLS_ROTATOR_REGION:
    (($app.providers as Record<string, unknown> | undefined)?.aws as { region?: string } | undefined)
      ?.region ??
    process.env.MTLS_ROTATOR_REGION ??
    DEFAULT_HOME_REGION,
});
