/**
 * Wiring of the rotation workflow (infra/rotation.ts links RotationTable, TrustBundleBucket,
 * NotificationTopic and RotationSettings to it): the linked resources parsed with the settings schema, then
 * the workflow's dependencies. Environment: `AWS_REGION` (set by Lambda); optional `MTLS_ROTATOR_AWS_ENDPOINT`
 * and `MTLS_ROTATOR_DYNAMODB_ENDPOINT` send the clients to local stand-ins (sandbox).
 */
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { AcmAdapter, Pacer } from "../adapters/acm.ts";
import { CloudFrontAdapter } from "../adapters/cloudfront.ts";
import { DistributionMetrics } from "../adapters/metrics.ts";
import { Notifier } from "../adapters/notifier.ts";
import { AccountPacer } from "../adapters/pacer.ts";
import { PrivateCaAdapter } from "../adapters/private-ca.ts";
import { RotationStore } from "../adapters/rotation-store.ts";
import { CredentialStore } from "../adapters/secrets.ts";
import { trustAnnouncements } from "../adapters/trust-announcements.ts";
import type { WiringSources } from "../config/links.ts";
import type { RotationSettings } from "../config/settings.ts";
import { managedAuthorityArns, readNamedLinks } from "../config/settings-links.ts";
import { AcknowledgementStore } from "../trust/acknowledgements.ts";
import type { RotationDeps } from "../workflow/rotation-workflow.ts";
import { type AwsClients, createAwsClients } from "./aws-clients.ts";
import { dynamoDbConfig, regionOfArn } from "./clients.ts";
import { deployed } from "./cold-start.ts";
import { logLine } from "./observability.ts";
import { privateCaClients } from "./private-ca-clients.ts";
import { trustBundleOf } from "./trust-bundle.ts";
import { type TrustBundleConfig, trustTargetsFrom } from "./trust-targets.ts";

export interface WiringConfig extends TrustBundleConfig {
  region: string;
  endpoint?: string;
  /** Override for DynamoDB alone (dynalite serves it apart from the other stand-ins). */
  dynamodbEndpoint?: string;
  tableName: string;
  topicArn: string;
  /** Customer-managed KMS key the credential secrets are encrypted with. */
  credentialsKeyArn: string;
  /** The workflow's own role: the only principal the credential secrets' resource policy lets use them. */
  workflowRoleArn: string;
  /** Roles that may also read a credential secret's value (the viewer CA migration's proof). */
  credentialReaderRoleArns?: string[];
  settings: RotationSettings;
  /** The managed CAs: the configured one first, then those being migrated away from. */
  authorityArns: string[];
}

/** What infra/rotation.ts links to the workflow. */
export const WORKFLOW_LINKS = [
  "RotationTable",
  "TrustBundleBucket",
  "NotificationTopic",
  "RotationSettings",
] as const;

/** The workflow's configuration; WiringError lists every link that is missing or malformed. */
export function wiringConfig(sources: WiringSources): WiringConfig {
  const { links, location } = readNamedLinks(sources, WORKFLOW_LINKS);
  const linked = links.RotationSettings;
  return {
    ...location,
    tableName: links.RotationTable.name,
    ...trustBundleOf(links.TrustBundleBucket, linked.trust),
    topicArn: links.NotificationTopic.arn,
    credentialsKeyArn: linked.credentialsKeyArn,
    workflowRoleArn: linked.workflowRoleArn,
    credentialReaderRoleArns: linked.credentialReaderRoleArns,
    settings: linked.rotation,
    authorityArns: managedAuthorityArns({
      authorityArn: linked.rotation.authorityArn,
      previousAuthorityArns: linked.previousAuthorityArns,
    }),
  };
}

/**
 * The workflow's dependencies from a checked configuration; SDK clients are built here, once. `table`: the
 * rotation table's client, when the caller has one (local stand-ins: dynalite's credentials).
 */
export function rotationDepsFrom(
  config: WiringConfig,
  clients?: AwsClients,
  table?: DynamoDBClient,
): RotationDeps {
  const aws =
    clients ??
    createAwsClients({
      region: config.region,
      privateCaRegion: regionOfArn(config.settings.authorityArn),
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    });
  const dynamo = table ?? new DynamoDBClient(dynamoDbConfig(config));
  const now = () => new Date();
  // No in-process pacing: the account's pacer gives each import its slot (a wait here could only make it late).
  const acm = new AcmAdapter(aws.acm, new Pacer(0), aws.acmImport);
  const privateCa = new PrivateCaAdapter(aws.privateCa);
  // Another CA's region gets its own client (tests' stand-ins serve every region on one client).
  const privateCaIn = clients ? () => aws.privateCa : privateCaClients(config);
  const credentials = new CredentialStore(aws.secrets, {
    kmsKeyId: config.credentialsKeyArn,
    workflowRoleArn: config.workflowRoleArn,
    ...(config.credentialReaderRoleArns?.length ? { readerRoleArns: config.credentialReaderRoleArns } : {}),
  });
  const notifier = new Notifier(aws.sns, config.topicArn);
  const metrics = new DistributionMetrics(aws.cloudwatch);
  return {
    settings: config.settings,
    now,
    acm,
    distributions: new CloudFrontAdapter(aws.cloudfront),
    issuance: { privateCa, acm, credentials, now },
    pacer: new AccountPacer(dynamo, { tableName: config.tableName, now }),
    authorities: {
      authorityArns: config.authorityArns,
      privateCaOf: (arn) => new PrivateCaAdapter(privateCaIn(regionOfArn(arn) ?? config.region)),
    },
    trustTargets: trustTargetsFrom(config, aws, {
      announcements: trustAnnouncements(dynamo, config.tableName, config.targets.eventBus ?? ""),
    }),
    acknowledgements: new AcknowledgementStore(aws.s3, config.bucketName),
    metrics,
    store: new RotationStore(dynamo, { tableName: config.tableName }),
    notify: (notification) => notifier.publish(notification),
    countMetric: (name, value) => metrics.count(name, value),
    log: logLine,
  };
}

/** The deployed workflow's dependencies, from SST's linked resources and the Lambda environment. */
export function buildRotationDeps(sources: WiringSources = deployed()): RotationDeps {
  return rotationDepsFrom(wiringConfig(sources));
}
