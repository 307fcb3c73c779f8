/**
 * Wiring of expiry tracking: the scheduled scan and the ACM expiry event (infra/tracking.ts links
 * RotationTable, NotificationTopic, TrustBundleBucket, RotationWorkflowStarter and TrackingSettings to both).
 *
 * Both read the same configuration. Only the scheduled scan reconciles the trust bundle (scanFleet skips it
 * for a single-certificate scan), so only the scan's role may write the bundle: the ACM expiry-event
 * function's deps carry a reconcileTrust that it never calls and could not run.
 */

import { ACMClient } from "@aws-sdk/client-acm";
import type { ACMPCAClient } from "@aws-sdk/client-acm-pca";
import { CloudFrontClient } from "@aws-sdk/client-cloudfront";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
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
import { managedAuthorityArns, readNamedLinks } from "../config/settings-links.ts";
import { type ViewerTrustDomain, viewerAuthorityArns } from "../config/viewer-settings.ts";
import type { RenewBefore } from "../core/renewal.ts";
import { sstWorkflowStarter, startRotation, type WorkflowSdk } from "../dispatch/start-rotation.ts";
import type { ScanDeps } from "../tracking/scan-fleet.ts";
import { authorityChainsOf, managedAuthoritiesOf } from "./authorities.ts";
import { CLOUDFRONT_REGION, clientConfig, dynamoDbConfig, regionOfArn } from "./clients.ts";
import { deployed } from "./cold-start.ts";
import { logLine, metricsDocument, writeMetricsLine } from "./observability.ts";
import { privateCaClients } from "./private-ca-clients.ts";
import type { TrustBundleConfig } from "./trust-bundle.ts";
import { trustBundleOf } from "./trust-bundle.ts";

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
  /** Every Private CA the service relies on: the full scan tracks its certificate's and chain's expiry. */
  trackedAuthorityArns: string[];
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

/**
 * Every Private CA whose certificate and chain the service relies on, and so whose own expiry the full scan
 * tracks (GetCertificateAuthorityCertificate once per CA per scan; the scan's role must be granted it, see
 * infra/tracking.ts): the managed (origin-client) CAs, then every CA of the viewer trust domains (current,
 * next, previous: config/viewer-settings.ts viewerAuthorityArns). Each once.
 */
export function trackedAuthorityArns(settings: {
  authorityArn: string;
  previousAuthorityArns: string[];
  viewerTrustDomains?: readonly ViewerTrustDomain[];
}): string[] {
  return [
    ...new Set([
      ...managedAuthorityArns(settings),
      ...viewerAuthorityArns(settings.viewerTrustDomains ?? []),
    ]),
  ];
}

/** What the tracking functions need; WiringError lists every link that is missing or malformed. */
export function trackingConfig(sources: WiringSources): TrackingConfig {
  const { links, location } = readNamedLinks(sources, TRACKING_LINKS);
  const settings = links.TrackingSettings;
  return {
    ...location,
    tableName: links.RotationTable.name,
    topicArn: links.NotificationTopic.arn,
    ...trustBundleOf(links.TrustBundleBucket, settings.trust),
    workflow: {
      name: links.RotationWorkflowStarter.name,
      qualifier: links.RotationWorkflowStarter.qualifier,
    },
    authorityArns: managedAuthorityArns(settings),
    trackedAuthorityArns: trackedAuthorityArns(settings),
    renewBefore: settings.renewBefore,
    thresholdsDays: settings.thresholdsDays,
    caRetirementGraceSeconds: settings.caRetirementGraceSeconds,
  };
}

/** The clients both tracking functions call (tests pass their own); no trust target's: neither publishes. */
export interface TrackingClients {
  acm: ACMClient;
  cloudfront: CloudFrontClient;
  sns: SNSClient;
  dynamo: DynamoDBClient | DynamoDBDocumentClient;
  /** The Private CA client of the region a CA lives in. */
  privateCa(region: string): ACMPCAClient;
}

function trackingClients(config: TrackingConfig): TrackingClients {
  return {
    acm: new ACMClient(clientConfig(config, CLOUDFRONT_REGION)),
    cloudfront: new CloudFrontClient(clientConfig(config, CLOUDFRONT_REGION)),
    sns: new SNSClient(clientConfig(config)),
    dynamo: new DynamoDBClient(dynamoDbConfig(config)),
    privateCa: privateCaClients(config),
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
 * CA's chain once per cold start (the managed CAs, by key).
 */
export async function trackingDepsFrom(
  config: TrackingConfig,
  options: ScanWiringOptions = {},
): Promise<ScanDeps> {
  const clients = options.clients ?? trackingClients(config);
  const now = options.now ?? (() => new Date());
  const writeMetrics = options.writeMetrics ?? writeMetricsLine;
  const log = options.log ?? logLine;
  const authorityChainPem = (arn: string) =>
    new PrivateCaAdapter(clients.privateCa(regionOfArn(arn) ?? config.region)).authorityChainPem(arn);
  const chains = await authorityChainsOf(config.authorityArns, authorityChainPem);
  const managedAuthorities = await managedAuthoritiesOf(
    config.authorityArns,
    async (arn) => chains.get(arn)!,
  );
  const acm = new AcmAdapter(clients.acm);
  const cloudfront = new CloudFrontAdapter(clients.cloudfront);
  const notifier = new Notifier(clients.sns, config.topicArn);
  const history = new RotationStore(clients.dynamo, { tableName: config.tableName });
  const inventory = new InventoryStore(clients.dynamo, { tableName: config.tableName });
  const starter = sstWorkflowStarter(config.workflow, options.workflowSdk);
  return {
    listCertificates: (only) => acm.searchClientCertificates(only),
    readCertificate: async (arn) => (await acm.getCertificate(arn)).certificatePem,
    indexUsage: () => cloudfront.indexOriginCertificates(),
    inventory,
    startRotation: async ({ presentedBy, ...request }) => {
      const { rotationId, started } = await startRotation(starter, request, history, { presentedBy });
      return { rotationId, started };
    },
    notify: (notification) => notifier.publish(notification),
    // Read again by every full scan, not from the chains above: a warm function would otherwise miss a CA
    // certificate renewed since its cold start.
    authorityCertificates: {
      trackedAuthorityArns: config.trackedAuthorityArns,
      readChain: authorityChainPem,
      records: inventory.authorityCertificates,
    },
    // Full scans only (scanFleet skips it for one certificate, so the expiry event never calls these).
    viewerMtls: {
      listFleet: () => cloudfront.listFleet(),
      readOriginRequestPolicies: (ids) => cloudfront.readOriginRequestPolicies(ids),
      listTrustStores: () => cloudfront.listTrustStores(),
      store: inventory.viewerMtls,
    },
    emitMetrics: (metrics) => writeMetrics(metricsDocument(metrics, now())),
    policy: { managedAuthorities, renewBefore: config.renewBefore, thresholdsDays: config.thresholdsDays },
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
  return trackingDepsFrom(trackingConfig(sources), options);
}
