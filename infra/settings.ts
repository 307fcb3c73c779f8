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
 *   documents Lambda durable functions (DURABLE_FUNCTION_REGIONS below, with the sources); any other stops
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
 * The rotation part is handed to the workflow (linked as RotationSettings) and checked once more at cold
 * start by resolveSettings (functions/workflow/settings.ts), the rules this file mirrors; a test keeps every
 * stage below acceptable to it. This file declares no resources, so it can be loaded without SST.
 */

export type WaveSize = { count: number } | { percent: number };

/** The rotation settings the workflow runs with (the input of resolveSettings). */
export interface RotationPolicy {
  validityDays: number;
  renewBefore: { fractionOfLifetime: number } | { durationMs: number };
  waves: { canarySize: number; waves: WaveSize[]; canaryPreference?: string[] };
  bakeSeconds: number;
  deploy: { timeoutSeconds: number; pollSeconds: number };
  preflight: { timeoutSeconds: number; intervalSeconds: number; probePath: string };
  /**
   * The health gate after each wave's bake (functions/core/gate.ts). CloudFront's metrics reach CloudWatch
   * minutes late, so the gate waits for `minDatapoints` datapoints of `periodSeconds` per swapped
   * distribution after its swap deployed, until `metricsDeadlineSeconds` after the deployment (past the bake
   * if need be); a distribution still short of them then fails the wave (`onNoData: "fail"`), or is judged
   * on its probes alone (`"pass"`, for distributions with too little traffic to publish metrics).
   */
  gate: {
    maxIncreasePoints: number;
    floorPercent: number;
    baselineWindowSeconds: number;
    minDatapoints: number;
    metricsDeadlineSeconds: number;
    /** CloudFront publishes one-minute metrics: 60 or a multiple (CloudWatch serves no shorter period). */
    periodSeconds: number;
    onNoData: "fail" | "pass";
  };
  approval: { mode: "none" | "between-waves"; timeoutSeconds: number; onTimeout: "rollback" | "proceed" };
  graceSeconds: number;
  revokeRetired: boolean;
}

/** An EventBridge Scheduler expression (one-time `at(...)` schedules make no sense for a fleet scan). */
export type ScanSchedule = `rate(${string})` | `cron(${string})`;

/** Expiry tracking (infra/tracking.ts): the scan's schedule, alert thresholds, CAs still managed. */
export interface TrackingSettings {
  /** When the fleet scan runs (UTC). */
  schedule: ScanSchedule;
  /** Days before expiry at which a managed certificate is alerted, once each; largest first. */
  thresholdsDays: number[];
  /** Private CAs being migrated away from: certificates they issued still count as managed. */
  previousAuthorityArns: string[];
  /**
   * Seconds a CA stays in the published trust bundle after the last managed certificate in service stopped
   * chaining to it; then the scheduled scan removes it from every target. Whole seconds, 0..366 days
   * (0: removed by the first scan that finds it unused). The clock survives between scans (inventory).
   */
  caRetirementGraceSeconds: number;
}

export const DEFAULT_TRACKING: TrackingSettings = {
  schedule: "cron(0 6 * * ? *)",
  thresholdsDays: [30, 14, 7, 1],
  previousAuthorityArns: [],
  caRetirementGraceSeconds: 7 * 24 * 60 * 60,
};

/**
 * Where the trust bundle goes besides the bundle object and secret. Each target has its own object in the
 * bundle bucket where the service reads it from S3 (trust/targets/...), so no two share a version history.
 */
export interface TrustTargetSettings {
  /** CloudFront viewer-mTLS trust stores (ids): at most 25 CAs / 64 KB, checked before anything is written. */
  cloudFrontTrustStoreIds: string[];
  /** ALB (ELBv2) trust stores, by ARN, in the service region. */
  albTrustStoreArns: string[];
  /** API Gateway custom domain names with mutual TLS, in the service region. */
  apiGatewayDomainNames: string[];
  /** A signed (HMAC, timestamped) push of the bundle to custom origins; the key lives in Secrets Manager. */
  webhook?: { url: string; secretName: string };
  /** Bus (name or ARN) that receives a TrustBundlePublished event (bundle SHA-256 and version, no PEM). */
  eventBus?: string;
}

export const NO_TRUST_TARGETS: TrustTargetSettings = {
  cloudFrontTrustStoreIds: [],
  albTrustStoreArns: [],
  apiGatewayDomainNames: [],
};

export interface StageSettings {
  policy: RotationPolicy;
  /** Optional trust targets (see TrustTargetSettings). */
  trustTargets?: Partial<TrustTargetSettings>;
  authorityArn?: string;
  notifyEmails?: string[];
  distributionIds?: string[];
  /** Overrides of DEFAULT_TRACKING. */
  tracking?: Partial<TrackingSettings>;
  /**
   * Durable execution (the function's DurableConfig): longest a rotation may run, and how long Lambda keeps
   * an execution's history after it closes. Both are always set explicitly, so no default applies:
   * - ExecutionTimeout: 1..31,622,400 seconds (a 366-day year), required by CloudFormation
   *   (AWS::Lambda::Function DurableConfig; SAM DurableConfig docs). SST's Workflow defaults it to 14 days.
   * - RetentionPeriodInDays: 1..90 days (Lambda API reference, DurableConfig). AWS's default is 14 days
   *   ("The default is 14 days", SAM DurableConfig; CDK DurableConfig retentionPeriod default
   *   Duration.days(14)); SST's Workflow/Function `retention` defaults to "30 days" instead (SST 4.17.1
   *   platform/src/components/aws/function.ts). One Lambda guide page says 1..365 days: the API reference,
   *   CloudFormation and SAM all say 90, which is what is checked here.
   */
  workflow: { executionTimeoutDays: number; retentionDays: number };
}

export interface DeploySettings {
  stage: string;
  /** The home region (providers.aws.region): checked against DURABLE_FUNCTION_REGIONS. */
  region: string;
  /** What the workflow receives (RotationSettings). */
  rotation: RotationPolicy & {
    authorityArn: string;
    credentialSecretPrefix: string;
    distributionIds?: string[];
    maxRotationSeconds: number;
  };
  trust: { bucketKey: string; bundleSecretName: string; targets: TrustTargetSettings };
  notifications: { emails: string[] };
  cloudfront: { distributionIds?: string[] };
  workflow: StageSettings["workflow"];
  tracking: TrackingSettings;
}

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

export class DeploySettingsError extends Error {
  override name = "DeploySettingsError";
  readonly problems: string[];
  constructor(stage: string, problems: string[]) {
    super(
      `mtls-rotator settings for stage "${stage}" are invalid (infra/settings.ts):\n  - ${problems.join("\n  - ")}`,
    );
    this.problems = problems;
  }
}

/**
 * Regions where AWS's documentation confirms Lambda durable functions, which the rotation workflow
 * (sst.aws.Workflow) is. Sources found (newest material searched: late September 2026):
 * - AWS News Blog, "Build multi-step applications and AI workflows with AWS Lambda durable functions",
 *   2025-12-02, https://aws.amazon.com/blogs/aws/build-multi-step-applications-and-ai-workflows-with-aws-lambda-durable-functions/
 *   "Lambda durable functions are now available in US East (Ohio) AWS Region. For the latest Region
 *   availability, visit the AWS Capabilities by Region page." (launch: us-east-2 only)
 * - Pulumi AWS provider docs, lambda.Function durableConfig (pulumi-aws 7.x): "durableConfig may only be
 *   available in limited regions, including us-east-2."
 * - AWS What's New, December 2025, https://aws.amazon.com/about-aws/whats-new/2025/12/lambda-durable-functions-14-additional-regions/
 *   and 2026-04-22, https://aws.amazon.com/about-aws/whats-new/2026/04/lambda-durable-functions-16-new-regions/
 *   "AWS Lambda durable functions are now available in 16 additional AWS Regions"; an AWS engineer on
 *   github.com/aws/aws-lambda-roadmap/issues/80 (2026-04-23): "With the latest expansion, we are now in 31
 *   AWS regions". September 2026: "AWS Lambda durable functions are now available in AWS European
 *   Sovereign Cloud region" (https://aws.amazon.com/about-aws/whats-new/2026/09/durablefunctions-european-sovereign-cloud/).
 *   The region lists of these posts could not be read from here (only their titles and links), so no
 *   region is added on their strength.
 * - us-east-1 is not confirmed by any AWS documentation read: the only mention is an AWS maintainer's
 *   pull-request comment (github.com/aws/aws-lambda-dotnet/pull/2434, 2026-06-22) that the .NET durable
 *   runtime is "deployed to at least us-east-1". Hence DEFAULT_HOME_REGION is us-east-2, not us-east-1.
 * To add a region: quote AWS's page naming it here. Until then a deployer who has checked AWS's
 * "Capabilities by Region" page may deploy elsewhere with MTLS_ROTATOR_ALLOW_UNLISTED_DURABLE_REGION=1.
 */
export const DURABLE_FUNCTION_REGIONS: readonly string[] = ["us-east-2"];

/** The home region when MTLS_ROTATOR_REGION is not set (sst.config.ts spells the same value). */
export const DEFAULT_HOME_REGION = "us-east-2";

/** Set to 1 to deploy to a home region not in DURABLE_FUNCTION_REGIONS (after checking AWS's own list). */
export const ALLOW_UNLISTED_DURABLE_REGION = "MTLS_ROTATOR_ALLOW_UNLISTED_DURABLE_REGION";

const REGION_NAME = /^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$/;

/** Problems of the home region: its form, and whether AWS documents durable functions there. */
export function homeRegionProblems(region: string, env: Record<string, string | undefined>): string[] {
  const override = env[ALLOW_UNLISTED_DURABLE_REGION]?.trim() ?? "";
  if (override !== "" && override !== "1")
    return [`${ALLOW_UNLISTED_DURABLE_REGION} must be 1 (or unset), got ${JSON.stringify(override)}`];
  if (!REGION_NAME.test(region))
    return [`home region ${JSON.stringify(region)} (MTLS_ROTATOR_REGION) is not an AWS region name`];
  if (DURABLE_FUNCTION_REGIONS.includes(region) || override === "1") return [];
  return [
    `home region ${region} (MTLS_ROTATOR_REGION): the rotation workflow is a Lambda durable function, and` +
      ` AWS's documentation checked for this project names durable functions only in` +
      ` ${DURABLE_FUNCTION_REGIONS.join(", ")} (infra/settings.ts DURABLE_FUNCTION_REGIONS). Deploy to` +
      ` ${DURABLE_FUNCTION_REGIONS.join(" or ")}, or confirm on AWS's Capabilities by Region page that` +
      ` durable functions exist in ${region} and set ${ALLOW_UNLISTED_DURABLE_REGION}=1` +
      " (ACM certificates and CloudFront stay in us-east-1 either way)",
  ];
}

const PCA_ARN = /^arn:aws[\w-]*:acm-pca:[a-z0-9-]+:\d{12}:certificate-authority\/[0-9a-f-]{36}$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]+$/;
const EMAIL = /^[^\s@,;]+@[^\s@,;]+\.[^\s@,;]+$/;
const DISTRIBUTION_ID = /^[A-Z0-9]{8,20}$/;
/** resolveSettings' ceiling for any duration. */
const MAX_SECONDS = 366 * DAY;

function list(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/** The settings of `stage`, checked; DeploySettingsError lists every problem. */
export function settingsFor(stage: string, env: Record<string, string | undefined>): DeploySettings {
  const base = STAGES[stage] ?? STAGES.default;
  const policy = base.policy;
  const problems: string[] = [];

  const authorityArn = env.MTLS_ROTATOR_AUTHORITY_ARN?.trim() || base.authorityArn || "";
  if (!authorityArn) {
    problems.push(
      "no Private CA: set MTLS_ROTATOR_AUTHORITY_ARN=arn:aws:acm-pca:<region>:<account>:certificate-authority/<id>" +
        ` (or authorityArn in STAGES["${stage}"])`,
    );
  } else if (!PCA_ARN.test(authorityArn)) {
    problems.push(`MTLS_ROTATOR_AUTHORITY_ARN is not a Private CA ARN: ${authorityArn}`);
  }

  const emails = list(env.MTLS_ROTATOR_NOTIFY_EMAILS) ?? base.notifyEmails ?? [];
  for (const email of emails) {
    if (!EMAIL.test(email)) problems.push(`notification email ${JSON.stringify(email)} is not an address`);
  }
  const distributionIds = list(env.MTLS_ROTATOR_DISTRIBUTION_IDS) ?? base.distributionIds;
  for (const id of distributionIds ?? []) {
    if (!DISTRIBUTION_ID.test(id)) problems.push(`${JSON.stringify(id)} is not a CloudFront distribution id`);
  }

  const trackingBase = { ...DEFAULT_TRACKING, ...base.tracking };
  const schedule = env.MTLS_ROTATOR_SCAN_SCHEDULE?.trim() || trackingBase.schedule;
  const previousAuthorityArns = [
    ...new Set(list(env.MTLS_ROTATOR_PREVIOUS_AUTHORITY_ARNS) ?? trackingBase.previousAuthorityArns),
  ].filter((arn) => arn !== authorityArn);
  const tracking: TrackingSettings = {
    schedule: schedule as ScanSchedule,
    thresholdsDays: [...new Set(trackingBase.thresholdsDays)].sort((a, b) => b - a),
    previousAuthorityArns,
    caRetirementGraceSeconds: trackingBase.caRetirementGraceSeconds,
  };

  const targets = trustTargetsOf(base.trustTargets, env);
  // sst.config.ts deploys to the same region (its providers.aws.region).
  const homeRegion = env.MTLS_ROTATOR_REGION?.trim() || DEFAULT_HOME_REGION;
  problems.push(
    ...homeRegionProblems(homeRegion, env),
    ...policyProblems(policy),
    ...workflowProblems(policy, base.workflow),
    ...trackingProblems(tracking),
    ...trustTargetProblems(targets, homeRegion),
  );
  const credentialSecretPrefix = `mtls-rotator/${stage}/credentials/`;
  const bundleSecretName = `mtls-rotator/${stage}/trust/origin-client-ca`;
  for (const [name, value] of [
    ["credential secret prefix", credentialSecretPrefix],
    ["bundle secret name", bundleSecretName],
  ]) {
    if (!SECRET_NAME.test(value!)) problems.push(`${name} ${value} has characters Secrets Manager refuses`);
  }

  if (problems.length > 0) throw new DeploySettingsError(stage, problems);
  return {
    stage,
    region: homeRegion,
    rotation: {
      ...policy,
      authorityArn,
      credentialSecretPrefix,
      // The workflow refuses certificates also presented elsewhere (IAM lets it change only these).
      ...(distributionIds ? { distributionIds: [...new Set(distributionIds)] } : {}),
      // The API refuses per-request overrides a rotation could outlast the execution with.
      maxRotationSeconds: base.workflow.executionTimeoutDays * DAY,
    },
    trust: { bucketKey: "trust/origin-client-ca.pem", bundleSecretName, targets },
    notifications: { emails: [...new Set(emails.map((e) => e.toLowerCase()))] },
    cloudfront: distributionIds ? { distributionIds: [...new Set(distributionIds)] } : {},
    workflow: base.workflow,
    tracking,
  };
}

/** The stage's trust targets with the deploying shell's variables over them. */
function trustTargetsOf(
  base: Partial<TrustTargetSettings> | undefined,
  env: Record<string, string | undefined>,
): TrustTargetSettings {
  const stage = { ...NO_TRUST_TARGETS, ...base };
  const url = env.MTLS_ROTATOR_WEBHOOK_URL?.trim();
  const secretName = env.MTLS_ROTATOR_WEBHOOK_SECRET_NAME?.trim();
  const webhook =
    url || secretName
      ? { url: url ?? stage.webhook?.url ?? "", secretName: secretName ?? stage.webhook?.secretName ?? "" }
      : stage.webhook;
  const eventBus = env.MTLS_ROTATOR_EVENT_BUS?.trim() || stage.eventBus;
  return {
    cloudFrontTrustStoreIds: [
      ...new Set(list(env.MTLS_ROTATOR_CLOUDFRONT_TRUST_STORE_IDS) ?? stage.cloudFrontTrustStoreIds),
    ],
    albTrustStoreArns: [...new Set(list(env.MTLS_ROTATOR_ALB_TRUST_STORE_ARNS) ?? stage.albTrustStoreArns)],
    apiGatewayDomainNames: [
      ...new Set(
        (list(env.MTLS_ROTATOR_APIGATEWAY_DOMAINS) ?? stage.apiGatewayDomainNames).map((d) =>
          d.toLowerCase(),
        ),
      ),
    ],
    ...(webhook ? { webhook } : {}),
    ...(eventBus ? { eventBus } : {}),
  };
}

/** CloudFront trust store ids: 1..64 characters (UpdateTrustStore's constraint), letters and digits. */
export const CLOUDFRONT_TRUST_STORE_ID = /^[A-Za-z0-9_-]{1,64}$/;
export const ALB_TRUST_STORE_ARN =
  /^arn:aws[\w-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:truststore\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/;
export const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
/** PutEvents' EventBusName as AWS's model allows it (NonPartnerEventBusNameOrArn: no "/", no partner buses). */
export const EVENT_BUS =
  /^([A-Za-z0-9._-]{1,256}|arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:\d{12}:event-bus\/[A-Za-z0-9._-]{1,256})$/;

/** The region of an ALB trust store ARN (they must be where the service runs: one ELBv2 client). */
export function regionOfTrustStore(arn: string): string | undefined {
  return arn.split(":")[3];
}

function trustTargetProblems(t: TrustTargetSettings, region: string): string[] {
  const problems: string[] = [];
  for (const id of t.cloudFrontTrustStoreIds) {
    if (!CLOUDFRONT_TRUST_STORE_ID.test(id))
      problems.push(`CloudFront trust store id ${JSON.stringify(id)} is not a trust store id`);
  }
  // CloudFront allows 20 trust stores per account.
  if (t.cloudFrontTrustStoreIds.length > 20)
    problems.push(
      `at most 20 CloudFront trust stores (an account's quota), got ${t.cloudFrontTrustStoreIds.length}`,
    );
  for (const arn of t.albTrustStoreArns) {
    if (!ALB_TRUST_STORE_ARN.test(arn)) {
      problems.push(
        `ALB trust store ${JSON.stringify(arn)} is not a trust store ARN (arn:aws:elasticloadbalancing:<region>:<account>:truststore/<name>/<id>)`,
      );
    } else if (regionOfTrustStore(arn) !== region) {
      problems.push(
        `ALB trust store ${arn} is in ${regionOfTrustStore(arn)}, not in the service region ${region} (MTLS_ROTATOR_REGION)`,
      );
    }
  }
  for (const domain of t.apiGatewayDomainNames) {
    if (!DOMAIN_NAME.test(domain))
      problems.push(`API Gateway domain ${JSON.stringify(domain)} is not a domain name`);
  }
  if (t.webhook) {
    const url = URL.canParse(t.webhook.url) ? new URL(t.webhook.url) : undefined;
    if (!url)
      problems.push(
        `webhook URL ${JSON.stringify(t.webhook.url)} is not a URL (set MTLS_ROTATOR_WEBHOOK_URL)`,
      );
    if (url && url.protocol !== "https:") problems.push(`webhook URL ${t.webhook.url} must be https://`);
    if (url && (url.username || url.password))
      problems.push("webhook URL must not carry credentials: the HMAC key comes from the webhook secret");
    if (!t.webhook.secretName)
      problems.push("a webhook needs MTLS_ROTATOR_WEBHOOK_SECRET_NAME: the secret holding its HMAC key");
    else if (!SECRET_NAME.test(t.webhook.secretName))
      problems.push(`webhook secret name ${t.webhook.secretName} has characters Secrets Manager refuses`);
  }
  if (t.eventBus !== undefined && !EVENT_BUS.test(t.eventBus))
    problems.push(`event bus ${JSON.stringify(t.eventBus)} is neither a bus name nor an event bus ARN`);
  return problems;
}

const RATE = /^rate\((\d+) (minute|minutes|hour|hours|day|days)\)$/;
const CRON = /^cron\((\S+) (\S+) (\S+) (\S+) (\S+) (\S+)\)$/;

/** Problems of a scan schedule as EventBridge Scheduler would judge its form ("" when acceptable). */
export function scheduleProblem(schedule: string): string {
  const rate = RATE.exec(schedule);
  if (rate) {
    const value = Number(rate[1]);
    const plural = rate[2]!.endsWith("s");
    if (value < 1) return `scan schedule ${schedule}: the rate must be at least 1`;
    // Scheduler rejects "rate(1 days)" and "rate(2 day)".
    if (plural !== value > 1)
      return `scan schedule ${schedule}: use the singular unit for 1, plural otherwise`;
    return "";
  }
  const cron = CRON.exec(schedule);
  if (cron) {
    const dayOfMonth = cron[3];
    const dayOfWeek = cron[5];
    if ((dayOfMonth === "?") === (dayOfWeek === "?"))
      return `scan schedule ${schedule}: exactly one of day-of-month and day-of-week must be "?"`;
    return "";
  }
  return `scan schedule ${JSON.stringify(schedule)} is neither rate(<n> <unit>) nor cron(<6 fields>)`;
}

function trackingProblems(t: TrackingSettings): string[] {
  const problems: string[] = [];
  const schedule = scheduleProblem(t.schedule);
  if (schedule) problems.push(schedule);
  for (const days of t.thresholdsDays) {
    if (!Number.isInteger(days) || days < 0)
      problems.push(`tracking.thresholdsDays must be whole days >= 0, got ${days}`);
  }
  for (const arn of t.previousAuthorityArns) {
    if (!PCA_ARN.test(arn)) problems.push(`previous authority ${arn} is not a Private CA ARN`);
  }
  const grace = t.caRetirementGraceSeconds;
  if (!Number.isInteger(grace) || grace < 0 || grace > MAX_SECONDS)
    problems.push(
      `tracking.caRetirementGraceSeconds must be a whole number of seconds from 0 to ${MAX_SECONDS}, got ${grace}`,
    );
  return problems;
}

function policyProblems(p: RotationPolicy): string[] {
  const problems: string[] = [];
  const wholeSeconds = (name: string, value: number, min: number) => {
    if (!Number.isInteger(value) || value < min || value > MAX_SECONDS)
      problems.push(`${name} must be a whole number of seconds from ${min} to ${MAX_SECONDS}, got ${value}`);
  };
  if (!Number.isInteger(p.validityDays) || p.validityDays < 1 || p.validityDays > 3650)
    problems.push(`validityDays must be 1..3650, got ${p.validityDays}`);
  if ("fractionOfLifetime" in p.renewBefore) {
    const f = p.renewBefore.fractionOfLifetime;
    if (!(f > 0 && f < 1)) problems.push(`renewBefore.fractionOfLifetime must be between 0 and 1, got ${f}`);
  } else if (!(p.renewBefore.durationMs > 0)) {
    problems.push(`renewBefore.durationMs must be positive, got ${p.renewBefore.durationMs}`);
  }
  if (!Number.isInteger(p.waves.canarySize) || p.waves.canarySize < 1)
    problems.push(`waves.canarySize must be a whole number >= 1, got ${p.waves.canarySize}`);
  for (const [i, size] of p.waves.waves.entries()) {
    if ("count" in size) {
      if (!Number.isInteger(size.count) || size.count < 1)
        problems.push(`waves.waves[${i}].count must be a whole number >= 1, got ${size.count}`);
    } else if (!(size.percent > 0 && size.percent <= 100)) {
      problems.push(`waves.waves[${i}].percent must be > 0 and <= 100, got ${size.percent}`);
    }
  }
  wholeSeconds("bakeSeconds", p.bakeSeconds, 0);
  wholeSeconds("deploy.timeoutSeconds", p.deploy.timeoutSeconds, 1);
  wholeSeconds("deploy.pollSeconds", p.deploy.pollSeconds, 1);
  wholeSeconds("preflight.timeoutSeconds", p.preflight.timeoutSeconds, 0);
  wholeSeconds("preflight.intervalSeconds", p.preflight.intervalSeconds, 1);
  wholeSeconds("gate.baselineWindowSeconds", p.gate.baselineWindowSeconds, 60);
  wholeSeconds("approval.timeoutSeconds", p.approval.timeoutSeconds, 1);
  wholeSeconds("graceSeconds", p.graceSeconds, 0);
  if (p.deploy.pollSeconds > p.deploy.timeoutSeconds)
    problems.push("deploy.pollSeconds must not exceed deploy.timeoutSeconds");
  if (!p.preflight.probePath.startsWith("/"))
    problems.push(`preflight.probePath must start with "/", got ${p.preflight.probePath}`);
  for (const name of ["maxIncreasePoints", "floorPercent"] as const) {
    const value = p.gate[name];
    if (!(value >= 0 && value <= 100))
      problems.push(`gate.${name} must be a percentage from 0 to 100, got ${value}`);
  }
  problems.push(...gateWaitProblems(p.gate));
  if (p.approval.mode !== "none" && p.approval.mode !== "between-waves")
    problems.push(`approval.mode must be "none" or "between-waves", got ${p.approval.mode}`);
  if (p.approval.onTimeout !== "rollback" && p.approval.onTimeout !== "proceed")
    problems.push(`approval.onTimeout must be "rollback" or "proceed", got ${p.approval.onTimeout}`);
  return problems;
}

/** The gate's wait for datapoints (mirrors functions/core/gate.ts, stricter on the period: AWS only). */
function gateWaitProblems(g: RotationPolicy["gate"]): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(g.minDatapoints) || g.minDatapoints < 1)
    problems.push(`gate.minDatapoints must be a whole number >= 1, got ${g.minDatapoints}`);
  // CloudFront's metrics have one-minute resolution; CloudWatch serves such metrics only at periods of
  // 60 s or multiples of it (MetricStat.Period, CloudWatch API reference).
  if (!Number.isInteger(g.periodSeconds) || g.periodSeconds < 60 || g.periodSeconds % 60 !== 0)
    problems.push(
      `gate.periodSeconds must be a multiple of 60 (CloudFront's one-minute metrics), got ${g.periodSeconds}`,
    );
  if (
    !Number.isInteger(g.metricsDeadlineSeconds) ||
    g.metricsDeadlineSeconds < 0 ||
    g.metricsDeadlineSeconds > MAX_SECONDS
  )
    problems.push(
      `gate.metricsDeadlineSeconds must be a whole number of seconds from 0 to ${MAX_SECONDS}, got ${g.metricsDeadlineSeconds}`,
    );
  if (g.onNoData !== "fail" && g.onNoData !== "pass")
    problems.push(`gate.onNoData must be "fail" or "pass", got ${g.onNoData}`);
  if (problems.length > 0) return problems;
  if (g.metricsDeadlineSeconds > MAX_GATE_POLLS * g.periodSeconds)
    problems.push(
      `gate.metricsDeadlineSeconds (${g.metricsDeadlineSeconds}) is more than ${MAX_GATE_POLLS} periods of ` +
        `gate.periodSeconds (${g.periodSeconds}): the gate would poll too often`,
    );
  const needed = (g.minDatapoints + 1) * g.periodSeconds;
  if (g.onNoData === "fail" && g.metricsDeadlineSeconds < needed)
    problems.push(
      `gate.metricsDeadlineSeconds (${g.metricsDeadlineSeconds}) is shorter than ${needed} s, the time ` +
        `${g.minDatapoints} datapoint(s) of ${g.periodSeconds} s need after a deployment: with onNoData "fail" ` +
        "every gate would fail",
    );
  return problems;
}

/** functions/core/gate.ts MAX_GATE_POLLS: the most metrics polls one wave's gate may take. */
const MAX_GATE_POLLS = 240;

/**
 * The longest a rotation can take under this policy: every wave (canary, the listed sizes, a last wave of
 * whatever is left) deploying to its deadline, baking (or, if later, its gate waiting for datapoints until
 * the metrics deadline), waiting for approval; preflight to its deadline; a rollback's deploy wait; the grace
 * period.
 */
export function worstCaseSeconds(p: RotationPolicy): number {
  const waves = 1 + p.waves.waves.length + 1;
  const approvals = p.approval.mode === "between-waves" ? (waves - 1) * p.approval.timeoutSeconds : 0;
  return (
    p.preflight.timeoutSeconds +
    waves * (p.deploy.timeoutSeconds + Math.max(p.bakeSeconds, p.gate.metricsDeadlineSeconds)) +
    approvals +
    p.deploy.timeoutSeconds +
    p.graceSeconds
  );
}

function workflowProblems(p: RotationPolicy, w: StageSettings["workflow"]): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(w.executionTimeoutDays) || w.executionTimeoutDays < 1 || w.executionTimeoutDays > 366)
    problems.push(`workflow.executionTimeoutDays must be 1..366, got ${w.executionTimeoutDays}`);
  if (!Number.isInteger(w.retentionDays) || w.retentionDays < 1 || w.retentionDays > 90)
    problems.push(`workflow.retentionDays must be 1..90, got ${w.retentionDays}`);
  const needed = worstCaseSeconds(p);
  if (problems.length === 0 && needed > w.executionTimeoutDays * DAY) {
    problems.push(
      `a rotation can take up to ${(needed / DAY).toFixed(1)} days under this policy, longer than` +
        ` workflow.executionTimeoutDays (${w.executionTimeoutDays}): the execution would time out mid-rotation`,
    );
  }
  return problems;
}

/** The deployed stage's settings (evaluated when infra/ is loaded by sst.config.ts). */
export const settings: DeploySettings = settingsFor($app.stage, {
  ...process.env,
  // The region sst.config.ts deploys to, where region-bound targets (ALB trust stores) must be.
  MTLS_ROTATOR_REGION:
    (($app.providers as Record<string, unknown> | undefined)?.aws as { region?: string } | undefined)
      ?.region ?? process.env.MTLS_ROTATOR_REGION,
});
