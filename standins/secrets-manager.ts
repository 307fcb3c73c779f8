/**
 * Secrets Manager stand-in: versions and staging labels exactly as AWS moves them. A label sits on at most
 * one version; moving AWSCURRENT hands AWSPREVIOUS to the version that had AWSCURRENT; a client request
 * token makes PutSecretValue idempotent (same token + same value) or conflicting (same token, new value).
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
}

const MAX_SECRET_BYTES = 65_536;

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
              VersionStages: [...v.stages],
              CreatedDate: v.created.getTime() / 1000,
            })),
        };
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
        VersionStages: [...existing.stages],
      };
    }
    const version: SecretVersion = { id: versionId, value, created: this.#now(), stages: new Set() };
    secret.versions.set(versionId, version);
    for (const stage of stages) this.#attach(secret, stage, version);
    return { ARN: secret.arn, Name: secret.name, VersionId: versionId, VersionStages: [...version.stages] };
  }

  /** Put a label on a version, taking it off whichever version had it (AWSCURRENT leaves AWSPREVIOUS behind). */
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
      VersionStages: [...version.stages],
      CreatedDate: version.created.getTime() / 1000,
    };
  }

  #updateStage(input: Record<string, unknown>) {
    const secret = this.#find(requireString(input, "SecretId"));
    const stage = requireString(input, "VersionStage", 256);
    const removeFrom = optionalString(input, "RemoveFromVersionId");
    const moveTo = optionalString(input, "MoveToVersionId");
    const holder = [...secret.versions.values()].find((v) => v.stages.has(stage));
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
      if (holder && holder !== target && holder.id !== removeFrom) {
        throw new AwsError(
          "InvalidParameterException",
          `The staging label ${stage} is currently attached to version ${holder.id}; specify it as RemoveFromVersionId`,
        );
      }
      this.#attach(secret, stage, target);
    } else if (removeFrom !== undefined) {
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
}
