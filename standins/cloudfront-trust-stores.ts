/**
 * CloudFront trust stores (viewer mTLS) in the CloudFront stand-in: CreateTrustStore, GetTrustStore,
 * UpdateTrustStore, ListTrustStores, and TagResource / UntagResource / ListTagsForResource for trust stores,
 * in the REST-XML shapes `@aws-sdk/client-cloudfront` sends and parses. A trust store loads its CA bundle from
 * an S3 object version (`CaCertificatesBundleS3Location {Bucket, Key, Region, Version}`), read from a
 * `BundleStore` (the S3 stand-in).
 *
 * Rules enforced (aws-facts.md, "CloudFront viewer mTLS"):
 * - At most 20 trust stores per account -> 400 EntityLimitExceeded; names are unique -> 409
 *   EntityAlreadyExists.
 * - Required members (Name, CaCertificatesBundleSource with an S3 location: Bucket, Key, Region) -> 400
 *   InvalidArgument; Region must look like a region (`[a-z]{2}-[a-z]+-\d`) -> 400 InvalidArgument.
 * - The referenced object (and version, when given; the latest otherwise) must exist, in a bucket of the
 *   named Region -> 400 InvalidArgument, nothing is created or changed. (Assumed: AWS checks access to the
 *   object while answering the call.)
 * - UpdateTrustStore needs `If-Match` (400 InvalidIfMatchVersion) equal to the current ETag (412
 *   PreconditionFailed); every accepted write yields a new ETag. Unknown trust store -> 404 EntityNotFound.
 * - Bundle content is validated asynchronously, as CloudFront processes the bundle after answering: every
 *   write answers `pending`; after `delayMs` on the injectable clock the trust store is `active`, or `failed`
 *   with a `Reason` when the bundle holds no certificate or a PEM block that is not a parseable certificate,
 *   a certificate that is not a CA, more than 25 certificates, more than 64 KB, or a chain deeper than 4.
 *   A failed update never replaces the bundle in effect: the last bundle that validated stays in use
 *   (assumed; AWS does not document what a failed update leaves in effect).
 * - Tags: keys 1-128 characters, values 0-256, no `aws:` prefix, at most 50 per resource -> 400
 *   InvalidTagging; an ARN that names no trust store -> 404 NoSuchResource (tagging of other resource kinds
 *   is not served: 501 NotImplemented).
 */
import { randomBytes } from "node:crypto";
import { type BundleStore, EMPTY_BUNDLE_STORE, inspectCaBundle } from "./ca-bundle.ts";
import {
  API_VERSION,
  checkIfMatch,
  childOf,
  element,
  listMaxItems,
  newEtag,
  pageAfter,
  readDocument,
  XML_PROLOG,
  XMLNS,
} from "./cloudfront-xml.ts";
import { ACCOUNT_ID, AwsError, type StandinRequest, type StandinResponse } from "./protocol.ts";
import type { XmlElement } from "./xml.ts";

/** Quotas and bundle limits of CloudFront trust stores (aws-facts.md). */
export const MAX_TRUST_STORES = 20;
export const TRUST_STORE_MAX_CERTIFICATES = 25;
export const TRUST_STORE_MAX_BUNDLE_BYTES = 64 * 1024;
export const TRUST_STORE_MAX_CHAIN_DEPTH = 4;
export const MAX_TAGS_PER_RESOURCE = 50;

export type TrustStoreStatus = "pending" | "active" | "failed";

/** Where a trust store's bundle lives; `version` is the version actually read. */
export interface BundleLocation {
  bucket: string;
  key: string;
  region: string;
  version: string;
}

/** A location as a request names it: without `Version`, the latest version is read. */
type RequestedLocation = Omit<BundleLocation, "version"> & { version: string | undefined };

/** A bundle a trust store loaded, as the plain inspection methods hand it out. */
export interface TrustStoreBundle {
  location: BundleLocation;
  pem: string;
  certificates: number;
}

export interface CloudFrontTrustStoresOptions {
  bundles?: BundleStore;
  /** How long a write stays `pending` (ms on `now`). Default 0: settled on the next read. */
  delayMs?: number;
  now?: () => number;
}

interface Change extends TrustStoreBundle {
  /** Why the bundle cannot be used; undefined when it validated. */
  failure: string | undefined;
  at: number;
}

interface StoredTrustStore {
  id: string;
  arn: string;
  name: string;
  etag: string;
  ocsp: boolean;
  tags: Map<string, string>;
  latest: Change;
  /** The bundle in effect when the latest write arrived (undefined before any bundle validated). */
  previous: Change | undefined;
}

const TRUST_STORE_PATH = new RegExp(`^/${API_VERSION}/trust-store(?:/([^/]+))?$`);
const LIST_PATH = `/${API_VERSION}/trust-stores`;
const TAGGING_PATH = `/${API_VERSION}/tagging`;
const OPERATIONS = new Set([
  "CreateTrustStore",
  "GetTrustStore",
  "UpdateTrustStore",
  "ListTrustStores",
  "TagResource",
  "UntagResource",
  "ListTagsForResource",
]);

export class CloudFrontTrustStores {
  readonly #stores = new Map<string, StoredTrustStore>();
  readonly #bundles: BundleStore;
  readonly #delayMs: number;
  readonly #now: () => number;

  constructor(options: CloudFrontTrustStoresOptions = {}) {
    this.#bundles = options.bundles ?? EMPTY_BUNDLE_STORE;
    this.#delayMs = options.delayMs ?? 0;
    this.#now = options.now ?? Date.now;
  }

  // ---- plain methods for tests ---------------------------------------------------------------------------

  /** Ids of every trust store, sorted as ListTrustStores pages through them. */
  ids(): string[] {
    return [...this.#stores.keys()].sort();
  }

  /** The id of the trust store an identifier (id or ARN) names; undefined when it names none. */
  idOf(identifier: string): string | undefined {
    return this.#lookup(identifier)?.id;
  }

  status(id: string): TrustStoreStatus {
    return this.#statusOf(this.#get(id));
  }

  etag(id: string): string {
    return this.#get(id).etag;
  }

  /** The failure reason of the latest write (undefined unless the trust store is `failed`). */
  reason(id: string): string | undefined {
    const store = this.#get(id);
    return this.#statusOf(store) === "failed" ? store.latest.failure : undefined;
  }

  /** The bundle the trust store validates viewers with right now; undefined when none ever validated. */
  effectiveBundle(id: string): TrustStoreBundle | undefined {
    const effective = this.#effective(this.#get(id));
    return (
      effective && {
        location: { ...effective.location },
        pem: effective.pem,
        certificates: effective.certificates,
      }
    );
  }

  /** The location named by the latest write, whether or not it validated. */
  latestLocation(id: string): BundleLocation {
    return { ...this.#get(id).latest.location };
  }

  tags(id: string): Record<string, string> {
    return Object.fromEntries(this.#get(id).tags);
  }

  // ---- routing (called by CloudFrontStandin) -------------------------------------------------------------

  operationFor(request: StandinRequest): string | undefined {
    const match = TRUST_STORE_PATH.exec(request.path);
    if (match) {
      if (match[1] === undefined) return request.method === "POST" ? "CreateTrustStore" : undefined;
      if (request.method === "GET") return "GetTrustStore";
      if (request.method === "PUT") return "UpdateTrustStore";
      return undefined;
    }
    if (request.path === LIST_PATH) return request.method === "POST" ? "ListTrustStores" : undefined;
    if (request.path === TAGGING_PATH) {
      const operation = request.query.get("Operation");
      if (request.method === "GET" && operation === null) return "ListTagsForResource";
      if (request.method === "POST" && operation === "Tag") return "TagResource";
      if (request.method === "POST" && operation === "Untag") return "UntagResource";
    }
    return undefined;
  }

  serves(operation: string): boolean {
    return OPERATIONS.has(operation);
  }

  handle(operation: string, request: StandinRequest): StandinResponse {
    const id = decodeURIComponent(TRUST_STORE_PATH.exec(request.path)?.[1] ?? "");
    switch (operation) {
      case "CreateTrustStore":
        return this.#create(request);
      case "GetTrustStore":
        return this.#trustStoreResponse(this.#find(id), 200);
      case "UpdateTrustStore":
        return this.#update(id, request);
      case "ListTrustStores":
        return this.#list(request);
      case "TagResource":
        return this.#tag(request);
      case "UntagResource":
        return this.#untag(request);
      case "ListTagsForResource":
        return this.#listTags(request);
      default:
        throw new AwsError("InvalidAction", `The stand-in does not implement ${operation}`);
    }
  }

  // ---- operations ----------------------------------------------------------------------------------------

  #create(request: StandinRequest): StandinResponse {
    const root = readDocument(request.body, "CreateTrustStoreRequest");
    const name = childOf(root, "Name")?.text.trim() ?? "";
    if (name === "") throw new AwsError("InvalidArgument", "Name is required.");
    if (name.length > 128) throw new AwsError("InvalidArgument", "Name must be at most 128 characters.");
    const source = childOf(root, "CaCertificatesBundleSource");
    if (!source) throw new AwsError("InvalidArgument", "CaCertificatesBundleSource is required.");
    const location = readLocation(source);
    const tags = readTags(childOf(root, "Tags"));
    const ocsp = readBoolean(childOf(root, "UseClientCertificateOCSPEndpoint")?.text, false);

    if (this.#stores.size >= MAX_TRUST_STORES) {
      throw new AwsError(
        "EntityLimitExceeded",
        `This account already has ${MAX_TRUST_STORES} trust stores, the maximum allowed.`,
      );
    }
    if ([...this.#stores.values()].some((s) => s.name === name)) {
      throw new AwsError("EntityAlreadyExists", `A trust store named ${name} already exists.`, 409);
    }
    const change = this.#load(location);
    const id = this.#newId();
    const store: StoredTrustStore = {
      id,
      arn: `arn:aws:cloudfront::${ACCOUNT_ID}:trust-store/${id}`,
      name,
      etag: newEtag(),
      ocsp,
      tags: new Map(tags),
      latest: change,
      previous: undefined,
    };
    this.#stores.set(id, store);
    return this.#trustStoreResponse(store, 201);
  }

  #update(id: string, request: StandinRequest): StandinResponse {
    const store = this.#find(id);
    checkIfMatch(request.headers["if-match"], store.etag);
    if (request.body.trim() === "") {
      throw new AwsError("InvalidArgument", "CaCertificatesBundleSource is required.");
    }
    const location = readLocation(readDocument(request.body, "CaCertificatesBundleSource"));
    const ocspHeader = request.headers.useclientcertificateocspendpoint;
    const change = this.#load(location);

    // What stays in effect until this change validates (a write on top of a pending one keeps the older).
    store.previous = this.#effective(store);
    store.latest = change;
    if (typeof ocspHeader === "string") store.ocsp = readBoolean(ocspHeader, store.ocsp);
    store.etag = newEtag(store.etag);
    return this.#trustStoreResponse(store, 200);
  }

  #list(request: StandinRequest): StandinResponse {
    const root =
      request.body.trim() === "" ? undefined : readDocument(request.body, "ListTrustStoresRequest");
    const marker = childOf(root, "Marker")?.text.trim() ?? "";
    const maxItems = listMaxItems(childOf(root, "MaxItems")?.text.trim());
    const { page: ids, truncated } = pageAfter(this.ids(), marker, maxItems);
    const page = ids.map((id) => this.#get(id));
    const last = page.at(-1);
    let body = `${XML_PROLOG}<ListTrustStoresResult xmlns="${XMLNS}">`;
    if (truncated && last) body += element("NextMarker", last.id);
    body += "<TrustStoreList>";
    for (const store of page) {
      const status = this.#statusOf(store);
      body +=
        "<TrustStoreSummary>" +
        element("Id", store.id) +
        element("Arn", store.arn) +
        element("Name", store.name) +
        element("Status", status) +
        element("NumberOfCaCertificates", String(this.#effective(store)?.certificates ?? 0)) +
        element("LastModifiedTime", new Date(store.latest.at).toISOString()) +
        element("ETag", store.etag) +
        (status === "failed" ? element("Reason", store.latest.failure ?? "") : "") +
        "</TrustStoreSummary>";
    }
    body += "</TrustStoreList></ListTrustStoresResult>";
    return { status: 200, headers: { "content-type": "text/xml" }, body };
  }

  #tag(request: StandinRequest): StandinResponse {
    const store = this.#resource(request);
    const tags = readTags(readDocument(request.body, "Tags"));
    const merged = new Map([...store.tags, ...tags]);
    if (merged.size > MAX_TAGS_PER_RESOURCE) {
      throw new AwsError(
        "InvalidTagging",
        `A resource can have at most ${MAX_TAGS_PER_RESOURCE} tags; this request would leave ${merged.size}.`,
      );
    }
    store.tags = merged;
    return { status: 204, body: "" };
  }

  #untag(request: StandinRequest): StandinResponse {
    const store = this.#resource(request);
    const items = childOf(readDocument(request.body, "TagKeys"), "Items")?.children ?? [];
    for (const key of items) store.tags.delete(key.text.trim());
    return { status: 204, body: "" };
  }

  #listTags(request: StandinRequest): StandinResponse {
    const store = this.#resource(request);
    const items = [...store.tags]
      .map(([key, value]) => `<Tag>${element("Key", key)}${element("Value", value)}</Tag>`)
      .join("");
    return {
      status: 200,
      headers: { "content-type": "text/xml" },
      body: `${XML_PROLOG}<Tags xmlns="${XMLNS}">${items === "" ? "" : `<Items>${items}</Items>`}</Tags>`,
    };
  }

  // ---- helpers -------------------------------------------------------------------------------------------

  /** Reads and inspects the referenced bundle; refuses the call when the object cannot be read. */
  #load(location: RequestedLocation): Change {
    const object = this.#bundles.read(location.bucket, location.key, location.version);
    const named = `s3://${location.bucket}/${location.key}${location.version === undefined ? "" : ` (version ${location.version})`}`;
    if (!object) {
      throw new AwsError(
        "InvalidArgument",
        `The CA certificates bundle ${named} does not exist or cannot be read.`,
      );
    }
    if (object.bucketRegion !== location.region) {
      throw new AwsError(
        "InvalidArgument",
        `The CA certificates bundle ${named} is in ${object.bucketRegion}, not in ${location.region}.`,
      );
    }
    const inspection = inspectCaBundle(object.body, new Date(this.#now()));
    return {
      location: { ...location, version: object.versionId },
      pem: object.body.toString("utf8"),
      certificates: inspection.certificates.length,
      failure: failureOf(inspection),
      at: this.#now(),
    };
  }

  #statusOf(store: StoredTrustStore): TrustStoreStatus {
    if (this.#now() - store.latest.at < this.#delayMs) return "pending";
    return store.latest.failure === undefined ? "active" : "failed";
  }

  #effective(store: StoredTrustStore): Change | undefined {
    return this.#statusOf(store) === "active" ? store.latest : store.previous;
  }

  #get(id: string): StoredTrustStore {
    const store = this.#stores.get(id);
    if (!store) throw new Error(`no trust store ${id}`);
    return store;
  }

  /** By id or ARN, as GetTrustStore's Identifier. */
  #find(identifier: string): StoredTrustStore {
    const store = this.#lookup(identifier);
    if (!store) throw new AwsError("EntityNotFound", `The trust store ${identifier} does not exist.`, 404);
    return store;
  }

  #lookup(identifier: string): StoredTrustStore | undefined {
    return this.#stores.get(identifier) ?? [...this.#stores.values()].find((s) => s.arn === identifier);
  }

  #resource(request: StandinRequest): StoredTrustStore {
    const arn = request.query.get("Resource") ?? "";
    if (arn === "") throw new AwsError("InvalidArgument", "Resource is required.");
    const store = [...this.#stores.values()].find((s) => s.arn === arn);
    if (store) return store;
    if (/^arn:aws:cloudfront::\d{12}:(?!trust-store\/)/.test(arn)) {
      throw new AwsError("NotImplemented", `The stand-in tags trust stores only, not ${arn}.`, 501);
    }
    throw new AwsError("NoSuchResource", `The resource ${arn} does not exist.`, 404);
  }

  #newId(): string {
    for (;;) {
      const id = `ts-${randomBytes(8).toString("hex")}`;
      if (!this.#stores.has(id)) return id;
    }
  }

  #trustStoreResponse(store: StoredTrustStore, status: number): StandinResponse {
    const state = this.#statusOf(store);
    const body =
      `${XML_PROLOG}<TrustStore xmlns="${XMLNS}">` +
      element("Id", store.id) +
      element("Arn", store.arn) +
      element("Name", store.name) +
      element("Status", state) +
      element("NumberOfCaCertificates", String(this.#effective(store)?.certificates ?? 0)) +
      element("LastModifiedTime", new Date(store.latest.at).toISOString()) +
      (state === "failed" ? element("Reason", store.latest.failure ?? "") : "") +
      element("UseClientCertificateOCSPEndpoint", String(store.ocsp)) +
      "</TrustStore>";
    return { status, headers: { "content-type": "text/xml", ETag: store.etag }, body };
  }
}

// ---- validation ------------------------------------------------------------------------------------------

function failureOf(inspection: ReturnType<typeof inspectCaBundle>): string | undefined {
  if (inspection.unreadable) return `The CA certificates bundle is not valid: ${inspection.unreadable}.`;
  if (inspection.certificates.length > TRUST_STORE_MAX_CERTIFICATES) {
    return (
      `The CA certificates bundle has ${inspection.certificates.length} certificates; ` +
      `a trust store allows at most ${TRUST_STORE_MAX_CERTIFICATES}.`
    );
  }
  if (inspection.bytes > TRUST_STORE_MAX_BUNDLE_BYTES) {
    return `The CA certificates bundle is ${inspection.bytes} bytes; a trust store allows at most ${TRUST_STORE_MAX_BUNDLE_BYTES}.`;
  }
  if (inspection.notCa.length > 0) {
    return `The CA certificates bundle holds certificates that are not CA certificates: ${inspection.notCa.join("; ")}.`;
  }
  if (inspection.chainDepth > TRUST_STORE_MAX_CHAIN_DEPTH) {
    return (
      `The CA certificates bundle forms a chain of ${inspection.chainDepth} certificates (${inspection.deepest}); ` +
      `the maximum chain depth is ${TRUST_STORE_MAX_CHAIN_DEPTH}.`
    );
  }
  return undefined;
}

// ---- request documents -----------------------------------------------------------------------------------

const REGION = /^[a-z]{2}-[a-z]+-\d$/;

function readLocation(source: XmlElement): RequestedLocation {
  const s3 = childOf(source, "CaCertificatesBundleS3Location");
  if (!s3) {
    throw new AwsError(
      "InvalidArgument",
      "CaCertificatesBundleSource.CaCertificatesBundleS3Location is required.",
    );
  }
  const field = (name: string) => {
    const value = childOf(s3, name)?.text.trim() ?? "";
    if (value === "")
      throw new AwsError("InvalidArgument", `CaCertificatesBundleS3Location.${name} is required.`);
    return value;
  };
  const region = field("Region");
  if (!REGION.test(region)) {
    throw new AwsError(
      "InvalidArgument",
      `CaCertificatesBundleS3Location.Region '${region}' is not a Region.`,
    );
  }
  const version = childOf(s3, "Version")?.text.trim();
  return {
    bucket: field("Bucket"),
    key: field("Key"),
    region,
    version: version === "" ? undefined : version,
  };
}

const TAG_KEY = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{1,128}$/u;
const TAG_VALUE = /^[\p{L}\p{Z}\p{N}_.:/=+\-@]{0,256}$/u;

function readTags(tags: XmlElement | undefined): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (const tag of childOf(tags, "Items")?.children ?? []) {
    const key = childOf(tag, "Key")?.text ?? "";
    const value = childOf(tag, "Value")?.text ?? "";
    if (!TAG_KEY.test(key) || key.toLowerCase().startsWith("aws:")) {
      throw new AwsError("InvalidTagging", `Tag key '${key}' is not valid.`);
    }
    if (!TAG_VALUE.test(value)) throw new AwsError("InvalidTagging", `Tag value for '${key}' is not valid.`);
    out.push([key, value]);
  }
  if (out.length > MAX_TAGS_PER_RESOURCE) {
    throw new AwsError("InvalidTagging", `A resource can have at most ${MAX_TAGS_PER_RESOURCE} tags.`);
  }
  return out;
}

function readBoolean(text: string | undefined, fallback: boolean): boolean {
  const value = text?.trim();
  if (value === undefined || value === "") return fallback;
  if (value === "true" || value === "false") return value === "true";
  throw new AwsError("InvalidArgument", `'${value}' is not a boolean.`);
}
