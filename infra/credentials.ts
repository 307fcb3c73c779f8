// Where private keys live: Secrets Manager secrets under one name prefix, encrypted with this KMS key.
import { settings } from "./settings";

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
