/**
 * The S3 side of trust targets that load their CA bundle from an S3 object version (CloudFront trust stores,
 * API Gateway truststores): one object per target, versioning on, each version tagged with the bundle's
 * SHA-256 in its metadata (as `S3BundleTarget` does), so a bundle is written at most once in a row.
 */
import { GetObjectCommand, HeadObjectCommand, PutObjectCommand, type S3Client } from "@aws-sdk/client-s3";
import { AdapterError, awsErrorName } from "../../adapters/errors.ts";
import type { TrustBundle } from "../../core/trust-bundle.ts";

export interface BundleObjectRef {
  bucket: string;
  key: string;
}

export class BundleBucketError extends AdapterError {
  override name = "BundleBucketError";
  override readonly retryable = false;
}

const NOT_FOUND = ["NoSuchKey", "NoSuchVersion", "NotFound"];

/** The `sha256` metadata and version id of the latest version (or of `versionId`); undefined when absent. */
export async function headBundle(
  s3: S3Client,
  ref: BundleObjectRef,
  versionId?: string,
): Promise<{ versionId: string | undefined; sha256: string | undefined } | undefined> {
  try {
    const head = await s3.send(
      new HeadObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: versionId }),
    );
    return { versionId: head.VersionId, sha256: head.Metadata?.sha256 };
  } catch (error) {
    if (NOT_FOUND.includes(awsErrorName(error) ?? "")) return undefined;
    throw error;
  }
}

/**
 * The S3 version holding `bundle`: the latest version when it already holds this bundle (a retried write, or
 * a crash after the put), otherwise a new version. Refuses a bucket without versioning: a trust store must
 * name an exact version, and a rewrite in place would change what a "version" means under it.
 */
export async function ensureBundleVersion(
  s3: S3Client,
  ref: BundleObjectRef,
  bundle: TrustBundle,
): Promise<{ versionId: string; created: boolean; previousLatest: string | undefined }> {
  const latest = await headBundle(s3, ref);
  if (latest?.sha256 === bundle.sha256 && latest.versionId && latest.versionId !== "null") {
    return { versionId: latest.versionId, created: false, previousLatest: latest.versionId };
  }
  const out = await s3.send(
    new PutObjectCommand({
      Bucket: ref.bucket,
      Key: ref.key,
      Body: bundle.pem,
      ContentType: "application/x-pem-file",
      Metadata: { sha256: bundle.sha256, certificates: String(bundle.entries.length) },
    }),
  );
  if (!out.VersionId || out.VersionId === "null") {
    throw new BundleBucketError(
      `s3://${ref.bucket}/${ref.key}: the bucket must have versioning enabled (the put answered no version id)`,
    );
  }
  return { versionId: out.VersionId, created: true, previousLatest: latest?.versionId };
}

/** The text of a version (the latest when `versionId` is undefined); undefined when it does not exist. */
export async function readBundle(
  s3: S3Client,
  ref: BundleObjectRef,
  versionId?: string,
): Promise<string | undefined> {
  try {
    const out = await s3.send(
      new GetObjectCommand({ Bucket: ref.bucket, Key: ref.key, VersionId: versionId }),
    );
    return await out.Body?.transformToString("utf8");
  } catch (error) {
    if (NOT_FOUND.includes(awsErrorName(error) ?? "")) return undefined;
    throw error;
  }
}
