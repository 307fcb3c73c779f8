/**
 * CloudFront origin request policies in the CloudFront stand-in: CreateOriginRequestPolicy,
 * GetOriginRequestPolicy, GetOriginRequestPolicyConfig, UpdateOriginRequestPolicy and
 * ListOriginRequestPolicies, in the REST-XML shapes `@aws-sdk/client-cloudfront` sends and parses, with AWS's
 * managed policies present from the start.
 *
 * Why they are here: a viewer-mTLS distribution in passthrough mode only works when the origin request policy
 * of its cache behaviours forwards the `Client-Cert` and `Client-Cert-Chain` headers CloudFront makes from the
 * viewer's certificate; the viewer edge (viewer-edge.ts) sends an origin exactly the headers the policy
 * forwards (`headersForOrigin`), so a policy that drifted shows as origins that stop seeing certificates.
 *
 * Like distributions, a policy's config is kept as the XML text received and served back byte for byte.
 *
 * Rules enforced (docs/aws-behaviour.md, "CloudFront origin request policies"):
 * - Names are unique per account, managed policies' included -> 409 OriginRequestPolicyAlreadyExists.
 * - UpdateOriginRequestPolicy needs `If-Match` (400 InvalidIfMatchVersion) equal to the current ETag (412
 *   PreconditionFailed); every write yields a new ETag. Managed policies cannot be updated -> 400
 *   IllegalUpdate (assumed code).
 * - Unknown id -> 404 NoSuchOriginRequestPolicy. Lists whose Quantity differs from their Items -> 400
 *   InconsistentQuantities.
 * - Which headers reach the origin: `none` none; `whitelist` the listed ones; `allViewer` every viewer header;
 *   `allViewerAndWhitelistCloudFront` every viewer header and the listed CloudFront headers; `allExcept` every
 *   viewer header but the listed ones. Headers CloudFront makes itself (`Client-Cert`, `Client-Cert-Chain`,
 *   like the `CloudFront-Viewer-*` headers) reach the origin only when listed (assumed for the Client-Cert
 *   pair; documented for CloudFront headers).
 */
import { randomUUID } from "node:crypto";
import {
  API_VERSION,
  checkIfMatch,
  childOf,
  element,
  itemsOf,
  listMaxItems,
  newEtag,
  pageAfter,
  readDocument,
  requiredChild,
  requiredText,
  XML_PROLOG,
  XMLNS,
} from "./cloudfront-xml.ts";
import { AwsError, type StandinRequest, type StandinResponse } from "./protocol.ts";

export type OriginRequestHeaderBehavior =
  | "none"
  | "whitelist"
  | "allViewer"
  | "allViewerAndWhitelistCloudFront"
  | "allExcept";

export type OriginRequestPolicyType = "managed" | "custom";

/** What a policy says about headers: its behaviour and the header names it lists (lower case). */
export interface HeaderRule {
  behavior: OriginRequestHeaderBehavior;
  listed: string[];
}

/** Header values by lower-case name. */
export type HeaderValues = Record<string, string>;

interface StoredPolicy {
  id: string;
  type: OriginRequestPolicyType;
  name: string;
  etag: string;
  /** Content of the OriginRequestPolicyConfig element, verbatim. */
  inner: string;
  headers: HeaderRule;
  lastModified: number;
}

/** A managed policy as AWS's developer guide lists it. */
interface ManagedPolicy {
  id: string;
  name: string;
  comment: string;
  headers: HeaderRule;
  cookies: "none" | "all";
  queryStrings: "none" | "all";
}

/**
 * AWS's managed origin request policies (ids and settings from "Use managed origin request policies" in the
 * CloudFront developer guide). The stand-in's comments and modification times are its own.
 */
export const MANAGED_ORIGIN_REQUEST_POLICIES: readonly ManagedPolicy[] = [
  {
    id: "216adef6-5c7f-47e4-b989-5492eafa07d3",
    name: "Managed-AllViewer",
    comment: "Policy to forward all parameters in viewer requests",
    headers: { behavior: "allViewer", listed: [] },
    cookies: "all",
    queryStrings: "all",
  },
  {
    id: "33f36d7e-f396-46d9-90e0-52428a34d9dc",
    name: "Managed-AllViewerAndCloudFrontHeaders-2022-06",
    comment:
      "Policy to forward all parameters in viewer requests and all CloudFront headers released through June 2022",
    headers: {
      behavior: "allViewerAndWhitelistCloudFront",
      listed: [
        "cloudfront-forwarded-proto",
        "cloudfront-is-android-viewer",
        "cloudfront-is-desktop-viewer",
        "cloudfront-is-ios-viewer",
        "cloudfront-is-mobile-viewer",
        "cloudfront-is-smarttv-viewer",
        "cloudfront-is-tablet-viewer",
        "cloudfront-viewer-address",
        "cloudfront-viewer-asn",
        "cloudfront-viewer-city",
        "cloudfront-viewer-country",
        "cloudfront-viewer-country-name",
        "cloudfront-viewer-country-region",
        "cloudfront-viewer-country-region-name",
        "cloudfront-viewer-http-version",
        "cloudfront-viewer-latitude",
        "cloudfront-viewer-longitude",
        "cloudfront-viewer-metro-code",
        "cloudfront-viewer-postal-code",
        "cloudfront-viewer-time-zone",
        "cloudfront-viewer-tls",
      ],
    },
    cookies: "all",
    queryStrings: "all",
  },
  {
    id: "b689b0a8-53d0-40ab-baf2-68738e2966ac",
    name: "Managed-AllViewerExceptHostHeader",
    comment: "Policy to forward all parameters in viewer requests except for the Host header",
    headers: { behavior: "allExcept", listed: ["host"] },
    cookies: "all",
    queryStrings: "all",
  },
  {
    id: "59781a5b-3903-41f3-afcb-af62929ccde1",
    name: "Managed-CORS-CustomOrigin",
    comment: "Policy for custom origin with CORS",
    headers: { behavior: "whitelist", listed: ["origin"] },
    cookies: "none",
    queryStrings: "none",
  },
  {
    id: "88a5eaf4-2fd4-4709-b370-b4c650ea3fcf",
    name: "Managed-CORS-S3Origin",
    comment: "Policy for origin request for S3 with CORS",
    headers: {
      behavior: "whitelist",
      listed: ["origin", "access-control-request-headers", "access-control-request-method"],
    },
    cookies: "none",
    queryStrings: "none",
  },
  {
    id: "775133bc-15f2-49f9-abea-afb2e0bf67d2",
    name: "Managed-Elemental-MediaTailor-PersonalizedManifests",
    comment: "Policy for Elemental MediaTailor Personalized Manifests",
    headers: {
      behavior: "whitelist",
      listed: [
        "origin",
        "access-control-request-headers",
        "x-forwarded-for",
        "access-control-request-method",
        "user-agent",
      ],
    },
    cookies: "none",
    queryStrings: "all",
  },
  {
    id: "bf0718e1-ba1e-49d1-88b1-f726733018ae",
    name: "Managed-HostHeaderOnly",
    comment: "Policy to forward only the Host header",
    headers: { behavior: "whitelist", listed: ["host"] },
    cookies: "none",
    queryStrings: "none",
  },
  {
    id: "acba4595-bd28-49b8-b9fe-13317c0390fa",
    name: "Managed-UserAgentRefererHeaders",
    comment: "Policy to forward the User-Agent and Referer headers",
    headers: { behavior: "whitelist", listed: ["user-agent", "referer"] },
    cookies: "none",
    queryStrings: "none",
  },
];

/** When the stand-in says its managed policies were last modified. */
const MANAGED_LAST_MODIFIED = Date.UTC(2022, 5, 1);

const HEADER_BEHAVIORS: readonly string[] = [
  "none",
  "whitelist",
  "allViewer",
  "allViewerAndWhitelistCloudFront",
  "allExcept",
];

/**
 * The headers CloudFront sends an origin under `rule`: from the viewer's request (`viewer`) and those
 * CloudFront made itself (`cloudFront`), all by lower-case name.
 */
export function headersForOrigin(
  rule: HeaderRule | undefined,
  viewer: HeaderValues,
  cloudFront: HeaderValues,
): HeaderValues {
  if (!rule) return {};
  const listed = new Set(rule.listed);
  const pick = (from: HeaderValues, keep: (name: string) => boolean) =>
    Object.fromEntries(Object.entries(from).filter(([name]) => keep(name)));
  switch (rule.behavior) {
    case "none":
      return {};
    case "whitelist":
      return { ...pick(viewer, (n) => listed.has(n)), ...pick(cloudFront, (n) => listed.has(n)) };
    case "allViewer":
      return { ...viewer };
    case "allViewerAndWhitelistCloudFront":
      return { ...viewer, ...pick(cloudFront, (n) => listed.has(n)) };
    case "allExcept":
      return pick(viewer, (n) => !listed.has(n));
  }
}

const POLICY_PATH = new RegExp(`^/${API_VERSION}/origin-request-policy(?:/([^/]+)(/config)?)?$`);
const OPERATIONS = new Set([
  "CreateOriginRequestPolicy",
  "GetOriginRequestPolicy",
  "GetOriginRequestPolicyConfig",
  "UpdateOriginRequestPolicy",
  "ListOriginRequestPolicies",
]);

export interface CloudFrontOriginRequestPoliciesOptions {
  now?: () => number;
}

export class CloudFrontOriginRequestPolicies {
  readonly #policies = new Map<string, StoredPolicy>();
  readonly #now: () => number;

  constructor(options: CloudFrontOriginRequestPoliciesOptions = {}) {
    this.#now = options.now ?? Date.now;
    for (const managed of MANAGED_ORIGIN_REQUEST_POLICIES) {
      this.#policies.set(managed.id, {
        id: managed.id,
        type: "managed",
        name: managed.name,
        etag: newEtag(),
        inner: managedConfigInner(managed),
        headers: { behavior: managed.headers.behavior, listed: [...managed.headers.listed] },
        lastModified: MANAGED_LAST_MODIFIED,
      });
    }
  }

  // ---- plain methods for the distributions and the viewer edge ------------------------------------------

  has(id: string): boolean {
    return this.#policies.has(id);
  }

  /** The header rule of a policy; undefined for an unknown id. */
  headerRule(id: string): HeaderRule | undefined {
    const rule = this.#policies.get(id)?.headers;
    return rule && { behavior: rule.behavior, listed: [...rule.listed] };
  }

  // ---- routing (called by CloudFrontStandin) -------------------------------------------------------------

  operationFor(request: StandinRequest): string | undefined {
    const match = POLICY_PATH.exec(request.path);
    if (!match) return undefined;
    const [, id, config] = match;
    if (id === undefined) {
      if (request.method === "POST") return "CreateOriginRequestPolicy";
      if (request.method === "GET") return "ListOriginRequestPolicies";
      return undefined;
    }
    if (config) return request.method === "GET" ? "GetOriginRequestPolicyConfig" : undefined;
    if (request.method === "GET") return "GetOriginRequestPolicy";
    if (request.method === "PUT") return "UpdateOriginRequestPolicy";
    return undefined;
  }

  serves(operation: string): boolean {
    return OPERATIONS.has(operation);
  }

  handle(operation: string, request: StandinRequest): StandinResponse {
    const id = decodeURIComponent(POLICY_PATH.exec(request.path)?.[1] ?? "");
    switch (operation) {
      case "CreateOriginRequestPolicy":
        return this.#create(request);
      case "GetOriginRequestPolicy":
        return this.#policyResponse(this.#find(id), 200);
      case "GetOriginRequestPolicyConfig":
        return this.#configResponse(this.#find(id));
      case "UpdateOriginRequestPolicy":
        return this.#update(id, request);
      case "ListOriginRequestPolicies":
        return this.#list(request);
      default:
        throw new AwsError("InvalidAction", `The stand-in does not implement ${operation}`);
    }
  }

  // ---- operations ----------------------------------------------------------------------------------------

  #create(request: StandinRequest): StandinResponse {
    const config = readPolicyConfig(request.body);
    this.#checkNameFree(config.name, undefined);
    const policy: StoredPolicy = {
      id: this.#newId(),
      type: "custom",
      name: config.name,
      etag: newEtag(),
      inner: config.inner,
      headers: config.headers,
      lastModified: this.#now(),
    };
    this.#policies.set(policy.id, policy);
    return this.#policyResponse(policy, 201);
  }

  #update(id: string, request: StandinRequest): StandinResponse {
    const policy = this.#find(id);
    if (policy.type === "managed") {
      throw new AwsError("IllegalUpdate", `${policy.name} is a managed policy; it cannot be updated.`);
    }
    checkIfMatch(request.headers["if-match"], policy.etag);
    const config = readPolicyConfig(request.body);
    this.#checkNameFree(config.name, policy.id);
    policy.name = config.name;
    policy.inner = config.inner;
    policy.headers = config.headers;
    policy.etag = newEtag(policy.etag);
    policy.lastModified = this.#now();
    return this.#policyResponse(policy, 200);
  }

  #list(request: StandinRequest): StandinResponse {
    const type = request.query.get("Type");
    const maxItems = listMaxItems(request.query.get("MaxItems"));
    const ids = [...this.#policies.values()]
      .filter((p) => type === null || p.type === type)
      .map((p) => p.id)
      .sort();
    const { page, truncated } = pageAfter(ids, request.query.get("Marker") ?? "", maxItems);
    let body = `${XML_PROLOG}<OriginRequestPolicyList xmlns="${XMLNS}">`;
    const last = page.at(-1);
    if (truncated && last) body += element("NextMarker", last);
    body += element("MaxItems", String(maxItems)) + element("Quantity", String(page.length));
    if (page.length > 0) {
      body += "<Items>";
      for (const id of page) {
        const policy = this.#find(id);
        body += `<OriginRequestPolicySummary>${element("Type", policy.type)}${policyXml(policy)}</OriginRequestPolicySummary>`;
      }
      body += "</Items>";
    }
    body += "</OriginRequestPolicyList>";
    return { status: 200, headers: { "content-type": "text/xml" }, body };
  }

  // ---- helpers -------------------------------------------------------------------------------------------

  #find(id: string): StoredPolicy {
    const policy = this.#policies.get(id);
    if (!policy) {
      throw new AwsError("NoSuchOriginRequestPolicy", "The origin request policy does not exist.", 404);
    }
    return policy;
  }

  #checkNameFree(name: string, self: string | undefined): void {
    const holder = [...this.#policies.values()].find((p) => p.name === name && p.id !== self);
    if (holder) {
      throw new AwsError(
        "OriginRequestPolicyAlreadyExists",
        `An origin request policy named ${name} already exists (${holder.id}).`,
        409,
      );
    }
  }

  #newId(): string {
    for (;;) {
      const id = randomUUID();
      if (!this.#policies.has(id)) return id;
    }
  }

  #policyResponse(policy: StoredPolicy, status: number): StandinResponse {
    const headers: Record<string, string> = { "content-type": "text/xml", ETag: policy.etag };
    if (status === 201) {
      headers.Location = `https://cloudfront.amazonaws.com/${API_VERSION}/origin-request-policy/${policy.id}`;
    }
    return { status, headers, body: XML_PROLOG + policyXml(policy, XMLNS) };
  }

  #configResponse(policy: StoredPolicy): StandinResponse {
    return {
      status: 200,
      headers: { "content-type": "text/xml", ETag: policy.etag },
      body: `${XML_PROLOG}<OriginRequestPolicyConfig xmlns="${XMLNS}">${policy.inner}</OriginRequestPolicyConfig>`,
    };
  }
}

// ---- documents -------------------------------------------------------------------------------------------

function policyXml(policy: StoredPolicy, xmlns?: string): string {
  return (
    `<OriginRequestPolicy${xmlns === undefined ? "" : ` xmlns="${xmlns}"`}>` +
    element("Id", policy.id) +
    element("LastModifiedTime", new Date(policy.lastModified).toISOString()) +
    `<OriginRequestPolicyConfig>${policy.inner}</OriginRequestPolicyConfig>` +
    "</OriginRequestPolicy>"
  );
}

/** A request's OriginRequestPolicyConfig: its content verbatim, its name and its header rule. */
function readPolicyConfig(body: string): { inner: string; name: string; headers: HeaderRule } {
  if (body.trim() === "") throw new AwsError("MissingBody", "This operation requires a body.");
  const root = readDocument(body, "OriginRequestPolicyConfig");
  const name = requiredText(root, "Name");
  if (name === "") throw new AwsError("InvalidArgument", "Name must not be empty.");
  const headersConfig = requiredChild(root, "HeadersConfig");
  const behavior = requiredText(headersConfig, "HeaderBehavior");
  if (!HEADER_BEHAVIORS.includes(behavior)) {
    throw new AwsError("InvalidArgument", `HeaderBehavior '${behavior}' is not valid.`);
  }
  const listed = itemsOf(childOf(headersConfig, "Headers"), "HeadersConfig.Headers").map((h) =>
    h.text.trim().toLowerCase(),
  );
  // The other lists are not interpreted, but CloudFront checks their counts all the same.
  itemsOf(childOf(childOf(root, "CookiesConfig"), "Cookies"), "CookiesConfig.Cookies");
  itemsOf(childOf(childOf(root, "QueryStringsConfig"), "QueryStrings"), "QueryStringsConfig.QueryStrings");
  return {
    inner: root.inner,
    name,
    headers: { behavior: behavior as OriginRequestHeaderBehavior, listed },
  };
}

function managedConfigInner(policy: ManagedPolicy): string {
  const names = (items: string[], item: string) =>
    `<Quantity>${items.length}</Quantity>` +
    (items.length === 0 ? "" : `<Items>${items.map((i) => element(item, i)).join("")}</Items>`);
  return (
    element("Comment", policy.comment) +
    element("Name", policy.name) +
    `<HeadersConfig>${element("HeaderBehavior", policy.headers.behavior)}` +
    (policy.headers.listed.length === 0 ? "" : `<Headers>${names(policy.headers.listed, "Name")}</Headers>`) +
    "</HeadersConfig>" +
    `<CookiesConfig>${element("CookieBehavior", policy.cookies)}</CookiesConfig>` +
    `<QueryStringsConfig>${element("QueryStringBehavior", policy.queryStrings)}</QueryStringsConfig>`
  );
}
