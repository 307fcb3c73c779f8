// The rotation workflow: one durable execution per rotation (functions/workflow/rotation-workflow.ts), with
// exactly the permissions its steps use. No statement has a wildcard action; a resource is "*" only where the
// action supports no narrower resource (noted on each). test/infra/iam-reference.test.ts checks every statement
// against AWS's Service Authorization Reference.

import { createHash } from "node:crypto";
import { CLIENT_AUTH_TEMPLATE_ARN } from "../functions/config/rules.ts";
import { passthroughDistributionIds } from "../functions/config/viewer-settings.ts";
import { ACK_PREFIX, PROBE_CERTIFICATES_KEY } from "../functions/core/acknowledgement.ts";
import {
  LINEAGE_TAG_KEY_PREFIX,
  LINEAGE_TAGS,
  MANAGED_TAG_VALUE,
} from "../functions/core/certificate-tags.ts";
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

/** IAM's limit on a role name. */
const ROLE_NAME_MAX = 64;

/**
 * A workflow role's name, chosen here rather than by SST so that its ARN is known before the role exists:
 * the rotation workflow is told it (RotationSettings.workflowRoleArn, and the viewer CA migration's in
 * credentialReaderRoleArns) to name it in the credential secrets' resource policy
 * (functions/adapters/secrets.ts credentialSecretPolicy) — the function's own role output would make the
 * function depend on itself. `<app>-<stage>-<workflow>Role`; a name past IAM's 64 characters keeps its
 * first 51 and a hash of the whole.
 */
export function workflowRoleName(app: string, stage: string, workflow = "RotationWorkflow"): string {
  const name = `${app}-${stage}-${workflow}Role`;
  if (name.length <= ROLE_NAME_MAX) return name;
  const hash = createHash("sha256").update(name).digest("hex").slice(0, 12);
  return `${name.slice(0, ROLE_NAME_MAX - hash.length - 1)}-${hash}`;
}

const rotationWorkflowRoleName = workflowRoleName($app.name, $app.stage);
/** The viewer CA migration workflow's role (infra/viewer-migration.ts names its role with it). */
export const viewerMigrationRoleName = workflowRoleName($app.name, $app.stage, "ViewerMigrationWorkflow");
/**
 * Whether the viewer CA migration reads credential secrets: its proof presents CloudFront's origin-mTLS
 * credential to the stage's passthrough origins, and only then (infra/viewer-migration.ts).
 */
export const viewerReadsCredentials = passthroughDistributionIds(settings.viewerTrustDomains).length > 0;

/** The stage's settings as the workflow reads them (functions/handlers/wiring.ts). */
export const rotationSettingsLink = new sst.Linkable("RotationSettings", {
  properties: {
    rotation,
    trust,
    credentialsKeyArn: credentialsKey.arn,
    workflowRoleArn: $interpolate`arn:${partition}:iam::${account}:role/${rotationWorkflowRoleName}`,
    // Read only (GetSecretValue), credential secrets only: the viewer CA migration's proof.
    credentialReaderRoleArns: viewerReadsCredentials
      ? [$interpolate`arn:${partition}:iam::${account}:role/${viewerMigrationRoleName}`]
      : [],
    // With rotation.authorityArn: the CAs whose certificates are managed (the API refuses any other).
    previousAuthorityArns: settings.tracking.previousAuthorityArns,
  },
});

type Statement = {
  actions: string[];
  resources: ($util.Input<string> | string)[];
  conditions?: { test: string; variable: string; values: ($util.Input<string> | string)[] }[];
};

const acmCertificates = $interpolate`arn:${partition}:acm:us-east-1:${account}:certificate/*`;

/**
 * ACM writes, only on certificates carrying the service's mark (functions/core/certificate-tags.ts:
 * `mtls-rotator:managed` = "true", on every import of every version of the service). What AWS documents
 * (Service Authorization Reference, ACM:
 * https://docs.aws.amazon.com/service-authorization/latest/reference/list_awscertificatemanager.html):
 * - ImportCertificate supports the condition keys aws:RequestTag/${TagKey} and aws:TagKeys, and an import
 *   with Tags is also authorized as acm:AddTagsToCertificate (the reference's API-operations table maps
 *   ImportCertificate to both actions:
 *   https://docs.amazonaws.cn/service-authorization/latest/reference/list_acm.html); AddTagsToCertificate
 *   supports the same two keys.
 * - The certificate resource type (which ImportCertificate, AddTagsToCertificate and DeleteCertificate take)
 *   supports aws:ResourceTag/${TagKey}.
 * So an import is allowed only when its request carries the mark and tags nothing but `mtls-rotator:*` keys.
 * A re-import onto an existing ARN cannot carry tags ("You cannot apply tags when reimporting a
 * certificate", https://docs.aws.amazon.com/acm/latest/APIReference/API_ImportCertificate.html), so its
 * request has no aws:RequestTag and StringEquals cannot match ("If the key that you specify in a policy
 * condition is not present in the request context, the values do not match and the condition is false",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_elements_condition_operators.html): no
 * re-import is allowed at all, which the service never does (a new ARN per rotation). The aws:RequestTag
 * condition is also what keeps the set operator honest: ForAllValues "also returns true if there are no
 * context keys in the request"
 * (https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition_examples-multi-valued-context-keys.html).
 * DeleteCertificate is allowed only on a certificate whose own tags carry the mark (aws:ResourceTag): never
 * a certificate someone else imported (AcmAdapter.deleteIfUnused leaves those in place, the rotation
 * completes).
 * Not conditioned on aws:ResourceTag: ImportCertificate / AddTagsToCertificate, because a new certificate
 * has no tags of its own when the import is authorized, and AWS does not document that the request's tags
 * count as the resource's then. Left open by that: the role could add the mark to a certificate it did not
 * import (AddTagsToCertificate alone, with the mark) and then delete it; the service never calls
 * AddTagsToCertificate on its own, and deletion of a certificate in use is refused by ACM anyway.
 * RemoveTagsFromCertificate is not granted: the service cannot take the mark off.
 */
const acmImportAndRetire: Statement[] = [
  {
    actions: ["acm:ImportCertificate", "acm:AddTagsToCertificate"],
    resources: [acmCertificates],
    conditions: [
      {
        test: "StringEquals",
        variable: `aws:RequestTag/${LINEAGE_TAGS.managed}`,
        values: [MANAGED_TAG_VALUE],
      },
      { test: "ForAllValues:StringLike", variable: "aws:TagKeys", values: [`${LINEAGE_TAG_KEY_PREFIX}*`] },
    ],
  },
  {
    actions: ["acm:DeleteCertificate"],
    resources: [acmCertificates],
    conditions: [
      {
        test: "StringEquals",
        variable: `aws:ResourceTag/${LINEAGE_TAGS.managed}`,
        values: [MANAGED_TAG_VALUE],
      },
    ],
  },
];

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
  // ACM us-east-1 (where CloudFront takes certificates from). Certificate ARNs of new imports are unknown in
  // advance, hence certificate/* of this account, narrowed by tags where ACM supports it.
  // Reads of any certificate: the one in service may have been imported by someone else. The lineage tag
  // names the credential secret every rotation of a certificate's lineage writes.
  {
    actions: ["acm:DescribeCertificate", "acm:GetCertificate", "acm:ListTagsForCertificate"],
    resources: [acmCertificates],
  },
  ...acmImportAndRetire,
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
  // Their resource policy (only this role may use their values), only with BlockPublicPolicy.
  {
    actions: ["secretsmanager:PutResourcePolicy"],
    resources: [secretsUnderArn(rotation.credentialSecretPrefix)],
    conditions: [{ test: "Bool", variable: "secretsmanager:BlockPublicPolicy", values: ["true"] }],
  },
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
  // Rotation store: the items the workflow writes (lock, state, distributions, history, control, distribution
  // claims), the account's pacer (functions/adapters/pacer.ts: `PACE#<operation>` schedules and holds, shared
  // by every execution), and the Query that reads a large plan's distributions back. No index access. No
  // dynamodb:LeadingKeys condition: the workflow writes every partition of the table but the inventory's, and
  // its items are keyed by ARNs and ids it learns at run time.
  {
    actions: [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
      "dynamodb:Query",
    ],
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
  // Acknowledgements (functions/core/acknowledgement.ts): the probe certificates published next to the
  // bundle (public certificates), read and published; origin hosts' acknowledgements, read only: each host
  // writes its own with its own IAM identity, and the workflow can neither write nor forge one.
  {
    actions: ["s3:GetObject", "s3:PutObject"],
    resources: [$interpolate`${trustBundleBucket.arn}/${PROBE_CERTIFICATES_KEY}`],
  },
  { actions: ["s3:GetObject"], resources: [$interpolate`${trustBundleBucket.arn}/${ACK_PREFIX}*`] },
  { actions: ["sns:Publish"], resources: [notificationTopic.arn] },
  // GetMetricData on "*": metrics (AWS/CloudFront 5xxErrorRate) have no ARN; the only resource type the
  // Service Authorization Reference lists for it is an optional CloudWatch dataset, which the gate never reads.
  { actions: ["cloudwatch:GetMetricData"], resources: ["*"] },
  // The NotificationsUndelivered counter, in the service's own namespace only.
  {
    actions: ["cloudwatch:PutMetricData"],
    resources: ["*"],
    conditions: [{ test: "StringEquals", variable: "cloudwatch:namespace", values: ["mtls-rotator"] }],
  },
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
  // The role's name is fixed so the workflow can be told its ARN (workflowRoleName).
  transform: { function: { role: { name: rotationWorkflowRoleName } } },
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
