// Where private keys live: Secrets Manager secrets under one name prefix, encrypted with this KMS key.
import { settings } from "./settings";

const partition = aws.getPartitionOutput().partition;
const account = aws.getCallerIdentityOutput().accountId;
const region = aws.getRegionOutput().region;

export const credentialsKey = new aws.kms.Key("CredentialsKey", {
  description: "mtls-rotator: encrypts client-certificate credentials (certificate, chain, private key)",
  enableKeyRotation: true,
  deletionWindowInDays: 30,
});

export const credentialsKeyAlias = new aws.kms.Alias("CredentialsKeyAlias", {
  name: $interpolate`alias/mtls-rotator-${$app.stage}-credentials`,
  targetKeyId: credentialsKey.keyId,
});

/** Name prefix of every credential secret; IAM policies are scoped to it. */
export const credentialSecretPrefix = settings.rotation.credentialSecretPrefix;

/**
 * Secrets Manager appends a hyphen and six random characters to a secret's name in its ARN: "The ARN
 * includes the name of the secret followed by six random characters"
 * (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html, Response ARN), and
 * its permissions reference writes a named secret's ARN in a policy as `<name>-??????`
 * (https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_iam-permissions.html). So the
 * secret called `name` is `<name>-??????` — never `<name>*`, which also matches every other secret whose name
 * starts with `name` (`<name>-old`, `<name>/anything`).
 */
export const SECRET_ARN_SUFFIX = "-??????";

/** The ARN pattern of the secret called `name` (this region and account), and of no other secret. */
export const secretArn = (name: $util.Input<string>) =>
  $interpolate`arn:${partition}:secretsmanager:${region}:${account}:secret:${name}${SECRET_ARN_SUFFIX}`;

/**
 * The ARN pattern of every secret whose name starts with `prefix` (a path ending in `/`: the credential
 * secrets and their issuance secrets), each still with Secrets Manager's suffix.
 */
export const secretsUnderArn = (prefix: $util.Input<string>) =>
  $interpolate`arn:${partition}:secretsmanager:${region}:${account}:secret:${prefix}*${SECRET_ARN_SUFFIX}`;
