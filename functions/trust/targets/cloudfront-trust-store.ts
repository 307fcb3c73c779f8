/**
 * Trust target: a CloudFront trust store (viewer mTLS, modes required/optional). CloudFront loads a trust
 * store's CA bundle from an S3 object version, so publishing is: a new version of this target's S3 object,
 * then `UpdateTrustStore` naming that exact version (`If-Match`: the trust store's ETag; a 412 re-reads the
 * ETag and tries again), then a wait until the trust store is `active` again. Limits: 25 CA certificates,
 * 64 KB (`TRUST_TARGET_LIMITS.cloudfrontTrustStore`), checked by `publishTrustBundle` before anything is
 * written.
 *
 * Failure: a trust store that ends `failed` (CloudFront refused the bundle: e.g. a chain deeper than 4) or
 * is not `active` within the deadline makes `write` throw a `CloudFrontTrustStoreError` naming the trust
 * store, the S3 version and CloudFront's `Reason`. The S3 version stays (harmless: nothing names it), the
 * tags below keep naming the last bundle that became active, and `read()` keeps answering that bundle, so a
 * refused bundle never becomes the base of the next publish.
 *
 * Idempotency. GetTrustStore does not say which S3 version a trust store loaded, so the target records it on
 * the trust store, as tags written only once the update is active: `mtls-rotator:bundle-sha256`,
 * `mtls-rotator:bundle-version` and `mtls-rotator:etag` (the ETag our update produced).
 * - Tags name this bundle and the trust store's ETag is still ours: nothing to do (`changed: false`: no S3
 *   write, no update).
 * - Otherwise the latest S3 version is reused when it holds this bundle (a crash after the put), else a new
 *   version is put; then update, wait, tag. A crash anywhere is repaired by the next write. A change made
 *   outside the rotator moves the ETag, so the next write re-applies the bundle instead of trusting stale
 *   tags. (Assumed: CloudFront changes a trust store's ETag on writes only, not when it turns active or is
 *   tagged. If it did, each write would repeat its update once, and verifiedBundle would never match: every
 *   viewer CA migration's proof would fail (ProofFailed) and restore, announcing nothing — safe, not silent.
 *   The fix then: record the ETag GetTrustStore shows once the store is active. docs/aws-behaviour.md,
 *   cloudfront.trust-store-if-match.)
 */
import {
  type CloudFrontClient,
  GetTrustStoreCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UpdateTrustStoreCommand,
} from "@aws-sdk/client-cloudfront";
import type { S3Client } from "@aws-sdk/client-s3";
import { AdapterError, awsErrorName } from "../../adapters/errors.ts";
import { type BundleLimits, TRUST_TARGET_LIMITS, type TrustBundle } from "../../core/trust-bundle.ts";
import type { TrustTarget } from "../publish-bundle.ts";
import { trustTargetName } from "../target-names.ts";
import { type BundleObjectRef, ensureBundleVersion, readBundle } from "./s3-bundle-version.ts";

export const TRUST_STORE_SHA_TAG = "mtls-rotator:bundle-sha256";
export const TRUST_STORE_VERSION_TAG = "mtls-rotator:bundle-version";
export const TRUST_STORE_ETAG_TAG = "mtls-rotator:etag";
/** The same three for an update sent and not yet active (so a retry waits for it instead of sending it again). */
export const TRUST_STORE_PENDING_SHA_TAG = "mtls-rotator:pending-sha256";
export const TRUST_STORE_PENDING_VERSION_TAG = "mtls-rotator:pending-version";
export const TRUST_STORE_PENDING_ETAG_TAG = "mtls-rotator:pending-etag";

export interface CloudFrontTrustStoreTargetOptions {
  cloudfront: CloudFrontClient;
  s3: S3Client;
  trustStoreId: string;
  /** Bucket (versioning on) and key of this target's own bundle object. */
  bucket: string;
  key: string;
  /** The bucket's region, as `CaCertificatesBundleS3Location.Region` names it. */
  bucketRegion: string;
  /** How long to wait for `active` after an update. Default 15 minutes. */
  activationTimeoutMs?: number;
  /** Pause between GetTrustStore polls. Default 5 s. */
  pollIntervalMs?: number;
  /** UpdateTrustStore attempts when the ETag keeps going stale (412). Default 5. */
  maxUpdateAttempts?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Clock in ms for the deadline. Default `Date.now`. */
  now?: () => number;
}

export const TrustStoreErrorCode = {
  /** CloudFront refused the bundle: the trust store ended `failed`. */
  Failed: "TrustStoreFailed",
  /** Not `active` within the deadline. */
  NotActive: "TrustStoreNotActive",
  /** The ETag went stale on every attempt. */
  Conflict: "TrustStoreConflict",
} as const;
export type TrustStoreErrorCode = (typeof TrustStoreErrorCode)[keyof typeof TrustStoreErrorCode];

export class CloudFrontTrustStoreError extends AdapterError {
  override name = "CloudFrontTrustStoreError";
  readonly code: TrustStoreErrorCode;
  readonly trustStoreId: string;
  /** The last status seen. */
  readonly status: string | undefined;
  /** CloudFront's `Reason` for a failed trust store. */
  readonly reason: string | undefined;
  constructor(
    code: TrustStoreErrorCode,
    message: string,
    details: { trustStoreId: string; status?: string; reason?: string },
    options?: { cause?: unknown },
  ) {
    // Not active yet may change; a bundle CloudFront failed to load, or a writer that keeps changing the
    // trust store (a conflict), will not.
    super(message, { ...options, retryable: code === TrustStoreErrorCode.NotActive });
    this.code = code;
    this.trustStoreId = details.trustStoreId;
    this.status = details.status;
    this.reason = details.reason;
  }
}

interface TrustStoreState {
  arn: string;
  etag: string;
  status: string;
  reason: string | undefined;
  ocsp: boolean | undefined;
  /** CloudFront's count of the CA certificates the store holds (NumberOfCaCertificates). */
  caCertificates: number | undefined;
}

export class CloudFrontTrustStoreTarget implements TrustTarget {
  readonly name: string;
  readonly limits: BundleLimits = TRUST_TARGET_LIMITS.cloudfrontTrustStore;
  readonly #cloudfront: CloudFrontClient;
  readonly #s3: S3Client;
  readonly #id: string;
  readonly #object: BundleObjectRef;
  readonly #bucketRegion: string;
  readonly #activationTimeoutMs: number;
  readonly #pollIntervalMs: number;
  readonly #maxUpdateAttempts: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #now: () => number;

  constructor(options: CloudFrontTrustStoreTargetOptions) {
    this.#cloudfront = options.cloudfront;
    this.#s3 = options.s3;
    this.#id = options.trustStoreId;
    this.#object = { bucket: options.bucket, key: options.key };
    this.#bucketRegion = options.bucketRegion;
    this.#activationTimeoutMs = options.activationTimeoutMs ?? 15 * 60_000;
    this.#pollIntervalMs = options.pollIntervalMs ?? 5_000;
    this.#maxUpdateAttempts = Math.max(1, options.maxUpdateAttempts ?? 5);
    this.#sleep = options.sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.#now = options.now ?? Date.now;
    this.name = trustTargetName.cloudFrontTrustStore(options.trustStoreId);
  }

  /** The bundle of the last update that became active (per the tags); undefined before the first one. */
  async read(): Promise<string | undefined> {
    const state = await this.#state();
    const version = (await this.#tags(state.arn))[TRUST_STORE_VERSION_TAG];
    return version === undefined ? undefined : readBundle(this.#s3, this.#object, version);
  }

  /** The trust store's status now (`pending` | `active` | `failed`) and CloudFront's reason for a failure. */
  async status(): Promise<{ status: string; reason?: string; caCertificates?: number }> {
    const state = await this.#state();
    return {
      status: state.status,
      ...(state.reason ? { reason: state.reason } : {}),
      ...(state.caCertificates !== undefined ? { caCertificates: state.caCertificates } : {}),
    };
  }

  async write(bundle: TrustBundle): Promise<{ changed: boolean; version?: string }> {
    const state = await this.#state();
    const tags = await this.#tags(state.arn);
    const recorded = tags[TRUST_STORE_VERSION_TAG];
    if (
      tags[TRUST_STORE_SHA_TAG] === bundle.sha256 &&
      tags[TRUST_STORE_ETAG_TAG] === state.etag &&
      recorded
    ) {
      if (state.status !== "active") await this.#waitActive(recorded);
      return { changed: false, version: recorded };
    }

    // Our own update of this bundle is already in flight (a retry after the wait ran out, or after a crash
    // between the update and the wait's end): wait for it, never update again (that would restart `pending`).
    const pendingVersion = tags[TRUST_STORE_PENDING_VERSION_TAG];
    if (
      tags[TRUST_STORE_PENDING_SHA_TAG] === bundle.sha256 &&
      tags[TRUST_STORE_PENDING_ETAG_TAG] === state.etag &&
      pendingVersion
    ) {
      await this.#waitActive(pendingVersion);
      await this.#tag(state.arn, bundle.sha256, pendingVersion, state.etag, "final");
      return { changed: true, version: pendingVersion };
    }

    const { versionId } = await ensureBundleVersion(this.#s3, this.#object, bundle);
    const etag = await this.#update(versionId, state.etag, state.ocsp);
    await this.#tag(state.arn, bundle.sha256, versionId, etag, "pending");
    await this.#waitActive(versionId);
    await this.#tag(state.arn, bundle.sha256, versionId, etag, "final");
    return { changed: true, version: versionId };
  }

  /**
   * The bundle in effect, only when this target's last update is still what the trust store holds (the tags'
   * ETag is the store's) and it is `active`: the proof a migration relies on. Undefined otherwise (another
   * writer changed the store since, an update pending or failed, nothing written by this target yet).
   */
  async verifiedBundle(): Promise<string | undefined> {
    const state = await this.#state();
    const tags = await this.#tags(state.arn);
    const version = tags[TRUST_STORE_VERSION_TAG];
    if (state.status !== "active" || tags[TRUST_STORE_ETAG_TAG] !== state.etag || !version) return undefined;
    return readBundle(this.#s3, this.#object, version);
  }

  /** Records an update on the trust store: `pending` once sent, `final` once it became active. */
  async #tag(
    arn: string,
    sha256: string,
    version: string,
    etag: string,
    kind: "pending" | "final",
  ): Promise<void> {
    const keys =
      kind === "final"
        ? [TRUST_STORE_SHA_TAG, TRUST_STORE_VERSION_TAG, TRUST_STORE_ETAG_TAG]
        : [TRUST_STORE_PENDING_SHA_TAG, TRUST_STORE_PENDING_VERSION_TAG, TRUST_STORE_PENDING_ETAG_TAG];
    const values = [sha256, version, etag];
    await this.#cloudfront.send(
      new TagResourceCommand({
        Resource: arn,
        Tags: { Items: keys.map((Key, i) => ({ Key, Value: values[i]! })) },
      }),
    );
  }

  // ---- steps ---------------------------------------------------------------------------------------------

  /** UpdateTrustStore with If-Match; a stale ETag (412) is re-read and the update tried again. */
  async #update(versionId: string, etag: string, ocsp: boolean | undefined): Promise<string> {
    let ifMatch = etag;
    for (let attempt = 1; ; attempt++) {
      try {
        const out = await this.#cloudfront.send(
          new UpdateTrustStoreCommand({
            Id: this.#id,
            IfMatch: ifMatch,
            // Kept as it is: whether leaving it out resets the store's OCSP checking is not documented.
            ...(ocsp === undefined ? {} : { UseClientCertificateOCSPEndpoint: ocsp }),
            CaCertificatesBundleSource: {
              CaCertificatesBundleS3Location: {
                Bucket: this.#object.bucket,
                Key: this.#object.key,
                Region: this.#bucketRegion,
                Version: versionId,
              },
            },
          }),
        );
        if (!out.ETag) throw new AdapterError(`UpdateTrustStore ${this.#id} answered no ETag`);
        return out.ETag;
      } catch (error) {
        if (awsErrorName(error) !== "PreconditionFailed") throw error;
        if (attempt >= this.#maxUpdateAttempts) {
          throw new CloudFrontTrustStoreError(
            TrustStoreErrorCode.Conflict,
            `CloudFront trust store ${this.#id}: the ETag was stale on all ${attempt} UpdateTrustStore attempts ` +
              "(another writer keeps changing it)",
            { trustStoreId: this.#id },
            { cause: error },
          );
        }
        ifMatch = (await this.#state()).etag;
      }
    }
  }

  /** Polls until `active`; throws on `failed` or when the deadline passes. */
  async #waitActive(versionId: string): Promise<void> {
    const deadline = this.#now() + this.#activationTimeoutMs;
    const source = `s3://${this.#object.bucket}/${this.#object.key} version ${versionId}`;
    for (;;) {
      const state = await this.#state();
      if (state.status === "active") return;
      if (state.status === "failed") {
        throw new CloudFrontTrustStoreError(
          TrustStoreErrorCode.Failed,
          `CloudFront trust store ${this.#id} failed to load ${source}: ${state.reason ?? "no reason given"}`,
          { trustStoreId: this.#id, status: state.status, reason: state.reason },
        );
      }
      const left = deadline - this.#now();
      if (left <= 0) {
        throw new CloudFrontTrustStoreError(
          TrustStoreErrorCode.NotActive,
          `CloudFront trust store ${this.#id} is still ${state.status} ${Math.round(this.#activationTimeoutMs / 1000)} s ` +
            `after updating to ${source}`,
          { trustStoreId: this.#id, status: state.status },
        );
      }
      await this.#sleep(Math.min(this.#pollIntervalMs, left));
    }
  }

  async #state(): Promise<TrustStoreState> {
    const out = await this.#cloudfront.send(new GetTrustStoreCommand({ Identifier: this.#id }));
    const store = out.TrustStore;
    if (!store?.Arn || !out.ETag || !store.Status) {
      throw new AdapterError(`GetTrustStore ${this.#id} answered no ARN, ETag or status`);
    }
    return {
      arn: store.Arn,
      etag: out.ETag,
      status: store.Status,
      reason: store.Reason,
      ocsp: store.UseClientCertificateOCSPEndpoint,
      caCertificates: store.NumberOfCaCertificates,
    };
  }

  async #tags(arn: string): Promise<Record<string, string>> {
    const out = await this.#cloudfront.send(new ListTagsForResourceCommand({ Resource: arn }));
    const tags: Record<string, string> = {};
    for (const tag of out.Tags?.Items ?? []) if (tag.Key) tags[tag.Key] = tag.Value ?? "";
    return tags;
  }
}
