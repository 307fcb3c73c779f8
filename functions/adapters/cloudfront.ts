/**
 * CloudFront adapter (us-east-1): find the distributions whose origins present a client certificate, swap
 * the certificate one distribution at a time, and watch the changes deploy.
 *
 * The one write it makes is `Origins.Items[].CustomOriginConfig.OriginMtlsConfig.ClientCertificateArn`:
 * GetDistributionConfig -> deep copy -> change that field on the origins presenting the old ARN ->
 * UpdateDistribution with IfMatch. Everything else goes back as it was read. A stale ETag (412) means someone
 * else wrote in between: re-read and apply the change to their config, never overwrite it.
 *
 * Limitation: the config makes a round trip through the SDK's model, so a member newer than the installed
 * `@aws-sdk/client-cloudfront` would be dropped by the SDK on the way back. Keep the SDK current.
 */
import { isDeepStrictEqual } from "node:util";
import {
  type CacheBehavior,
  type CloudFrontClient,
  type DistributionConfig,
  type DistributionSummary,
  GetDistributionCommand,
  GetDistributionConfigCommand,
  GetOriginRequestPolicyCommand,
  ListDistributionsCommand,
  ListTrustStoresCommand,
  type Origin,
  UpdateDistributionCommand,
} from "@aws-sdk/client-cloudfront";
import type {
  ListedBehaviour,
  ListedTrustStore,
  ListedViewerDistribution,
  OriginRequestPolicyHeaders,
  ViewerMtlsMode,
} from "../core/viewer-inventory.ts";
import type { SwapTarget } from "../core/waves.ts";
import { AdapterError, awsErrorName } from "./errors.ts";

/** CloudFront: at most this many distinct origin-mTLS ARNs may be added or changed per Create/Update. */
export const MAX_CHANGED_MTLS_CERTIFICATES = 5;

export type DeploymentStatus = "InProgress" | "Deployed";

/** UpdateDistribution kept answering 412 PreconditionFailed: the distribution changes faster than we write. */
export class DistributionChangedError extends AdapterError {
  override name = "DistributionChangedError";
  /** A conflict the adapter already re-read and retried through: final. */
  override readonly retryable = false;
  readonly distributionId: string;
  readonly attempts: number;
  constructor(distributionId: string, attempts: number, options?: { cause?: unknown }) {
    super(
      `distribution ${distributionId} changed under every one of ${attempts} UpdateDistribution attempts (412 PreconditionFailed)`,
      options,
    );
    this.distributionId = distributionId;
    this.attempts = attempts;
  }
}

/** A distribution config does not have the origins a caller named. */
export class OriginNotFoundError extends AdapterError {
  override name = "OriginNotFoundError";
  override readonly retryable = false;
}

/** A planned update would break a CloudFront rule or touch more than the certificate ARN. Nothing was written. */
export class UnsafeUpdateError extends AdapterError {
  override name = "UnsafeUpdateError";
  override readonly retryable = false;
}

export interface OriginEndpoint {
  originId: string;
  domainName: string;
  httpsPort: number;
  /** "" when the origin has no path. */
  originPath: string;
  /** The certificate CloudFront presents to this origin (origin mTLS), when it presents one. */
  clientCertificateArn?: string;
}

export interface SwapRequest {
  distributionId: string;
  fromArn: string;
  toArn: string;
  /**
   * Only these origins (default: every origin presenting `fromArn`). A rollback passes the forward swap's
   * `changedOriginIds` so that an origin that presented `toArn` before the rotation keeps it.
   */
  originIds?: readonly string[];
  /** Re-reads after a 412 before giving up with DistributionChangedError (so up to 1 + this many writes). */
  maxPreconditionRetries?: number;
}

export interface SwapResult {
  distributionId: string;
  /** Origins whose certificate this call changed (empty when nothing was written). */
  changedOriginIds: string[];
  /** No origin presented `fromArn` and at least one presents `toArn`: done before (by us or someone else). */
  alreadySwapped: boolean;
  /** No origin presents either ARN: drift; nothing was written. */
  notPresenting: boolean;
  /** The distribution's ETag after this call (from the write, or from the read when nothing was written). */
  etag: string;
}

/**
 * ListDistributions' page size. AWS's model does not bound MaxItems; CloudFront's older API references give
 * 100 as both the maximum and the default, and no newer page documents more: 100 it is (if CloudFront allows
 * more, a scan only makes more calls than it needs to).
 */
export const LIST_DISTRIBUTIONS_PAGE_SIZE = 100;

/** One ListDistributions pass: origin certificates in use, and every distribution's viewer mTLS. */
export interface FleetListing {
  usage: Map<string, SwapTarget[]>;
  viewerMtls: ListedViewerDistribution[];
}

/** Origin request policies read by id, and the ids that name no policy (with the error's name). */
export interface OriginRequestPolicyReads {
  policies: Map<string, OriginRequestPolicyHeaders>;
  unreadable: Map<string, string>;
}

export interface ListOptions {
  /** ListDistributions MaxItems (1..100). Default LIST_DISTRIBUTIONS_PAGE_SIZE. */
  pageSize?: number;
}

export interface WaitUntilDeployedOptions {
  /** Default 25 minutes (CloudFront: commonly minutes, up to ~15). */
  timeoutMs?: number;
  /** Delay between polls. Default 20 s. */
  pollMs?: number;
  sleep?: (ms: number) => Promise<void>;
  now?: () => number;
}

export interface CloudFrontAdapterOptions {
  /**
   * Base delay before re-reading after a 412; doubles per attempt, with jitter. Default 200 ms. The re-read
   * is what resolves a 412, the pause only keeps two writers from colliding again at once.
   */
  preconditionBackoffMs?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Distributions read at once by deploymentStatus. Default 5. */
  statusConcurrency?: number;
}

const realSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export class CloudFrontAdapter {
  readonly #client: CloudFrontClient;
  readonly #backoffMs: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #statusConcurrency: number;
  /** Tail of the write queue per distribution: writes to one distribution never overlap in this process. */
  readonly #writes = new Map<string, Promise<void>>();

  constructor(client: CloudFrontClient, options: CloudFrontAdapterOptions = {}) {
    this.#client = client;
    this.#backoffMs = options.preconditionBackoffMs ?? 200;
    this.#sleep = options.sleep ?? realSleep;
    this.#statusConcurrency = Math.max(1, options.statusConcurrency ?? 5);
  }

  // ---- inventory (ListDistributions only: summaries carry the origins) ---------------------------------

  /** Every distribution with an origin presenting `certificateArn`, with those origins' ids. */
  async findDistributionsPresenting(
    certificateArn: string,
    options: ListOptions = {},
  ): Promise<SwapTarget[]> {
    return (await this.indexOriginCertificates(options)).get(certificateArn) ?? [];
  }

  /**
   * Certificate ARN -> the distributions (and origins on them) presenting it, from one listing pass.
   * Staging distributions are included: they reference the ARN as much as primaries do.
   */
  async indexOriginCertificates(options: ListOptions = {}): Promise<Map<string, SwapTarget[]>> {
    return (await this.listFleet(options)).usage;
  }

  /**
   * One ListDistributions pass, read for both concerns: which origins present which certificate (`usage`, as
   * indexOriginCertificates), and every distribution's viewer mTLS (`viewerMtls`: mode, trust store, and for
   * passthrough the origin request policy of each cache behaviour). Summaries carry all of it: no
   * per-distribution call.
   */
  async listFleet(options: ListOptions = {}): Promise<FleetListing> {
    const usage = new Map<string, SwapTarget[]>();
    const viewerMtls: ListedViewerDistribution[] = [];
    let marker: string | undefined;
    do {
      const { DistributionList: list } = await this.#client.send(
        new ListDistributionsCommand({
          MaxItems: options.pageSize ?? LIST_DISTRIBUTIONS_PAGE_SIZE,
          Marker: marker,
        }),
      );
      for (const summary of list?.Items ?? []) {
        if (!summary.Id) continue;
        const byArn = new Map<string, string[]>();
        for (const origin of summary.Origins?.Items ?? []) {
          const arn = certificateOf(origin);
          if (arn === undefined || origin.Id === undefined) continue;
          byArn.set(arn, [...(byArn.get(arn) ?? []), origin.Id]);
        }
        for (const [arn, originIds] of byArn) {
          usage.set(arn, [...(usage.get(arn) ?? []), { distributionId: summary.Id, originIds }]);
        }
        viewerMtls.push(viewerMtlsOf(summary, summary.Id));
      }
      const next = list?.IsTruncated ? list.NextMarker : undefined;
      if (next !== undefined && next === marker)
        throw new AdapterError("ListDistributions repeated its marker");
      marker = next;
    } while (marker);
    return { usage, viewerMtls };
  }

  /**
   * What each origin request policy says about headers: GetOriginRequestPolicy once per distinct id (managed
   * policies included: they are read like any other). A policy that cannot be read is in `unreadable` with
   * why (a deleted policy: NoSuchOriginRequestPolicy); the others are read all the same.
   */
  async readOriginRequestPolicies(ids: Iterable<string>): Promise<OriginRequestPolicyReads> {
    const policies = new Map<string, OriginRequestPolicyHeaders>();
    const unreadable = new Map<string, string>();
    const distinct = [...new Set(ids)].sort();
    let next = 0;
    const reader = async () => {
      while (next < distinct.length) {
        const id = distinct[next++]!;
        try {
          const { OriginRequestPolicy: policy } = await this.#client.send(
            new GetOriginRequestPolicyCommand({ Id: id }),
          );
          const config = policy?.OriginRequestPolicyConfig;
          if (!config) throw new AdapterError(`GetOriginRequestPolicy of ${id} returned no config`);
          policies.set(id, {
            id,
            name: config.Name ?? id,
            headerBehavior: config.HeadersConfig?.HeaderBehavior ?? "none",
            headers: (config.HeadersConfig?.Headers?.Items ?? []).map((h) => h.toLowerCase()),
          });
        } catch (error) {
          const name = awsErrorName(error);
          // Anything but "no such policy" is a failure of the read, not a finding about the distribution.
          if (name !== "NoSuchOriginRequestPolicy") throw error;
          unreadable.set(id, name);
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#statusConcurrency, distinct.length) }, reader));
    return { policies, unreadable };
  }

  /** Every trust store of the account (ListTrustStores, paged): status, failure reason, CA count. */
  async listTrustStores(options: ListOptions = {}): Promise<ListedTrustStore[]> {
    const out: ListedTrustStore[] = [];
    let marker: string | undefined;
    do {
      const page = await this.#client.send(
        new ListTrustStoresCommand({
          MaxItems: options.pageSize ?? LIST_DISTRIBUTIONS_PAGE_SIZE,
          ...(marker ? { Marker: marker } : {}),
        }),
      );
      for (const store of page.TrustStoreList ?? []) {
        if (!store.Id) continue;
        out.push({
          id: store.Id,
          arn: store.Arn ?? store.Id,
          name: store.Name ?? store.Id,
          status: store.Status ?? "pending",
          ...(store.Reason ? { reason: store.Reason } : {}),
          caCertificates: store.NumberOfCaCertificates ?? 0,
        });
      }
      // ListTrustStoresResult has no IsTruncated (AWS's model): a NextMarker means another page.
      const next = page.NextMarker || undefined;
      if (next !== undefined && next === marker)
        throw new AdapterError("ListTrustStores repeated its marker");
      marker = next;
    } while (marker);
    return out;
  }

  /** Where each named origin listens, for synthetic probes; in the order asked. */
  async originEndpoints(distributionId: string, originIds: readonly string[]): Promise<OriginEndpoint[]> {
    const { config } = await this.#readConfig(distributionId);
    const origins = config.Origins?.Items ?? [];
    const missing = originIds.filter((id) => !origins.some((o) => o.Id === id));
    if (missing.length > 0) {
      throw new OriginNotFoundError(`distribution ${distributionId} has no origin ${missing.join(", ")}`);
    }
    return originIds.map((id) => {
      const origin = origins.find((o) => o.Id === id)!;
      return {
        originId: id,
        domainName: origin.DomainName ?? "",
        httpsPort: origin.CustomOriginConfig?.HTTPSPort ?? 443,
        originPath: origin.OriginPath ?? "",
        ...(certificateOf(origin) ? { clientCertificateArn: certificateOf(origin) } : {}),
      };
    });
  }

  // ---- the swap -----------------------------------------------------------------------------------------

  /**
   * Make every origin of the distribution that presents `fromArn` present `toArn` instead, changing nothing
   * else. Idempotent (a repeat reports `alreadySwapped`), and the same call with the ARNs reversed rolls back.
   */
  async swapOriginCertificate(request: SwapRequest): Promise<SwapResult> {
    const { distributionId, fromArn, toArn } = request;
    const maxRetries = request.maxPreconditionRetries ?? 5;
    if (fromArn === toArn)
      throw new AdapterError(`swap of ${distributionId}: fromArn and toArn are the same`);
    if (!fromArn || !toArn)
      throw new AdapterError(`swap of ${distributionId}: fromArn and toArn are required`);
    if (!Number.isInteger(maxRetries) || maxRetries < 0) {
      throw new AdapterError(`maxPreconditionRetries must be a whole number >= 0, got ${maxRetries}`);
    }

    return this.#serialized(distributionId, async () => {
      for (let attempt = 0; ; attempt++) {
        const { config, etag } = await this.#readConfig(distributionId);
        const inScope = (origin: Origin) =>
          request.originIds === undefined || request.originIds.includes(origin.Id ?? "");
        const origins = (config.Origins?.Items ?? []).filter(inScope);
        const presentingFrom = origins.filter((o) => certificateOf(o) === fromArn);
        if (presentingFrom.length === 0) {
          const presentingTo = origins.some((o) => certificateOf(o) === toArn);
          return {
            distributionId,
            changedOriginIds: [],
            alreadySwapped: presentingTo,
            notPresenting: !presentingTo,
            etag,
          };
        }

        const updated = structuredClone(config);
        const changedOriginIds: string[] = [];
        for (const origin of updated.Origins?.Items ?? []) {
          const mtls = origin.CustomOriginConfig?.OriginMtlsConfig;
          if (mtls?.ClientCertificateArn === fromArn && inScope(origin)) {
            mtls.ClientCertificateArn = toArn;
            changedOriginIds.push(origin.Id ?? "");
          }
        }
        assertOnlyCertificatesChanged(distributionId, config, updated);

        try {
          const out = await this.#client.send(
            new UpdateDistributionCommand({ Id: distributionId, DistributionConfig: updated, IfMatch: etag }),
          );
          if (!out.ETag) throw new AdapterError(`UpdateDistribution of ${distributionId} returned no ETag`);
          return {
            distributionId,
            changedOriginIds,
            alreadySwapped: false,
            notPresenting: false,
            etag: out.ETag,
          };
        } catch (error) {
          // 412 also follows our own write when its response was lost and the SDK retried with the old
          // ETag: the re-read then finds the swap done and reports alreadySwapped.
          if (awsErrorName(error) !== "PreconditionFailed") throw error;
          if (attempt >= maxRetries) {
            throw new DistributionChangedError(distributionId, attempt + 1, { cause: error });
          }
          await this.#sleep(this.#backoffMs * 2 ** attempt * (0.5 + Math.random() / 2));
        }
      }
    });
  }

  // ---- deployment ---------------------------------------------------------------------------------------

  /**
   * Status per distribution from GetDistribution (one read each, `statusConcurrency` at once: a slow answer
   * holds up one reader, not a batch); anything but "Deployed" counts as "InProgress".
   */
  async deploymentStatus(distributionIds: readonly string[]): Promise<Record<string, DeploymentStatus>> {
    const out: Record<string, DeploymentStatus> = {};
    const ids = [...new Set(distributionIds)];
    let next = 0;
    const reader = async () => {
      while (next < ids.length) {
        const id = ids[next++]!;
        const { Distribution } = await this.#client.send(new GetDistributionCommand({ Id: id }));
        out[id] = Distribution?.Status === "Deployed" ? "Deployed" : "InProgress";
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.#statusConcurrency, ids.length) }, reader));
    return out;
  }

  /**
   * Poll until every distribution is Deployed or the deadline passes. Returns the ids still InProgress at
   * the deadline (empty when all deployed); it does not throw on timeout, the caller decides.
   */
  async waitUntilDeployed(
    distributionIds: readonly string[],
    options: WaitUntilDeployedOptions = {},
  ): Promise<string[]> {
    const sleep = options.sleep ?? realSleep;
    const now = options.now ?? Date.now;
    const pollMs = options.pollMs ?? 20_000;
    const deadline = now() + (options.timeoutMs ?? 25 * 60_000);
    let pending = [...new Set(distributionIds)];
    for (;;) {
      if (pending.length === 0) return [];
      const status = await this.deploymentStatus(pending);
      pending = pending.filter((id) => status[id] !== "Deployed");
      if (pending.length === 0) return [];
      const left = deadline - now();
      if (left <= 0) return pending;
      await sleep(Math.min(pollMs, left));
    }
  }

  // ---- helpers ------------------------------------------------------------------------------------------

  async #readConfig(distributionId: string): Promise<{ config: DistributionConfig; etag: string }> {
    const out = await this.#client.send(new GetDistributionConfigCommand({ Id: distributionId }));
    if (!out.DistributionConfig || !out.ETag) {
      throw new AdapterError(`GetDistributionConfig of ${distributionId} returned no config or no ETag`);
    }
    return { config: out.DistributionConfig, etag: out.ETag };
  }

  async #serialized<T>(distributionId: string, work: () => Promise<T>): Promise<T> {
    const previous = this.#writes.get(distributionId) ?? Promise.resolve();
    const run = previous.then(work);
    const tail = run.then(
      () => undefined,
      () => undefined,
    );
    this.#writes.set(distributionId, tail);
    try {
      return await run;
    } finally {
      if (this.#writes.get(distributionId) === tail) this.#writes.delete(distributionId);
    }
  }
}

/**
 * A summary's viewer mTLS. A ViewerMtlsConfig without Mode is required mode ("Required mode (default)",
 * mtls-authentication; docs/aws-behaviour.md `cloudfront.viewer-mtls-default-required`). Cache behaviours
 * are kept for passthrough only: the only mode whose origins depend on the policy forwarding the certificate.
 */
function viewerMtlsOf(summary: DistributionSummary, distributionId: string): ListedViewerDistribution {
  const config = summary.ViewerMtlsConfig;
  const arn = summary.ARN ?? distributionId;
  if (!config) return { distributionId, arn, mode: "none" };
  const mode: ViewerMtlsMode = config.Mode ?? "required";
  const trustStoreId = config.TrustStoreConfig?.TrustStoreId;
  const listed: ListedViewerDistribution = {
    distributionId,
    arn,
    mode,
    ...(trustStoreId ? { trustStoreId } : {}),
  };
  if (mode !== "passthrough") return listed;
  // A behaviour has an origin request policy, or legacy cache settings (ForwardedValues) that forward headers.
  const policyOf = (
    behaviour: Pick<CacheBehavior, "OriginRequestPolicyId" | "ForwardedValues"> | undefined,
  ) => {
    const id = behaviour?.OriginRequestPolicyId;
    if (id) return { originRequestPolicyId: id };
    const legacy = behaviour?.ForwardedValues?.Headers?.Items ?? [];
    return legacy.length > 0 ? { legacyForwardedHeaders: legacy.map((h) => h.toLowerCase()) } : {};
  };
  // The origins a behaviour's requests go to (an origin, or an origin group's members) without origin mTLS.
  const origins = new Map((summary.Origins?.Items ?? []).map((o) => [o.Id ?? "", o]));
  const groups = new Map(
    (summary.OriginGroups?.Items ?? []).map((g) => [
      g.Id ?? "",
      (g.Members?.Items ?? []).map((member) => member.OriginId ?? ""),
    ]),
  );
  const withoutMtls = (target: string | undefined) => {
    if (target === undefined) return {};
    const ids = groups.get(target) ?? [target];
    if (ids.some((id) => !origins.has(id))) return {};
    return { originsWithoutMtls: ids.filter((id) => certificateOf(origins.get(id)!) === undefined) };
  };
  const behaviours: ListedBehaviour[] = [
    {
      pathPattern: "*",
      default: true,
      ...policyOf(summary.DefaultCacheBehavior),
      ...withoutMtls(summary.DefaultCacheBehavior?.TargetOriginId),
    },
    ...(summary.CacheBehaviors?.Items ?? []).map((b) => ({
      pathPattern: b.PathPattern ?? "",
      default: false,
      ...policyOf(b),
      ...withoutMtls(b.TargetOriginId),
    })),
  ];
  return { ...listed, behaviours };
}

function certificateOf(origin: Origin): string | undefined {
  return origin.CustomOriginConfig?.OriginMtlsConfig?.ClientCertificateArn;
}

/**
 * Refuses an update that would change anything but origin-mTLS ARNs, or more distinct ARNs than CloudFront
 * accepts in one request. Origins are matched by id, as CloudFront counts changes against the stored config.
 */
export function assertOnlyCertificatesChanged(
  distributionId: string,
  before: DistributionConfig,
  after: DistributionConfig,
): void {
  const storedArns = new Map((before.Origins?.Items ?? []).map((o) => [o.Id, certificateOf(o)]));
  const changed = new Set<string>();
  const restored = structuredClone(after);
  for (const origin of restored.Origins?.Items ?? []) {
    const arn = certificateOf(origin);
    const mtls = origin.CustomOriginConfig?.OriginMtlsConfig;
    if (arn === undefined || !mtls || storedArns.get(origin.Id) === arn) continue;
    changed.add(arn);
    const stored = storedArns.get(origin.Id);
    if (stored !== undefined) mtls.ClientCertificateArn = stored;
    else delete origin.CustomOriginConfig?.OriginMtlsConfig;
  }
  if (changed.size > MAX_CHANGED_MTLS_CERTIFICATES) {
    throw new UnsafeUpdateError(
      `update of ${distributionId} would change ${changed.size} distinct origin-mTLS certificates; ` +
        `CloudFront accepts at most ${MAX_CHANGED_MTLS_CERTIFICATES} per request`,
    );
  }
  if (!isDeepStrictEqual(restored, before)) {
    throw new UnsafeUpdateError(
      `update of ${distributionId} would change more than origin-mTLS certificates`,
    );
  }
}
