/**
 * Wiring of expiry tracking: the scheduled scan and the ACM expiry event (infra/tracking.ts links
 * RotationTable, NotificationTopic, TrustBundleBucket, RotationWorkflowStarter and TrackingSettings to both).
 *
 * Both read the same configuration. Only the scheduled scan reconciles the trust bundle (scanFleet skips it
 * for a single-certificate scan), so only the scan's role may write the bundle: the ACM expiry-event
 * function's deps carry a reconcileTrust that it never calls and could not run.
 */

import { ACMClient } from "@aws-sdk/client-acm";
import { ACMPCAClient } from "@aws-sdk/client-acm-pca";
import type { ApiGatewayV2Client } from "@aws-sdk/client-apigatewayv2";
import { CloudFrontClient } from "@aws-sdk/client-cloudfront";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import type { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import type { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import type { S3Client } from "@aws-sdk/client-s3";
import type { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { SNSClient } from "@aws-sdk/client-sns";
import type { DynamoDBDocumentClient } from "@aws-sdk/lib-dynamodb";
import type { workflow } from "sst/aws/workflow";
import { AcmAdapter } from "../adapters/acm.ts";
import { CloudFrontAdapter } from "../adapters/cloudfront.ts";
import { InventoryStore } from "../adapters/inventory-store.ts";
import { Notifier } from "../adapters/notifier.ts";
import { PrivateCaAdapter } from "../adapters/private-ca.ts";
import { RotationStore } from "../adapters/rotation-store.ts";
import type { WiringSources } from "../config/links.ts";
import { readNamedLinks } from "../config/settings-links.ts";
import type { RenewBefore } from "../core/renewal.ts";
import { sstWorkflowStarter, startRotation, type WorkflowSdk } from "../dispatch/start-rotation.ts";
import type { ScanDeps } from "../tracking/scan-fleet.ts";
import { authorityChainsOf, configuredAuthorities, managedIssuersOf } from "./authorities.ts";
import { CLOUDFRONT_REGION, clientConfig, dynamoDbConfig, regionOfArn } from "./clients.ts";
import { deployed } from "./cold-start.ts";
import { logLine, metricsDocument, writeMetricsLine } from "./observability.ts";
import type { TrustBundleConfig } from "./trust-target-names.ts";

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

/** What infra/tracking.ts links to the scan and the ACM expiry event. */
export const TRACKING_LINKS = [
  "RotationTable",
  "NotificationTopic",
  "TrustBundleBucket",
  "RotationWorkflowStarter",
  "TrackingSettings",
] as const;

/** What the tracking functions need; WiringError lists every link that is missing or malformed. */
export function trackingConfig(sources: WiringSources): TrackingConfig {
  const { links, location } = readNamedLinks(sources, TRACKING_LINKS);
  const settings = links.TrackingSettings;
  return {
    ...location,
    tableName: links.RotationTable.name,
    topicArn: links.NotificationTopic.arn,
    bucketName: links.TrustBundleBucket.name,
    bundleKey: settings.trust.bucketKey,
    bundleSecretName: settings.trust.bundleSecretName,
    targets: settings.trust.targets,
    workflow: {
      name: links.RotationWorkflowStarter.name,
      qualifier: links.RotationWorkflowStarter.qualifier,
    },
    authorityArns: [...new Set([settings.authorityArn, ...settings.previousAuthorityArns])],
    renewBefore: settings.renewBefore,
    thresholdsDays: settings.thresholdsDays,
    caRetirementGraceSeconds: settings.caRetirementGraceSeconds,
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

/** The clients both tracking functions call (no trust target's: the expiry event never publishes). */
export type TrackingCoreClients = Pick<
  TrackingClients,
  "acm" | "cloudfront" | "sns" | "dynamo" | "privateCa"
>;

export function trackingCoreClients(config: TrackingConfig): TrackingCoreClients {
  const settings = { region: config.region, ...(config.endpoint ? { endpoint: config.endpoint } : {}) };
  // A CA being migrated away from may live in another region: one client per region, built on first use.
  const privateCa = new Map<string, ACMPCAClient>();
  return {
    acm: new ACMClient(clientConfig(settings, CLOUDFRONT_REGION)),
    cloudfront: new CloudFrontClient(clientConfig(settings, CLOUDFRONT_REGION)),
    sns: new SNSClient(clientConfig(settings)),
    dynamo: new DynamoDBClient(dynamoDbConfig(config)),
    privateCa(region) {
      let client = privateCa.get(region);
      if (!client) {
        client = new ACMPCAClient(clientConfig(settings, region));
        privateCa.set(region, client);
      }
      return client;
    },
  };
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
 * What both tracking functions run on, from a checked configuration: every decision of the scan (list,
 * assess, alert, start rotations, inventory, drift, metrics) and nothing that publishes trust. Reads each
 * CA's chain once per cold start (managed issuers; the scan's trust reconciliation reuses the chains).
 */
export async function trackingDepsFrom(
  config: TrackingConfig,
  options: ScanWiringOptions = {},
  clients: TrackingCoreClients = options.clients ?? trackingCoreClients(config),
): Promise<ScanDeps & { chains: Map<string, string> }> {
  const now = options.now ?? (() => new Date());
  const writeMetrics = options.writeMetrics ?? writeMetricsLine;
  const log = options.log ?? logLine;
  const chains = await authorityChainsOf(config.authorityArns, (arn) =>
    new PrivateCaAdapter(clients.privateCa(regionOfArn(arn) ?? config.region)).authorityChainPem(arn),
  );
  const managedIssuers = await managedIssuersOf(config.authorityArns, async (arn) => chains.get(arn)!);
  const acm = new AcmAdapter(clients.acm);
  const cloudfront = new CloudFrontAdapter(clients.cloudfront);
  const notifier = new Notifier(clients.sns, config.topicArn);
  const history = new RotationStore(clients.dynamo, { tableName: config.tableName });
  const inventory = new InventoryStore(clients.dynamo, { tableName: config.tableName });
  const starter = sstWorkflowStarter(config.workflow, options.workflowSdk);
  return {
    chains,
    listCertificates: (only) => acm.searchClientCertificates(only),
    indexUsage: () => cloudfront.indexOriginCertificates(),
    inventory,
    startRotation: async (request) => {
      const { rotationId, started } = await startRotation(starter, request, history);
      return { rotationId, started };
    },
    notify: (notification) => notifier.publish(notification),
    emitMetrics: (metrics) => writeMetrics(metricsDocument(metrics, now())),
    policy: { managedIssuers, renewBefore: config.renewBefore, thresholdsDays: config.thresholdsDays },
    now,
    log,
  };
}

/**
 * The ACM expiry event's dependencies: a single certificate's scan never reconciles the trust bundle (its
 * role may not write it), so no trust target's code or client is built or bundled.
 */
export async function buildExpiryEventDeps(
  sources: WiringSources = deployed(),
  options?: ScanWiringOptions,
): Promise<ScanDeps> {
  const { chains: _chains, ...deps } = await trackingDepsFrom(trackingConfig(sources), options);
  return deps;
}

export { authorityChainsOf, configuredAuthorities, managedIssuersOf };
