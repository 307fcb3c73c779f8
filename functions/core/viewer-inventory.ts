/**
 * Viewer mTLS inventory and drift, pure: which distributions validate viewers' certificates how (mode, trust
 * store), what the trust stores hold, and what is about to break: a passthrough distribution whose origins do
 * not get the viewer's certificate, a trust store CloudFront could not load, a CloudFront quota nearly used up.
 * Inputs are what the scan's listings return (ListDistributions, GetOriginRequestPolicy, ListTrustStores);
 * no AWS, clock injected.
 */
import { canonical } from "./tracking.ts";

/** A distribution's viewer mTLS mode; `none` when its config has no ViewerMtlsConfig. */
export type ViewerMtlsMode = "none" | "required" | "optional" | "passthrough";
export const VIEWER_MTLS_MODES = [
  "none",
  "required",
  "optional",
  "passthrough",
] as const satisfies readonly ViewerMtlsMode[];

/**
 * CloudFront quotas of viewer mTLS (developer guide, "Quotas" — mutual TLS:
 * https://docs.aws.amazon.com/AmazonCloudFront/latest/DeveloperGuide/cloudfront-limits.html#quotas-mtls; the
 * values as aws-facts.md records them, the same the CloudFront stand-in enforces, docs/aws-behaviour.md
 * `cloudfront.trust-store-quota`, `cloudfront.viewer-mtls-25-per-trust-store`, `cloudfront.trust-store-bundle-limits`).
 */
export const TRUST_STORES_PER_ACCOUNT = 20;
export const DISTRIBUTIONS_PER_TRUST_STORE = 25;
export const CA_CERTIFICATES_PER_TRUST_STORE = 25;
/** A quota is "near" from this share of it on (20 -> 16 trust stores, 25 -> 20 distributions or CAs). */
export const QUOTA_NEAR_RATIO = 0.8;

/** The headers a passthrough origin needs (RFC 9440, made by CloudFront from the viewer's certificate). */
export const CLIENT_CERT_HEADERS = ["client-cert", "client-cert-chain"] as const;

/** One cache behaviour of a passthrough distribution: its path pattern and origin request policy. */
export interface ListedBehaviour {
  /** `*` for the default cache behaviour. */
  pathPattern: string;
  /** Whether it is the default cache behaviour. */
  default: boolean;
  /** Its OriginRequestPolicyId; undefined when it has none. */
  originRequestPolicyId?: string;
  /**
   * Without an origin request policy: the headers its legacy cache settings forward
   * (`ForwardedValues.Headers`, lower case; `*` for all), when it has any.
   */
  legacyForwardedHeaders?: string[];
  /**
   * The origins its requests go to (its TargetOriginId, or that origin group's members) that present no
   * origin-mTLS client certificate: such an origin cannot tell CloudFront's forwarded Client-Cert from one
   * anyone who reaches it could send. Undefined when the listing did not say (an unknown target).
   */
  originsWithoutMtls?: string[];
}

/** A distribution's viewer mTLS as ListDistributions describes it. */
export interface ListedViewerDistribution {
  distributionId: string;
  /** The distribution's ARN (names it in notifications). */
  arn: string;
  mode: ViewerMtlsMode;
  trustStoreId?: string;
  /** The cache behaviours (default first, then ordered): passthrough distributions only. */
  behaviours?: ListedBehaviour[];
}

/** What an origin request policy says about headers (GetOriginRequestPolicy). */
export interface OriginRequestPolicyHeaders {
  id: string;
  name: string;
  /** HeaderBehavior: none | whitelist | allViewer | allViewerAndWhitelistCloudFront | allExcept. */
  headerBehavior: string;
  /** The listed header names, lower case. */
  headers: string[];
}

/** A trust store as ListTrustStores describes it. */
export interface ListedTrustStore {
  id: string;
  arn: string;
  name: string;
  /** pending | active | failed. */
  status: string;
  /** Why it failed (ListTrustStores `Reason`), when it did. */
  reason?: string;
  /** NumberOfCaCertificates. */
  caCertificates: number;
}

/**
 * Whether a policy sends an origin both Client-Cert headers:
 * - `yes`: it lists both (whitelist, or allViewerAndWhitelistCloudFront);
 * - `no`: it sends no headers, a whitelist without both, or excludes one (allExcept listing it), or no
 *   policy (or one that cannot be read) is attached;
 * - `unknown`: it sends all viewer headers without listing both (allViewer, allViewerAndWhitelistCloudFront,
 *   allExcept not excluding them). *Assumed* (docs/aws-behaviour.md
 *   `cloudfront.passthrough-client-cert-listed`): AWS's documentation says the headers must be included in the
 *   policy and does not say whether "all viewer headers" covers headers CloudFront makes itself; the stand-in
 *   does not send them then. Reported as drift-unknown, never as fine: if AWS does send them, the finding is a
 *   false alarm fixed by listing the two headers, which works either way.
 */
export type ClientCertForwarding = "yes" | "no" | "unknown";

/**
 * Whether legacy cache settings (`ForwardedValues.Headers`, deprecated) send both headers: AWS documents the
 * Client-Cert pair for origin request policies only, so listing both (or `*`, all headers) is *assumed*
 * `unknown` rather than fine; listing not both, `no`.
 */
export function legacyClientCertForwarding(headers: readonly string[]): ClientCertForwarding {
  const listed = new Set(headers.map((h) => h.toLowerCase()));
  return listed.has("*") || CLIENT_CERT_HEADERS.every((h) => listed.has(h)) ? "unknown" : "no";
}

export function clientCertForwarding(policy: OriginRequestPolicyHeaders | undefined): ClientCertForwarding {
  if (!policy) return "no";
  const listed = new Set(policy.headers.map((h) => h.toLowerCase()));
  const allListed = CLIENT_CERT_HEADERS.every((h) => listed.has(h));
  const anyListed = CLIENT_CERT_HEADERS.some((h) => listed.has(h));
  switch (policy.headerBehavior) {
    case "whitelist":
      return allListed ? "yes" : "no";
    case "allViewerAndWhitelistCloudFront":
      return allListed ? "yes" : "unknown";
    case "allViewer":
      return "unknown";
    case "allExcept":
      return anyListed ? "no" : "unknown";
    default:
      return "no";
  }
}

export const ViewerDriftKind = {
  /** A passthrough behaviour's origin request policy does not forward Client-Cert and Client-Cert-Chain. */
  ClientCertNotForwarded: "client-cert-not-forwarded",
  /** A passthrough behaviour's policy forwards all viewer headers: whether that includes them is not documented. */
  ClientCertForwardingUnknown: "client-cert-forwarding-unknown",
  /** A trust store CloudFront could not load: its distributions validate with the last bundle that loaded. */
  TrustStoreFailed: "trust-store-failed",
  /** A CloudFront quota of viewer mTLS is at least QUOTA_NEAR_RATIO used. */
  QuotaNear: "quota-near",
  /**
   * A passthrough behaviour sends requests to an origin that presents no origin-mTLS certificate: the origin
   * cannot verify that forwarded Client-Cert headers come from CloudFront (issue 13: "The origin must accept
   * these headers only on connections that CloudFront itself authenticated with origin mTLS").
   */
  PassthroughOriginWithoutMtls: "passthrough-origin-without-mtls",
} as const;
export type ViewerDriftKind = (typeof ViewerDriftKind)[keyof typeof ViewerDriftKind];
export const VIEWER_DRIFT_KINDS = Object.values(ViewerDriftKind) as [ViewerDriftKind, ...ViewerDriftKind[]];

export type ViewerQuota =
  | "trust-stores-per-account"
  | "distributions-per-trust-store"
  | "ca-certificates-per-trust-store";
export const VIEWER_QUOTAS = [
  "trust-stores-per-account",
  "distributions-per-trust-store",
  "ca-certificates-per-trust-store",
] as const satisfies readonly ViewerQuota[];

export interface ViewerDriftFinding {
  kind: ViewerDriftKind;
  /** The ARN of what it is about (a distribution, a trust store; the account's trust stores: "trust-stores"). */
  resourceArn: string;
  distributionId?: string;
  pathPattern?: string;
  originRequestPolicyId?: string;
  /** The origin a passthrough-origin-without-mtls finding names. */
  originId?: string;
  trustStoreId?: string;
  quota?: ViewerQuota;
  /** The quota's use and limit (quota-near). */
  used?: number;
  limit?: number;
  detail: string;
}

/** How bad a finding is: origins that cannot authenticate viewers now are critical; the rest warn or inform. */
export function viewerDriftSeverity(kind: ViewerDriftKind): "info" | "warning" | "critical" {
  switch (kind) {
    case ViewerDriftKind.ClientCertNotForwarded:
    case ViewerDriftKind.TrustStoreFailed:
    case ViewerDriftKind.PassthroughOriginWithoutMtls:
      return "critical";
    case ViewerDriftKind.QuotaNear:
      return "warning";
    case ViewerDriftKind.ClientCertForwardingUnknown:
      return "info";
  }
}

/** Identity of a finding, to notify each once (one that goes away and comes back is notified again). */
export function viewerDriftKey(finding: ViewerDriftFinding): string {
  return [
    finding.kind,
    finding.distributionId ?? "",
    finding.pathPattern ?? "",
    finding.originRequestPolicyId ?? "",
    finding.trustStoreId ?? "",
    finding.quota ?? "",
    finding.originId ?? "",
  ].join("|");
}

/** One cache behaviour of a passthrough distribution as the inventory keeps it. */
export interface BehaviourRecord extends ListedBehaviour {
  policyName?: string;
  clientCertForwarding: ClientCertForwarding;
}

/** What the inventory keeps per distribution with viewer mTLS. */
export interface ViewerDistributionRecord {
  distributionId: string;
  arn: string;
  mode: ViewerMtlsMode;
  trustStoreId?: string;
  behaviours?: BehaviourRecord[];
}

/** A trust store as the inventory keeps it, with the distributions naming it. */
export interface TrustStoreRecord extends ListedTrustStore {
  distributions: number;
}

/** The viewer mTLS inventory of one full scan. */
export interface ViewerInventory {
  scannedAt: string;
  /** Every listed distribution counted by mode (those without viewer mTLS too). */
  byMode: Record<ViewerMtlsMode, number>;
  /** The distributions with viewer mTLS, by id. */
  distributions: ViewerDistributionRecord[];
  trustStores: TrustStoreRecord[];
  drift: ViewerDriftFinding[];
}

const byId = <T extends { distributionId: string }>(a: T, b: T) =>
  a.distributionId < b.distributionId ? -1 : a.distributionId > b.distributionId ? 1 : 0;

function quotaNear(used: number, limit: number): boolean {
  return used >= Math.ceil(limit * QUOTA_NEAR_RATIO);
}

/**
 * The inventory and its drift. `policies` are the origin request policies read (by id); a policy id a
 * behaviour names but that could not be read is treated as not forwarding (`no`) with the reason in the detail.
 */
export function assessViewerInventory(input: {
  distributions: readonly ListedViewerDistribution[];
  policies: ReadonlyMap<string, OriginRequestPolicyHeaders>;
  /** Policy ids that could not be read, with why. */
  unreadablePolicies?: ReadonlyMap<string, string>;
  trustStores: readonly ListedTrustStore[];
  now: Date;
}): ViewerInventory {
  const byMode: Record<ViewerMtlsMode, number> = { none: 0, required: 0, optional: 0, passthrough: 0 };
  const distributions: ViewerDistributionRecord[] = [];
  const drift: ViewerDriftFinding[] = [];
  const perTrustStore = new Map<string, number>();

  for (const listed of [...input.distributions].sort(byId)) {
    byMode[listed.mode] += 1;
    if (listed.mode === "none") continue;
    if (listed.trustStoreId)
      perTrustStore.set(listed.trustStoreId, (perTrustStore.get(listed.trustStoreId) ?? 0) + 1);
    const record: ViewerDistributionRecord = {
      distributionId: listed.distributionId,
      arn: listed.arn,
      mode: listed.mode,
      ...(listed.trustStoreId ? { trustStoreId: listed.trustStoreId } : {}),
    };
    if (listed.mode === "passthrough") {
      record.behaviours = (listed.behaviours ?? []).map((behaviour) => {
        const policyId = behaviour.originRequestPolicyId;
        const policy = policyId === undefined ? undefined : input.policies.get(policyId);
        const legacy = policyId === undefined ? behaviour.legacyForwardedHeaders : undefined;
        const forwarding = legacy ? legacyClientCertForwarding(legacy) : clientCertForwarding(policy);
        const where = `${listed.distributionId} (${behaviour.default ? "default behaviour" : `behaviour ${behaviour.pathPattern}`})`;
        const policyText =
          policyId === undefined
            ? legacy
              ? `has no origin request policy; its legacy cache settings forward headers ${legacy.join(", ")}`
              : "has no origin request policy"
            : policy
              ? `has origin request policy ${policy.name} (${policyId}, headers ${policy.headerBehavior})`
              : `names origin request policy ${policyId}, which could not be read (${input.unreadablePolicies?.get(policyId) ?? "not found"})`;
        if (forwarding !== "yes") {
          drift.push({
            kind:
              forwarding === "no"
                ? ViewerDriftKind.ClientCertNotForwarded
                : ViewerDriftKind.ClientCertForwardingUnknown,
            resourceArn: listed.arn,
            distributionId: listed.distributionId,
            pathPattern: behaviour.pathPattern,
            ...(policyId !== undefined ? { originRequestPolicyId: policyId } : {}),
            detail:
              forwarding === "no"
                ? `passthrough ${where} ${policyText}, which does not forward Client-Cert and Client-Cert-Chain: its origins get no viewer certificate`
                : `passthrough ${where} ${policyText}: whether all viewer headers include Client-Cert and Client-Cert-Chain is not documented; list both headers explicitly`,
          });
        }
        for (const originId of behaviour.originsWithoutMtls ?? [])
          drift.push({
            kind: ViewerDriftKind.PassthroughOriginWithoutMtls,
            resourceArn: listed.arn,
            distributionId: listed.distributionId,
            pathPattern: behaviour.pathPattern,
            originId,
            detail:
              `passthrough ${where} sends requests to origin ${originId}, which presents no origin-mTLS ` +
              "certificate: the origin cannot tell CloudFront's Client-Cert headers from forged ones (give it " +
              "origin mTLS and accept the headers only on connections with CloudFront's certificate)",
          });
        return {
          ...behaviour,
          ...(policy ? { policyName: policy.name } : {}),
          clientCertForwarding: forwarding,
        };
      });
    }
    distributions.push(record);
  }

  const trustStores: TrustStoreRecord[] = [...input.trustStores]
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0))
    .map((store) => ({ ...store, distributions: perTrustStore.get(store.id) ?? 0 }));
  for (const store of trustStores) {
    if (store.status === "failed") {
      drift.push({
        kind: ViewerDriftKind.TrustStoreFailed,
        resourceArn: store.arn,
        trustStoreId: store.id,
        detail: `trust store ${store.name} (${store.id}) failed: ${store.reason ?? "no reason given"}; its ${store.distributions} distribution(s) validate viewers with the last bundle that loaded, if any`,
      });
    }
    if (quotaNear(store.distributions, DISTRIBUTIONS_PER_TRUST_STORE)) {
      drift.push({
        kind: ViewerDriftKind.QuotaNear,
        resourceArn: store.arn,
        trustStoreId: store.id,
        quota: "distributions-per-trust-store",
        used: store.distributions,
        limit: DISTRIBUTIONS_PER_TRUST_STORE,
        detail: `trust store ${store.name} (${store.id}) serves ${store.distributions} of at most ${DISTRIBUTIONS_PER_TRUST_STORE} distributions`,
      });
    }
    if (quotaNear(store.caCertificates, CA_CERTIFICATES_PER_TRUST_STORE)) {
      drift.push({
        kind: ViewerDriftKind.QuotaNear,
        resourceArn: store.arn,
        trustStoreId: store.id,
        quota: "ca-certificates-per-trust-store",
        used: store.caCertificates,
        limit: CA_CERTIFICATES_PER_TRUST_STORE,
        detail: `trust store ${store.name} (${store.id}) holds ${store.caCertificates} of at most ${CA_CERTIFICATES_PER_TRUST_STORE} CA certificates: a CA migration adds one more`,
      });
    }
  }
  if (quotaNear(trustStores.length, TRUST_STORES_PER_ACCOUNT)) {
    drift.push({
      kind: ViewerDriftKind.QuotaNear,
      resourceArn: "trust-stores",
      quota: "trust-stores-per-account",
      used: trustStores.length,
      limit: TRUST_STORES_PER_ACCOUNT,
      detail: `the account has ${trustStores.length} of at most ${TRUST_STORES_PER_ACCOUNT} CloudFront trust stores`,
    });
  }
  return { scannedAt: input.now.toISOString(), byMode, distributions, trustStores, drift };
}

/** The inventory as the store keeps it between scans: with the keys of the findings already notified. */
export interface StoredViewerInventory extends ViewerInventory {
  /** viewerDriftKey of each finding notified. */
  notified: string[];
}

/** A distribution's item in the store: its record with the findings about it and which were notified. */
export interface StoredViewerDistribution extends ViewerDistributionRecord {
  drift?: ViewerDriftFinding[];
  notified?: string[];
}

/** The summary item: everything but the distributions, with the findings about no distribution. */
export type StoredViewerSummary = Omit<StoredViewerInventory, "distributions">;

/**
 * The inventory as items, each bounded whatever the fleet's size: a finding about a distribution (and its
 * notified key) lives in that distribution's item (a distribution has at most CloudFront's cache behaviours
 * of findings), the summary keeps the trust stores (at most TRUST_STORES_PER_ACCOUNT) and the findings about
 * them and the account. joinViewerInventory puts them back together, in the same order.
 */
export function splitViewerInventory(inventory: StoredViewerInventory): {
  summary: StoredViewerSummary;
  distributions: StoredViewerDistribution[];
} {
  const notified = new Set(inventory.notified);
  const recorded = new Set(inventory.distributions.map((d) => d.distributionId));
  const about = new Map<string, ViewerDriftFinding[]>();
  const rest: ViewerDriftFinding[] = [];
  for (const finding of inventory.drift) {
    const id = finding.distributionId;
    if (id === undefined || !recorded.has(id)) rest.push(finding);
    else about.set(id, [...(about.get(id) ?? []), finding]);
  }
  const keysOf = (findings: readonly ViewerDriftFinding[]) =>
    findings
      .map(viewerDriftKey)
      .filter((key) => notified.has(key))
      .sort();
  const distributions = inventory.distributions.map((record): StoredViewerDistribution => {
    const drift = about.get(record.distributionId) ?? [];
    const keys = keysOf(drift);
    return { ...record, ...(drift.length ? { drift } : {}), ...(keys.length ? { notified: keys } : {}) };
  });
  const { distributions: _, drift: __, notified: ___, ...summary } = inventory;
  return { summary: { ...summary, drift: rest, notified: keysOf(rest) }, distributions };
}

/** The inventory from its items (splitViewerInventory's inverse); items in mode `none` are left out. */
export function joinViewerInventory(
  summary: StoredViewerSummary,
  items: readonly StoredViewerDistribution[],
): StoredViewerInventory {
  const kept = items
    .filter((item) => item.mode !== "none")
    .sort((a, b) => (a.distributionId < b.distributionId ? -1 : a.distributionId > b.distributionId ? 1 : 0));
  return {
    ...summary,
    distributions: kept.map(({ drift: _, notified: __, ...record }) => record),
    drift: [...kept.flatMap((item) => item.drift ?? []), ...summary.drift],
    notified: [...kept.flatMap((item) => item.notified ?? []), ...summary.notified].sort(),
  };
}

/**
 * The distribution records to write: those new or changed since `previous`, and for each distribution that
 * left viewer mTLS (or the listing) a record in mode `none` (the store never deletes; readers skip them).
 */
export function changedDistributionRecords<T extends ViewerDistributionRecord>(
  next: readonly T[],
  previous: readonly T[],
): Array<T | ViewerDistributionRecord> {
  const before = new Map(previous.map((r) => [r.distributionId, r]));
  const now = new Set(next.map((r) => r.distributionId));
  const changed = next.filter((r) => {
    const old = before.get(r.distributionId);
    return !old || canonical(old) !== canonical(r);
  });
  const left = previous
    .filter((r) => !now.has(r.distributionId) && r.mode !== "none")
    .map((r) => ({ distributionId: r.distributionId, arn: r.arn, mode: "none" as const }));
  return [...changed, ...left];
}
