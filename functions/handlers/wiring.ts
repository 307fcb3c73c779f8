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
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { Resource } from "sst";
import { AcmAdapter } from "../adapters/acm.ts";
import { type AwsClients, createAwsClients, regionOfArn } from "../adapters/clients.ts";
import { CloudFrontAdapter } from "../adapters/cloudfront.ts";
import { DistributionMetrics } from "../adapters/metrics.ts";
import { Notifier } from "../adapters/notifier.ts";
import { PrivateCaAdapter } from "../adapters/private-ca.ts";
import { RotationStore } from "../adapters/rotation-store.ts";
import { CredentialStore } from "../adapters/secrets.ts";
import { S3BundleTarget, SecretBundleTarget } from "../trust/publish-bundle.ts";
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

export interface WiringConfig {
  region: string;
  endpoint?: string;
  tableName: string;
  bucketName: string;
  bundleKey: string;
  bundleSecretName: string;
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

const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const SECRET_NAME = /^[A-Za-z0-9/_+=.@-]{1,512}$/;
const TOPIC_ARN = /^arn:aws[\w-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_-]{1,256}$/;
const KMS_KEY_ARN = /^arn:aws[\w-]*:kms:[a-z0-9-]+:\d{12}:key\/[0-9a-f-]{36}$/;

/** Read and check every setting; throws one WiringError listing all that are missing or malformed. */
export function wiringConfig(sources: WiringSources): WiringConfig {
  const problems: string[] = [];
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
  const field = (
    owner: Record<string, unknown> | undefined,
    path: string,
    key: string,
    pattern?: RegExp,
  ): string => {
    if (!owner) return "";
    const value = owner[key];
    if (typeof value !== "string" || value === "") {
      problems.push(`${path} is missing`);
      return "";
    }
    if (pattern && !pattern.test(value)) problems.push(`${path} is malformed: ${JSON.stringify(value)}`);
    return value;
  };

  const region = sources.env.AWS_REGION ?? sources.env.AWS_DEFAULT_REGION ?? "";
  if (!region) problems.push("environment variable AWS_REGION is missing");
  const endpoint = sources.env.MTLS_ROTATOR_AWS_ENDPOINT || undefined;
  const dynamodbEndpoint = sources.env.MTLS_ROTATOR_DYNAMODB_ENDPOINT || endpoint;

  const tableName = field(link(LINKS.table), `${LINKS.table}.name`, "name", /^[A-Za-z0-9_.-]{3,255}$/);
  const bucketName = field(link(LINKS.bucket), `${LINKS.bucket}.name`, "name", BUCKET_NAME);
  const topicArn = field(link(LINKS.topic), `${LINKS.topic}.arn`, "arn", TOPIC_ARN);

  const linkedSettings = link(LINKS.settings);
  const trust = objectField(linkedSettings, `${LINKS.settings}.trust`, "trust", problems);
  const bundleKey = field(trust, `${LINKS.settings}.trust.bucketKey`, "bucketKey", /^[^/].{0,1023}$/);
  const bundleSecretName = field(
    trust,
    `${LINKS.settings}.trust.bundleSecretName`,
    "bundleSecretName",
    SECRET_NAME,
  );
  const credentialsKeyArn = field(
    linkedSettings,
    `${LINKS.settings}.credentialsKeyArn`,
    "credentialsKeyArn",
    KMS_KEY_ARN,
  );

  let settings: RotationSettings | undefined;
  const rotation = objectField(linkedSettings, `${LINKS.settings}.rotation`, "rotation", problems);
  if (rotation) {
    try {
      settings = resolveSettings(rotation as Partial<RotationSettings> & { authorityArn: string });
    } catch (error) {
      problems.push((error as Error).message);
    }
  }

  if (problems.length > 0 || !settings) throw new WiringError(problems);
  return {
    region,
    ...(endpoint ? { endpoint } : {}),
    tableName,
    bucketName,
    bundleKey,
    bundleSecretName,
    topicArn,
    credentialsKeyArn,
    ...(dynamodbEndpoint ? { dynamodbEndpoint } : {}),
    settings,
  };
}

function objectField(
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

/** The workflow's dependencies from a checked configuration; SDK clients are built here, once. */
export function rotationDepsFrom(config: WiringConfig, clients?: AwsClients): RotationDeps {
  const aws =
    clients ??
    createAwsClients({
      region: config.region,
      privateCaRegion: regionOfArn(config.settings.authorityArn),
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    });
  const dynamo = new DynamoDBClient({
    region: config.region,
    ...(config.dynamodbEndpoint ? { endpoint: config.dynamodbEndpoint } : {}),
    maxAttempts: 5,
    requestHandler: { requestTimeout: 10_000, connectionTimeout: 3_000, throwOnRequestTimeout: true },
  });
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
    trustTargets: [
      new S3BundleTarget(aws.s3, config.bucketName, config.bundleKey),
      new SecretBundleTarget(aws.secrets, config.bundleSecretName),
    ],
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
