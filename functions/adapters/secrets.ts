/**
 * Credential store on Secrets Manager. Two secrets per credential, both under the credential prefix, both
 * encrypted with the credentials key; private keys live in them and nowhere else.
 *
 * - The credential secret `<name>` holds only complete credentials (certificate, chain, private key, ACM
 *   ARN), each validated before it was written. A rotation writes it once, at promotion (after every wave
 *   passed), with `VersionStages: [AWSCURRENT]`: AWS moves AWSCURRENT to the new version and AWSPREVIOUS to
 *   the credential it replaced — the rollback record. An aborted or rolled-back rotation never wrote it, so
 *   it stays exactly as it was (no version at all before a credential's first rotation completes).
 * - The issuance secret `<name>/issuance` holds a rotation's in-flight material: the key-only document
 *   (private key + CSR, written before IssueCertificate so that a crash never issues a second certificate)
 *   and then the staged complete credential the preflight and gate probes present. AWSPENDING marks the
 *   version in flight; no other label means anything there.
 *
 * Why two secrets: AWS attaches AWSCURRENT to the first version of a secret whatever VersionStages says
 * (API_PutSecretValue, API_CreateSecret), and a version's value can never change. Writing the key-only
 * document into the credential secret made it AWSCURRENT in a never-rotated credential, left it AWSCURRENT
 * after an abort, and made it AWSPREVIOUS after a successful rotation. In the issuance secret that rule is
 * harmless: the secret is created with a marker document (no key material) as its first version, so
 * AWSCURRENT sits on the marker for good, and nothing reads the issuance secret's AWSCURRENT anyway (were
 * its first version a key after all — a secret created by hand — nothing would read it).
 *
 * Rotations started before this layout (same version ids, in the credential secret itself) are still read:
 * every reader of in-flight material falls back to the credential secret's version of the same id.
 */
import { createHash } from "node:crypto";
import {
  CreateSecretCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  PutResourcePolicyCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { AdapterError, awsErrorName } from "./errors.ts";

export const STAGE = { current: "AWSCURRENT", pending: "AWSPENDING", previous: "AWSPREVIOUS" } as const;

/** The issuance secret's name is the credential secret's name with this suffix. */
export const ISSUANCE_SUFFIX = "/issuance";

/** Secrets Manager's limit on a secret name. */
const MAX_SECRET_NAME = 512;

/** Where a rotation's in-flight material of `credentialSecret` lives. */
export function issuanceSecretName(credentialSecret: string): string {
  return `${credentialSecret}${ISSUANCE_SUFFIX}`;
}

/**
 * Whether `name` can be a credential secret under `prefix`: the prefix, then one path segment of the
 * characters Secrets Manager allows (so that no credential secret is another one's issuance secret), short
 * enough that its issuance secret's name is valid too.
 */
export function isCredentialSecretName(prefix: string, name: string): boolean {
  if (!name.startsWith(prefix)) return false;
  const rest = name.slice(prefix.length);
  return /^[A-Za-z0-9_+=.@-]+$/.test(rest) && name.length + ISSUANCE_SUFFIX.length <= MAX_SECRET_NAME;
}

/** Key + CSR of a rotation, stored before IssueCertificate. Never log, return from a step, or publish. */
export interface PreparedKey {
  kind: "key";
  rotationId: string;
  privateKeyPem: string;
  csrPem: string;
}

/**
 * A complete credential: what a credential secret's versions hold, and what the issuance secret stages
 * once the certificate is issued, validated and imported. Never log, return from a step, or publish.
 */
export interface Credential {
  kind: "credential";
  rotationId: string;
  privateKeyPem: string;
  certificatePem: string;
  chainPem: string;
  certificateArn: string;
  serial: string;
}

export type CredentialDocument = PreparedKey | Credential;

/** A document as read: its parsed value and the exact text stored (promotion copies the text). */
export interface StoredDocument<T extends CredentialDocument = CredentialDocument> {
  value: T;
  text: string;
  /** Which secret it was read from (the issuance secret, or the credential secret for older rotations). */
  secretId: string;
}

/** Whether a parsed document has every part of a complete credential (structure only; no crypto). */
export function isCompleteCredential(value: unknown): value is Credential {
  if (typeof value !== "object" || value === null) return false;
  const v = value as Record<string, unknown>;
  return (
    v.kind === "credential" &&
    ["rotationId", "privateKeyPem", "certificatePem", "certificateArn", "serial"].every(
      (field) => typeof v[field] === "string" && v[field] !== "",
    ) &&
    typeof v.chainPem === "string"
  );
}

/**
 * What a principal other than the workflow's role may not do to a credential or issuance secret, whatever its
 * IAM policies allow: read or write a value, move a label, change the secret's value or key (UpdateSecret),
 * rotate it or copy it to another region. The workflow is the only reader and writer of these secrets.
 * Left to IAM: describing, tagging, deleting and restoring a secret, and its resource policy itself (an
 * administrator can change or remove it — and still cannot read a key: the credentials key's policy lets only
 * the workflow decrypt, infra/rotation.ts).
 */
export const CREDENTIAL_SECRET_DENIED_ACTIONS = [
  "secretsmanager:GetSecretValue",
  "secretsmanager:PutSecretValue",
  "secretsmanager:UpdateSecret",
  "secretsmanager:UpdateSecretVersionStage",
  "secretsmanager:RotateSecret",
  "secretsmanager:ReplicateSecretToRegions",
] as const;

/**
 * The resource policy of every credential and issuance secret: Deny for every principal but the workflow's role
 * (`aws:PrincipalArn`: for a role session, the role's ARN — "the ARN of the role, not the role session",
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-keys.html#condition-keys-principalarn).
 * `readerRoleArns` (credential secrets only): roles that may also read the value, GetSecretValue and nothing
 * else — the viewer CA migration's proof presents CloudFront's origin-mTLS credential to passthrough origins
 * (infra/viewer-migration.ts). With several values, StringNotEquals holds when the principal is none of them
 * ("negated matching condition operators": the condition is true only if no value matches,
 * https://docs.aws.amazon.com/IAM/latest/UserGuide/reference_policies_condition-logic-multiple-context-keys-or-values.html).
 * It grants nothing (no Allow), so each role's access still comes from its IAM policy alone.
 */
export function credentialSecretPolicy(
  workflowRoleArn: string,
  readerRoleArns: readonly string[] = [],
): string {
  const readers = [...new Set(readerRoleArns)].filter((arn) => arn !== workflowRoleArn);
  const onlyTheWorkflow = (actions: readonly string[]) => ({
    Sid: "OnlyTheRotationWorkflowUsesTheValue",
    Effect: "Deny",
    Principal: "*",
    Action: [...actions],
    Resource: "*",
    Condition: { StringNotEquals: { "aws:PrincipalArn": workflowRoleArn } },
  });
  if (readers.length === 0)
    return JSON.stringify({
      Version: "2012-10-17",
      Statement: [onlyTheWorkflow(CREDENTIAL_SECRET_DENIED_ACTIONS)],
    });
  return JSON.stringify({
    Version: "2012-10-17",
    Statement: [
      onlyTheWorkflow(CREDENTIAL_SECRET_DENIED_ACTIONS.filter((a) => a !== "secretsmanager:GetSecretValue")),
      {
        Sid: "OnlyTheWorkflowAndItsReadersReadTheValue",
        Effect: "Deny",
        Principal: "*",
        Action: ["secretsmanager:GetSecretValue"],
        Resource: "*",
        Condition: { StringNotEquals: { "aws:PrincipalArn": [workflowRoleArn, ...readers] } },
      },
    ],
  });
}

export class CredentialStore {
  readonly #client: SecretsManagerClient;
  readonly #kmsKeyId: string | undefined;
  readonly #workflowRoleArn: string | undefined;
  readonly #readerRoleArns: readonly string[];

  /**
   * `workflowRoleArn`: the only principal that may use the secrets' values; every secret the store ensures
   * gets {@link credentialSecretPolicy} for it (deployed: always set; tests of the labels alone leave it out).
   * `readerRoleArns`: roles that may also read a credential secret's value (never an issuance secret's).
   */
  constructor(
    client: SecretsManagerClient,
    options: { kmsKeyId?: string; workflowRoleArn?: string; readerRoleArns?: readonly string[] } = {},
  ) {
    this.#client = client;
    this.#kmsKeyId = options.kmsKeyId;
    this.#workflowRoleArn = options.workflowRoleArn;
    this.#readerRoleArns = options.readerRoleArns ?? [];
  }

  /** Create the credential secret (without a value: no version, so no AWSCURRENT) if it does not exist. */
  async ensureCredentialSecret(credentialSecret: string): Promise<void> {
    await this.#ensure(
      credentialSecret,
      "mtls-rotator client credential (certificate, chain, private key, ACM ARN); AWSCURRENT = in service, AWSPREVIOUS = the one before",
      { "mtls-rotator:role": "credential" },
      undefined,
      this.#readerRoleArns,
    );
  }

  /**
   * Create the issuance secret of a credential if it does not exist, with the marker document (no key) as
   * its first version: AWS makes the first version AWSCURRENT, and that label must never sit on a key.
   */
  async ensureIssuanceSecret(credentialSecret: string): Promise<void> {
    const name = issuanceSecretName(credentialSecret);
    const marker = JSON.stringify({
      kind: "issuance-secret",
      credentialSecret,
      note: "in-flight material of the credential's rotations; AWSPENDING = the rotation in flight",
    });
    await this.#ensure(
      name,
      `mtls-rotator in-flight issuance material (key + CSR, staged credential) of ${credentialSecret}`,
      { "mtls-rotator:role": "issuance", "mtls-rotator:credential": credentialSecret },
      { SecretString: marker, ClientRequestToken: tokenFor(`marker|${name}`) },
    );
  }

  async #ensure(
    name: string,
    description: string,
    tags: Record<string, string>,
    value: { SecretString: string; ClientRequestToken: string } | undefined = undefined,
    readerRoleArns: readonly string[] = [],
  ): Promise<void> {
    await this.#create(name, description, tags, value);
    await this.#restrict(name, readerRoleArns);
  }

  /**
   * Attach the resource policy (before any key can be written: the issuance secret is created with a marker,
   * the credential secret without a value). Put on every ensure, not only at creation: a secret created by an
   * earlier version of the service, or whose policy an administrator changed, gets it back at its next
   * rotation. BlockPublicPolicy: AWS refuses any policy that would grant broad access (IAM also requires it).
   */
  async #restrict(name: string, readerRoleArns: readonly string[]): Promise<void> {
    if (this.#workflowRoleArn === undefined) return;
    await this.#client.send(
      new PutResourcePolicyCommand({
        SecretId: name,
        ResourcePolicy: credentialSecretPolicy(this.#workflowRoleArn, readerRoleArns),
        BlockPublicPolicy: true,
      }),
    );
  }

  async #create(
    name: string,
    description: string,
    tags: Record<string, string>,
    value: { SecretString: string; ClientRequestToken: string } | undefined,
  ): Promise<void> {
    try {
      await this.#client.send(new DescribeSecretCommand({ SecretId: name }));
      return;
    } catch (error) {
      if (awsErrorName(error) !== "ResourceNotFoundException") throw error;
    }
    try {
      await this.#client.send(
        new CreateSecretCommand({
          Name: name,
          ...(this.#kmsKeyId ? { KmsKeyId: this.#kmsKeyId } : {}),
          Description: description,
          Tags: Object.entries({ "mtls-rotator:managed": "true", ...tags }).map(([Key, Value]) => ({
            Key,
            Value,
          })),
          ...(value ?? {}),
        }),
      );
    } catch (error) {
      // A concurrent creator won the race: the secret exists, which is all this asks for.
      if (awsErrorName(error) !== "ResourceExistsException") throw error;
    }
  }

  /**
   * Write an in-flight document to the issuance secret under a deterministic version id, staged
   * AWSPENDING (which moves the label off the rotation's earlier document). The same write repeated is a
   * no-op, so a retried step never creates a second version.
   */
  async putInFlight(credentialSecret: string, versionId: string, value: CredentialDocument): Promise<void> {
    await this.#client.send(
      new PutSecretValueCommand({
        SecretId: issuanceSecretName(credentialSecret),
        ClientRequestToken: versionId,
        SecretString: JSON.stringify(value),
        VersionStages: [STAGE.pending],
      }),
    );
  }

  /**
   * An in-flight document of a rotation by its version id: from the issuance secret, or (rotations started
   * before the issuance secret existed) from the credential secret. Undefined when neither holds it.
   */
  async readInFlight(credentialSecret: string, versionId: string): Promise<StoredDocument | undefined> {
    for (const secretId of [issuanceSecretName(credentialSecret), credentialSecret]) {
      const text = await this.#readVersionText(secretId, versionId);
      if (text !== undefined) return { value: parse(text, secretId), text, secretId };
    }
    return undefined;
  }

  /** The complete credential a rotation staged, or undefined when it has not staged one. */
  async readStaged(credentialSecret: string, versionId: string): Promise<Credential | undefined> {
    const stored = await this.readInFlight(credentialSecret, versionId);
    return stored && isCompleteCredential(stored.value) ? stored.value : undefined;
  }

  /** The credential a stage of the credential secret points at, or undefined (no such secret or label). */
  async readCredentialStage(
    credentialSecret: string,
    stage: string,
  ): Promise<{ versionId: string; value: CredentialDocument } | undefined> {
    try {
      const out = await this.#client.send(
        new GetSecretValueCommand({ SecretId: credentialSecret, VersionStage: stage }),
      );
      return { versionId: out.VersionId!, value: parse(out.SecretString, credentialSecret) };
    } catch (error) {
      if (awsErrorName(error) === "ResourceNotFoundException") return undefined;
      throw error;
    }
  }

  async #readVersionText(secretId: string, versionId: string): Promise<string | undefined> {
    try {
      const out = await this.#client.send(
        new GetSecretValueCommand({ SecretId: secretId, VersionId: versionId }),
      );
      // A binary or empty value is no credential document: parse() says so, naming the secret only.
      return out.SecretString ?? "";
    } catch (error) {
      if (awsErrorName(error) === "ResourceNotFoundException") return undefined;
      throw error;
    }
  }

  /** Version id -> labels of a secret ({} when it does not exist). */
  async stages(secretId: string): Promise<Record<string, string[]>> {
    try {
      const out = await this.#client.send(new DescribeSecretCommand({ SecretId: secretId }));
      return out.VersionIdsToStages ?? {};
    } catch (error) {
      if (awsErrorName(error) === "ResourceNotFoundException") return {};
      throw error;
    }
  }

  /**
   * Make `text` (a complete credential, validated by the caller) the credential secret's AWSCURRENT under
   * the deterministic `versionId`: AWS moves AWSCURRENT to it and AWSPREVIOUS to the credential it replaced.
   * Idempotent across retries and crashes: the same token with the same value "succeeds but does nothing",
   * so a repeat never creates a second version, and AWSCURRENT is then moved onto it explicitly if it is not
   * there (the version was written by a rotation started before the issuance secret existed, staged
   * AWSPENDING). An AWSPREVIOUS left on an incomplete document by such a rotation is taken off.
   */
  async promote(credentialSecret: string, versionId: string, text: string): Promise<void> {
    if (!isCompleteCredential(parse(text, credentialSecret))) {
      throw new AdapterError(`refusing to promote an incomplete credential into ${credentialSecret}`);
    }
    await this.ensureCredentialSecret(credentialSecret);
    const out = await this.#client.send(
      new PutSecretValueCommand({
        SecretId: credentialSecret,
        ClientRequestToken: versionId,
        SecretString: text,
        VersionStages: [STAGE.current],
      }),
    );
    if (!out.VersionStages?.includes(STAGE.current)) {
      const holder = holderOf(await this.stages(credentialSecret), STAGE.current);
      if (holder !== versionId) {
        await this.#client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: credentialSecret,
            VersionStage: STAGE.current,
            MoveToVersionId: versionId,
            ...(holder ? { RemoveFromVersionId: holder } : {}),
          }),
        );
      }
    }
    await this.#dropIncompletePrevious(credentialSecret);
  }

  /** Whether the credential secret holds an AWSPREVIOUS (the rollback record: a complete credential). */
  async hasPrevious(credentialSecret: string): Promise<boolean> {
    return holderOf(await this.stages(credentialSecret), STAGE.previous) !== undefined;
  }

  /**
   * Undo a promotion (a rollback in the grace period): AWSCURRENT goes back from `versionId` to the credential
   * it replaced (AWSPREVIOUS), and `versionId` keeps no label (Secrets Manager moves AWSPREVIOUS onto the
   * version AWSCURRENT leaves; that is taken off: the rolled-back credential's certificate is retired, it is
   * no rollback record). Idempotent: once AWSCURRENT is elsewhere, only a label left on `versionId` is taken
   * off. Refuses when there is nothing to go back to (AWSCURRENT can only be moved, never removed).
   */
  async demote(credentialSecret: string, versionId: string): Promise<void> {
    const stages = await this.stages(credentialSecret);
    if (holderOf(stages, STAGE.current) === versionId) {
      const previous = holderOf(stages, STAGE.previous);
      if (!previous || previous === versionId)
        throw new AdapterError(
          `${credentialSecret} holds no credential before ${versionId}: the promotion cannot be undone`,
          { retryable: false },
        );
      await this.#client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: credentialSecret,
          VersionStage: STAGE.current,
          MoveToVersionId: previous,
          RemoveFromVersionId: versionId,
        }),
      );
    }
    if (holderOf(await this.stages(credentialSecret), STAGE.previous) === versionId)
      await this.#client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: credentialSecret,
          VersionStage: STAGE.previous,
          RemoveFromVersionId: versionId,
        }),
      );
  }

  /** AWSPREVIOUS is the rollback record: it must be a complete credential, or not be at all. */
  async #dropIncompletePrevious(credentialSecret: string): Promise<void> {
    const holder = holderOf(await this.stages(credentialSecret), STAGE.previous);
    if (!holder) return;
    const text = await this.#readVersionText(credentialSecret, holder);
    if (text === undefined || isCompleteCredential(tryParse(text))) return;
    await this.#client.send(
      new UpdateSecretVersionStageCommand({
        SecretId: credentialSecret,
        VersionStage: STAGE.previous,
        RemoveFromVersionId: holder,
      }),
    );
  }

  /**
   * Take AWSPENDING off the rotation's in-flight documents (after an abort or rollback, or once promoted):
   * in the issuance secret, and in the credential secret for a rotation started before the issuance secret
   * existed. Only the given versions lose it; nothing else changes. Idempotent.
   */
  async clearPending(credentialSecret: string, versionIds: readonly string[]): Promise<void> {
    for (const secretId of [issuanceSecretName(credentialSecret), credentialSecret]) {
      const pending = holderOf(await this.stages(secretId), STAGE.pending);
      if (!pending || !versionIds.includes(pending)) continue;
      await this.#client.send(
        new UpdateSecretVersionStageCommand({
          SecretId: secretId,
          VersionStage: STAGE.pending,
          RemoveFromVersionId: pending,
        }),
      );
    }
  }
}

function holderOf(stages: Record<string, string[]>, stage: string): string | undefined {
  return Object.entries(stages).find(([, labels]) => labels.includes(stage))?.[0];
}

/**
 * A deterministic ClientRequestToken / version id (UUID form, 36 characters) derived from `seed`: the same
 * seed always gives the same token, so a retried write converges on one version.
 */
export function tokenFor(seed: string): string {
  const hex = createHash("sha256").update(`mtls-rotator|${seed}`).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}

function tryParse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function parse(text: string | undefined, secretId: string): CredentialDocument {
  if (!text) throw new AdapterError(`secret ${secretId} has no string value`);
  try {
    return JSON.parse(text) as CredentialDocument;
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
