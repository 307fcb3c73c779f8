// Permissions of the optional trust targets (settings.trust.targets): granted to whoever publishes the trust
// bundle — the workflow (trust before swap) and the scheduled scan (CA retirement) — and only for the targets
// the stage configures. A stage with none gets no statement from here. Each resource is the configured one;
// no wildcard action. What each target calls is in functions/trust/targets/*.ts (the infra test checks it).
import { TARGET_KEY_PREFIX } from "../functions/wiring/trust-bundle.ts";
import { secretArn } from "./credentials";
import { settings } from "./settings";
import { trustBundleBucket } from "./storage";

const partition = aws.getPartitionOutput().partition;
const account = aws.getCallerIdentityOutput().accountId;
const region = aws.getRegionOutput().region;
const { cloudFrontTrustStoreIds, albTrustStoreArns, apiGatewayDomainNames, webhook, eventBus } =
  settings.trust.targets;

type Statement = { actions: string[]; resources: ($util.Input<string> | string)[] };

export { TARGET_KEY_PREFIX };

const s3Loaded = cloudFrontTrustStoreIds.length + albTrustStoreArns.length + apiGatewayDomainNames.length > 0;

const eventBusArn = (bus: string) =>
  bus.startsWith("arn:") ? bus : $interpolate`arn:${partition}:events:${region}:${account}:event-bus/${bus}`;

export const trustTargetPermissions: Statement[] = [
  // Each S3-loaded target's own object: written by the service, then loaded by the service that trusts
  // it with the caller's permissions (ModifyTrustStore, UpdateTrustStore, UpdateDomainName read a version).
  ...(s3Loaded
    ? [
        {
          actions: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
          resources: [$interpolate`${trustBundleBucket.arn}/${TARGET_KEY_PREFIX}/*`],
        },
      ]
    : []),
  // CloudFront viewer trust stores: read, update (IfMatch), and the tags that remember the bundle's hash.
  ...(cloudFrontTrustStoreIds.length > 0
    ? [
        {
          actions: [
            "cloudfront:GetTrustStore",
            "cloudfront:UpdateTrustStore",
            "cloudfront:ListTagsForResource",
            "cloudfront:TagResource",
          ],
          resources: cloudFrontTrustStoreIds.map(
            (id) => $interpolate`arn:${partition}:cloudfront::${account}:trust-store/${id}`,
          ),
        },
      ]
    : []),
  // ALB trust stores: modify and tag these; DescribeTags supports no resource-level permission.
  ...(albTrustStoreArns.length > 0
    ? [
        {
          actions: ["elasticloadbalancing:ModifyTrustStore", "elasticloadbalancing:AddTags"],
          resources: albTrustStoreArns,
        },
        { actions: ["elasticloadbalancing:DescribeTags"], resources: ["*"] },
      ]
    : []),
  // API Gateway custom domains: read and point the truststore at the new object version.
  ...(apiGatewayDomainNames.length > 0
    ? [
        {
          actions: ["apigateway:GET", "apigateway:PATCH"],
          resources: apiGatewayDomainNames.map(
            (domain) => $interpolate`arn:${partition}:apigateway:${region}::/domainnames/${domain}`,
          ),
        },
      ]
    : []),
  // The webhook's HMAC key (read on each push). A key encrypted with a customer-managed KMS key also needs
  // kms:Decrypt on it, granted by that key's policy.
  ...(webhook
    ? [
        {
          actions: ["secretsmanager:GetSecretValue"],
          resources: [secretArn(webhook.secretName)],
        },
      ]
    : []),
  // The TrustBundlePublished announcement: this bus only.
  ...(eventBus
    ? [{ actions: ["events:DescribeEventBus", "events:PutEvents"], resources: [eventBusArn(eventBus)] }]
    : []),
];
