/**
 * The stage table's shape and how a stage's settings are assembled and checked at deploy time: the stage's
 * entry (infra/settings.ts STAGES), the deploying shell's variables over it, every problem named. The values
 * are checked with the same schemas the functions parse their links with at cold start (settings.ts), plus
 * the rules only a deployment has (the home region, the scan's schedule, the execution timeout, CloudFront's
 * one-minute metrics). Pure: infra/settings.ts calls it with SST's stage and the environment.
 */
import type * as z from "zod/mini";
import { ACK_PREFIX } from "../core/acknowledgement.ts";
import {
  ALB_TRUST_STORE_ARN,
  DAY,
  EMAIL,
  HOUR,
  MAX_SECONDS,
  parseWith,
  REGION_NAME,
  regionOfArn,
} from "./rules.ts";
import {
  type RotationPolicy,
  type RotationPolicySchema,
  RotationSettingsSchema,
  type TrackingPolicy,
  TrackingPolicySchema,
  TrustSchema,
  type TrustSettings,
  type TrustTargets,
  worstCaseSeconds,
} from "./settings.ts";
import {
  VIEWER_TRUST_STORE_KEY_PREFIX,
  type ViewerRevocationSettings,
  ViewerRevocationSettingsSchema,
  type ViewerTrustDomain,
  type ViewerTrustDomainInput,
  ViewerTrustDomainsSchema,
  viewerSettingsProblems,
} from "./viewer-settings.ts";

/** An EventBridge Scheduler expression (one-time `at(...)` schedules make no sense for a fleet scan). */
export type ScanSchedule = `rate(${string})` | `cron(${string})`;

/** Expiry tracking of a stage: the scan's schedule and the tracking policy. */
export type TrackingSettings = TrackingPolicy & { schedule: ScanSchedule };

export const DEFAULT_TRACKING: TrackingSettings = {
  schedule: "cron(0 6 * * ? *)",
  ...TrackingPolicySchema.parse({}),
};

/** One entry of the stage table. */
export interface StageSettings {
  /** The rotation policy (every field of settings.ts RotationPolicySchema). */
  policy: z.input<typeof RotationPolicySchema>;
  /** Trust targets beyond the bundle object and secret (settings.ts TrustTargetsSchema). */
  trustTargets?: Partial<TrustTargets>;
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
  /**
   * Viewer trust domains (config/viewer-settings.ts ViewerTrustDomainSchema): the CAs that issue viewer
   * certificates and the trust points (CloudFront trust stores, passthrough origins) a viewer CA migration
   * keeps in line. None by default: no viewer CA migration can run, nothing else changes.
   */
  viewerTrustDomains?: ViewerTrustDomainInput[];
  /**
   * The viewer revocation list's CloudFront KeyValueStore (docs/viewer-revocation.md), which the
   * /viewer-revocations routes write; none by default: those routes then answer that no store is configured.
   */
  viewerRevocationStoreArn?: string;
}

/** A stage's checked settings: what infra/ declares resources from and links to the functions. */
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
  trust: TrustSettings;
  notifications: { emails: string[] };
  cloudfront: { distributionIds?: string[] };
  workflow: StageSettings["workflow"];
  tracking: TrackingSettings;
  /** The viewer trust domains (empty: the viewer CA migration has nothing to migrate). */
  viewerTrustDomains: ViewerTrustDomain[];
  /** The viewer revocation list's store (no storeArn: the revocation routes change nothing). */
  viewerRevocations: ViewerRevocationSettings;
}

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
      ` ${DURABLE_FUNCTION_REGIONS.join(", ")} (functions/config/stage.ts DURABLE_FUNCTION_REGIONS). Deploy to` +
      ` ${DURABLE_FUNCTION_REGIONS.join(" or ")}, or confirm on AWS's Capabilities by Region page that` +
      ` durable functions exist in ${region} and set ${ALLOW_UNLISTED_DURABLE_REGION}=1` +
      " (ACM certificates and CloudFront stay in us-east-1 either way)",
  ];
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

function list(value: string | undefined): string[] | undefined {
  if (value === undefined || value.trim() === "") return undefined;
  return value
    .split(",")
    .map((item) => item.trim())
    .filter((item) => item !== "");
}

/** The viewer trust domains as JSON (a list), replacing STAGES[stage].viewerTrustDomains when set. */
export const VIEWER_TRUST_DOMAINS_VARIABLE = "MTLS_ROTATOR_VIEWER_TRUST_DOMAINS";

/** The viewer revocation list's KeyValueStore ARN, replacing STAGES[stage].viewerRevocationStoreArn when set. */
export const VIEWER_REVOCATION_STORE_VARIABLE = "MTLS_ROTATOR_VIEWER_REVOCATION_STORE_ARN";

/** Keys of the bundle bucket the service writes for itself: no viewer bundle may be written there. */
export const RESERVED_BUNDLE_KEYS: readonly string[] = [
  "trust/",
  ACK_PREFIX,
  `${VIEWER_TRUST_STORE_KEY_PREFIX}/`,
];

/** The viewer trust domains from the shell's JSON or the stage table (undefined: a problem was pushed). */
function viewerTrustDomainsOf(
  stage: StageSettings["viewerTrustDomains"],
  env: Record<string, string | undefined>,
  problems: string[],
): unknown {
  const raw = env[VIEWER_TRUST_DOMAINS_VARIABLE]?.trim();
  if (!raw) return stage ?? [];
  try {
    return JSON.parse(raw) as unknown;
  } catch (error) {
    problems.push(
      `viewerTrustDomains is not JSON: ${(error as Error).message} (a JSON list of viewer trust domains, see README "Viewer mTLS")`,
    );
    return undefined;
  }
}

/** Where the deploying shell can set a value: named next to a problem with it. */
export const SHELL_SOURCES: readonly [prefix: string, variable: string][] = [
  ["rotation.authorityArn", "MTLS_ROTATOR_AUTHORITY_ARN"],
  ["rotation.distributionIds", "MTLS_ROTATOR_DISTRIBUTION_IDS"],
  ["tracking.previousAuthorityArns", "MTLS_ROTATOR_PREVIOUS_AUTHORITY_ARNS"],
  ["trust.targets.cloudFrontTrustStoreIds", "MTLS_ROTATOR_CLOUDFRONT_TRUST_STORE_IDS"],
  ["trust.targets.albTrustStoreArns", "MTLS_ROTATOR_ALB_TRUST_STORE_ARNS"],
  ["trust.targets.apiGatewayDomainNames", "MTLS_ROTATOR_APIGATEWAY_DOMAINS"],
  ["trust.targets.webhook.url", "MTLS_ROTATOR_WEBHOOK_URL"],
  ["trust.targets.webhook.secretName", "MTLS_ROTATOR_WEBHOOK_SECRET_NAME"],
  ["trust.targets.eventBus", "MTLS_ROTATOR_EVENT_BUS"],
  ["viewerTrustDomains", VIEWER_TRUST_DOMAINS_VARIABLE],
  ["viewerRevocations.storeArn", VIEWER_REVOCATION_STORE_VARIABLE],
];

function withSource(problem: string): string {
  const source = SHELL_SOURCES.find(([prefix]) => problem.startsWith(prefix));
  return source ? `${problem} (${source[1]})` : problem;
}

/** The settings of `stage` from the stage table and the environment, checked; DeploySettingsError lists every problem. */
export function deploySettings(
  stage: string,
  env: Record<string, string | undefined>,
  stages: Record<string, StageSettings> & { default: StageSettings },
): DeploySettings {
  const base = stages[stage] ?? stages.default;
  const problems: string[] = [];

  const authorityArn = env.MTLS_ROTATOR_AUTHORITY_ARN?.trim() || base.authorityArn || "";
  if (!authorityArn)
    problems.push(
      "no Private CA: set MTLS_ROTATOR_AUTHORITY_ARN=arn:aws:acm-pca:<region>:<account>:certificate-authority/<id>" +
        ` (or authorityArn in STAGES["${stage}"])`,
    );
  const emails = list(env.MTLS_ROTATOR_NOTIFY_EMAILS) ?? base.notifyEmails ?? [];
  for (const email of emails)
    if (!EMAIL.test(email)) problems.push(`notification email ${JSON.stringify(email)} is not an address`);
  const distributionIds: unknown = list(env.MTLS_ROTATOR_DISTRIBUTION_IDS) ?? base.distributionIds;
  const uniqueDistributionIds = distributionIds === undefined ? undefined : unique(distributionIds);

  // sst.config.ts deploys to the same region (its providers.aws.region).
  const region = env.MTLS_ROTATOR_REGION?.trim() || DEFAULT_HOME_REGION;
  problems.push(...homeRegionProblems(region, env));

  // The workflow's settings, parsed exactly as the workflow parses its link at cold start.
  const rotation = parseWith(
    RotationSettingsSchema,
    {
      ...base.policy,
      ...(authorityArn ? { authorityArn } : { authorityArn: "arn:unset" }),
      credentialSecretPrefix: `mtls-rotator/${stage}/credentials/`,
      ...(uniqueDistributionIds !== undefined ? { distributionIds: uniqueDistributionIds } : {}),
      // Derived from the execution timeout when that is valid (its own problem is reported otherwise).
      ...(workflowProblems(base.workflow).length === 0
        ? { maxRotationSeconds: base.workflow.executionTimeoutDays * DAY }
        : {}),
    },
    "rotation",
  );
  if (!rotation.ok)
    problems.push(...rotation.problems.filter((p) => authorityArn || !p.startsWith("rotation.authorityArn")));
  problems.push(
    ...deployOnlyPolicyProblems(base.policy, rotation.ok ? rotation.value : undefined, base.workflow),
  );

  const trackingBase = { ...DEFAULT_TRACKING, ...base.tracking };
  const schedule = env.MTLS_ROTATOR_SCAN_SCHEDULE?.trim() || trackingBase.schedule;
  const scheduleIssue = scheduleProblem(schedule);
  if (scheduleIssue) problems.push(scheduleIssue);
  const tracking = parseWith(
    TrackingPolicySchema,
    {
      thresholdsDays: trackingBase.thresholdsDays,
      previousAuthorityArns: withoutValue(
        unique(list(env.MTLS_ROTATOR_PREVIOUS_AUTHORITY_ARNS) ?? trackingBase.previousAuthorityArns),
        authorityArn,
      ),
      caRetirementGraceSeconds: trackingBase.caRetirementGraceSeconds,
    },
    "tracking",
  );
  if (!tracking.ok) problems.push(...tracking.problems);

  const targets = trustTargetsOf(base.trustTargets, env);
  const trust = parseWith(
    TrustSchema,
    {
      bucketKey: "trust/origin-client-ca.pem",
      bundleSecretName: `mtls-rotator/${stage}/trust/origin-client-ca`,
      targets,
    },
    "trust",
  );
  if (!trust.ok) problems.push(...trust.problems);
  // ALB trust stores must be where the service runs (one ELBv2 client, in the home region).
  const albArns: unknown = trust.ok ? trust.value.targets.albTrustStoreArns : targets.albTrustStoreArns;
  for (const arn of Array.isArray(albArns) ? albArns : [])
    if (typeof arn === "string" && ALB_TRUST_STORE_ARN.test(arn) && regionOfArn(arn) !== region)
      problems.push(
        `ALB trust store ${arn} is in ${regionOfArn(arn)}, not in the service region ${region} (MTLS_ROTATOR_REGION)`,
      );

  const viewerInput = viewerTrustDomainsOf(base.viewerTrustDomains, env, problems);
  const viewer =
    viewerInput === undefined
      ? undefined
      : parseWith(ViewerTrustDomainsSchema, viewerInput, "viewerTrustDomains");
  if (viewer && !viewer.ok) problems.push(...viewer.problems);
  if (viewer?.ok && trust.ok && tracking.ok)
    problems.push(
      ...viewerSettingsProblems(viewer.value, {
        originClientAuthorityArns: [authorityArn, ...tracking.value.previousAuthorityArns],
        trust: trust.value,
        credentialSecretPrefix: `mtls-rotator/${stage}/credentials/`,
        reservedKeys: RESERVED_BUNDLE_KEYS,
      }),
    );

  if (viewer?.ok && workflowProblems(base.workflow).length === 0)
    problems.push(...viewerDeadlineProblems(viewer.value, base.workflow));

  // Parsed as the revocation routes parse their link at cold start (ViewerRevocationSettings).
  const storeArn = env[VIEWER_REVOCATION_STORE_VARIABLE]?.trim() || base.viewerRevocationStoreArn;
  const revocations = parseWith(
    ViewerRevocationSettingsSchema,
    storeArn === undefined ? {} : { storeArn },
    "viewerRevocations",
  );
  if (!revocations.ok) problems.push(...revocations.problems);

  if (problems.length > 0 || !rotation.ok || !tracking.ok || !trust.ok || !viewer?.ok || !revocations.ok)
    throw new DeploySettingsError(stage, problems.map(withSource));
  return {
    stage,
    region,
    rotation: rotation.value as DeploySettings["rotation"],
    trust: trust.value,
    notifications: { emails: [...new Set(emails.map((e) => e.toLowerCase()))] },
    cloudfront: rotation.value.distributionIds ? { distributionIds: rotation.value.distributionIds } : {},
    workflow: base.workflow,
    tracking: {
      schedule: schedule as ScanSchedule,
      ...tracking.value,
      thresholdsDays: [...new Set(tracking.value.thresholdsDays)].sort((a, b) => b - a),
    },
    viewerTrustDomains: viewer.value,
    viewerRevocations: revocations.value,
  };
}

/**
 * What only a deployment constrains: CloudFront publishes one-minute metrics, which CloudWatch serves only at
 * periods of 60 s or multiples of it (MetricStat.Period, CloudWatch API reference); the durable execution's
 * timeout and retention (see StageSettings.workflow) and a policy that fits in that timeout.
 */
function deployOnlyPolicyProblems(
  given: StageSettings["policy"],
  policy: RotationPolicy | undefined,
  w: StageSettings["workflow"],
): string[] {
  const problems: string[] = [];
  const period = (given as { gate?: { periodSeconds?: unknown } }).gate?.periodSeconds;
  if (typeof period === "number" && period % 60 !== 0)
    problems.push(
      `rotation.gate.periodSeconds must be a multiple of 60 (CloudFront's one-minute metrics), got ${period}`,
    );
  problems.push(...workflowProblems(w));
  if (!policy) return problems;
  const needed = worstCaseSeconds(policy);
  if (problems.length === 0 && needed > Math.min(w.executionTimeoutDays * DAY, MAX_SECONDS))
    problems.push(
      `a rotation can take up to ${(needed / DAY).toFixed(1)} days under this policy, longer than` +
        ` workflow.executionTimeoutDays (${w.executionTimeoutDays}): the execution would time out mid-rotation`,
    );
  return problems;
}

/**
 * A viewer CA migration runs on a durable execution with the stage's timeout (infra/viewer-migration.ts): its
 * proof and approval windows, and an hour for the trust stores to turn active, must end before it does.
 */
function viewerDeadlineProblems(
  domains: readonly ViewerTrustDomain[],
  w: StageSettings["workflow"],
): string[] {
  const limit = w.executionTimeoutDays * DAY;
  return domains.flatMap((domain, index) => {
    const needed =
      domain.proofTimeoutSeconds +
      (domain.approval === "before-announce" ? domain.approvalTimeoutSeconds : 0) +
      HOUR;
    return needed <= limit
      ? []
      : [
          `viewerTrustDomains[${index}] (${domain.name}): its proof and approval windows (${(needed / DAY).toFixed(1)} days with an hour for trust stores) outlast workflow.executionTimeoutDays (${w.executionTimeoutDays})`,
        ];
  });
}

/** The durable execution's timeout and retention (see StageSettings.workflow). */
function workflowProblems(w: StageSettings["workflow"]): string[] {
  const problems: string[] = [];
  if (!Number.isInteger(w.executionTimeoutDays) || w.executionTimeoutDays < 1 || w.executionTimeoutDays > 366)
    problems.push(`workflow.executionTimeoutDays must be 1..366, got ${w.executionTimeoutDays}`);
  if (!Number.isInteger(w.retentionDays) || w.retentionDays < 1 || w.retentionDays > 90)
    problems.push(`workflow.retentionDays must be 1..90, got ${w.retentionDays}`);
  return problems;
}

/** A list without repeats; anything that is not a list is left as it is (the schema refuses it). */
function unique(value: unknown): unknown {
  return Array.isArray(value) ? [...new Set(value)] : value;
}

function withoutValue(value: unknown, drop: string): unknown {
  return Array.isArray(value) ? value.filter((item) => item !== drop) : value;
}

/** The stage's trust targets with the deploying shell's variables over them. */
function trustTargetsOf(
  stage: Partial<TrustTargets> | undefined,
  env: Record<string, string | undefined>,
): Record<string, unknown> {
  const url = env.MTLS_ROTATOR_WEBHOOK_URL?.trim();
  const secretName = env.MTLS_ROTATOR_WEBHOOK_SECRET_NAME?.trim();
  const webhook =
    url || secretName
      ? { url: url ?? stage?.webhook?.url ?? "", secretName: secretName ?? stage?.webhook?.secretName ?? "" }
      : stage?.webhook;
  const eventBus = env.MTLS_ROTATOR_EVENT_BUS?.trim() || stage?.eventBus;
  const lower = (value: unknown) =>
    Array.isArray(value) ? value.map((d) => (typeof d === "string" ? d.toLowerCase() : d)) : value;
  return {
    cloudFrontTrustStoreIds: unique(
      list(env.MTLS_ROTATOR_CLOUDFRONT_TRUST_STORE_IDS) ?? stage?.cloudFrontTrustStoreIds ?? [],
    ),
    albTrustStoreArns: unique(list(env.MTLS_ROTATOR_ALB_TRUST_STORE_ARNS) ?? stage?.albTrustStoreArns ?? []),
    apiGatewayDomainNames: unique(
      lower(list(env.MTLS_ROTATOR_APIGATEWAY_DOMAINS) ?? stage?.apiGatewayDomainNames ?? []),
    ),
    ...(webhook ? { webhook } : {}),
    ...(eventBus ? { eventBus } : {}),
  };
}
