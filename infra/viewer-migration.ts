// The viewer CA migration workflow: one durable execution per migration of a viewer trust domain
// (functions/workflow/viewer-migration.ts), with exactly the permissions its steps use, on the domains the
// stage configures (settings.viewerTrustDomains). Always deployed, like the rotation workflow: a stage
// without viewer trust domains gets the function with no viewer CA, trust store or passthrough object to
// touch (those statements are absent), and every migration it is asked for is refused at the API (unknown
// domain). No statement has a wildcard action; "*" only where the action supports no narrower resource.
import { CLIENT_AUTH_TEMPLATE_ARN } from "../functions/config/rules.ts";
import {
  passthroughDistributionIds,
  VIEWER_TRUST_STORE_KEY_PREFIX,
  viewerAuthorityArns,
} from "../functions/config/viewer-settings.ts";
import { credentialsKey, secretArn, secretsUnderArn } from "./credentials";
import { LAMBDA_NODEJS, lambdaHandler } from "./lambdas";
import { notificationTopic, notificationTopicLink } from "./notifications";
import { rotationSettingsLink, viewerMigrationRoleName } from "./rotation";
import { settings } from "./settings";
import { rotationTable, rotationTableLink, trustBundleBucket, trustBundleBucketLink } from "./storage";

const partition = aws.getPartitionOutput().partition;
const account = aws.getCallerIdentityOutput().accountId;
const region = aws.getRegionOutput().region;
const domains = settings.viewerTrustDomains;

type Statement = {
  actions: string[];
  resources: ($util.Input<string> | string)[];
  conditions?: { test: string; variable: string; values: ($util.Input<string> | string)[] }[];
};

/** The viewer trust domains, as the workflow reads them (functions/wiring/viewer-migration.ts). */
export const viewerSettingsLink = new sst.Linkable("ViewerSettings", { properties: { domains } });

const viewerCas = viewerAuthorityArns(domains);
const trustStoreIds = [...new Set(domains.flatMap((d) => d.trustStoreIds))];
const passthroughKeys = [
  ...new Set(domains.flatMap((d) => (d.passthrough ? [d.passthrough.bucketKey] : []))),
];
const passthroughSecrets = [
  ...new Set(
    domains.flatMap((d) => (d.passthrough?.bundleSecretName ? [d.passthrough.bundleSecretName] : [])),
  ),
];
const passthroughDistributions = passthroughDistributionIds(domains);
const eventBus = settings.trust.targets.eventBus ?? "default";
const eventBusArn = eventBus.startsWith("arn:")
  ? eventBus
  : $interpolate`arn:${partition}:events:${region}:${account}:event-bus/${eventBus}`;

/** A statement only when it has resources (IAM refuses a statement without any). */
const when = (present: boolean, statements: Statement[]) => (present ? statements : []);

export const viewerMigrationPermissions: Statement[] = [
  // The viewer CAs only: their certificates and chains (the bundles), and a probe viewer certificate per
  // proof attempt (client-auth template only, as the proof presents it like a viewer would).
  ...when(viewerCas.length > 0, [
    {
      actions: [
        "acm-pca:GetCertificateAuthorityCertificate",
        "acm-pca:DescribeCertificateAuthority",
        "acm-pca:GetCertificate",
      ],
      resources: viewerCas,
    },
    {
      actions: ["acm-pca:IssueCertificate"],
      resources: viewerCas,
      conditions: [
        { test: "StringEquals", variable: "acm-pca:TemplateArn", values: [CLIENT_AUTH_TEMPLATE_ARN] },
      ],
    },
  ]),
  // The domains' CloudFront trust stores: read, update (IfMatch), and the tags that remember our update.
  ...when(trustStoreIds.length > 0, [
    {
      actions: [
        "cloudfront:GetTrustStore",
        "cloudfront:UpdateTrustStore",
        "cloudfront:ListTagsForResource",
        "cloudfront:TagResource",
      ],
      resources: trustStoreIds.map(
        (id) => $interpolate`arn:${partition}:cloudfront::${account}:trust-store/${id}`,
      ),
    },
  ]),
  // Bundle objects: each trust store's own (viewer/cloudfront/<id>.pem, read by UpdateTrustStore with the
  // caller's permissions, a version at a time) and each passthrough domain's (read by origin-sync).
  {
    actions: ["s3:GetObject", "s3:GetObjectVersion", "s3:PutObject"],
    resources: [
      $interpolate`${trustBundleBucket.arn}/${VIEWER_TRUST_STORE_KEY_PREFIX}/*`,
      ...passthroughKeys.map((key) => $interpolate`${trustBundleBucket.arn}/${key}`),
    ],
  },
  // Without ListBucket, S3 answers a missing object with 403 instead of 404 (the first publish).
  { actions: ["s3:ListBucket"], resources: [trustBundleBucket.arn] },
  // Passthrough bundle secrets (public CA material).
  ...when(passthroughSecrets.length > 0, [
    {
      actions: [
        "secretsmanager:CreateSecret",
        "secretsmanager:GetSecretValue",
        "secretsmanager:PutSecretValue",
        "secretsmanager:UpdateSecretVersionStage",
      ],
      resources: passthroughSecrets.map((name) => secretArn(name)),
    },
  ]),
  // The proof reaches each passthrough origin as CloudFront does: the origin's endpoint and origin-mTLS
  // certificate from its distribution's configuration, the lineage tag naming that certificate's credential
  // secret, and the credential (certificate, chain, key) read from it — never written.
  ...when(passthroughDistributions.length > 0, [
    {
      actions: ["cloudfront:GetDistributionConfig"],
      resources: passthroughDistributions.map(
        (id) => $interpolate`arn:${partition}:cloudfront::${account}:distribution/${id}`,
      ),
    },
    {
      actions: ["acm:ListTagsForCertificate"],
      resources: [$interpolate`arn:${partition}:acm:us-east-1:${account}:certificate/*`],
    },
    {
      actions: ["secretsmanager:GetSecretValue"],
      resources: [secretsUnderArn(settings.rotation.credentialSecretPrefix)],
    },
    // Their values are encrypted with the credentials key: Decrypt only, only through Secrets Manager (the
    // key's policy allows this role the same, infra/credentials-key-policy.ts; the secrets' resource policy
    // lets it read, RotationSettings.credentialReaderRoleArns).
    {
      actions: ["kms:Decrypt"],
      resources: [credentialsKey.arn],
      conditions: [
        {
          test: "StringEquals",
          variable: "kms:ViaService",
          values: [$interpolate`secretsmanager.${region}.amazonaws.com`],
        },
      ],
    },
  ]),
  // The migration's items in the rotation table (state, history, control, the domain's lock and retirements).
  {
    actions: [
      "dynamodb:GetItem",
      "dynamodb:PutItem",
      "dynamodb:UpdateItem",
      "dynamodb:DeleteItem",
      "dynamodb:Query",
    ],
    resources: [rotationTable.arn],
    conditions: [
      {
        test: "ForAllValues:StringLike",
        variable: "dynamodb:LeadingKeys",
        values: ["VMIG#*", "VDOM#*"],
      },
    ],
  },
  { actions: ["sns:Publish"], resources: [notificationTopic.arn] },
  // The ViewerCaReady event: the stage's trust event bus, or the account's default bus.
  { actions: ["events:PutEvents"], resources: [eventBusArn] },
];

export const viewerMigrationWorkflow = new sst.aws.Workflow("ViewerMigrationWorkflow", {
  handler: lambdaHandler("ViewerMigrationWorkflow"),
  nodejs: LAMBDA_NODEJS,
  runtime: "nodejs22.x",
  architecture: "arm64",
  // Probe viewer keys (RSA-2048 for an RSA CA) and X.509 work: more memory is also more CPU.
  memory: "1024 MB",
  link: [
    rotationTableLink,
    trustBundleBucketLink,
    notificationTopicLink,
    rotationSettingsLink,
    viewerSettingsLink,
  ],
  permissions: viewerMigrationPermissions,
  // The role's name is fixed so the credential secrets' resource policy can name it before it exists
  // (infra/rotation.ts workflowRoleName, RotationSettings.credentialReaderRoleArns).
  transform: { function: { role: { name: viewerMigrationRoleName } } },
  retention: `${settings.workflow.retentionDays} days`,
  timeout: {
    // The stage's bound, which the domains' proof and approval windows fit in (functions/config/stage.ts).
    execution: `${settings.workflow.executionTimeoutDays} days`,
    // The slowest step (a trust store turning active, a proof attempt) is well under this.
    invocation: "5 minutes",
  },
});

/**
 * The workflow's name and qualifier, for POST /viewer-migrations (a durable start is a qualified invoke):
 * linking the sst.aws.Workflow itself would grant stopping executions too.
 */
export const viewerMigrationStarterLink = new sst.Linkable("ViewerMigrationWorkflowStarter", {
  properties: { name: viewerMigrationWorkflow.name, qualifier: viewerMigrationWorkflow.qualifier },
});
