/**
 * Where the trust bundle is published, as configuration, and the names of those targets without building
 * them (a dry run names them; only the workflow and the scan load the targets' code and clients).
 */
import type { TrustTargets } from "../config/settings.ts";
import { trustTargetName } from "../trust/target-names.ts";

/** Where in the bundle bucket each target that loads its bundle from S3 keeps its own object. */
export const TARGET_KEY_PREFIX = "trust/targets";

/** Where the trust bundle is published (the workflow and the scan publish to the same targets). */
export interface TrustBundleConfig {
  /** The service region: the bucket's, and the ALB / API Gateway / EventBridge targets'. */
  region: string;
  /** Versioned bucket of the bundle object. */
  bucketName: string;
  bundleKey: string;
  /** Secrets Manager secret holding the same bundle. */
  bundleSecretName: string;
  targets: TrustTargets;
}

/** The names trustTargetsFrom's targets carry, in the same order. */
export function trustTargetNames(config: TrustBundleConfig): { name: string }[] {
  const { targets } = config;
  return [
    trustTargetName.bundleObject(config.bucketName, config.bundleKey),
    trustTargetName.bundleSecret(config.bundleSecretName),
    ...targets.cloudFrontTrustStoreIds.map(trustTargetName.cloudFrontTrustStore),
    ...targets.albTrustStoreArns.map(trustTargetName.albTrustStore),
    ...targets.apiGatewayDomainNames.map(trustTargetName.apiGatewayDomain),
    ...(targets.webhook ? [trustTargetName.webhook(new URL(targets.webhook.url))] : []),
    ...(targets.eventBus ? [trustTargetName.eventBus(targets.eventBus)] : []),
  ].map((name) => ({ name }));
}
