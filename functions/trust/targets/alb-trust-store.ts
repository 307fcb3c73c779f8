/**
 * Trust target: an ALB mutual-TLS (verify mode) trust store. ELB loads a trust store's CA bundle from S3, so
 * publishing is: a new S3 object version holding the bundle, then `ModifyTrustStore` naming that exact
 * version. Limits: 25 CA certificates, 16 KB each (`TRUST_TARGET_LIMITS.albTrustStore`), checked by
 * `publishTrustBundle` before anything is written.
 *
 * Idempotency. ELB does not say which S3 version a trust store was loaded from, so the target records it on
 * the trust store itself, as tags written only after ModifyTrustStore succeeded:
 * `mtls-rotator:bundle-sha256` and `mtls-rotator:bundle-version`.
 * - The tag already names this bundle's SHA-256: nothing to do (`changed: false`, no S3 write, no Modify).
 * - Otherwise, the latest S3 version under the key is reused when its `sha256` metadata is this bundle's (a
 *   crash between PutObject and ModifyTrustStore left it there), else a new version is put; then
 *   ModifyTrustStore with that version, a check that ELB counted as many CA certificates as the bundle holds,
 *   and the tags. A crash at any point is repaired by the next write, with at most one S3 version per bundle.
 * A change made to the trust store outside the rotator (without the tags) is not detected; the rotator owns
 * the trust stores it is configured with.
 */
import {
  AddTagsCommand,
  DescribeTagsCommand,
  type ElasticLoadBalancingV2Client,
  ModifyTrustStoreCommand,
} from "@aws-sdk/client-elastic-load-balancing-v2";
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { awsErrorName } from "../../adapters/errors.ts";
import { type BundleLimits, TRUST_TARGET_LIMITS, type TrustBundle } from "../../core/trust-bundle.ts";
import type { TrustTarget } from "../publish-bundle.ts";
import { trustTargetName } from "../target-names.ts";

export const ALB_BUNDLE_SHA_TAG = "mtls-rotator:bundle-sha256";
export const ALB_BUNDLE_VERSION_TAG = "mtls-rotator:bundle-version";

export interface AlbTrustStoreTargetOptions {
  elbv2: ElasticLoadBalancingV2Client;
  s3: S3Client;
  trustStoreArn: string;
  /** Bucket (versioning on) and key the trust store's bundle is loaded from; the key is this target's own. */
  bucket: string;
  key: string;
}

export class AlbTrustStoreError extends Error {
  override name = "AlbTrustStoreError";
  readonly retryable = false;
}

export class AlbTrustStoreTarget implements TrustTarget {
  readonly name: string;
  readonly limits: BundleLimits = TRUST_TARGET_LIMITS.albTrustStore;
  readonly #elbv2: ElasticLoadBalancingV2Client;
  readonly #s3: S3Client;
  readonly #arn: string;
  readonly #bucket: string;
  readonly #key: string;

  constructor(options: AlbTrustStoreTargetOptions) {
    this.#elbv2 = options.elbv2;
    this.#s3 = options.s3;
    this.#arn = options.trustStoreArn;
    this.#bucket = options.bucket;
    this.#key = options.key;
    this.name = trustTargetName.albTrustStore(options.trustStoreArn);
  }

  /** The bundle this target last loaded into the trust store (the tagged S3 version), or undefined. */
  async read(): Promise<string | undefined> {
    const { version } = await this.#applied();
    if (version === undefined) return undefined;
    try {
      const out = await this.#s3.send(
        new GetObjectCommand({ Bucket: this.#bucket, Key: this.#key, VersionId: version }),
      );
      return await out.Body?.transformToString("utf8");
    } catch (error) {
      if (["NoSuchKey", "NoSuchVersion", "NotFound"].includes(awsErrorName(error) ?? "")) return undefined;
      throw error;
    }
  }

  async write(bundle: TrustBundle): Promise<{ changed: boolean; version?: string }> {
    const applied = await this.#applied();
    if (applied.sha256 === bundle.sha256) {
      return { changed: false, ...(applied.version ? { version: applied.version } : {}) };
    }
    const version = await this.#objectVersionFor(bundle);
    const out = await this.#elbv2.send(
      new ModifyTrustStoreCommand({
        TrustStoreArn: this.#arn,
        CaCertificatesBundleS3Bucket: this.#bucket,
        CaCertificatesBundleS3Key: this.#key,
        ...(version ? { CaCertificatesBundleS3ObjectVersion: version } : {}),
      }),
    );
    const loaded = out.TrustStores?.[0]?.NumberOfCaCertificates;
    if (loaded !== bundle.entries.length) {
      throw new AlbTrustStoreError(
        `${this.name}: ELB loaded ${loaded ?? "no"} CA certificates from the bundle; it holds ${bundle.entries.length}`,
      );
    }
    await this.#elbv2.send(
      new AddTagsCommand({
        ResourceArns: [this.#arn],
        Tags: [
          { Key: ALB_BUNDLE_SHA_TAG, Value: bundle.sha256 },
          { Key: ALB_BUNDLE_VERSION_TAG, Value: version ?? "" },
        ],
      }),
    );
    return { changed: true, ...(version ? { version } : {}) };
  }

  /** What the tags say is loaded. */
  async #applied(): Promise<{ sha256?: string; version?: string }> {
    const out = await this.#elbv2.send(new DescribeTagsCommand({ ResourceArns: [this.#arn] }));
    const tags = out.TagDescriptions?.find((d) => d.ResourceArn === this.#arn)?.Tags ?? [];
    const value = (key: string) => tags.find((t) => t.Key === key)?.Value || undefined;
    return { sha256: value(ALB_BUNDLE_SHA_TAG), version: value(ALB_BUNDLE_VERSION_TAG) };
  }

  /** The S3 version holding this bundle: the latest one when it already does, else a new one. */
  async #objectVersionFor(bundle: TrustBundle): Promise<string | undefined> {
    try {
      const head = await this.#s3.send(new HeadObjectCommand({ Bucket: this.#bucket, Key: this.#key }));
      if (head.Metadata?.sha256 === bundle.sha256) return head.VersionId;
    } catch (error) {
      if (!["NoSuchKey", "NotFound"].includes(awsErrorName(error) ?? "")) throw error;
    }
    const put = await this.#s3.send(
      new PutObjectCommand({
        Bucket: this.#bucket,
        Key: this.#key,
        Body: bundle.pem,
        ContentType: "application/x-pem-file",
        Metadata: { sha256: bundle.sha256, certificates: String(bundle.entries.length) },
      }),
    );
    return put.VersionId;
  }
}
