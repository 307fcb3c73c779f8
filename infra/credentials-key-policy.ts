// The credentials key's policy: who may administer the key, and who may use it (through Secrets Manager only).
// Declared after both workflows whose roles it names (infra/rotation.ts, infra/viewer-migration.ts).
import { credentialsKey } from "./credentials";
import { rotationWorkflow, viewerReadsCredentials } from "./rotation";
import { viewerMigrationWorkflow } from "./viewer-migration";

const partition = aws.getPartitionOutput().partition;
const account = aws.getCallerIdentityOutput().accountId;
const region = aws.getRegionOutput().region;

/** Only through Secrets Manager in this region, for this account. */
const throughSecretsManager = {
  StringEquals: {
    "kms:ViaService": $interpolate`secretsmanager.${region}.amazonaws.com`,
    "kms:CallerAccount": account,
  },
};

/**
 * Administration of the credentials key, granted to the account (and so to whoever IAM lets administer it):
 * the key policy keeps the key manageable — AWS warns that a key policy which lets no one manage the key makes
 * it unmanageable (https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-default.html, "Allows
 * access to the AWS account and enables IAM policies") — but, unlike the default policy's `kms:*`, grants no
 * cryptographic operation: no Decrypt, no GenerateDataKey, no grant creation. Deploying and removing the stack
 * uses these (the key, its rotation, alias, tags, this policy, deletion); PutKeyPolicy keeps the lockout
 * safety check satisfied and lets an administrator change who may decrypt.
 */
export const CREDENTIALS_KEY_ADMINISTRATION = [
  "kms:DescribeKey",
  "kms:GetKeyPolicy",
  "kms:PutKeyPolicy",
  "kms:ListKeyPolicies",
  "kms:GetKeyRotationStatus",
  "kms:EnableKeyRotation",
  "kms:DisableKeyRotation",
  "kms:RotateKeyOnDemand",
  "kms:ListKeyRotations",
  "kms:ListResourceTags",
  "kms:TagResource",
  "kms:UntagResource",
  "kms:EnableKey",
  "kms:DisableKey",
  "kms:ScheduleKeyDeletion",
  "kms:CancelKeyDeletion",
  "kms:CreateAlias",
  "kms:UpdateAlias",
  "kms:DeleteAlias",
  "kms:UpdateKeyDescription",
  "kms:ListGrants",
  "kms:RevokeGrant",
];

/**
 * The credentials key's policy: only the workflow's role may use the key, and only through Secrets Manager in
 * this region, for this account — the two operations Secrets Manager performs on the caller's behalf with a
 * customer-managed key ("the user must have the following permissions ... kms:GenerateDataKey, kms:Decrypt.
 * You can specify these required permissions in an IAM policy or key policy",
 * https://docs.aws.amazon.com/secretsmanager/latest/userguide/security-encryption.html#security-encryption-authz).
 * The account gets administration only (CREDENTIALS_KEY_ADMINISTRATION). So no other principal of the account
 * can read a credential secret's value (the private keys), whatever its IAM policies say: decryption needs the
 * key policy's allowance, since the account statement no longer delegates it to IAM. The workflow is the only
 * reader and writer of the credential and issuance secrets (functions/adapters/secrets.ts); origins never read
 * them (origin-sync reads the public trust bundle, which is not encrypted with this key).
 * The viewer CA migration workflow's role may Decrypt, through Secrets Manager, and only when the stage has
 * passthrough origins: its proof reads CloudFront's origin-mTLS credential from the credential secrets (read
 * only: no GenerateDataKey, so it can encrypt no new secret value), which their resource policy lets it read.
 * A separate KeyPolicy resource, after both workflows: the key is linked to the rotation workflow
 * (RotationSettings), and a role exists only once its workflow does (KMS refuses a policy naming a principal
 * that does not exist: "the principal ... must exist and be visible to AWS KMS",
 * https://docs.aws.amazon.com/kms/latest/developerguide/key-policy-overview.html).
 */
export const credentialsKeyPolicy = new aws.kms.KeyPolicy("CredentialsKeyPolicy", {
  keyId: credentialsKey.keyId,
  policy: $jsonStringify({
    Version: "2012-10-17",
    Statement: [
      {
        Sid: "AccountAdministersTheKey",
        Effect: "Allow",
        Principal: { AWS: $interpolate`arn:${partition}:iam::${account}:root` },
        Action: CREDENTIALS_KEY_ADMINISTRATION,
        Resource: "*",
      },
      {
        Sid: "WorkflowUsesTheKeyThroughSecretsManager",
        Effect: "Allow",
        Principal: { AWS: rotationWorkflow.nodes.function.nodes.role.arn },
        Action: ["kms:GenerateDataKey", "kms:Decrypt"],
        Resource: "*",
        Condition: throughSecretsManager,
      },
      ...(viewerReadsCredentials
        ? [
            {
              Sid: "ViewerMigrationReadsCredentialsThroughSecretsManager",
              Effect: "Allow",
              Principal: { AWS: viewerMigrationWorkflow.nodes.function.nodes.role.arn },
              Action: ["kms:Decrypt"],
              Resource: "*",
              Condition: throughSecretsManager,
            },
          ]
        : []),
    ],
  }),
});
