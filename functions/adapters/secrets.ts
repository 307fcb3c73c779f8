/**
 * Credential store on Secrets Manager: one secret per credential holding certificate, chain, private key and
 * ACM ARN. A rotation writes a new version staged AWSPENDING; promotion moves AWSCURRENT to it, which leaves
 * the previous credential as AWSPREVIOUS: the rollback record. Private keys live here and nowhere else.
 */
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { AdapterError, awsErrorName } from "./errors.ts";

export const STAGE = { current: "AWSCURRENT", pending: "AWSPENDING", previous: "AWSPREVIOUS" } as const;

/** What a credential secret version holds. Never log, return from a step, or publish this object. */
export interface CredentialSecret {
  /** "key" while only key + CSR exist (issuance under way), "credential" once the certificate is in. */
  kind: "key" | "credential";
  rotationId: string;
  privateKeyPem: string;
  csrPem?: string;
  certificatePem?: string;
  chainPem?: string;
  certificateArn?: string;
  serial?: string;
}

export class CredentialStore {
  readonly #client: SecretsManagerClient;
  readonly #kmsKeyId: string | undefined;

  constructor(client: SecretsManagerClient, options: { kmsKeyId?: string } = {}) {
    this.#client = client;
    this.#kmsKeyId = options.kmsKeyId;
  }

  /** Create the credential's secret (without a value) if it does not exist yet. */
  async ensureSecret(secretId: string, tags: Record<string, string> = {}): Promise<void> {
    try {
      await this.#client.send(new DescribeSecretCommand({ SecretId: secretId }));
      return;
    } catch (error) {
      if (awsErrorName(error) !== "ResourceNotFoundException") throw error;
    }
    try {
      await this.#client.send(
        new CreateSecretCommand({
          Name: secretId,
          ...(this.#kmsKeyId ? { KmsKeyId: this.#kmsKeyId } : {}),
          Description: "mtls-rotator client credential (certificate, chain, private key, ACM ARN)",
          Tags: Object.entries({ "mtls-rotator:managed": "true", ...tags }).map(([Key, Value]) => ({
            Key,
            Value,
          })),
        }),
      );
    } catch (error) {
      // A concurrent creator won the race: the secret exists, which is all this asks for.
      if (awsErrorName(error) !== "ResourceExistsException") throw error;
    }
  }

  /** The value of one version, or undefined when that version does not exist. */
  async readVersion(secretId: string, versionId: string): Promise<CredentialSecret | undefined> {
    try {
      const out = await this.#client.send(
        new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId }),
      );
      return parse(out.SecretString, secretId);
    } catch (error) {
      if (awsErrorName(error) === "ResourceNotFoundException") return undefined;
      throw error;
    }
  }

  async readStage(
    secretId: string,
    stage: string,
  ): Promise<{ versionId: string; value: CredentialSecret } | undefined> {
    try {
      const out = await this.#client.send(
        new GetSecretValueCommand({ SecretId: secretId, VersionStage: stage }),
      );
      return { versionId: out.VersionId!, value: parse(out.SecretString, secretId) };
    } catch (error) {
      if (awsErrorName(error) === "ResourceNotFoundException") return undefined;
      throw error;
    }
  }

  /**
   * Write a version staged AWSPENDING under a deterministic version id: the same write repeated is a no-op,
   * so a retried step never creates a second version.
   */
  async putPending(secretId: string, versionId: string, value: CredentialSecret): Promise<void> {
    await this.#client.send(
      new PutSecretValueCommand({
        SecretId: secretId,
        ClientRequestToken: versionId,
        SecretString: JSON.stringify(value),
        VersionStages: [STAGE.pending],
      }),
    );
  }

  async stages(secretId: string): Promise<Record<string, string[]>> {
    const out = await this.#client.send(new DescribeSecretCommand({ SecretId: secretId }));
    return out.VersionIdsToStages ?? {};
  }

  /** AWSCURRENT -> versionId (the old current becomes AWSPREVIOUS), then AWSPENDING is cleared. Idempotent. */
  async promote(secretId: string, versionId: string): Promise<void> {
    const stages = await this.stages(secretId);
    const holder = Object.entries(stages).find(([, labels]) => labels.includes(STAGE.current))?.[0];
    if (holder !== versionId) {
      await this.#client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: STAGE.current,
          MoveToVersionId: versionId,
          ...(holder ? { RemoveFromVersionId: holder } : {}),
        }),
      );
    }
    await this.clearPending(secretId);
  }

  /** Take AWSPENDING off whichever version holds it (after a rollback, or once promoted). Idempotent. */
  async clearPending(secretId: string): Promise<void> {
    let stages: Record<string, string[]>;
    try {
      stages = await this.stages(secretId);
    } catch (error) {
      // No secret yet (a rotation that ended before its key was stored): nothing is pending.
      if (awsErrorName(error) === "ResourceNotFoundException") return;
      throw error;
    }
    const pending = Object.entries(stages).find(([, labels]) => labels.includes(STAGE.pending))?.[0];
    if (!pending) return;
    await this.#client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: secretId,
        VersionStage: STAGE.pending,
        RemoveFromVersionId: pending,
      }),
    );
  }
}

function parse(text: string | undefined, secretId: string): CredentialSecret {
  if (!text) throw new AdapterError(`secret ${secretId} has no string value`);
  try {
    return JSON.parse(text) as CredentialSecret;
  } catch (error) {
    // Never include the text: it holds a private key.
    throw new AdapterError(`secret ${secretId} does not hold a credential document`, {
      cause: (error as Error).name,
    });
  }
}

/**
 * The current string value of a secret that holds one plain value (the webhook's HMAC key). The value is
 * returned to the caller only: never logged, never part of an error message.
 */
export async function readSecretString(client: SecretsManagerClient, secretId: string): Promise<string> {
  const out = await client.send(new GetSecretValueCommand({ SecretId: secretId }));
  const value = out.SecretString;
  if (value === undefined || value === "")
    throw new Error(`secret ${secretId} has no string value (store the key as SecretString)`);
  return value;
}
