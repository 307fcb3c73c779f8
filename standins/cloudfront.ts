/**
 * Stand-in for the CloudFront control plane (REST-XML, API version 2020-05-31), served to the real
 * `@aws-sdk/client-cloudfront` over loopback HTTP.
 *
 * What it is for: proving that the rotation service changes exactly one thing in a distribution (an origin's
 * `OriginMtlsConfig.ClientCertificateArn`) and hands everything else back untouched. So the stand-in keeps
 * each DistributionConfig as the XML text it received and serves that text back byte for byte; it parses the
 * document only to check it, never to rebuild it. Fields it does not understand survive every round trip.
 *
 * Rules enforced (each with its AWS source in docs/aws-behaviour.md):
 * - UpdateDistribution needs `If-Match` (400 InvalidIfMatchVersion) equal to the current ETag
 *   (412 PreconditionFailed); every write yields a new ETag.
 * - UpdateDistribution carries the whole config: missing required members are refused by the model check
 *   (400 InvalidArgument, standins/model/) before this stand-in sees them (its own MalformedInput checks stay
 *   as a second line); a changed
 *   CallerReference -> 400 IllegalUpdate. CreateDistribution with a CallerReference already used -> 409
 *   DistributionAlreadyExists, even with the same config.
 * - Status is `InProgress` after every write and `Deployed` once `deployDelayMs` has passed on the
 *   injectable clock (evaluated when read, no timers).
 * - Origin mTLS: at most 5 distinct certificate ARNs added or changed per request; every ARN must name an
 *   ACM certificate in us-east-1 with an RSA-2048 / P-256 key and the clientAuth EKU (400 InvalidArgument).
 * - Unknown distribution -> 404 NoSuchDistribution.
 * - Viewer mTLS (`ViewerMtlsConfig`, stored and served back verbatim like the rest): `passthrough` carries no
 *   `TrustStoreConfig`; `required` (the default when `Mode` is left out) and `optional` need one naming an
 *   existing trust store; at most 25 distributions per trust store. Each refusal is 400 InvalidArgument
 *   (assumed code). ListDistributionsByTrustStore pages through the distributions a trust store serves.
 * - Every cache behaviour's `OriginRequestPolicyId` must name an existing policy, managed or custom (404
 *   NoSuchOriginRequestPolicy).
 * - Viewer-mTLS trust stores (Create/Get/Update/ListTrustStores, tagging): see cloudfront-trust-stores.ts;
 *   origin request policies: see cloudfront-origin-request-policies.ts.
 *
 * Edge view (plain methods, for end-to-end tests whose "edge" calls origins with real mTLS, and for the viewer
 * edge): like CloudFront, the edge keeps serving the last configuration that finished deploying until the
 * newest one has deployed.
 */
import type { BundleStore } from "./ca-bundle.ts";
import { CloudFrontOriginRequestPolicies } from "./cloudfront-origin-request-policies.ts";
import { CloudFrontTrustStores } from "./cloudfront-trust-stores.ts";
import {
  API_VERSION,
  checkIfMatch,
  childOf,
  element,
  itemsOf,
  listMaxItems,
  newEtag,
  pageAfter,
  randomAlphanumeric,
  readDocument,
  requiredChild,
  requiredText,
  XML_PROLOG,
  XMLNS,
} from "./cloudfront-xml.ts";
import {
  ACCOUNT_ID,
  AwsError,
  type RestService,
  type StandinRequest,
  type StandinResponse,
} from "./protocol.ts";
import type { XmlElement } from "./xml.ts";

/** At most this many distinct origin-mTLS certificate ARNs may be added or changed in one request. */
export const MAX_CHANGED_MTLS_CERTIFICATES = 5;
/** Origin mTLS certificates must live in ACM in this region. */
export const MTLS_CERTIFICATE_REGION = "us-east-1";
/** ACM key algorithms CloudFront accepts for an origin-mTLS client certificate. */
export const MTLS_KEY_ALGORITHMS: readonly string[] = ["RSA_2048", "EC_prime256v1"];
/** ACM's name for the clientAuth extended key usage. */
export const CLIENT_AUTH_EKU = "TLS_WEB_CLIENT_AUTHENTICATION";

/** One origin as the edge sees it: where it connects and which client certificate it presents there. */
export interface LiveOrigin {
  originId: string;
  domainName: string;
  httpsPort: number;
  /** Origin-mTLS certificate ARN in the live configuration; undefined when the origin presents none. */
  presentedArn: string | undefined;
}

export type ViewerMtlsMode = "required" | "optional" | "passthrough";

/** A distribution's `ViewerMtlsConfig`, as the stand-in reads it. */
export interface ViewerMtls {
  mode: ViewerMtlsMode;
  /** `TrustStoreConfig.TrustStoreId`; undefined in passthrough mode. */
  trustStoreId: string | undefined;
  advertiseTrustStoreCaNames: boolean;
  ignoreCertificateExpiry: boolean;
}

/** How the edge treats a viewer of a distribution (its live config): for the viewer edge. */
export interface ViewerAccess {
  /** Undefined when the distribution does not ask viewers for certificates. */
  viewerMtls: ViewerMtls | undefined;
  /** The default cache behaviour's origin (or origin group) id. */
  targetOriginId: string;
  /** The default cache behaviour's origin request policy; undefined when it names none. */
  originRequestPolicyId: string | undefined;
}

/** At most this many distributions may use one trust store (CloudFront quota). */
export const MAX_DISTRIBUTIONS_PER_TRUST_STORE = 25;

/** What CloudFront needs to know about an ACM certificate (ACM DescribeCertificate names). */
export interface CertificateFacts {
  region: string;
  /** e.g. "RSA_2048", "EC_prime256v1". */
  keyAlgorithm: string;
  /** e.g. ["TLS_WEB_CLIENT_AUTHENTICATION"]. */
  extendedKeyUsages: string[];
}

/** Looks certificates up by ARN; the ACM stand-in provides one. */
export interface CertificateDirectory {
  describe(arn: string): CertificateFacts | undefined;
}

export type DistributionStatus = "InProgress" | "Deployed";

export interface CloudFrontStandinOptions {
  /**
   * Where origin-mTLS certificate ARNs are checked. To break the ACM <-> CloudFront cycle, pass an object
   * whose `describe` closes over a stand-in constructed later. Default: a directory that knows no certificate.
   */
  certificates?: CertificateDirectory;
  /** How long a write stays `InProgress` (ms on `now`). Default 0: `Deployed` on the next read. */
  deployDelayMs?: number;
  /** Clock in ms; inject one to make deployment deterministic. Default `Date.now`. */
  now?: () => number;
  /** Where trust stores read their CA bundles (the S3 stand-in). Default: a store that holds nothing. */
  bundles?: BundleStore;
  /** How long a trust store write stays `pending` (ms on `now`). Default 0. */
  trustStoreDelayMs?: number;
}

interface StoredDistribution {
  id: string;
  etag: string;
  /** The DistributionConfig element exactly as last written (root tag with its xmlns included). */
  configXml: string;
  config: InspectedConfig;
  /** Clock reading of the last write. */
  changedAt: number;
  /**
   * The config the edge served when the last write arrived (the last one that had deployed by then);
   * undefined for a distribution whose first config has not deployed yet.
   */
  deployedBefore: InspectedConfig | undefined;
}

/** The REST routes this stand-in serves: /distribution, /distribution/{Id}, /distribution/{Id}/config. */
const DISTRIBUTION_PATH = new RegExp(`^/${API_VERSION}/distribution(?:/([^/]+)(/config)?)?$`);
const BY_TRUST_STORE_PATH = `/${API_VERSION}/distributionsByTrustStore`;
const LIST_QUERY = new Set(["Marker", "MaxItems"]);

export class CloudFrontStandin implements RestService {
  readonly service = "cloudfront";
  readonly #distributions = new Map<string, StoredDistribution>();
  readonly #certificates: CertificateDirectory;
  readonly #deployDelayMs: number;
  readonly #now: () => number;
  /** Viewer-mTLS trust stores (standins/cloudfront-trust-stores.ts), served on the same endpoint. */
  readonly trustStores: CloudFrontTrustStores;
  /** Origin request policies (standins/cloudfront-origin-request-policies.ts), served on the same endpoint. */
  readonly originRequestPolicies: CloudFrontOriginRequestPolicies;

  constructor(options: CloudFrontStandinOptions = {}) {
    this.#certificates = options.certificates ?? { describe: () => undefined };
    this.#deployDelayMs = options.deployDelayMs ?? 0;
    this.#now = options.now ?? Date.now;
    this.trustStores = new CloudFrontTrustStores({
      bundles: options.bundles,
      delayMs: options.trustStoreDelayMs,
      now: this.#now,
    });
    this.originRequestPolicies = new CloudFrontOriginRequestPolicies({ now: this.#now });
  }

  // ---- plain methods for other stand-ins and tests ------------------------------------------------------

  /** Ids of the distributions whose current config uses `certificateArn` for any origin's mTLS. */
  /** Every certificate ARN any distribution references, latest or live configuration. */
  referencedCertificateArns(): Set<string> {
    const out = new Set<string>();
    for (const d of this.#distributions.values()) {
      for (const config of [d.config, this.#liveConfig(d)]) {
        for (const origin of config?.origins ?? []) if (origin.certificateArn) out.add(origin.certificateArn);
      }
    }
    return out;
  }

  distributionsReferencing(certificateArn: string): string[] {
    // Both the latest configuration and the one edges still serve while a change is InProgress count:
    // a certificate that edges are still presenting is in use.
    return [...this.#distributions.values()]
      .filter((d) =>
        [d.config, this.#liveConfig(d)].some((config) =>
          config?.origins.some((o) => o.certificateArn === certificateArn),
        ),
      )
      .map((d) => d.id);
  }

  /** Origin id -> origin-mTLS certificate ARN (undefined for an origin without one). */
  originCertificates(distributionId: string): Record<string, string | undefined> {
    const out: Record<string, string | undefined> = {};
    for (const origin of this.#get(distributionId).config.origins) out[origin.id] = origin.certificateArn;
    return out;
  }

  /** The DistributionConfig element exactly as last written. */
  configXml(distributionId: string): string {
    return this.#get(distributionId).configXml;
  }

  status(distributionId: string): DistributionStatus {
    return this.#statusOf(this.#get(distributionId));
  }

  /** The current ETag (what GetDistributionConfig would answer). */
  etag(distributionId: string): string {
    return this.#get(distributionId).etag;
  }

  /**
   * The origin-mTLS certificate ARN the edge presents to `originId` right now: from the newest config once
   * it is Deployed, otherwise from the last config that had deployed before it. Undefined when the origin
   * presents none, is not in the live config, or nothing has deployed yet.
   */
  presentedCertificateArn(distributionId: string, originId: string): string | undefined {
    return this.#liveConfig(this.#get(distributionId))?.origins.find((o) => o.id === originId)
      ?.certificateArn;
  }

  /** The origins of the live config (see presentedCertificateArn); empty while nothing has deployed. */
  originsOf(distributionId: string): LiveOrigin[] {
    const live = this.#liveConfig(this.#get(distributionId));
    return (live?.origins ?? []).map((o) => ({
      originId: o.id,
      domainName: o.domainName,
      httpsPort: o.httpsPort,
      presentedArn: o.certificateArn,
    }));
  }

  /**
   * How the edge treats viewers of the distribution right now (from the live config, see
   * presentedCertificateArn); undefined while nothing has deployed.
   */
  viewerAccessOf(distributionId: string): ViewerAccess | undefined {
    const live = this.#liveConfig(this.#get(distributionId));
    const defaultBehaviour = live?.cacheBehaviours[0];
    return (
      live &&
      defaultBehaviour && {
        viewerMtls: live.viewerMtls && { ...live.viewerMtls },
        targetOriginId: defaultBehaviour.targetOriginId,
        originRequestPolicyId: defaultBehaviour.originRequestPolicyId,
      }
    );
  }

  /** Ids of every distribution, sorted as ListDistributions pages through them. */
  ids(): string[] {
    return [...this.#distributions.keys()].sort();
  }

  // ---- RestService ---------------------------------------------------------------------------------------

  operationFor(request: StandinRequest): string | undefined {
    if (request.path === BY_TRUST_STORE_PATH) {
      return request.method === "GET" ? "ListDistributionsByTrustStore" : undefined;
    }
    const match = DISTRIBUTION_PATH.exec(request.path);
    if (!match) {
      return this.trustStores.operationFor(request) ?? this.originRequestPolicies.operationFor(request);
    }
    const [, id, config] = match;
    // Sibling operations on the same paths (CreateDistributionWithTags, ...) are not served.
    if ([...request.query.keys()].some((k) => !LIST_QUERY.has(k))) return undefined;
    if (id === undefined) {
      if (request.method === "POST") return "CreateDistribution";
      if (request.method === "GET") return "ListDistributions";
      return undefined;
    }
    if (config) {
      if (request.method === "GET") return "GetDistributionConfig";
      if (request.method === "PUT") return "UpdateDistribution";
      return undefined;
    }
    return request.method === "GET" ? "GetDistribution" : undefined;
  }

  handle(operation: string, request: StandinRequest): StandinResponse {
    if (this.trustStores.serves(operation)) return this.trustStores.handle(operation, request);
    if (this.originRequestPolicies.serves(operation)) {
      return this.originRequestPolicies.handle(operation, request);
    }
    const id = DISTRIBUTION_PATH.exec(request.path)?.[1];
    const distributionId = id === undefined ? "" : decodeURIComponent(id);
    switch (operation) {
      case "CreateDistribution":
        return this.#create(request);
      case "ListDistributions":
        return this.#list(request);
      case "ListDistributionsByTrustStore":
        return this.#listByTrustStore(request);
      case "GetDistribution":
        return this.#getDistribution(distributionId);
      case "GetDistributionConfig":
        return this.#getDistributionConfig(distributionId);
      case "UpdateDistribution":
        return this.#update(distributionId, request);
      default:
        throw new AwsError("InvalidAction", `The stand-in does not implement ${operation}`);
    }
  }

  // ---- operations ----------------------------------------------------------------------------------------

  #create(request: StandinRequest): StandinResponse {
    const { xml, config } = readConfig(request.body);

    // AWS (DistributionConfig.CallerReference): "If CallerReference is a value that you already sent in a
    // previous request to create a distribution, CloudFront returns a DistributionAlreadyExists error",
    // whatever the config (docs/aws-behaviour.md, cloudfront.caller-reference-unique).
    const previous = [...this.#distributions.values()].find(
      (d) => d.config.callerReference === config.callerReference,
    );
    if (previous) {
      throw new AwsError(
        "DistributionAlreadyExists",
        `The caller reference that you are using to create a distribution is associated with another distribution: ${previous.id}`,
        409,
      );
    }

    this.#checkOrigins(config, undefined);
    this.#checkViewerMtls(config, undefined);
    this.#checkOriginRequestPolicies(config);
    const distribution: StoredDistribution = {
      id: this.#newId(),
      etag: newEtag(),
      configXml: xml,
      config,
      changedAt: this.#now(),
      deployedBefore: undefined,
    };
    this.#distributions.set(distribution.id, distribution);
    return this.#distributionResponse(distribution, 201, true);
  }

  #getDistribution(id: string): StandinResponse {
    return this.#distributionResponse(this.#get(id), 200, false);
  }

  #getDistributionConfig(id: string): StandinResponse {
    const distribution = this.#get(id);
    return {
      status: 200,
      headers: { "content-type": "text/xml", ETag: distribution.etag },
      body: XML_PROLOG + distribution.configXml,
    };
  }

  #update(id: string, request: StandinRequest): StandinResponse {
    const distribution = this.#get(id);
    checkIfMatch(request.headers["if-match"], distribution.etag);
    const { xml, config } = readConfig(request.body);
    if (config.callerReference !== distribution.config.callerReference) {
      throw new AwsError("IllegalUpdate", "Origin and CallerReference cannot be updated.");
    }
    this.#checkOrigins(config, distribution.config);
    this.#checkViewerMtls(config, distribution.id);
    this.#checkOriginRequestPolicies(config);

    // What the edge serves until this write deploys (a write on top of an undeployed one keeps the older).
    distribution.deployedBefore = this.#liveConfig(distribution);
    distribution.configXml = xml;
    distribution.config = config;
    distribution.etag = newEtag(distribution.etag);
    distribution.changedAt = this.#now();
    return this.#distributionResponse(distribution, 200, true);
  }

  #list(request: StandinRequest): StandinResponse {
    return this.#distributionList(this.ids(), request);
  }

  /**
   * The distributions whose latest config names the trust store (by id or ARN), paged like ListDistributions.
   * An unknown trust store is 404 EntityNotFound (assumed code, one the operation declares).
   */
  #listByTrustStore(request: StandinRequest): StandinResponse {
    const identifier = request.query.get("TrustStoreIdentifier") ?? "";
    const trustStoreId = this.trustStores.idOf(identifier);
    if (trustStoreId === undefined) {
      throw new AwsError("EntityNotFound", `The trust store ${identifier} does not exist.`, 404);
    }
    return this.#distributionList(this.#idsUsingTrustStore(trustStoreId), request);
  }

  /** A DistributionList page of `ids` (sorted) by the request's Marker and MaxItems. */
  #distributionList(ids: string[], request: StandinRequest): StandinResponse {
    const marker = request.query.get("Marker") ?? "";
    const maxItems = listMaxItems(request.query.get("MaxItems"));
    // Pages run in id order; a marker is the id of the last distribution of the previous page.
    const { page: pageIds, truncated } = pageAfter(ids, marker, maxItems);
    const page = pageIds.map((id) => this.#get(id));
    const lastOnPage = page.at(-1);

    let body = `${XML_PROLOG}<DistributionList xmlns="${XMLNS}">`;
    body += element("Marker", marker);
    if (truncated && lastOnPage) body += element("NextMarker", lastOnPage.id);
    body += element("MaxItems", String(maxItems));
    body += element("IsTruncated", String(truncated));
    body += element("Quantity", String(page.length));
    // An empty list is sent without <Items>, as CloudFront does.
    if (page.length > 0) body += `<Items>${page.map((d) => this.#summaryXml(d)).join("")}</Items>`;
    body += "</DistributionList>";
    return { status: 200, headers: { "content-type": "text/xml" }, body };
  }

  // ---- helpers -------------------------------------------------------------------------------------------

  /** Ids (sorted) of the distributions whose latest config uses the trust store. */
  #idsUsingTrustStore(trustStoreId: string): string[] {
    return this.ids().filter((id) => this.#get(id).config.viewerMtls?.trustStoreId === trustStoreId);
  }

  /**
   * Viewer-mTLS rules that need the account's state: the trust store must exist, and may serve at most
   * MAX_DISTRIBUTIONS_PER_TRUST_STORE distributions (`self`, the distribution being updated, not counted
   * twice). The rules that need only the document are in readViewerMtls.
   */
  #checkViewerMtls(config: InspectedConfig, self: string | undefined): void {
    const trustStoreId = config.viewerMtls?.trustStoreId;
    if (trustStoreId === undefined) return;
    if (!this.trustStores.ids().includes(trustStoreId)) {
      throw new AwsError(
        "InvalidArgument",
        `ViewerMtlsConfig.TrustStoreConfig.TrustStoreId '${trustStoreId}' names no trust store of this account.`,
      );
    }
    const others = this.#idsUsingTrustStore(trustStoreId).filter((id) => id !== self);
    if (others.length >= MAX_DISTRIBUTIONS_PER_TRUST_STORE) {
      throw new AwsError(
        "InvalidArgument",
        `Trust store ${trustStoreId} already serves ${others.length} distributions, the most one trust store may serve.`,
      );
    }
  }

  /** Every cache behaviour's origin request policy must exist (managed or custom). */
  #checkOriginRequestPolicies(config: InspectedConfig): void {
    for (const behaviour of config.cacheBehaviours) {
      const policyId = behaviour.originRequestPolicyId;
      if (policyId !== undefined && !this.originRequestPolicies.has(policyId)) {
        throw new AwsError(
          "NoSuchOriginRequestPolicy",
          `The origin request policy ${policyId} of cache behaviour '${behaviour.pathPattern ?? "default"}' does not exist.`,
          404,
        );
      }
    }
  }

  #get(id: string): StoredDistribution {
    const distribution = this.#distributions.get(id);
    if (!distribution)
      throw new AwsError("NoSuchDistribution", "The specified distribution does not exist.", 404);
    return distribution;
  }

  #statusOf(distribution: StoredDistribution): DistributionStatus {
    return this.#now() - distribution.changedAt >= this.#deployDelayMs ? "Deployed" : "InProgress";
  }

  #liveConfig(distribution: StoredDistribution): InspectedConfig | undefined {
    return this.#statusOf(distribution) === "Deployed" ? distribution.config : distribution.deployedBefore;
  }

  #newId(): string {
    for (;;) {
      const id = `E${randomAlphanumeric(13)}`;
      if (!this.#distributions.has(id)) return id;
    }
  }

  /**
   * Origin-mTLS rules. `stored` is the config being replaced (undefined on create): only ARNs that differ
   * from the stored ARN of the same origin id count against the per-request limit, but every ARN in the new
   * config must name a usable certificate (assumption: CloudFront re-validates the whole config on update).
   */
  #checkOrigins(config: InspectedConfig, stored: InspectedConfig | undefined): void {
    const storedArns = new Map(stored?.origins.map((o) => [o.id, o.certificateArn]));
    const changed = new Set<string>();
    for (const origin of config.origins) {
      if (origin.certificateArn !== undefined && storedArns.get(origin.id) !== origin.certificateArn) {
        changed.add(origin.certificateArn);
      }
    }
    if (changed.size > MAX_CHANGED_MTLS_CERTIFICATES) {
      throw new AwsError(
        "InvalidArgument",
        `You can add or change at most ${MAX_CHANGED_MTLS_CERTIFICATES} distinct origin mTLS client certificates ` +
          `in one request; this request adds or changes ${changed.size}.`,
      );
    }

    for (const arn of new Set(config.origins.map((o) => o.certificateArn))) {
      if (arn !== undefined) this.#checkCertificate(arn);
    }
  }

  #checkCertificate(arn: string): void {
    const facts = this.#certificates.describe(arn);
    if (!facts) {
      throw new AwsError(
        "InvalidArgument",
        `The origin mTLS client certificate ${arn} does not exist in ACM.`,
      );
    }
    if (facts.region !== MTLS_CERTIFICATE_REGION) {
      throw new AwsError(
        "InvalidArgument",
        `The origin mTLS client certificate ${arn} is in ${facts.region}; it must be imported into ACM in ${MTLS_CERTIFICATE_REGION}.`,
      );
    }
    if (!MTLS_KEY_ALGORITHMS.includes(facts.keyAlgorithm)) {
      throw new AwsError(
        "InvalidArgument",
        `The origin mTLS client certificate ${arn} has key algorithm ${facts.keyAlgorithm}; ` +
          `supported key algorithms are ${MTLS_KEY_ALGORITHMS.join(", ")}.`,
      );
    }
    if (!facts.extendedKeyUsages.includes(CLIENT_AUTH_EKU)) {
      throw new AwsError(
        "InvalidArgument",
        `The origin mTLS client certificate ${arn} lacks the ${CLIENT_AUTH_EKU} extended key usage.`,
      );
    }
  }

  /** A Distribution document (Create/Get/Update), with its ETag and, for a write, Status InProgress. */
  #distributionResponse(
    distribution: StoredDistribution,
    status: number,
    justWritten: boolean,
  ): StandinResponse {
    const headers: Record<string, string> = { "content-type": "text/xml", ETag: distribution.etag };
    if (status === 201)
      headers.Location = `https://cloudfront.amazonaws.com/${API_VERSION}/distribution/${distribution.id}`;
    const state: DistributionStatus = justWritten ? "InProgress" : this.#statusOf(distribution);
    const body =
      `${XML_PROLOG}<Distribution xmlns="${XMLNS}">` +
      element("Id", distribution.id) +
      element("ARN", arnOf(distribution.id)) +
      element("Status", state) +
      element("LastModifiedTime", new Date(distribution.changedAt).toISOString()) +
      element("InProgressInvalidationBatches", "0") +
      element("DomainName", domainNameOf(distribution.id)) +
      "<ActiveTrustedSigners><Enabled>false</Enabled><Quantity>0</Quantity></ActiveTrustedSigners>" +
      "<ActiveTrustedKeyGroups><Enabled>false</Enabled><Quantity>0</Quantity></ActiveTrustedKeyGroups>" +
      `<DistributionConfig>${distribution.config.inner}</DistributionConfig>` +
      "</Distribution>";
    return { status, headers, body };
  }

  /**
   * A DistributionSummary: config members are copied verbatim from the stored XML; members the config leaves
   * out get the values CloudFront reports by default (the SDK's model marks them required in a summary).
   */
  #summaryXml(distribution: StoredDistribution): string {
    const member = (name: string, fallback = "") => distribution.config.members.get(name) ?? fallback;
    return (
      "<DistributionSummary>" +
      element("Id", distribution.id) +
      element("ARN", arnOf(distribution.id)) +
      element("ETag", distribution.etag) +
      element("Status", this.#statusOf(distribution)) +
      element("LastModifiedTime", new Date(distribution.changedAt).toISOString()) +
      element("DomainName", domainNameOf(distribution.id)) +
      member("Aliases", "<Aliases><Quantity>0</Quantity></Aliases>") +
      member("Origins") +
      member("OriginGroups", "<OriginGroups><Quantity>0</Quantity></OriginGroups>") +
      member("DefaultCacheBehavior") +
      member("CacheBehaviors", "<CacheBehaviors><Quantity>0</Quantity></CacheBehaviors>") +
      member("CustomErrorResponses", "<CustomErrorResponses><Quantity>0</Quantity></CustomErrorResponses>") +
      member("Comment") +
      member("PriceClass", element("PriceClass", "PriceClass_All")) +
      member("Enabled") +
      member(
        "ViewerCertificate",
        "<ViewerCertificate><CloudFrontDefaultCertificate>true</CloudFrontDefaultCertificate>" +
          "<MinimumProtocolVersion>TLSv1</MinimumProtocolVersion><CertificateSource>cloudfront</CertificateSource>" +
          "</ViewerCertificate>",
      ) +
      member(
        "Restrictions",
        "<Restrictions><GeoRestriction><RestrictionType>none</RestrictionType><Quantity>0</Quantity>" +
          "</GeoRestriction></Restrictions>",
      ) +
      member("WebACLId", element("WebACLId", "")) +
      member("HttpVersion", element("HttpVersion", "http2")) +
      member("IsIPV6Enabled", element("IsIPV6Enabled", "false")) +
      member("Staging", element("Staging", "false")) +
      member("ConnectionMode") +
      member("AnycastIpListId") +
      member("ViewerMtlsConfig") +
      member("ConnectionFunctionAssociation") +
      "</DistributionSummary>"
    );
  }
}

// ---- the DistributionConfig document ---------------------------------------------------------------------

/** The few facts the stand-in reads out of a DistributionConfig; the XML itself is kept as received. */
interface InspectedConfig {
  /** Content of the DistributionConfig element, verbatim. */
  inner: string;
  /** Top-level member (local name) -> that element's XML, verbatim. */
  members: Map<string, string>;
  callerReference: string;
  origins: Array<{ id: string; domainName: string; httpsPort: number; certificateArn: string | undefined }>;
  viewerMtls: ViewerMtls | undefined;
  /** The default cache behaviour first (no path pattern), then CacheBehaviors in order. */
  cacheBehaviours: Array<{
    pathPattern: string | undefined;
    targetOriginId: string;
    originRequestPolicyId: string | undefined;
  }>;
}

/** Members CloudFront requires in every Create/UpdateDistribution (all others are optional). */
const REQUIRED_MEMBERS = ["CallerReference", "Origins", "DefaultCacheBehavior", "Comment", "Enabled"];

/** Parses and checks a request's DistributionConfig; returns the root element verbatim and what it says. */
function readConfig(body: string): { xml: string; config: InspectedConfig } {
  if (body.trim() === "") throw new AwsError("MissingBody", "This operation requires a body.");
  const root = readDocument(body, "DistributionConfig");

  const members = new Map<string, string>();
  for (const child of root.children) {
    if (members.has(child.localName)) {
      throw new AwsError(
        "MalformedInput",
        `Element DistributionConfig.${child.localName} appears more than once.`,
      );
    }
    members.set(child.localName, child.raw);
  }
  for (const name of REQUIRED_MEMBERS) {
    if (!members.has(name)) {
      throw new AwsError(
        "MalformedInput",
        `Missing required element DistributionConfig.${name}: UpdateDistribution and CreateDistribution need the complete DistributionConfig.`,
      );
    }
  }

  const callerReference = requiredText(root, "CallerReference");
  if (callerReference === "") throw new AwsError("InvalidArgument", "CallerReference must not be empty.");
  const enabled = requiredText(root, "Enabled");
  if (enabled !== "true" && enabled !== "false") {
    throw new AwsError(
      "MalformedInput",
      `DistributionConfig.Enabled must be true or false, not '${enabled}'.`,
    );
  }

  const origins = readOrigins(requiredChild(root, "Origins"));
  const targets = new Set(origins.map((o) => o.id));
  for (const group of itemsOf(childOf(root, "OriginGroups"), "OriginGroups")) {
    targets.add(requiredText(group, "Id"));
  }
  const defaultBehaviour = requiredChild(root, "DefaultCacheBehavior");
  const defaultTarget = requiredText(defaultBehaviour, "TargetOriginId");
  if (!targets.has(defaultTarget)) {
    throw new AwsError(
      "NoSuchOrigin",
      `DefaultCacheBehavior.TargetOriginId '${defaultTarget}' names no origin or origin group of this distribution.`,
      404,
    );
  }
  const cacheBehaviours = [
    readCacheBehaviour(defaultBehaviour, undefined),
    ...itemsOf(childOf(root, "CacheBehaviors"), "CacheBehaviors").map((b) =>
      readCacheBehaviour(b, requiredText(b, "PathPattern")),
    ),
  ];

  return {
    xml: root.raw,
    config: {
      inner: root.inner,
      members,
      callerReference,
      origins,
      viewerMtls: readViewerMtls(childOf(root, "ViewerMtlsConfig")),
      cacheBehaviours,
    },
  };
}

function readCacheBehaviour(
  behaviour: XmlElement,
  pathPattern: string | undefined,
): InspectedConfig["cacheBehaviours"][number] {
  // An empty OriginRequestPolicyId, as some configs carry for "none", names no policy.
  const policyId = childOf(behaviour, "OriginRequestPolicyId")?.text.trim();
  return {
    pathPattern,
    targetOriginId: requiredText(behaviour, "TargetOriginId"),
    originRequestPolicyId: policyId === "" ? undefined : policyId,
  };
}

const VIEWER_MTLS_MODES: readonly string[] = ["required", "optional", "passthrough"];

/**
 * ViewerMtlsConfig: the mode (required when left out: "Required mode is the default", mtls-authentication) and
 * its trust store. Passthrough validates nothing at the edge and so takes no trust store; required and
 * optional validate against one and so need it. Each refusal is 400 InvalidArgument (assumed code).
 */
function readViewerMtls(config: XmlElement | undefined): ViewerMtls | undefined {
  if (!config) return undefined;
  const modeText = childOf(config, "Mode")?.text.trim() ?? "";
  const mode = modeText === "" ? "required" : modeText;
  if (!VIEWER_MTLS_MODES.includes(mode)) {
    throw new AwsError("InvalidArgument", `ViewerMtlsConfig.Mode '${mode}' is not valid.`);
  }
  const trustStore = childOf(config, "TrustStoreConfig");
  if (mode === "passthrough" && trustStore) {
    throw new AwsError(
      "InvalidArgument",
      "ViewerMtlsConfig in passthrough mode cannot have a TrustStoreConfig: the origin validates the viewer's certificate.",
    );
  }
  if (mode !== "passthrough" && !trustStore) {
    throw new AwsError(
      "InvalidArgument",
      `ViewerMtlsConfig in ${mode} mode needs a TrustStoreConfig naming the trust store that validates viewers.`,
    );
  }
  const trustStoreId = trustStore && requiredText(trustStore, "TrustStoreId");
  if (trustStoreId === "") {
    throw new AwsError(
      "InvalidArgument",
      "ViewerMtlsConfig.TrustStoreConfig.TrustStoreId must not be empty.",
    );
  }
  const flag = (name: string) => childOf(trustStore, name)?.text.trim() === "true";
  return {
    mode: mode as ViewerMtlsMode,
    trustStoreId,
    advertiseTrustStoreCaNames: flag("AdvertiseTrustStoreCaNames"),
    ignoreCertificateExpiry: flag("IgnoreCertificateExpiry"),
  };
}

function readOrigins(originsElement: XmlElement): InspectedConfig["origins"] {
  const items = itemsOf(originsElement, "Origins");
  if (items.length === 0) throw new AwsError("InvalidArgument", "A distribution needs at least one origin.");
  const origins: InspectedConfig["origins"] = [];
  for (const item of items) {
    const id = requiredText(item, "Id");
    const domainName = requiredText(item, "DomainName");
    if (origins.some((o) => o.id === id)) {
      throw new AwsError("InvalidArgument", `Origin id '${id}' is used by more than one origin.`);
    }
    const custom = childOf(item, "CustomOriginConfig");
    const portText = childOf(custom, "HTTPSPort")?.text.trim();
    const httpsPort = portText === undefined ? 443 : Number(portText);
    if (!Number.isInteger(httpsPort) || httpsPort < 1 || httpsPort > 65535) {
      throw new AwsError("InvalidArgument", `Origin '${id}': HTTPSPort '${portText}' is not a port number.`);
    }
    const mtls = childOf(custom, "OriginMtlsConfig");
    const certificateArn = mtls ? requiredText(mtls, "ClientCertificateArn") : undefined;
    if (certificateArn === "") {
      throw new AwsError(
        "InvalidArgument",
        `Origin '${id}': OriginMtlsConfig.ClientCertificateArn must not be empty.`,
      );
    }
    origins.push({ id, domainName, httpsPort, certificateArn });
  }
  return origins;
}

// ---- small helpers ---------------------------------------------------------------------------------------

function arnOf(id: string): string {
  return `arn:aws:cloudfront::${ACCOUNT_ID}:distribution/${id}`;
}

/** The domain name CloudFront gives a distribution (and that viewers connect to). */
export function domainNameOf(id: string): string {
  return `${id.toLowerCase()}.cloudfront.net`;
}
