// The rotation workflow: one durable execution per rotation (functions/workflow/rotation-workflow.ts), with
// exactly the permissions its steps use. No statement has a wildcard action; a resource is "*" only where the
// action supports no narrower resource (noted on each). test/infra/iam-reference.test.ts checks every statement
// against AWS's Service Authorization Reference.

import { CLIENT_AUTH_TEMPLATE_ARN } from "../functions/config/rules.ts";
import { credentialsKey, secretArn, secretsUnderArn } from "./credentials";
import { LAMBDA_NODEJS, lambdaHandler } from "./lambdas";
import { notificationTopic, notificationTopicLink } from "./notifications";
import { settings } from "./settings";
import { rotationTable, rotationTableLink, trustBundleBucket, trustBundleBucketLink } from "./storage";
import { trustTargetPermissions } from "./trust-targets";

export { CLIENT_AUTH_TEMPLATE_ARN };

const partition = aws.getPartitionOutput().partition;
const account = aws.getCallerIdentityOutput().accountId;
const region = aws.getRegionOutput().region;
const { rotation, trust, cloudfront } = settings;

/** The stage's settings as the workflow reads them (functions/handlers/wiring.ts). */
export const rotationSettingsLink = new sst.Linkable("RotationSettings", {
  properties: {
    rotation,
    trust,
    credentialsKeyArn: credentialsKey.arn,
    // With rotation.authorityArn: the CAs whose certificates are managed (the API refuses any other).
    previousAuthorityArns: settings.tracking.previousAuthorityArns,
  },
});

type Statement = {
  actions: string[];
  resources: ($util.Input<string> | string)[];
  conditions?: { test: string; variable: string; values: ($util.Input<string> | string)[] }[];
};

export const rotationWorkflowPermissions: Statement[] = [
  // Private CA: issue (client-auth template only), fetch, describe and read the CA chain — this CA only.
  {
    actions: ["acm-pca:IssueCertificate"],
    resources: [rotation.authorityArn],
    conditions: [
      { test: "StringEquals", variable: "acm-pca:TemplateArn", values: [CLIENT_AUTH_TEMPLATE_ARN] },
    ],
  },
  {
    actions: ["acm-pca:GetCertificate", "acm-pca:DescribeCertificateAuthority"],
    resources: [rotation.authorityArn],
  },
  // The CA certificates of every managed CA (which of them issued a retired certificate), and revocation
  // of retired certificates at the CA that issued them, only where the stage asks for it.
  {
    actions: [
      "acm-pca:GetCertificateAuthorityCertificate",
      ...(rotation.revokeRetired ? ["acm-pca:RevokeCertificate"] : []),
    ],
    resources: [rotation.authorityArn, ...settings.tracking.previousAuthorityArns],
  },
  // ACM us-east-1 (where CloudFront takes certificates from): import new ARNs with lineage tags, read,
  // retire. Certificate ARNs of new imports are unknown in advance, hence certificate/* of this account.
  {
    actions: [
      "acm:ImportCertificate",
      "acm:AddTagsToCertificate",
      "acm:DescribeCertificate",
      "acm:GetCertificate",
      "acm:DeleteCertificate",
      // The lineage tag names the credential secret every rotation of a certificate's lineage writes.
      "acm:ListTagsForCertificate",
    ],
    resources: [$interpolate`arn:${partition}:acm:us-east-1:${account}:certificate/*`],
  },
  // SearchCertificates (finding a retried issuance's earlier import by serial) supports no resource-level
  // permission.
  { actions: ["acm:SearchCertificates"], resources: ["*"] },
  // CloudFront: ListDistributions supports no resource-level permission; reading and updating are scoped to
  // the configured distributions, or to every distribution of the account (the fleet is discovered by
  // which distributions present the certificate, so it is not known at deploy time).
  { actions: ["cloudfront:ListDistributions"], resources: ["*"] },
  {
    actions: [
      "cloudfront:GetDistribution",
      "cloudfront:GetDistributionConfig",
      "cloudfront:UpdateDistribution",
    ],
    resources: (cloudfront.distributionIds ?? ["*"]).map(
      (id) => $interpolate`arn:${partition}:cloudfront::${account}:distribution/${id}`,
    ),
  },
  // Credential secrets (certificate, chain, key) and their issuance secrets (`<credential>/issuance`: a
  // rotation's key + CSR and staged credential until promotion): only under the stage's prefix.
  {
    actions: [
      "secretsmanager:CreateSecret",
      "secretsmanager:TagResource",
      "secretsmanager:DescribeSecret",
      "secretsmanager:GetSecretValue",
      "secretsmanager:PutSecretValue",
      "secretsmanager:UpdateSecretVersionStage",
    ],
    resources: [secretsUnderArn(rotation.credentialSecretPrefix)],
  },
  // The trust-bundle secret (public CA material).
  {
    actions: [
      "secretsmanager:CreateSecret",
      "secretsmanager:GetSecretValue",
      "secretsmanager:PutSecretValue",
      "secretsmanager:UpdateSecretVersionStage",
    ],
    resources: [secretArn(trust.bundleSecretName)],
  },
  // The credentials key, only through Secrets Manager (envelope encryption of the credential secrets).
  {
    actions: ["kms:GenerateDataKey", "kms:Decrypt"],
    resources: [credentialsKey.arn],
    conditions: [
      {
        test: "StringEquals",
        variable: "kms:ViaService",
        values: [$interpolate`secretsmanager.${region}.amazonaws.com`],
      },
    ],
  },
  // Rotation store: the items the workflow writes (lock, state, history, control). No index access.
  {
    actions: ["dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:UpdateItem", "dynamodb:DeleteItem"],
    resources: [rotationTable.arn],
  },
  // Trust bundle object: read (GetObject also covers HeadObject) and publish, this key only.
  {
    actions: ["s3:GetObject", "s3:PutObject"],
    resources: [$interpolate`${trustBundleBucket.arn}/${trust.bucketKey}`],
  },
  // Without ListBucket, S3 answers a missing object with 403 instead of 404, and the first publish (no
  // bundle yet) would fail. The bucket holds nothing but bundles.
  { actions: ["s3:ListBucket"], resources: [trustBundleBucket.arn] },
  { actions: ["sns:Publish"], resources: [notificationTopic.arn] },
  // GetMetricData on "*": metrics (AWS/CloudFront 5xxErrorRate) have no ARN; the only resource type the
  // Service Authorization Reference lists for it is an optional CloudWatch dataset, which the gate never reads.
  { actions: ["cloudwatch:GetMetricData"], resources: ["*"] },
  // The stage's optional trust targets (CloudFront/ALB trust stores, API Gateway domains, webhook, bus).
  ...trustTargetPermissions,
];

export const rotationWorkflow = new sst.aws.Workflow("RotationWorkflow", {
  handler: lambdaHandler("RotationWorkflow"),
  nodejs: LAMBDA_NODEJS,
  runtime: "nodejs22.x",
  architecture: "arm64",
  // RSA-2048 key generation and X.509 work in WebCrypto: more memory is also more CPU.
  memory: "1024 MB",
  link: [rotationTableLink, trustBundleBucketLink, notificationTopicLink, rotationSettingsLink],
  permissions: rotationWorkflowPermissions,
  retention: `${settings.workflow.retentionDays} days`,
  timeout: {
    execution: `${settings.workflow.executionTimeoutDays} days`,
    // One invocation runs steps until the next wait; the slowest step (issuance polling) is well under this.
    invocation: "5 minutes",
  },
});

/**
 * For every function that starts rotations (the scan, the ACM expiry event, POST /rotations): whether an
 * earlier rotation of the certificate is alive (its durable execution's status, by name), and releasing the
 * lock of one that is not (functions/dispatch/start-rotation.ts liveLockHolder): a conditional DeleteItem of
 * lock items only (`CERT#...` partitions).
 */
export const deadRotationRelease: Statement[] = [
  {
    // The action's resource is the function, unqualified (Service Authorization Reference); the request
    // names the published version in its Qualifier.
    actions: ["lambda:ListDurableExecutionsByFunction"],
    resources: [rotationWorkflow.arn],
  },
  {
    actions: ["dynamodb:DeleteItem"],
    resources: [rotationTable.arn],
    conditions: [{ test: "ForAllValues:StringLike", variable: "dynamodb:LeadingKeys", values: ["CERT#*"] }],
  },
];
