/**
 * The names of the targets the trust bundle is published to, without building them (a dry run names them;
 * only the workflow and the trust reconciliation load the targets' code and clients).
 */
import { trustTargetName } from "../trust/target-names.ts";
import type { TrustBundleConfig } from "./trust-bundle.ts";

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
