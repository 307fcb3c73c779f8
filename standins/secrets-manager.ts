/**
 * Secrets Manager stand-in: versions and staging labels exactly as AWS moves them. Each rule carries the id
 * its test in test/standins/secrets-manager.test.ts pins (in square brackets in the test's title) and the
 * page of the Secrets Manager documentation it comes from:
 *
 * - [secretsmanager.first-version-current] The first version of a secret gets AWSCURRENT, whatever
 *   VersionStages says: CreateSecret with a value ("If you include SecretString or SecretBinary then Secrets
 *   Manager creates an initial version for the secret, and Secrets Manager automatically attaches the
 *   staging label AWSCURRENT to it", https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_CreateSecret.html)
 *   and the first PutSecretValue ("If this operation creates the first version for the secret, then Secrets
 *   Manager automatically attaches the staging label AWSCURRENT to it",
 *   https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutSecretValue.html). moto 5.2
 *   agrees: PutSecretValue staged AWSPENDING on a secret without versions answers [AWSPENDING, AWSCURRENT].
 * - [secretsmanager.create-without-value] CreateSecret without a value creates the secret and no version
 *   (API_CreateSecret: a version exists only "if you include SecretString or SecretBinary").
 * - [secretsmanager.put-default-current] PutSecretValue without VersionStages moves AWSCURRENT to the new
 *   version (API_PutSecretValue: "If you don't include VersionStages, then Secrets Manager automatically
 *   moves the staging label AWSCURRENT to this version").
 * - [secretsmanager.put-moves-named-labels-only] With VersionStages (on a secret that has versions),
 *   PutSecretValue moves those labels and no other (API_PutSecretValue, VersionStages: "If you specify a
 *   staging label that's already associated with a different version of the same secret, then Secrets
 *   Manager removes the label from the other version and attaches it to this version").
 * - [secretsmanager.label-on-one-version] "Each staging label can be attached to only one version at a
 *   time" (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_UpdateSecretVersionStage.html).
 * - [secretsmanager.current-leaves-previous] Whenever AWSCURRENT moves (PutSecretValue or
 *   UpdateSecretVersionStage), AWSPREVIOUS moves to the version AWSCURRENT was removed from (both pages).
 * - [secretsmanager.move-needs-remove-from] UpdateSecretVersionStage: moving a label that another version
 *   holds needs RemoveFromVersionId naming that version, else the call fails (API_UpdateSecretVersionStage,
 *   RemoveFromVersionId: "If the label is attached and you either do not specify this parameter, or the
 *   version ID does not match, then the operation fails").
 * - [secretsmanager.remove-from-holder-only] RemoveFromVersionId without MoveToVersionId takes the label
 *   off that version only, and fails when that version does not hold it (same parameter's text).
 * - [secretsmanager.current-only-moves] AWSCURRENT cannot be taken off without moving it to another version.
 *   Assumed: the API reference does not say so (AWS answers InvalidParameterException in practice, and
 *   moto 5.2 does not model it). Code that never removes AWSCURRENT works either way.
 * - [secretsmanager.token-idempotent] PutSecretValue with the ClientRequestToken of an existing version and
 *   the same value "succeeds but does nothing": no new version, no label moves even if VersionStages differ
 *   (API_PutSecretValue). moto 5.2 differs here (it replaces the version's labels); AWS's text wins.
 * - [secretsmanager.version-immutable] The same token with a different value fails: "you cannot modify an
 *   existing version; you can only create new ones" (API_PutSecretValue; ResourceExistsException).
 * - [secretsmanager.deprecated-versions] A version without labels is deprecated: DescribeSecret's
 *   VersionIdsToStages omits it, ListSecretVersionIds lists it only with IncludeDeprecated
 *   (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_DescribeSecret.html,
 *   https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_ListSecretVersionIds.html); it stays
 *   readable by VersionId until removed.
 * - [secretsmanager.unlabeled-versions-pruned] "Secrets Manager removes unlabeled versions when there are
 *   more than 100, but it does not remove versions created less than 24 hours ago"
 *   (https://docs.aws.amazon.com/secretsmanager/latest/userguide/reference_limits.html). Modelled as: when a
 *   new version brings a secret above 100 versions, its oldest unlabeled versions at least 24 hours old are
 *   removed until it has 100 (the exact moment AWS removes them is not documented).
 * - [secretsmanager.resource-policy-replaces] PutResourcePolicy attaches the policy given, replacing the
 *   secret's policy; GetResourcePolicy answers it, and a secret without one is answered without
 *   ResourcePolicy (https://docs.aws.amazon.com/secretsmanager/latest/apireference/API_PutResourcePolicy.html,
 *   API_GetResourcePolicy.html). moto 5.2 agrees (test/differential/secrets-manager.test.ts).
 * - [secretsmanager.resource-policy-json] a ResourcePolicy that is not a JSON policy document is
 *   MalformedPolicyDocumentException ("The resource policy has syntax errors", API_PutResourcePolicy). The
 *   stand-in's syntax check is narrower than AWS's: JSON, a Statement, each with Effect and Action.
 * - [secretsmanager.block-public-policy] BlockPublicPolicy "block[s] resource-based policies that allow broad
 *   access to the secret, for example those that use a wildcard for the principal" (API_PutResourcePolicy);
 *   refused with PublicPolicyException. Assumed in part: AWS decides with Zelkova, the stand-in refuses an
 *   Allow for a wildcard principal without a condition only. The service attaches Deny statements alone,
 *   which grant nobody anything, so a finer analysis cannot refuse them.
 */
import { randomBytes } from "node:crypto";
import {
  ACCOUNT_ID,
  AwsError,
  type JsonService,
  optionalString,
  requireString,
  type StandinRequest,
} from "./protocol.ts";

interface SecretVersion {
  id: string;
  value: { SecretString?: string; SecretBinary?: string };
  created: Date;
  stages: Set<string>;
}

interface Secret {
  arn: string;
  name: string;
  kmsKeyId?: string;
  description?: string;
  tags: Array<{ Key: string; Value: string }>;
  versions: Map<string, SecretVersion>;
  /** The resource policy attached by PutResourcePolicy (its JSON text, as given). */
  resourcePolicy?: string;
}

const MAX_SECRET_BYTES = 65_536;
/** [secretsmanager.unlabeled-versions-pruned] */
const KEPT_VERSIONS = 100;
const PRUNE_AFTER_MS = 24 * 3_600_000;

export class SecretsManagerStandin implements JsonService {
  readonly service = "secretsmanager";
  readonly targetPrefix = "secretsmanager";
  readonly #secrets = new Map<string, Secret>();
  readonly #now: () => Date;

  constructor(options: { now?: () => Date } = {}) {
    this.#now = options.now ?? (() => new Date());
  }

  /** Inspection for tests: version id -> labels. */
  stagesOf(secretId: string): Record<string, string[]> {
    const secret = this.#find(secretId);
    return Object.fromEntries([...secret.versions].map(([id, v]) => [id, [...v.stages].sort()]));
  }

  /** Inspection for tests: every stored value of a secret (to prove what is and is not stored). */
  valuesOf(secretId: string): string[] {
    return [...this.#find(secretId).versions.values()].map(
      (v) => v.value.SecretString ?? v.value.SecretBinary ?? "",
    );
  }

  /** Inspection for tests: every version of a secret (deprecated ones too) with its labels and value. */
  versionsOf(secretId: string): Array<{ versionId: string; stages: string[]; value: string; created: Date }> {
    return [...this.#find(secretId).versions.values()].map((v) => ({
      versionId: v.id,
      stages: [...v.stages].sort(),
      value: v.value.SecretString ?? v.value.SecretBinary ?? "",
      created: v.created,
    }));
  }

  /** Inspection for tests: the resource policy attached to a secret (parsed), if any. */
  policyOf(secretId: string): unknown {
    const text = this.#find(secretId).resourcePolicy;
    return text === undefined ? undefined : JSON.parse(text);
  }

  names(): string[] {
    return [...this.#secrets.values()].map((s) => s.name);
  }

  handle(operation: string, input: Record<string, unknown>, request: StandinRequest): unknown {
    switch (operation) {
      case "CreateSecret":
        return this.#create(input, request.region ?? "us-east-1");
      case "PutSecretValue":
        return this.#put(input);
      case "GetSecretValue":
        return this.#get(input);
      case "UpdateSecretVersionStage":
        return this.#updateStage(input);
      case "DescribeSecret": {
        const s = this.#find(requireString(input, "SecretId"));
        return {
          ARN: s.arn,
          Name: s.name,
          Description: s.description,
          KmsKeyId: s.kmsKeyId,
          Tags: s.tags,
          VersionIdsToStages: Object.fromEntries(
            [...s.versions].filter(([, v]) => v.stages.size > 0).map(([id, v]) => [id, [...v.stages]]),
          ),
        };
      }
      case "ListSecretVersionIds": {
        const s = this.#find(requireString(input, "SecretId"));
        return {
          ARN: s.arn,
          Name: s.name,
          // AWS lists versions without staging labels (deprecated) only when IncludeDeprecated is true.
          Versions: [...s.versions.values()]
            .filter((v) => input.IncludeDeprecated === true || v.stages.size > 0)
            .map((v) => ({
              VersionId: v.id,
              // A list the model bounds to 1..20 entries: a version without labels has none to list.
              ...(v.stages.size > 0 ? { VersionStages: [...v.stages] } : {}),
              CreatedDate: v.created.getTime() / 1000,
            })),
        };
      }
      case "PutResourcePolicy":
        return this.#putPolicy(input);
      case "GetResourcePolicy": {
        const s = this.#find(requireString(input, "SecretId"));
        // [secretsmanager.resource-policy-replaces]: a secret without a policy answers without one.
        return {
          ARN: s.arn,
          Name: s.name,
          ...(s.resourcePolicy ? { ResourcePolicy: s.resourcePolicy } : {}),
        };
      }
      case "DeleteResourcePolicy": {
        const s = this.#find(requireString(input, "SecretId"));
        s.resourcePolicy = undefined;
        return { ARN: s.arn, Name: s.name };
      }
      default:
        throw new AwsError("UnknownOperationException", `stand-in does not implement ${operation}`);
    }
  }

  #find(secretId: string): Secret {
    // A secret is found by name, by ARN, or by its partial ARN (the ARN without the "-" and six random
    // characters Secrets Manager appends): "Finding a secret from a partial ARN", Secrets Manager user guide.
    const secret =
      this.#secrets.get(secretId) ??
      [...this.#secrets.values()].find((s) => s.arn === secretId || s.arn.slice(0, -7) === secretId);
    if (!secret)
      throw new AwsError("ResourceNotFoundException", "Secrets Manager can't find the specified secret.");
    return secret;
  }

  #value(input: Record<string, unknown>): SecretVersion["value"] | undefined {
    const text = optionalString(input, "SecretString");
    const binary = optionalString(input, "SecretBinary");
    if (text !== undefined && binary !== undefined) {
      throw new AwsError(
        "InvalidParameterException",
        "You can't specify both a binary secret value and a string secret value",
      );
    }
    const size =
      text !== undefined
        ? Buffer.byteLength(text)
        : binary !== undefined
          ? Buffer.from(binary, "base64").length
          : 0;
    if (size > MAX_SECRET_BYTES)
      throw new AwsError("ValidationException", "The secret value exceeds 65536 bytes");
    if (text !== undefined) return { SecretString: text };
    if (binary !== undefined) return { SecretBinary: binary };
    return undefined;
  }

  #token(input: Record<string, unknown>): string {
    const token = requireString(input, "ClientRequestToken", 64);
    if (token.length < 32) {
      throw new AwsError("ValidationException", "ClientRequestToken must be at least 32 characters");
    }
    return token;
  }

  #create(input: Record<string, unknown>, region: string) {
    const name = requireString(input, "Name", 512);
    if (!/^[A-Za-z0-9/_+=.@-]+$/.test(name)) {
      throw new AwsError(
        "ValidationException",
        "Invalid name. Must be a valid name containing alphanumeric characters, or any of the following: -/_+=.@!",
      );
    }
    const value = this.#value(input);
    const existing = this.#secrets.get(name);
    if (existing) {
      // CreateSecret's ClientRequestToken: a retried request whose token names a version holding the same value
      // is ignored (answered as the first one was); anything else finds the secret already there.
      const token = optionalString(input, "ClientRequestToken");
      const version = token === undefined ? undefined : existing.versions.get(token);
      if (version && value && JSON.stringify(version.value) === JSON.stringify(value)) {
        return { ARN: existing.arn, Name: existing.name, VersionId: version.id };
      }
      throw new AwsError(
        "ResourceExistsException",
        `The operation failed because the secret ${name} already exists.`,
      );
    }
    const secret: Secret = {
      arn: `arn:aws:secretsmanager:${region}:${ACCOUNT_ID}:secret:${name}-${randomBytes(3).toString("hex")}`,
      name,
      kmsKeyId: optionalString(input, "KmsKeyId"),
      description: optionalString(input, "Description"),
      tags: Array.isArray(input.Tags) ? (input.Tags as Secret["tags"]) : [],
      versions: new Map(),
    };
    let versionId: string | undefined;
    // [secretsmanager.first-version-current] / [secretsmanager.create-without-value]
    if (value) {
      versionId = this.#token(input);
      secret.versions.set(versionId, {
        id: versionId,
        value,
        created: this.#now(),
        stages: new Set(["AWSCURRENT"]),
      });
    }
    this.#secrets.set(name, secret);
    return { ARN: secret.arn, Name: name, VersionId: versionId };
  }

  #put(input: Record<string, unknown>) {
    const secret = this.#find(requireString(input, "SecretId"));
    const versionId = this.#token(input);
    const value = this.#value(input);
    if (!value)
      throw new AwsError("InvalidRequestException", "You must provide either SecretString or SecretBinary");
    const stages = Array.isArray(input.VersionStages) ? (input.VersionStages as string[]) : ["AWSCURRENT"];
    if (stages.length > 20)
      throw new AwsError("LimitExceededException", "A version can have at most 20 staging labels");
    const existing = secret.versions.get(versionId);
    if (existing) {
      // [secretsmanager.version-immutable] / [secretsmanager.token-idempotent]: nothing moves.
      if (JSON.stringify(existing.value) !== JSON.stringify(value)) {
        throw new AwsError(
          "ResourceExistsException",
          "You can't modify an existing version, you can only create a new version.",
        );
      }
      return {
        ARN: secret.arn,
        Name: secret.name,
        VersionId: versionId,
        // AWS's model (SecretVersionStagesType) holds 1..20 labels: a version that lost its labels has none.
        ...(existing.stages.size > 0 ? { VersionStages: [...existing.stages] } : {}),
      };
    }
    // [secretsmanager.first-version-current]: the first version gets AWSCURRENT whatever VersionStages says.
    const first = secret.versions.size === 0;
    const version: SecretVersion = { id: versionId, value, created: this.#now(), stages: new Set() };
    secret.versions.set(versionId, version);
    for (const stage of stages) this.#attach(secret, stage, version);
    if (first) this.#attach(secret, "AWSCURRENT", version);
    this.#prune(secret);
    return { ARN: secret.arn, Name: secret.name, VersionId: versionId, VersionStages: [...version.stages] };
  }

  /** [secretsmanager.unlabeled-versions-pruned] Oldest unlabeled versions of 24 h and more go above 100. */
  #prune(secret: Secret): void {
    const cutoff = this.#now().getTime() - PRUNE_AFTER_MS;
    const removable = [...secret.versions.values()]
      .filter((v) => v.stages.size === 0 && v.created.getTime() <= cutoff)
      .sort((a, b) => a.created.getTime() - b.created.getTime());
    for (const version of removable) {
      if (secret.versions.size <= KEPT_VERSIONS) return;
      secret.versions.delete(version.id);
    }
  }

  /**
   * Put a label on a version, taking it off whichever version had it ([secretsmanager.label-on-one-version]);
   * AWSCURRENT leaves AWSPREVIOUS behind on its former holder ([secretsmanager.current-leaves-previous]).
   */
  #attach(secret: Secret, stage: string, target: SecretVersion): void {
    const holder = [...secret.versions.values()].find((v) => v.stages.has(stage));
    if (holder === target) return;
    holder?.stages.delete(stage);
    target.stages.add(stage);
    if (stage === "AWSCURRENT" && holder) {
      if (target.stages.has("AWSPREVIOUS")) target.stages.delete("AWSPREVIOUS");
      for (const v of secret.versions.values()) v.stages.delete("AWSPREVIOUS");
      holder.stages.add("AWSPREVIOUS");
    }
  }

  #get(input: Record<string, unknown>) {
    const secret = this.#find(requireString(input, "SecretId"));
    const versionId = optionalString(input, "VersionId");
    const stage = optionalString(input, "VersionStage") ?? (versionId ? undefined : "AWSCURRENT");
    let version = versionId ? secret.versions.get(versionId) : undefined;
    if (versionId && !version) {
      throw new AwsError(
        "ResourceNotFoundException",
        `Secrets Manager can't find the specified secret value for VersionId: ${versionId}`,
      );
    }
    if (stage) {
      const staged = [...secret.versions.values()].find((v) => v.stages.has(stage));
      if (!staged || (version && staged !== version)) {
        throw new AwsError(
          "ResourceNotFoundException",
          `Secrets Manager can't find the specified secret value for staging label: ${stage}`,
        );
      }
      version = staged;
    }
    if (!version)
      throw new AwsError(
        "ResourceNotFoundException",
        "Secrets Manager can't find the specified secret value",
      );
    return {
      ARN: secret.arn,
      Name: secret.name,
      VersionId: version.id,
      ...version.value,
      ...(version.stages.size > 0 ? { VersionStages: [...version.stages] } : {}),
      CreatedDate: version.created.getTime() / 1000,
    };
  }

  #updateStage(input: Record<string, unknown>) {
    const secret = this.#find(requireString(input, "SecretId"));
    const stage = requireString(input, "VersionStage", 256);
    const removeFrom = optionalString(input, "RemoveFromVersionId");
    const moveTo = optionalString(input, "MoveToVersionId");
    const holder = [...secret.versions.values()].find((v) => v.stages.has(stage));
    // [secretsmanager.remove-from-holder-only]
    if (removeFrom !== undefined) {
      const source = secret.versions.get(removeFrom);
      if (!source?.stages.has(stage)) {
        throw new AwsError(
          "InvalidParameterException",
          `The staging label ${stage} is not attached to version ${removeFrom}`,
        );
      }
    }
    if (moveTo !== undefined) {
      const target = secret.versions.get(moveTo);
      if (!target)
        throw new AwsError("ResourceNotFoundException", `Secrets Manager can't find version ${moveTo}`);
      // [secretsmanager.move-needs-remove-from]
      if (holder && holder !== target && holder.id !== removeFrom) {
        throw new AwsError(
          "InvalidParameterException",
          `The staging label ${stage} is currently attached to version ${holder.id}; specify it as RemoveFromVersionId`,
        );
      }
      this.#attach(secret, stage, target);
    } else if (removeFrom !== undefined) {
      // [secretsmanager.current-only-moves] (assumed; see the top of this file)
      if (stage === "AWSCURRENT") {
        throw new AwsError(
          "InvalidParameterException",
          "You can't remove AWSCURRENT without moving it to another version",
        );
      }
      secret.versions.get(removeFrom)?.stages.delete(stage);
    } else {
      throw new AwsError(
        "InvalidParameterException",
        "Specify MoveToVersionId, RemoveFromVersionId, or both",
      );
    }
    return { ARN: secret.arn, Name: secret.name };
  }

  /**
   * [secretsmanager.resource-policy-replaces] the policy given replaces the secret's policy;
   * [secretsmanager.resource-policy-json] it must be a JSON policy document (MalformedPolicyDocumentException);
   * [secretsmanager.block-public-policy] with BlockPublicPolicy, a statement that allows a wildcard principal
   * without any condition is refused (PublicPolicyException).
   */
  #putPolicy(input: Record<string, unknown>) {
    const secret = this.#find(requireString(input, "SecretId"));
    const text = requireString(input, "ResourcePolicy", 20_480);
    const statements = policyStatements(text);
    if (!statements)
      throw new AwsError("MalformedPolicyDocumentException", "The resource policy has syntax errors.");
    if (input.BlockPublicPolicy === true && statements.some(allowsAnyone)) {
      throw new AwsError(
        "PublicPolicyException",
        "The BlockPublicPolicy parameter is set to true and the resource policy did not prevent broad access to the secret.",
      );
    }
    secret.resourcePolicy = text;
    return { ARN: secret.arn, Name: secret.name };
  }
}

type PolicyStatement = Record<string, unknown>;

/** The statements of a JSON policy document (Version and a non-empty Statement), or undefined. */
function policyStatements(text: string): PolicyStatement[] | undefined {
  let document: unknown;
  try {
    document = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof document !== "object" || document === null || Array.isArray(document)) return undefined;
  const raw = (document as { Statement?: unknown }).Statement;
  const statements = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  if (statements.length === 0) return undefined;
  const valid = statements.every(
    (s) =>
      typeof s === "object" &&
      s !== null &&
      ((s as PolicyStatement).Effect === "Allow" || (s as PolicyStatement).Effect === "Deny") &&
      ((s as PolicyStatement).Action !== undefined || (s as PolicyStatement).NotAction !== undefined),
  );
  return valid ? (statements as PolicyStatement[]) : undefined;
}

/** An Allow statement for a wildcard principal (`"*"` or `{"AWS": "*"}`) with no condition. */
function allowsAnyone(statement: PolicyStatement): boolean {
  if (statement.Effect !== "Allow" || statement.Condition !== undefined) return false;
  const principal = statement.Principal;
  if (principal === "*") return true;
  if (typeof principal !== "object" || principal === null) return false;
  const aws = (principal as { AWS?: unknown }).AWS;
  return aws === "*" || (Array.isArray(aws) && aws.includes("*"));
}
