/**
 * Publish the trust bundle origins must trust, before anything presents a certificate from a new issuer.
 * Each target is idempotent: the same bundle makes no new version. Targets here: a versioned S3 object and
 * a Secrets Manager bundle secret (the bundle is public CA material; never a key).
 */
import { createHash } from "node:crypto";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import {
  CreateSecretCommand,
  GetSecretValueCommand,
  PutSecretValueCommand,
  type SecretsManagerClient,
  UpdateSecretVersionStageCommand,
} from "@aws-sdk/client-secrets-manager";
import { awsErrorName } from "../adapters/errors.ts";
import { type BundleLimits, computeTrustBundle, type TrustBundle } from "../core/trust-bundle.ts";
import { trustTargetName } from "./target-names.ts";

export interface TrustTarget {
  readonly name: string;
  readonly limits?: BundleLimits;
  /** The bundle currently published, or undefined when none was. */
  read(): Promise<string | undefined>;
  /** Publish; `changed: false` when the same bundle is already there (no new version). */
  write(bundle: TrustBundle): Promise<{ changed: boolean; version?: string }>;
}

export class S3BundleTarget implements TrustTarget {
  readonly name: string;
  readonly #client: S3Client;
  readonly #bucket: string;
  readonly #key: string;

  constructor(client: S3Client, bucket: string, key: string) {
    this.#client = client;
    this.#bucket = bucket;
    this.#key = key;
    this.name = trustTargetName.bundleObject(bucket, key);
  }

  async read(): Promise<string | undefined> {
    try {
      const out = await this.#client.send(new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key }));
      return await out.Body?.transformToString("utf8");
    } catch (error) {
      if (["NoSuchKey", "NotFound"].includes(awsErrorName(error) ?? "")) return undefined;
      throw error;
    }
  }

  async write(bundle: TrustBundle): Promise<{ changed: boolean; version?: string }> {
    try {
      const head = await this.#client.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key }));
      if (head.Metadata?.sha256 === bundle.sha256) return { changed: false, version: head.VersionId };
    } catch (error) {
      if (!["NoSuchKey", "NotFound"].includes(awsErrorName(error) ?? "")) throw error;
    }
    const out = await this.#client.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: this.#key,
        Body: bundle.pem,
        ContentType: "application/x-pem-file",
        Metadata: { sha256: bundle.sha256, certificates: String(bundle.entries.length) },
      }),
    );
    return { changed: true, version: out.VersionId };
  }
}

export class SecretBundleTarget implements TrustTarget {
  readonly name: string;
  readonly #client: SecretsManagerClient;
  readonly #secretId: string;

  constructor(client: SecretsManagerClient, secretId: string) {
    this.#client = client;
    this.#secretId = secretId;
    this.name = trustTargetName.bundleSecret(secretId);
  }

  async read(): Promise<string | undefined> {
    try {
      const out = await this.#client.send(new GetSecretValueCommand({ SecretId: this.#secretId }));
      return out.SecretString;
    } catch (error) {
      if (awsErrorName(error) === "ResourceNotFoundException") return undefined;
      throw error;
    }
  }

  async write(bundle: TrustBundle): Promise<{ changed: boolean; version?: string }> {
    const current = await this.read();
    if (current !== undefined && sha256(current) === bundle.sha256) return { changed: false };
    // The version id is derived from the bundle: a retried write of the same bundle is a no-op.
    const token = uuidFrom(bundle.sha256);
    let stages: string[] | undefined;
    try {
      const out = await this.#client.send(
        new PutSecretValueCommand({
          SecretId: this.#secretId,
          ClientRequestToken: token,
          SecretString: bundle.pem,
        }),
      );
      stages = out.VersionStages;
    } catch (error) {
      if (awsErrorName(error) !== "ResourceNotFoundException") throw error;
      await this.#client.send(
        new CreateSecretCommand({
          Name: this.#secretId,
          ClientRequestToken: token,
          SecretString: bundle.pem,
          Description: "mtls-rotator: CA bundle origins trust for client certificates (public material)",
        }),
      );
      return { changed: true, version: token };
    }
    // A return to a bundle published before (e.g. after retiring an incoming CA): that version exists, and
    // Secrets Manager ignores the repeated token without moving AWSCURRENT to it. Move the label explicitly.
    if (!stages?.includes("AWSCURRENT")) {
      const current = await this.#client.send(new GetSecretValueCommand({ SecretId: this.#secretId }));
      if (current.VersionId !== token) {
        await this.#client.send(
          new UpdateSecretVersionStageCommand({
            SecretId: this.#secretId,
            VersionStage: "AWSCURRENT",
            MoveToVersionId: token,
            RemoveFromVersionId: current.VersionId,
          }),
        );
      }
    }
    return { changed: true, version: token };
  }
}

export interface PublishInput {
  targets: TrustTarget[];
  /** CA chain(s) of the certificate in service. */
  currentChainPem: string;
  /** CA chain of the issuer of the new certificate. */
  incomingChainPem: string;
  retiredFingerprints?: string[];
  now: Date;
}

export interface PublishResult {
  bundleSha256: string;
  /** The bundle as published to the first target (the bundle object): public CA certificates. */
  bundlePem: string;
  certificates: number;
  targets: Array<{ target: string; changed: boolean; version?: string }>;
}

/**
 * The published bundle is the union of what is already published (first target that has one), the chain
 * in service and the incoming chain. Each target's limits are checked before anything is written, so an
 * invalid or oversized bundle never replaces a valid one.
 */
export async function publishTrustBundle(input: PublishInput): Promise<PublishResult> {
  let published: string | undefined;
  for (const target of input.targets) {
    published = await target.read();
    if (published !== undefined) break;
  }
  const sources = {
    current: [published ?? "", input.currentChainPem].filter((p) => p.trim() !== ""),
    incoming: [input.incomingChainPem],
    retiredFingerprints: input.retiredFingerprints,
    now: input.now,
  };
  const bundles = input.targets.map((target) => computeTrustBundle({ ...sources, limits: target.limits }));
  const results: PublishResult["targets"] = [];
  for (const [i, target] of input.targets.entries()) {
    results.push({ target: target.name, ...(await target.write(bundles[i]!)) });
  }
  const bundle = bundles[0] ?? computeTrustBundle(sources);
  return {
    bundleSha256: bundle.sha256,
    bundlePem: bundle.pem,
    certificates: bundle.entries.length,
    targets: results,
  };
}

function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

function uuidFrom(hex: string): string {
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`;
}
