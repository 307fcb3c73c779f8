/**
 * Wiring of the scheduled scan: expiry tracking's dependencies (tracking.ts) plus the trust reconciliation
 * only a full scan runs (CA retirement: every trust target the workflow publishes to).
 */
import { ApiGatewayV2Client } from "@aws-sdk/client-apigatewayv2";
import { ElasticLoadBalancingV2Client } from "@aws-sdk/client-elastic-load-balancing-v2";
import { EventBridgeClient } from "@aws-sdk/client-eventbridge";
import { S3Client } from "@aws-sdk/client-s3";
import { SecretsManagerClient } from "@aws-sdk/client-secrets-manager";
import { InventoryStore } from "../adapters/inventory-store.ts";
import type { WiringSources } from "../config/links.ts";
import type { ScanDeps } from "../tracking/scan-fleet.ts";
import { reconcileTrust } from "../trust/reconcile.ts";
import { configuredAuthorities } from "./authorities.ts";
import { clientConfig } from "./clients.ts";
import { deployed } from "./cold-start.ts";
import { logLine } from "./observability.ts";
import {
  type ScanWiringOptions,
  type TrackingClients,
  type TrackingConfig,
  trackingConfig,
  trackingCoreClients,
  trackingDepsFrom,
} from "./tracking.ts";
import { trustTargetsFrom } from "./trust-targets.ts";

/** Every client the scan calls: tracking's, and the trust targets' (in the service region). */
export function scanClients(config: TrackingConfig): TrackingClients {
  const settings = { region: config.region, ...(config.endpoint ? { endpoint: config.endpoint } : {}) };
  return {
    ...trackingCoreClients(config),
    // A custom endpoint (the stand-ins) is one host: buckets go in the path, not in a subdomain.
    s3: new S3Client({ ...clientConfig(settings), forcePathStyle: config.endpoint !== undefined }),
    secrets: new SecretsManagerClient(clientConfig(settings)),
    elbv2: new ElasticLoadBalancingV2Client(clientConfig(settings)),
    apigateway: new ApiGatewayV2Client(clientConfig(settings)),
    eventbridge: new EventBridgeClient(clientConfig(settings)),
  };
}

/**
 * The scan's dependencies from a checked configuration: tracking's, and the trust reconciliation over the
 * same CA chains (read once per cold start).
 */
export async function scanDepsFrom(
  config: TrackingConfig,
  options: ScanWiringOptions = {},
): Promise<ScanDeps> {
  const clients = options.clients ?? scanClients(config);
  const { chains, ...deps } = await trackingDepsFrom(config, options, clients);
  const now = options.now ?? (() => new Date());
  const log = options.log ?? logLine;
  const authorities = configuredAuthorities(config.authorityArns, chains);
  const inventory = new InventoryStore(clients.dynamo, { tableName: config.tableName });
  const trustTargets = trustTargetsFrom(config, clients, {
    announcements: inventory.announcements(config.targets.eventBus ?? ""),
  });
  return {
    ...deps,
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
  };
}

/** The deployed scan's dependencies, from SST's linked resources and the Lambda environment. */
export async function buildScanDeps(
  sources: WiringSources = deployed(),
  options?: ScanWiringOptions,
): Promise<ScanDeps> {
  return scanDepsFrom(trackingConfig(sources), options);
}
