/**
 * The targets the trust bundle is published to, from a checked configuration: the one place they are built,
 * for the workflow (trust before swap) and the scan (CA retirement) alike, so both always publish to the same
 * set. Order: the bundle object first (the published bundle is read back from it), then the secret, the
 * service trust stores, the webhook, and last the EventBridge announcement, which tells consumers a bundle
 * every other target already has. Every target's limits (CloudFront: 25 CAs, 64 KB) are checked before any
 * target is written (publishTrustBundle), so an oversized bundle changes nothing.
 */
import { readSecretString } from "../adapters/secrets.ts";
import type { TrustTargets } from "../config/settings.ts";
import { S3BundleTarget, SecretBundleTarget, type TrustTarget } from "../trust/publish-bundle.ts";
import { AlbTrustStoreTarget } from "../trust/targets/alb-trust-store.ts";
import { ApiGatewayDomainTarget } from "../trust/targets/apigateway-domain.ts";
import { CloudFrontTrustStoreTarget } from "../trust/targets/cloudfront-trust-store.ts";
import { type AnnouncementStore, EventBridgeTarget } from "../trust/targets/eventbridge.ts";
import { WebhookTarget } from "../trust/targets/webhook.ts";
import type { AwsClients } from "./aws-clients.ts";
import { TARGET_KEY_PREFIX, type TrustBundleConfig } from "./trust-bundle.ts";

export { TARGET_KEY_PREFIX, type TrustBundleConfig } from "./trust-bundle.ts";
export { trustTargetNames } from "./trust-target-names.ts";
export type { TrustTargets };

/** The clients trust targets use (all in the service region, CloudFront's in us-east-1). */
export type TrustTargetClients = Pick<
  AwsClients,
  "s3" | "secrets" | "cloudfront" | "elbv2" | "apigateway" | "eventbridge"
>;

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
