/**
 * Wiring: the one module that reads SST's `Resource` (and the process environment) and turns them into the
 * workflow's dependencies. Everything else receives what it needs as arguments.
 *
 * Linked resources (infra/rotation.ts links them to the workflow):
 * - `RotationTable.name`      DynamoDB table of the rotation store
 * - `TrustBundleBucket.name`  versioned bucket the trust bundle is published to
 * - `NotificationTopic.arn`   SNS topic for notifications
 * - `RotationSettings`        { rotation: RotationSettings input, trust: { bucketKey, bundleSecretName },
 *                               credentialsKeyArn } — the stage's settings, validated at deploy time by
 *                               infra/settings.ts and here again (resolveSettings) before anything runs
 * Environment: `AWS_REGION` (set by Lambda); optional `MTLS_ROTATOR_AWS_ENDPOINT` and
 * `MTLS_ROTATOR_DYNAMODB_ENDPOINT` send the clients to local stand-ins (sandbox).
 *
 * Missing or malformed configuration fails at once with a WiringError naming every problem.
 */
import type { ACMClient } from "@aws-sdk/client-acm";
import type { ACMPCAClient } from "@aws-sdk/client-acm-pca";
import type { ApiGatewayV2Client } from "@aws-sdk/client-apigatewayv2";
import type { CloudFrontClient } from "@aws-sdk/client-cloudfront";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import type { SNSClient } from "@aws-sdk/client-sns";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import { Resource } from "sst";
import type { workflow } from "sst/aws/workflow";
import { AcmAdapter } from "../adapters/acm.ts";
import { type AwsClients, createAwsClients, regionOfArn } from "../adapters/clients.ts";
import { CloudFrontAdapter } from "../adapters/cloudfront.ts";
import { InventoryStore } from "../adapters/inventory-store.ts";
import { DistributionMetrics } from "../adapters/metrics.ts";
import { Notifier } from "../adapters/notifier.ts";
import { PrivateCaAdapter } from "../adapters/private-ca.ts";
import { RotationStore } from "../adapters/rotation-store.ts";
import { CredentialStore, readSecretString } from "../adapters/secrets.ts";
import { DEFAULT_ALERT_THRESHOLDS_DAYS, validateThresholds } from "../core/alerts.ts";
import { splitPem, tryParseCertificate } from "../core/pem.ts";
import { DEFAULT_RENEW_BEFORE, type RenewBefore, validateRenewBefore } from "../core/renewal.ts";
import { issuerKeyOfSubject } from "../core/tracking.ts";
import { sstWorkflowStarter, startRotation, type WorkflowSdk } from "../dispatch/start-rotation.ts";
import { embeddedMetrics, type ScanDeps } from "../tracking/scan-fleet.ts";
import { S3BundleTarget, SecretBundleTarget, type TrustTarget } from "../trust/publish-bundle.ts";
import { type ConfiguredAuthority, reconcileTrust } from "../trust/reconcile.ts";
import { AlbTrustStoreTarget } from "../trust/targets/alb-trust-store.ts";
import { ApiGatewayDomainTarget } from "../trust/targets/apigateway-domain.ts";
import { CloudFrontTrustStoreTarget } from "../trust/targets/cloudfront-trust-store.ts";
import { type AnnouncementStore, EventBridgeTarget } from "../trust/targets/eventbridge.ts";
import { WebhookTarget, webhookUrlProblem } from "../trust/targets/webhook.ts";
import type { RotationDeps } from "../workflow/rotation-workflow.ts";
import { type RotationSettings, resolveSettings } from "../workflow/settings.ts";

/** Names of the linked resources this module reads (the `sst.Linkable` names in infra/). */
export const LINKS = {
  table: "RotationTable",
  bucket: "TrustBundleBucket",
  topic: "NotificationTopic",
  settings: "RotationSettings",
} as const;

export class WiringError extends Error {
  override name = "WiringError";
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`mtls-rotator is not configured: ${problems.join("; ")}`);
    this.problems = problems;
  }
}

/** Optional trust targets beyond the bundle object and secret (infra/settings.ts TrustTargetSettings). */
export interface TrustTargetConfig {
  cloudFrontTrustStoreIds: string[];
  albTrustStoreArns: string[];
  apiGatewayDomainNames: string[];
  webhook?: { url: string; secretName: string };
  eventBus?: string;
}

export const NO_TRUST_TARGETS: TrustTargetConfig = {
  cloudFrontTrustStoreIds: [],
  albTrustStoreArns: [],
  apiGatewayDomainNames: [],
};

/** Where the trust bundle is published (the workflow and the scan publish to the same targets). */
export interface TrustBundleConfig {
  /** The service region: the bucket's, and the ALB / API Gateway / EventBridge targets'. */
  region: string;
  /** Versioned bucket of the bundle object. */
  bucketName: string;
  bundleKey: string;
  /** Secrets Manager secret holding the same bundle. */
  bundleSecretName: string;
  targets: TrustTargetConfig;
}

export interface WiringConfig extends TrustBundleConfig {
  region: string;
  endpoint?: string;
  tableName: string;
  topicArn: string;
  /** Customer-managed KMS key the credential secrets are encrypted with. */
  credentialsKeyArn: string;
  /** Override for DynamoDB alone (dynalite serves it apart from the other stand-ins). */
  dynamodbEndpoint?: string;
  settings: RotationSettings;
}

export interface WiringSources {
  /** Linked resources by name (SST's `Resource`, or a plain object in tests). */
  resource: object;
  env: Record<string, string | undefined>;
}

export const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
export const BUNDLE_KEY = /^[^/].{0,1023}$/;
export const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const TOPIC_ARN = /^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;
const KMS_KEY_ARN = /^arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/;

/** Read and check every setting; throws one WiringError listing all that are missing or malformed. */
export function wiringConfig(sources: WiringSources): WiringConfig {
  const problems: string[] = [];
  const { link, text: field } = linkReader(sources, problems);
  const { region, endpoint, dynamodbEndpoint } = awsLocation(sources, problems);

  const tableName = field(link(LINKS.table), `${LINKS.table}.name`, "name", /^[A-Za-z0-9_.-]{3,255}$/);
  const bucketName = field(link(LINKS.bucket), `${LINKS.bucket}.name`, "name", BUCKET_NAME);
  const topicArn = field(link(LINKS.topic), `${LINKS.topic}.arn`, "arn", TOPIC_ARN);

  const linkedSettings = link(LINKS.settings);
  const trust = objectField(linkedSettings, `${LINKS.settings}.trust`, "trust", problems);
  const bundleKey = field(trust, `${LINKS.settings}.trust.bucketKey`, "bucketKey", BUNDLE_KEY);
  const bundleSecretName = field(
    trust,
    `${LINKS.settings}.trust.bundleSecretName`,
    "bundleSecretName",
    SECRET_NAME,
  );
  const targets = trustTargetsField(trust, `${LINKS.settings}.trust.targets`, problems);
  const credentialsKeyArn = field(
    linkedSettings,
    `${LINKS.settings}.credentialsKeyArn`,
    "credentialsKeyArn",
    KMS_KEY_ARN,
  );

  const settings = rotationSettingsField(linkedSettings, LINKS.settings, problems);

  if (problems.length > 0 || !settings) throw new WiringError(problems);
  return {
    region,
    ...(endpoint ? { endpoint } : {}),
    tableName,
    bucketName,
    bundleKey,
    bundleSecretName,
    targets,
    topicArn,
    credentialsKeyArn,
    ...(dynamodbEndpoint ? { dynamodbEndpoint } : {}),
    settings,
  };
}

export function objectField(
  owner: Record<string, unknown> | undefined,
  path: string,
  key: string,
  problems: string[],
): Record<string, unknown> | undefined {
  if (!owner) return undefined;
  const value = owner[key];
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    problems.push(`${path} is missing`);
    return undefined;
  }
  return value as Record<string, unknown>;
}

/** The rotation policy under `<path>.rotation`, resolved and checked (resolveSettings); undefined if not. */
export function rotationSettingsField(
  linkedSettings: Record<string, unknown> | undefined,
  path: string,
  problems: string[],
): RotationSettings | undefined {
  const rotation = objectField(linkedSettings, `${path}.rotation`, "rotation", problems);
  if (!rotation) return undefined;
  try {
    return resolveSettings(rotation as Partial<RotationSettings> & { authorityArn: string });
  } catch (error) {
    problems.push((error as Error).message);
    return undefined;
  }
}

const CLOUDFRONT_TRUST_STORE_ID = /^[A-Za-z0-9_-]{1,64}$/;
const ALB_TRUST_STORE_ARN =
  /^arn:aws[\w-]*:elasticloadbalancing:[a-z0-9-]+:\d{12}:truststore\/[A-Za-z0-9-]{1,32}\/[0-9a-f]{16}$/;
const DOMAIN_NAME = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
/** PutEvents' EventBusName as AWS's model allows it (NonPartnerEventBusNameOrArn: no "/", no partner buses). */
const EVENT_BUS =
  /^([A-Za-z0-9._-]{1,256}|arn:aws[\w-]*:events:[a-z]+-[a-z]+-[\w-]+:\d{12}:event-bus\/[A-Za-z0-9._-]{1,256})$/;

/**
 * The optional trust targets under `trust.targets` (absent: none), each list checked entry by entry with
 * the rules infra/settings.ts applied at deploy time.
 */
export function trustTargetsField(
  trust: Record<string, unknown> | undefined,
  path: string,
  problems: string[],
): TrustTargetConfig {
  const raw = trust?.targets;
  if (raw === undefined) return NO_TRUST_TARGETS;
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    problems.push(`${path} must be an object`);
    return NO_TRUST_TARGETS;
  }
  const given = raw as Record<string, unknown>;
  const strings = (key: string, pattern: RegExp, what: string): string[] => {
    const value = given[key] ?? [];
    if (!Array.isArray(value)) {
      problems.push(`${path}.${key} must be a list of ${what}`);
      return [];
    }
    const out: string[] = [];
    for (const [i, item] of value.entries()) {
      if (typeof item === "string" && pattern.test(item)) out.push(item);
      else problems.push(`${path}.${key}[${i}] is not ${what}: ${JSON.stringify(item)}`);
    }
    return out;
  };
  const targets: TrustTargetConfig = {
    cloudFrontTrustStoreIds: strings(
      "cloudFrontTrustStoreIds",
      CLOUDFRONT_TRUST_STORE_ID,
      "a trust store id",
    ),
    albTrustStoreArns: strings("albTrustStoreArns", ALB_TRUST_STORE_ARN, "an ALB trust store ARN"),
    apiGatewayDomainNames: strings("apiGatewayDomainNames", DOMAIN_NAME, "a domain name"),
  };
  if (given.webhook !== undefined) {
    const webhook = given.webhook as Record<string, unknown> | null;
    const url = typeof webhook?.url === "string" ? webhook.url : "";
    const secretName = typeof webhook?.secretName === "string" ? webhook.secretName : "";
    if (webhookUrlProblem(url))
      problems.push(
        `${path}.webhook.url must be an https:// URL (http:// only on a loopback address), got ${JSON.stringify(webhook?.url)}`,
      );
    if (!SECRET_NAME.test(secretName))
      problems.push(
        `${path}.webhook.secretName is not a secret name: ${JSON.stringify(webhook?.secretName)}`,
      );
    targets.webhook = { url, secretName };
  }
  if (given.eventBus !== undefined) {
    if (typeof given.eventBus === "string" && EVENT_BUS.test(given.eventBus))
      targets.eventBus = given.eventBus;
    else problems.push(`${path}.eventBus is not an event bus name or ARN: ${JSON.stringify(given.eventBus)}`);
  }
  return targets;
}

/** Where in the bundle bucket each target that loads its bundle from S3 keeps its own object. */
export const TARGET_KEY_PREFIX = "trust/targets";

/** The clients trust targets use (all in the service region, CloudFront's in us-east-1). */
export type TrustTargetClients = Pick<
  AwsClients,
  "s3" | "secrets" | "cloudfront" | "elbv2" | "apigateway" | "eventbridge"
>;

/**
 * The targets the trust bundle is published to, from a checked configuration: the one place they are
 * built, for the workflow (trust before swap) and the scan (CA retirement) alike, so both always publish
 * to the same set. Order: the bundle object first (the published bundle is read back from it), then the
 * secret, the service trust stores, the webhook, and last the EventBridge announcement, which tells
 * consumers a bundle every other target already has. Every target's limits (CloudFront: 25 CAs, 64 KB) are
 * checked before any target is written (publishTrustBundle), so an oversized bundle changes nothing.
 */
export function trustTargetsFrom(
  config: TrustBundleConfig,
  clients: TrustTargetClients,
  options: { announcements?: AnnouncementStore } = {},
): TrustTarget[] {
  const { targets } = config;
  const bucket = config.bucketName;
  const list: TrustTarget[] = [
    new S3BundleTarget(clients.s3, bucket, config.bundleKey),
    new SecretBundleTarget(clients.secrets, config.bundleSecretName),
  ];
  for (const trustStoreId of targets.cloudFrontTrustStoreIds) {
    list.push(
      new CloudFrontTrustStoreTarget({
        cloudfront: clients.cloudfront,
        s3: clients.s3,
        trustStoreId,
        bucket,
        key: `${TARGET_KEY_PREFIX}/cloudfront/${trustStoreId}.pem`,
        bucketRegion: config.region,
      }),
    );
  }
  for (const trustStoreArn of targets.albTrustStoreArns) {
    const [, name, id] = trustStoreArn.split(":").pop()!.split("/");
    list.push(
      new AlbTrustStoreTarget({
        elbv2: clients.elbv2,
        s3: clients.s3,
        trustStoreArn,
        bucket,
        key: `${TARGET_KEY_PREFIX}/alb/${name}-${id}.pem`,
      }),
    );
  }
  for (const domainName of targets.apiGatewayDomainNames) {
    list.push(
      new ApiGatewayDomainTarget({
        apigateway: clients.apigateway,
        s3: clients.s3,
        domainName,
        bucket,
        key: `${TARGET_KEY_PREFIX}/apigateway/${domainName}.pem`,
      }),
    );
  }
  if (targets.webhook) {
    const { url, secretName } = targets.webhook;
    // Read on every push, so rotating the HMAC key needs no redeploy; never logged.
    list.push(new WebhookTarget({ url, secret: () => readSecretString(clients.secrets, secretName) }));
  }
  if (targets.eventBus) {
    list.push(
      new EventBridgeTarget({
        client: clients.eventbridge,
        eventBusName: targets.eventBus,
        ...(options.announcements ? { store: options.announcements } : {}),
        location: () => `s3://${bucket}/${config.bundleKey}`,
      }),
    );
  }
  return list;
}

/** The workflow's dependencies from a checked configuration; SDK clients are built here, once. */
export function rotationDepsFrom(config: WiringConfig, clients?: AwsClients): RotationDeps {
  const aws =
    clients ??
    createAwsClients({
      region: config.region,
      privateCaRegion: regionOfArn(config.settings.authorityArn),
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    });
  const dynamo = dynamoDbClientFor(config);
  const now = () => new Date();
  const acm = new AcmAdapter(aws.acm);
  const privateCa = new PrivateCaAdapter(aws.privateCa);
  const credentials = new CredentialStore(aws.secrets, { kmsKeyId: config.credentialsKeyArn });
  const notifier = new Notifier(aws.sns, config.topicArn);
  return {
    settings: config.settings,
    now,
    acm,
    distributions: new CloudFrontAdapter(aws.cloudfront),
    issuance: { privateCa, acm, credentials, now },
    trustTargets: trustTargetsFrom(config, aws, {
      announcements: new InventoryStore(dynamo, { tableName: config.tableName }).announcements(
        config.targets.eventBus ?? "",
      ),
    }),
    metrics: new DistributionMetrics(aws.cloudwatch),
    store: new RotationStore(dynamo, { tableName: config.tableName }),
    notify: (notification) => notifier.publish(notification),
    log: (message, data) => console.log(JSON.stringify({ level: "INFO", message, ...data })),
  };
}

/** The deployed workflow's dependencies, from SST's linked resources and the Lambda environment. */
export function buildRotationDeps(
  sources: WiringSources = { resource: Resource, env: process.env },
): RotationDeps {
  return rotationDepsFrom(wiringConfig(sources));
}

// ---- expiry tracking: the scheduled scan and the ACM expiry event --------------------------------------

/**
 * Linked resources of the tracking functions (infra/tracking.ts):
 * - `RotationTable.name`, `NotificationTopic.arn`,     as for the workflow (inventory shares the table; the
 *   `TrustBundleBucket.name`                           scan's trust reconciliation publishes to the same bucket)
 * - `RotationWorkflowStarter`                          { name, qualifier } of the rotation workflow
 * - `TrackingSettings`                                 { authorityArn, previousAuthorityArns, renewBefore,
 *                                                        thresholdsDays, trust: { bucketKey, bundleSecretName },
 *                                                        caRetirementGraceSeconds? }
 *
 * Both tracking functions read the same configuration. Only the scheduled scan reconciles the trust bundle
 * (scanFleet skips it for a single-certificate scan), so only the scan's role may write the bundle: the
 * ACM expiry-event function's deps carry a reconcileTrust that it never calls and could not run.
 */
export const TRACKING_LINKS = {
  table: LINKS.table,
  topic: LINKS.topic,
  bucket: LINKS.bucket,
  workflow: "RotationWorkflowStarter",
  settings: "TrackingSettings",
} as const;

/** How long a CA no managed certificate uses any more stays in the bundle, unless configured: 7 days. */
export const DEFAULT_CA_RETIREMENT_GRACE_SECONDS = 7 * 86_400;
/** The longest grace accepted (resolveSettings' ceiling for any duration). */
const MAX_GRACE_SECONDS = 366 * 86_400;

export interface TrackingConfig extends TrustBundleConfig {
  region: string;
  endpoint?: string;
  dynamodbEndpoint?: string;
  tableName: string;
  topicArn: string;
  /** The durable workflow rotations are started on (a qualified invoke). */
  workflow: workflow.Resource;
  /** The CA replacements are issued from, then the CAs being migrated away from; certificates any of them
   * issued are managed. */
  authorityArns: string[];
  renewBefore: RenewBefore;
  thresholdsDays: number[];
  /** Seconds a configured CA stays in the trust bundle after the last managed certificate stopped using
   * it (0: retired by the first scan that finds it unused). */
  caRetirementGraceSeconds: number;
}

const PCA_ARN = /^arn:aws[\w-]*:acm-pca:[a-z0-9-]+:\d{12}:certificate-authority\/[0-9a-f-]{36}$/;
export const FUNCTION_NAME = /^[A-Za-z0-9_-]{1,140}$/;
export const QUALIFIER = /^[A-Za-z0-9$_-]{1,128}$/;

/** Reads linked resources, collecting every problem instead of stopping at the first. */
export function linkReader(sources: WiringSources, problems: string[]) {
  const link = (name: string): Record<string, unknown> | undefined => {
    // `in` first: SST's Resource throws on a name that is not linked; `in` only asks.
    if (!(name in sources.resource)) {
      problems.push(`linked resource ${name} is missing (link it to the function in infra/)`);
      return undefined;
    }
    const value = (sources.resource as Record<string, unknown>)[name];
    if (typeof value !== "object" || value === null) {
      problems.push(`linked resource ${name} has no properties`);
      return undefined;
    }
    return value as Record<string, unknown>;
  };
  const text = (owner: Record<string, unknown> | undefined, path: string, key: string, pattern?: RegExp) => {
    if (!owner) return "";
    const value = owner[key];
    if (typeof value !== "string" || value === "") {
      problems.push(`${path} is missing`);
      return "";
    }
    if (pattern && !pattern.test(value)) problems.push(`${path} is malformed: ${JSON.stringify(value)}`);
    return value;
  };
  return { link, text };
}

/** Region and optional endpoints (local stand-ins) from the Lambda environment. */
export function awsLocation(sources: WiringSources, problems: string[]) {
  const region = sources.env.AWS_REGION ?? sources.env.AWS_DEFAULT_REGION ?? "";
  if (!region) problems.push("environment variable AWS_REGION is missing");
  const endpoint = sources.env.MTLS_ROTATOR_AWS_ENDPOINT || undefined;
  const dynamodbEndpoint = sources.env.MTLS_ROTATOR_DYNAMODB_ENDPOINT || endpoint;
  return { region, endpoint, dynamodbEndpoint };
}

/** The DynamoDB client of the rotation table (its own endpoint locally: dynalite serves it apart). */
export function dynamoDbClientFor(location: { region: string; dynamodbEndpoint?: string }): DynamoDBClient {
  return new DynamoDBClient({
    region: location.region,
    ...(location.dynamodbEndpoint ? { endpoint: location.dynamodbEndpoint } : {}),
    maxAttempts: 5,
    requestHandler: { requestTimeout: 10_000, connectionTimeout: 3_000, throwOnRequestTimeout: true },
  });
}

/** Read and check what the tracking functions need; throws one WiringError listing every problem. */
export function trackingConfig(sources: WiringSources): TrackingConfig {
  const problems: string[] = [];
  const { link, text } = linkReader(sources, problems);
  const { region, endpoint, dynamodbEndpoint } = awsLocation(sources, problems);

  const tableName = text(
    link(TRACKING_LINKS.table),
    `${LINKS.table}.name`,
    "name",
    /^[A-Za-z0-9_.-]{3,255}$/,
  );
  const topicArn = text(link(TRACKING_LINKS.topic), `${LINKS.topic}.arn`, "arn", TOPIC_ARN);
  const bucketName = text(link(TRACKING_LINKS.bucket), `${LINKS.bucket}.name`, "name", BUCKET_NAME);
  const linkedWorkflow = link(TRACKING_LINKS.workflow);
  const workflowName = text(linkedWorkflow, `${TRACKING_LINKS.workflow}.name`, "name", FUNCTION_NAME);
  const qualifier = text(linkedWorkflow, `${TRACKING_LINKS.workflow}.qualifier`, "qualifier", QUALIFIER);

  const path = TRACKING_LINKS.settings;
  const settings = link(path);
  const authorityArn = text(settings, `${path}.authorityArn`, "authorityArn", PCA_ARN);
  const previous = settings?.previousAuthorityArns ?? [];
  const previousAuthorityArns: string[] = [];
  if (!Array.isArray(previous)) {
    problems.push(`${path}.previousAuthorityArns must be a list of Private CA ARNs`);
  } else {
    for (const arn of previous) {
      if (typeof arn === "string" && PCA_ARN.test(arn)) previousAuthorityArns.push(arn);
      else problems.push(`${path}.previousAuthorityArns has a malformed ARN: ${JSON.stringify(arn)}`);
    }
  }
  const renewBefore = (settings?.renewBefore ?? DEFAULT_RENEW_BEFORE) as RenewBefore;
  try {
    validateRenewBefore(renewBefore);
  } catch (error) {
    problems.push(`${path}.renewBefore: ${(error as Error).message}`);
  }
  const thresholds = settings?.thresholdsDays ?? [...DEFAULT_ALERT_THRESHOLDS_DAYS];
  let thresholdsDays: number[] = [];
  if (!Array.isArray(thresholds)) {
    problems.push(`${path}.thresholdsDays must be a list of whole days`);
  } else {
    try {
      validateThresholds(thresholds as number[]);
      thresholdsDays = thresholds as number[];
    } catch (error) {
      problems.push(`${path}.thresholdsDays: ${(error as Error).message}`);
    }
  }

  const trust = objectField(settings, `${path}.trust`, "trust", problems);
  const bundleKey = text(trust, `${path}.trust.bucketKey`, "bucketKey", BUNDLE_KEY);
  const bundleSecretName = text(trust, `${path}.trust.bundleSecretName`, "bundleSecretName", SECRET_NAME);
  const targets = trustTargetsField(trust, `${path}.trust.targets`, problems);
  const grace = settings?.caRetirementGraceSeconds ?? DEFAULT_CA_RETIREMENT_GRACE_SECONDS;
  const caRetirementGraceSeconds = typeof grace === "number" ? grace : Number.NaN;
  if (
    !Number.isInteger(caRetirementGraceSeconds) ||
    caRetirementGraceSeconds < 0 ||
    caRetirementGraceSeconds > MAX_GRACE_SECONDS
  ) {
    problems.push(
      `${path}.caRetirementGraceSeconds must be a whole number of seconds from 0 to ${MAX_GRACE_SECONDS},` +
        ` got ${JSON.stringify(grace)}`,
    );
  }

  if (problems.length > 0) throw new WiringError(problems);
  return {
    region,
    ...(endpoint ? { endpoint } : {}),
    ...(dynamodbEndpoint ? { dynamodbEndpoint } : {}),
    tableName,
    topicArn,
    bucketName,
    bundleKey,
    bundleSecretName,
    targets,
    workflow: { name: workflowName, qualifier },
    authorityArns: [...new Set([authorityArn, ...previousAuthorityArns])],
    renewBefore,
    thresholdsDays,
    caRetirementGraceSeconds,
  };
}

/** The clients the tracking functions use (tests pass their own). */
export interface TrackingClients {
  acm: ACMClient;
  cloudfront: CloudFrontClient;
  sns: SNSClient;
  dynamo: DynamoDBClient | DynamoDBDocumentClient;
  /** The trust-bundle targets' clients, in the service's region (CloudFront's in us-east-1). */
  s3: S3Client;
  secrets: SecretsManagerClient;
  elbv2: ElasticLoadBalancingV2Client;
  apigateway: ApiGatewayV2Client;
  eventbridge: EventBridgeClient;
  /** The Private CA client of the region a CA lives in. */
  privateCa(region: string): ACMPCAClient;
}

function trackingClients(config: TrackingConfig): TrackingClients {
  const forRegion = (privateCaRegion: string | undefined) =>
    createAwsClients({
      region: config.region,
      ...(privateCaRegion ? { privateCaRegion } : {}),
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    });
  const aws = forRegion(regionOfArn(config.authorityArns[0]!));
  // A CA being migrated away from may live in another region: one more client there, built on first use.
  const privateCa = new Map<string, ACMPCAClient>([
    [regionOfArn(config.authorityArns[0]!) ?? "", aws.privateCa],
  ]);
  return {
    acm: aws.acm,
    cloudfront: aws.cloudfront,
    sns: aws.sns,
    s3: aws.s3,
    secrets: aws.secrets,
    elbv2: aws.elbv2,
    apigateway: aws.apigateway,
    eventbridge: aws.eventbridge,
    dynamo: dynamoDbClientFor(config),
    privateCa(region) {
      let client = privateCa.get(region);
      if (!client) {
        client = forRegion(region).privateCa;
        privateCa.set(region, client);
      }
      return client;
    },
  };
}

/**
 * Each CA's certificate followed by its chain, read once (concurrently); the scan derives both its managed
 * issuers and the trust bundle's authorities from these. A CA that cannot be read fails the whole build.
 */
export async function authorityChainsOf(
  authorityArns: readonly string[],
  authorityChainPem: (authorityArn: string) => Promise<string>,
): Promise<Map<string, string>> {
  const unique = [...new Set(authorityArns)];
  const chains = await Promise.all(unique.map(authorityChainPem));
  return new Map(unique.map((arn, i) => [arn, chains[i]!]));
}

/**
 * The authorities the trust bundle is reconciled against: the configured CA (the first ARN: replacements
 * come from it, so it is always trusted), then the CAs being migrated away from (trusted while a managed
 * certificate in service chains to them, then for the grace period).
 */
export function configuredAuthorities(
  authorityArns: readonly string[],
  chains: ReadonlyMap<string, string>,
): ConfiguredAuthority[] {
  return authorityArns.map((arn, i) => {
    const chainPem = chains.get(arn);
    if (chainPem === undefined) throw new WiringError([`Private CA ${arn}: its chain was not read`]);
    return { chainPem, next: i === 0 };
  });
}

/**
 * The issuer names (tracking's issuerKey) of the given CAs, from each CA's own certificate: what the
 * certificates they issued carry as issuer. A CA that cannot be read fails the whole build: scanning with
 * one CA missing would silently stop managing every certificate it issued.
 */
export async function managedIssuersOf(
  authorityArns: readonly string[],
  authorityChainPem: (authorityArn: string) => Promise<string>,
): Promise<string[]> {
  const issuers = await Promise.all(
    authorityArns.map(async (arn) => {
      const [caPem] = splitPem(await authorityChainPem(arn));
      const subject = caPem ? tryParseCertificate(caPem)?.subject : undefined;
      const key = subject === undefined ? "" : issuerKeyOfSubject(subject);
      if (!key)
        throw new WiringError([`Private CA ${arn}: its certificate has no CN or O to match issuers on`]);
      return key;
    }),
  );
  return [...new Set(issuers)];
}

export interface ScanWiringOptions {
  clients?: TrackingClients;
  /** The SST workflow SDK (tests pass a fake). */
  workflowSdk?: WorkflowSdk;
  /** Where EMF lines go; stdout by default (raw, so the line is nothing but the JSON CloudWatch parses). */
  writeMetrics?: (line: string) => void;
  /** Structured log lines; one JSON line on stdout each by default. */
  log?: (message: string, data?: Record<string, unknown>) => void;
  now?: () => Date;
}

/**
 * The scan's dependencies from a checked configuration; reads each CA's chain once (per cold start, with
 * oncePerColdStart) for both the managed issuers and the trust reconciliation.
 */
export async function scanDepsFrom(
  config: TrackingConfig,
  options: ScanWiringOptions = {},
): Promise<ScanDeps> {
  const clients = options.clients ?? trackingClients(config);
  const now = options.now ?? (() => new Date());
  const writeMetrics = options.writeMetrics ?? ((line: string) => process.stdout.write(`${line}\n`));
  const log =
    options.log ??
    ((message: string, data?: Record<string, unknown>) =>
      console.log(JSON.stringify({ level: "INFO", message, ...data })));
  const chains = await authorityChainsOf(config.authorityArns, (arn) =>
    new PrivateCaAdapter(clients.privateCa(regionOfArn(arn) ?? config.region)).authorityChainPem(arn),
  );
  const managedIssuers = await managedIssuersOf(config.authorityArns, async (arn) => chains.get(arn)!);
  const authorities = configuredAuthorities(config.authorityArns, chains);
  const acm = new AcmAdapter(clients.acm);
  const cloudfront = new CloudFrontAdapter(clients.cloudfront);
  const notifier = new Notifier(clients.sns, config.topicArn);
  const history = new RotationStore(clients.dynamo, { tableName: config.tableName });
  const inventory = new InventoryStore(clients.dynamo, { tableName: config.tableName });
  const trustTargets = trustTargetsFrom(config, clients, {
    announcements: inventory.announcements(config.targets.eventBus ?? ""),
  });
  const starter = sstWorkflowStarter(config.workflow, options.workflowSdk);
  return {
    listCertificates: (only) => acm.searchClientCertificates(only),
    indexUsage: () => cloudfront.indexOriginCertificates(),
    inventory,
    startRotation: async (request) => {
      const { rotationId, started } = await startRotation(starter, request, history);
      return { rotationId, started };
    },
    notify: (notification) => notifier.publish(notification),
    // Only the full scan calls this (scanFleet skips it for a single certificate).
    reconcileTrust: async (records) => {
      const result = await reconcileTrust({
        targets: trustTargets,
        authorities,
        inventory: records,
        clock: inventory.retirementClock,
        graceSeconds: config.caRetirementGraceSeconds,
        now: now(),
      });
      log("trust bundle reconciled", {
        bundleSha256: result.bundleSha256,
        certificates: result.certificates,
        kept: result.kept,
        inGrace: result.inGrace,
        retiredFingerprints: result.retiredFingerprints,
        changedTargets: result.targets.filter((t) => t.changed).map((t) => t.target),
      });
      return result;
    },
    emitMetrics: (metrics) => writeMetrics(embeddedMetrics(metrics, now())),
    policy: { managedIssuers, renewBefore: config.renewBefore, thresholdsDays: config.thresholdsDays },
    now,
    log,
  };
}

/** The deployed scan's dependencies, from SST's linked resources and the Lambda environment. */
export async function buildScanDeps(
  sources: WiringSources = { resource: Resource, env: process.env },
  options?: ScanWiringOptions,
): Promise<ScanDeps> {
  return scanDepsFrom(trackingConfig(sources), options);
}

/**
 * `build` once per cold start, its result shared by every invocation of the container. A failed build (the
 * CA call throttled, say) is not kept: the next invocation builds again.
 */
export function oncePerColdStart<T>(build: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= build().catch((error: unknown) => {
      pending = undefined;
      throw error;
    });
    return pending;
  };
}
