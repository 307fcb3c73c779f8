/**
 * Wiring of trust reconciliation (CA retirement; functions/trust/reconcile.ts): its own function, invoked by
 * the scheduled scan after a full scan with the CA keys in service, so the scan carries no trust target's
 * code or client and its role may publish nothing. infra/tracking.ts links RotationTable (the retirement
 * clock, announcements), TrustBundleBucket and TrackingSettings (the CAs, the targets, the grace period).
 */

import type { ACMPCAClient } from "@aws-sdk/client-acm-pca";
import { ApiGatewayV2Client } from "@aws-sdk/client-apigatewayv2";
import { CloudFrontClient } from "@aws-sdk/client-cloudfront";
import { DynamoDBClient } from "@aws-sdk/client-dynamodb";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { InventoryStore } from "../adapters/inventory-store.ts";
import { PrivateCaAdapter } from "../adapters/private-ca.ts";
import type { AwsLocation, WiringSources } from "../config/links.ts";
import { managedAuthorityArns, readNamedLinks } from "../config/settings-links.ts";
import { AcknowledgementStore } from "../trust/acknowledgements.ts";
import { type ReconcileResult, reconcileTrust } from "../trust/reconcile.ts";
import { authorityChainsOf, configuredAuthorities } from "./authorities.ts";
import { CLOUDFRONT_REGION, clientConfig, dynamoDbConfig, regionOfArn } from "./clients.ts";
import { deployed } from "./cold-start.ts";
import { logLine } from "./observability.ts";
import { privateCaClients } from "./private-ca-clients.ts";
import { trustBundleOf } from "./trust-bundle.ts";
import { type TrustBundleConfig, type TrustTargetClients, trustTargetsFrom } from "./trust-targets.ts";

/** What infra/tracking.ts links to the reconciliation function. */
export const RECONCILIATION_LINKS = ["RotationTable", "TrustBundleBucket", "TrackingSettings"] as const;

export interface ReconciliationConfig extends AwsLocation, TrustBundleConfig {
  tableName: string;
  /** The CA replacements are issued from, then the CAs being migrated away from. */
  authorityArns: string[];
  caRetirementGraceSeconds: number;
}

export function reconciliationConfig(sources: WiringSources): ReconciliationConfig {
  const { links, location } = readNamedLinks(sources, RECONCILIATION_LINKS);
  const settings = links.TrackingSettings;
  return {
    ...location,
    tableName: links.RotationTable.name,
    ...trustBundleOf(links.TrustBundleBucket, settings.trust),
    authorityArns: managedAuthorityArns(settings),
    caRetirementGraceSeconds: settings.caRetirementGraceSeconds,
  };
}

/** Reconciles every trust target with the CA keys that signed the managed certificates in service. */
export type TrustReconciler = (authorityKeysInService: readonly string[]) => Promise<ReconcileResult>;

/** The trust targets' clients, the table's (retirement clock, announcements) and the CAs'. */
export interface ReconciliationClients extends TrustTargetClients {
  dynamo: DynamoDBClient;
  privateCa(region: string): ACMPCAClient;
}

function reconciliationClients(config: ReconciliationConfig): ReconciliationClients {
  return {
    // A custom endpoint (the stand-ins) is one host: buckets go in the path, not in a subdomain.
    s3: new S3Client({ ...clientConfig(config), forcePathStyle: config.endpoint !== undefined }),
    secrets: new SecretsManagerClient(clientConfig(config)),
    cloudfront: new CloudFrontClient(clientConfig(config, CLOUDFRONT_REGION)),
    elbv2: new ElasticLoadBalancingV2Client(clientConfig(config)),
    apigateway: new ApiGatewayV2Client(clientConfig(config)),
    eventbridge: new EventBridgeClient(clientConfig(config)),
    dynamo: new DynamoDBClient(dynamoDbConfig(config)),
    privateCa: privateCaClients(config),
  };
}

/**
 * The reconciler over a checked configuration; reads each CA's chain once (per cold start). Tests and the
 * sandbox run it in process (the scan's `reconcile` option); deployed, the scan invokes its function.
 */
export async function trustReconcilerFrom(
  config: ReconciliationConfig,
  options: {
    clients?: ReconciliationClients;
    now?: () => Date;
    log?: (message: string, data?: Record<string, unknown>) => void;
  } = {},
): Promise<TrustReconciler> {
  const clients = options.clients ?? reconciliationClients(config);
  const now = options.now ?? (() => new Date());
  const log = options.log ?? logLine;
  const chains = await authorityChainsOf(config.authorityArns, (arn) =>
    new PrivateCaAdapter(clients.privateCa(regionOfArn(arn) ?? config.region)).authorityChainPem(arn),
  );
  const authorities = configuredAuthorities(config.authorityArns, chains);
  const inventory = new InventoryStore(clients.dynamo, { tableName: config.tableName });
  const targets = trustTargetsFrom(config, clients, {
    announcements: inventory.announcements(config.targets.eventBus ?? ""),
  });
  const probes = new AcknowledgementStore(clients.s3, config.bucketName);
  return async (keys) => {
    const result = await reconcileTrust({
      targets,
      probes,
      authorities,
      authorityKeysInService: keys,
      clock: inventory.retirementClock,
      graceSeconds: config.caRetirementGraceSeconds,
      now: now(),
    });
    log("trust bundle reconciled", {
      bundleSha256: result.bundleSha256,
      kept: result.kept,
      inGrace: result.inGrace,
      retiredFingerprints: result.retiredFingerprints,
      changedTargets: result.targets.filter((t) => t.changed).map((t) => t.target),
      probesRepublished: result.probesRepublished,
    });
    return result;
  };
}

/** The deployed reconciler, from SST's linked resources and the Lambda environment. */
export async function buildTrustReconciler(sources: WiringSources = deployed()): Promise<TrustReconciler> {
  return trustReconcilerFrom(reconciliationConfig(sources));
}
