// Expiry tracking (Detect): a scheduled fleet scan and ACM's "Approaching Expiration" event, both running
// functions/tracking/scan-fleet.ts through their handlers, with exactly the permissions the scan uses. No statement
// has a wildcard action; a resource is "*" only where the action supports no narrower resource.
//
// Trust reconciliation (CA migrations): after a full scan, the scheduled scan invokes the TrustReconciliation
// function (synchronously, with the issuers of the managed certificates in service), which publishes the
// trust bundle again with every CA still in service and retires the ones unused for
// tracking.caRetirementGraceSeconds (functions/trust/reconcile.ts), to the same targets the workflow
// publishes to. Only that function's role may read and write the bundle and the targets; the scan may only
// invoke it, and the ACM expiry-event function (a single-certificate scan never reconciles) neither.
//
// Failures are kept, not dropped: both functions are invoked asynchronously (EventBridge Scheduler, an
// EventBridge rule), so a failed invocation is retried by Lambda and then sent to the dead-letter queue
// (the function's on-failure destination); a delivery the scheduler or the service-region rule could not
// make at all goes to the same queue.
//
// Where ACM's events arrive: in the region of the certificate, i.e. us-east-1 for origin-mTLS certificates.
// When the service runs elsewhere, a rule in us-east-1 forwards them to the service region's default bus,
// where the rule that invokes the handler sees them.
import { EXPIRY_EVENT_PARTITIONS } from "../functions/adapters/table-partitions.ts";
import { viewerAuthorityArns } from "../functions/config/viewer-settings.ts";
import { PROBE_CERTIFICATES_KEY } from "../functions/core/acknowledgement.ts";
import { secretArn } from "./credentials";
import { LAMBDA_NODEJS, lambdaHandler } from "./lambdas";
import { notificationTopic, notificationTopicLink } from "./notifications";
import { deadRotationRelease, rotationWorkflow } from "./rotation";
import { settings } from "./settings";
import { rotationTable, rotationTableLink, trustBundleBucket, trustBundleBucketLink } from "./storage";
import { trustTargetPermissions } from "./trust-targets";

/** The event the expiry handler runs on (functions/handlers/acm-expiry-event.ts checks the same). */
export const ACM_EXPIRY_PATTERN = {
  source: ["aws.acm"],
  "detail-type": ["ACM Certificate Approaching Expiration"],
};

/** Where ACM keeps the certificates CloudFront presents to origins. */
const CERTIFICATE_REGION = "us-east-1";
/** Lambda's async retries of a failed invocation (0..2); the scan is idempotent. */
const FUNCTION_RETRIES = 2;
/** Scheduler's retries of an invocation it could not deliver. */
const SCHEDULE_RETRIES = 3;

const partition = aws.getPartitionOutput().partition;
const account = aws.getCallerIdentityOutput().accountId;
const { rotation, tracking, trust } = settings;

/** The region the app deploys to: sst.config.ts sets it on the AWS provider. */
function serviceRegion(): string {
  const provider = ($app.providers as Record<string, unknown> | undefined)?.aws as { region?: unknown };
  const region = typeof provider === "object" && provider !== null ? provider.region : undefined;
  if (typeof region !== "string" || region === "")
    throw new Error("infra/tracking.ts: set providers.aws.region in sst.config.ts (where ACM events go)");
  return region;
}

type Statement = {
  actions: string[];
  resources: ($util.Input<string> | string)[];
  conditions?: { test: string; variable: string; values: ($util.Input<string> | string)[] }[];
};

/** Failed scans and undeliverable events. Kept 14 days (the maximum) so a weekend's failures are still there. */
export const trackingDeadLetters = new sst.aws.Queue("TrackingDeadLetters", {
  transform: { queue: { messageRetentionSeconds: 14 * 24 * 60 * 60 } },
});

/** What the tracking functions read (functions/handlers/wiring.ts, TRACKING_LINKS). */
export const trackingSettingsLink = new sst.Linkable("TrackingSettings", {
  properties: {
    authorityArn: rotation.authorityArn,
    previousAuthorityArns: tracking.previousAuthorityArns,
    // The same renewal policy as the workflow's.
    renewBefore: rotation.renewBefore,
    thresholdsDays: tracking.thresholdsDays,
    // Where the scan's trust reconciliation publishes: the workflow's bundle object and secret.
    trust,
    caRetirementGraceSeconds: tracking.caRetirementGraceSeconds,
    // Their CAs' own certificates are tracked for expiry (functions/wiring/tracking.ts trackedAuthorityArns).
    viewerTrustDomains: settings.viewerTrustDomains,
  },
});

/**
 * The workflow's name and qualifier, without the workflow itself: linking the sst.aws.Workflow would also
 * grant stopping executions and answering their callbacks, which a scan never does.
 */
export const rotationWorkflowStarterLink = new sst.Linkable("RotationWorkflowStarter", {
  properties: { name: rotationWorkflow.name, qualifier: rotationWorkflow.qualifier },
});

/**
 * The configured CA's and the previous CAs' own certificates: the managed issuers (tracking), the
 * authorities the bundle is reconciled against (trust reconciliation), and the CA certificates whose own
 * expiry every full scan tracks (functions/wiring/tracking.ts trackedAuthorityArns: a CA added there must be
 * added here too, or the scan reports it unreadable).
 */
const readConfiguredCas: Statement = {
  actions: ["acm-pca:GetCertificateAuthorityCertificate"],
  resources: [rotation.authorityArn, ...tracking.previousAuthorityArns],
};

/**
 * What the scan and the expiry event read: the configured CAs' certificates, and those of the viewer trust
 * domains' CAs (current, next, previous), whose own expiry the full scan tracks as well. The trust
 * reconciliation reads the configured CAs only (readConfiguredCas).
 */
const readTrackedCas: Statement = {
  actions: ["acm-pca:GetCertificateAuthorityCertificate"],
  resources: [
    ...new Set([
      rotation.authorityArn,
      ...tracking.previousAuthorityArns,
      ...viewerAuthorityArns(settings.viewerTrustDomains),
    ]),
  ],
};

export const trackingPermissions: Statement[] = [
  // SearchCertificates and ListDistributions support no resource-level permission.
  { actions: ["acm:SearchCertificates"], resources: ["*"] },
  { actions: ["cloudfront:ListDistributions"], resources: ["*"] },
  // The body of a certificate that names a configured CA, once per serial: which CA key signed it.
  {
    actions: ["acm:GetCertificate"],
    resources: [$interpolate`arn:${partition}:acm:us-east-1:${account}:certificate/*`],
  },
  readTrackedCas,
  // Inventory (Query of its partitions — the leaves', the CA certificates' —, BatchWriteItem of changed
  // records, Get/Put of reported drift and of the scan's CA retirement clock) and the rotation store's status lookup (GetItem) the dispatcher makes
  // before starting. No index access, no updates or deletes.
  {
    actions: ["dynamodb:Query", "dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:BatchWriteItem"],
    resources: [rotationTable.arn],
  },
  // Start rotations: a durable invoke of the workflow's published version only.
  {
    actions: ["lambda:InvokeFunction"],
    resources: [$interpolate`${rotationWorkflow.arn}:${rotationWorkflow.qualifier}`],
  },
  ...deadRotationRelease,
  { actions: ["sns:Publish"], resources: [notificationTopic.arn] },
  // Lambda sends the record of a failed invocation to the on-failure destination with the function's role.
  { actions: ["sqs:SendMessage"], resources: [trackingDeadLetters.arn] },
];

/**
 * The trust reconciliation's publishing (functions/trust/publish-bundle.ts through functions/trust/
 * reconcile.ts), granted to the TrustReconciliation function only: the same bundle object and secret as the
 * workflow's, the configured CAs' certificates, and its items in the table (the CA retirement clock, the
 * announcements of the EventBridge target).
 */
export const trustReconcilePermissions: Statement[] = [
  readConfiguredCas,
  { actions: ["dynamodb:GetItem", "dynamodb:PutItem"], resources: [rotationTable.arn] },
  // The bundle object: read (GetObject also covers HeadObject) and publish, this key only.
  {
    actions: ["s3:GetObject", "s3:PutObject"],
    resources: [$interpolate`${trustBundleBucket.arn}/${trust.bucketKey}`],
  },
  // Without ListBucket, S3 answers a missing object with 403 instead of 404, and the first publish (no
  // bundle yet) would fail. The bucket holds nothing but bundles.
  { actions: ["s3:ListBucket"], resources: [trustBundleBucket.arn] },
  // The probe certificates next to the bundle (public certificates), published again with each bundle it
  // reconciles (functions/trust/reconcile.ts); never acks/*.
  {
    actions: ["s3:GetObject", "s3:PutObject"],
    resources: [$interpolate`${trustBundleBucket.arn}/${PROBE_CERTIFICATES_KEY}`],
  },
  // The bundle secret (public CA material), this secret only (infra/credentials.ts secretArn).
  {
    actions: [
      "secretsmanager:GetSecretValue",
      "secretsmanager:PutSecretValue",
      "secretsmanager:CreateSecret",
      "secretsmanager:UpdateSecretVersionStage",
    ],
    resources: [secretArn(trust.bundleSecretName)],
  },
  // The stage's optional trust targets, the same as the workflow's (infra/trust-targets.ts).
  ...trustTargetPermissions,
];

/** What both tracking functions link (functions/wiring/tracking.ts TRACKING_LINKS). */
const trackingLinks = [
  rotationTableLink,
  notificationTopicLink,
  trustBundleBucketLink,
  trackingSettingsLink,
  rotationWorkflowStarterLink,
];

// Both read the whole inventory and list every distribution (one certificate's usage is only known from
// the full listing); SearchCertificates is one pass. 5 minutes leaves room for large fleets and retries.
const trackingFunction = (handler: string, description: string, permissions: Statement[]) => ({
  handler,
  nodejs: LAMBDA_NODEJS,
  description,
  runtime: "nodejs22.x" as const,
  architecture: "arm64" as const,
  memory: "512 MB" as const,
  timeout: "5 minutes" as const,
  link: trackingLinks,
  permissions,
  retries: FUNCTION_RETRIES,
  transform: {
    eventInvokeConfig: {
      destinationConfig: { onFailure: { destination: trackingDeadLetters.arn } },
    },
  },
});

// Publishing can take a while (trust stores, a webhook's retries); the scan waits for it.
export const trustReconciliationFunction = new sst.aws.Function("TrustReconciliation", {
  handler: lambdaHandler("TrustReconciliation"),
  nodejs: LAMBDA_NODEJS,
  description: "mtls-rotator: reconcile the trust bundle with the CAs in service (invoked by the scan)",
  runtime: "nodejs22.x",
  architecture: "arm64",
  memory: "512 MB",
  timeout: "3 minutes",
  link: [rotationTableLink, trustBundleBucketLink, trackingSettingsLink],
  permissions: trustReconcilePermissions,
});

/** What the scan reads: the reconciliation function's name only (a link to the function would grant more). */
export const trustReconciliationFunctionLink = new sst.Linkable("TrustReconciliationFunction", {
  properties: { name: trustReconciliationFunction.name },
});

/**
 * The scheduled scan: the tracking permissions, a synchronous invoke of the reconciliation function, and the
 * viewer mTLS inventory's reads (full scans only: the ACM expiry event never makes them). Service
 * Authorization Reference, CloudFront: ListTrustStores names no resource type (so "*"); GetOriginRequestPolicy
 * is on the `origin-request-policy` resource type, arn:${Partition}:cloudfront::${Account}:origin-request-policy/${Id}.
 * AWS's managed policies (Managed-AllViewer, ...) are read with the same action and, *assumed*, authorized
 * against that ARN in the caller's account (the reference documents no other ARN for them). If wrong, reading
 * one is AccessDenied: the scan reports its viewer inventory failed (an error, never "no drift").
 */
export const scanPermissions: Statement[] = [
  ...trackingPermissions,
  { actions: ["lambda:InvokeFunction"], resources: [trustReconciliationFunction.arn] },
  { actions: ["cloudfront:ListTrustStores"], resources: ["*"] },
  {
    actions: ["cloudfront:GetOriginRequestPolicy"],
    resources: [$interpolate`arn:${partition}:cloudfront::${account}:origin-request-policy/*`],
  },
];

export const scanFunction = new sst.aws.Function("TrackingScan", {
  ...trackingFunction(
    lambdaHandler("TrackingScan"),
    "mtls-rotator: scheduled fleet scan, then trust-bundle reconciliation (its own function)",
    scanPermissions,
  ),
  link: [...trackingLinks, trustReconciliationFunctionLink],
});

export const scanSchedule = new sst.aws.CronV2("TrackingScanSchedule", {
  function: scanFunction,
  schedule: tracking.schedule,
  retries: SCHEDULE_RETRIES,
  dlq: trackingDeadLetters.arn,
});

/**
 * The ACM expiry event: the tracking permissions with every DynamoDB action limited to the partitions one
 * certificate's decision touches (functions/adapters/table-partitions.ts EXPIRY_EVENT_PARTITIONS, checked
 * against its requests by test/wiring/tracking.test.ts) — not the drift report, not trust items.
 */
export const expiryEventPermissions: Statement[] = trackingPermissions.map((statement) =>
  statement.actions.every((action) => action.startsWith("dynamodb:")) &&
  // A statement limited to its partitions already (the lock release) keeps its narrower condition.
  !statement.conditions?.some((c) => c.variable === "dynamodb:LeadingKeys")
    ? {
        ...statement,
        conditions: [
          ...(statement.conditions ?? []),
          {
            test: "ForAllValues:StringLike",
            variable: "dynamodb:LeadingKeys",
            values: [...EXPIRY_EVENT_PARTITIONS],
          },
        ],
      }
    : statement,
);

export const acmExpiryFunction = new sst.aws.Function(
  "AcmExpiryEvent",
  trackingFunction(
    lambdaHandler("AcmExpiryEvent"),
    "mtls-rotator: scan one certificate on ACM's Approaching Expiration event",
    // No trust-bundle access: a single-certificate scan never reconciles the bundle.
    expiryEventPermissions,
  ),
);

// The rule on the service region's default bus (AWS events only arrive on the default bus).
export const acmExpiryRule = new aws.cloudwatch.EventRule("AcmExpiryRule", {
  description: "mtls-rotator: ACM Certificate Approaching Expiration -> expiry handler",
  eventPattern: JSON.stringify(ACM_EXPIRY_PATTERN),
});

const acmExpiryPermission = new aws.lambda.Permission("AcmExpiryPermission", {
  action: "lambda:InvokeFunction",
  function: acmExpiryFunction.name,
  principal: "events.amazonaws.com",
  sourceArn: acmExpiryRule.arn,
});

export const acmExpiryTarget = new aws.cloudwatch.EventTarget(
  "AcmExpiryTarget",
  {
    rule: acmExpiryRule.name,
    arn: acmExpiryFunction.arn,
    // Retried for up to a day (ACM sends the next event a day later anyway), then dead-lettered.
    retryPolicy: { maximumEventAgeInSeconds: 24 * 60 * 60, maximumRetryAttempts: 185 },
    deadLetterConfig: { arn: trackingDeadLetters.arn },
  },
  { dependsOn: [acmExpiryPermission] },
);

// EventBridge writes a rule's dead letters with the queue's resource policy, not a role: this rule only.
export const trackingDeadLettersPolicy = new aws.sqs.QueuePolicy("TrackingDeadLettersPolicy", {
  queueUrl: trackingDeadLetters.url,
  policy: $jsonStringify({
    Version: "2012-10-17",
    Statement: [
      {
        Effect: "Allow",
        Principal: { Service: "events.amazonaws.com" },
        Action: "sqs:SendMessage",
        Resource: trackingDeadLetters.arn,
        Condition: { ArnEquals: { "aws:SourceArn": acmExpiryRule.arn } },
      },
    ],
  }),
});

/** us-east-1 ACM events forwarded to the service region (none when the service runs in us-east-1). */
export const acmExpiryForwarding = (() => {
  const region = serviceRegion();
  if (region === CERTIFICATE_REGION) return undefined;
  const provider = new aws.Provider("CertificateRegion", { region: CERTIFICATE_REGION });
  const targetBus = $interpolate`arn:${partition}:events:${region}:${account}:event-bus/default`;
  const rule = new aws.cloudwatch.EventRule(
    "AcmExpiryForwardRule",
    {
      description: `mtls-rotator: ACM Certificate Approaching Expiration -> default bus in ${region}`,
      eventPattern: JSON.stringify(ACM_EXPIRY_PATTERN),
    },
    { provider },
  );
  const role = new aws.iam.Role("AcmExpiryForwardRole", {
    assumeRolePolicy: $jsonStringify({
      Version: "2012-10-17",
      Statement: [
        {
          Effect: "Allow",
          Principal: { Service: "events.amazonaws.com" },
          Action: "sts:AssumeRole",
          // Only this rule may pass the role (confused deputy): aws:SourceArn is "the ARN of the rule that
          // sent the event" (EventBridge condition keys,
          // https://docs.aws.amazon.com/eventbridge/latest/userguide/policy-keys-eventbridge.html).
          Condition: {
            StringEquals: { "aws:SourceAccount": account },
            ArnEquals: { "aws:SourceArn": rule.arn },
          },
        },
      ],
    }),
    inlinePolicies: [
      {
        name: "forward-acm-expiry",
        policy: $jsonStringify({
          Version: "2012-10-17",
          Statement: [{ Effect: "Allow", Action: "events:PutEvents", Resource: targetBus }],
        }),
      },
    ],
  });
  const target = new aws.cloudwatch.EventTarget(
    "AcmExpiryForwardTarget",
    {
      rule: rule.name,
      arn: targetBus,
      roleArn: role.arn,
      // No dead-letter queue here: the queue lives in the service region. The scheduled scan still sees the
      // certificate should a forwarded event be lost.
      retryPolicy: { maximumEventAgeInSeconds: 24 * 60 * 60, maximumRetryAttempts: 185 },
    },
    { provider },
  );
  return { rule, target, role };
})();
