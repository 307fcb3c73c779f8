/**
 * Elastic Load Balancing v2 stand-in, trust stores only (awsQuery protocol: form-encoded
 * `Action=ModifyTrustStore&Version=2015-12-01&...` POSTs, XML answers), served to the real
 * `@aws-sdk/client-elastic-load-balancing-v2` over loopback HTTP. It claims POSTs signed for the
 * `elasticloadbalancing` service (SigV4 credential scope).
 *
 * Operations: CreateTrustStore, ModifyTrustStore, DescribeTrustStores, AddTags and DescribeTags (trust-store
 * ARNs only). Anything else answers 400 InvalidAction rather than being silently accepted.
 *
 * The CA bundle is read from S3 when the call is made, as ELB does, through an injected reader (the S3
 * stand-in), so a bundle that is not there, or not valid, never reaches a trust store.
 *
 * Rules enforced (ELBv2 API reference; ALB quotas "Trust stores" and "Certificates"):
 * - Name: 1-32 characters, `^([a-zA-Z0-9]+-)*[a-zA-Z0-9]+$` (ValidationError), unique per region
 *   (DuplicateTrustStoreName); at most 20 trust stores per account and region (TooManyTrustStores).
 * - Required members (Name, TrustStoreArn, CaCertificatesBundleS3Bucket, CaCertificatesBundleS3Key) must be
 *   present: the SDK does not check them (ValidationError).
 * - The bundle object (bucket, key, optional version; the latest version when none is given) must exist
 *   (CaCertificatesBundleNotFound).
 * - The bundle must be valid (InvalidCaCertificatesBundle, and nothing changes): PEM text holding only
 *   CERTIFICATE blocks (a private key or other block, or text outside the blocks, is refused), at least one,
 *   every block parsing as an X.509 certificate with basicConstraints CA:TRUE, each block at most 16 KB
 *   (16,384 bytes of PEM), at most 25 CA certificates.
 *   Assumed (unconfirmed): AWS names a bundle over the 25-certificate quota InvalidCaCertificatesBundle too;
 *   whatever it answers, the bundle is refused, so a bundle that passes here passes AWS. Expiry is not
 *   checked (the pure core refuses expired CAs before anything is published).
 * - Unknown trust store ARN or name, or one of another region than the request's: TrustStoreNotFound.
 * - A new trust store is CREATING for `creationDelayMs`, then ACTIVE. ModifyTrustStore documents no
 *   not-ready error, so it is accepted in either state and does not change the status.
 * - Tags: at most 50 per trust store (TooManyTags), a key once per request (DuplicateTagKeys), keys 1-128 and
 *   values 0-256 characters (ValidationError); AddTags/DescribeTags take at most 20 ARNs.
 * - DescribeTrustStores: PageSize 1-400 (ValidationError), Marker paging.
 */
import { randomBytes, randomUUID, X509Certificate } from "node:crypto";
import { ACCOUNT_ID, AwsError, escapeXml, queryErrorResponse } from "./protocol.ts";
import { queryActionOf, type WireRequest, type WireResponse, type WireService } from "./server.ts";

const API_VERSION = "2015-12-01";
const XMLNS = `http://elasticloadbalancing.amazonaws.com/doc/${API_VERSION}/`;

/** ALB quota: CA certificates per trust store. */
export const MAX_CA_CERTIFICATES = 25;
/** ALB quota: CA certificate size (16 KB), measured here on the PEM block as stored. */
export const MAX_CA_CERTIFICATE_BYTES = 16 * 1024;
/** ALB quota: trust stores per account (per region). */
export const DEFAULT_MAX_TRUST_STORES = 20;
/** ELB: tags per resource. */
export const MAX_TAGS = 50;

export type TrustStoreStatus = "ACTIVE" | "CREATING";

/**
 * Where the stand-in reads CA bundles from (the S3 stand-in in `startStandins`): the given version, or the
 * latest when `versionId` is undefined; undefined when the bucket, key or version does not exist.
 */
export interface CaBundleReader {
  read(bucket: string, key: string, versionId?: string): { body: Buffer; versionId: string } | undefined;
}

export interface Elbv2StandinOptions {
  bundles: CaBundleReader;
  /** Clock in ms (CREATING -> ACTIVE). */
  now?: () => number;
  /** How long a new trust store stays CREATING. Default 0 (ACTIVE at the first look after creation). */
  creationDelayMs?: number;
  /** Trust stores per region. Default DEFAULT_MAX_TRUST_STORES (20). */
  maxTrustStores?: number;
}

/** Where a trust store's bundle came from. */
export interface BundleSource {
  bucket: string;
  key: string;
  /** The S3 version actually read (the latest at the time when none was asked for). */
  versionId: string;
}

/** A trust store as the inspection methods hand it out. */
export interface TrustStoreView {
  name: string;
  arn: string;
  region: string;
  status: TrustStoreStatus;
  numberOfCaCertificates: number;
  /** The CA certificates in force, PEM blocks as read from S3. */
  certificates: string[];
  source: BundleSource;
  tags: Record<string, string>;
  /** Successful ModifyTrustStore calls. */
  modifications: number;
}

interface TrustStore {
  name: string;
  arn: string;
  region: string;
  createdAt: number;
  certificates: string[];
  source: BundleSource;
  tags: Map<string, string>;
  modifications: number;
}

const NAME = /^([a-zA-Z0-9]+-)*[a-zA-Z0-9]+$/;
const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----[\s\S]*?-----END \1-----/g;

export class Elbv2Standin implements WireService {
  readonly service = "elasticloadbalancing";
  /** ARN -> trust store. */
  readonly #stores = new Map<string, TrustStore>();
  readonly #bundles: CaBundleReader;
  readonly #now: () => number;
  readonly #creationDelayMs: number;
  readonly #maxTrustStores: number;

  constructor(options: Elbv2StandinOptions) {
    this.#bundles = options.bundles;
    this.#now = options.now ?? (() => Date.now());
    this.#creationDelayMs = options.creationDelayMs ?? 0;
    this.#maxTrustStores = options.maxTrustStores ?? DEFAULT_MAX_TRUST_STORES;
  }

  // ---- plain methods for tests --------------------------------------------------------------------------

  /** Creates a trust store as CreateTrustStore does (same checks; AwsError when refused); returns its ARN. */
  createTrustStore(
    name: string,
    bundle: { bucket: string; key: string; versionId?: string },
    region = "us-east-1",
  ): string {
    return this.#create(region, name, bundle, new Map()).arn;
  }

  /** Every trust store, oldest first. */
  trustStores(): TrustStoreView[] {
    return [...this.#stores.values()].map((s) => this.#view(s));
  }

  /** One trust store by ARN or name (any region); undefined when there is none. */
  trustStore(arnOrName: string): TrustStoreView | undefined {
    const store = this.#stores.get(arnOrName) ?? [...this.#stores.values()].find((s) => s.name === arnOrName);
    return store && this.#view(store);
  }

  // ---- WireService --------------------------------------------------------------------------------------

  operationFor(request: WireRequest): string | undefined {
    return queryActionOf(request, "elasticloadbalancing");
  }

  handle(operation: string, request: WireRequest): WireResponse {
    const params = new URLSearchParams(request.body);
    if (params.get("Version") !== API_VERSION) {
      throw validation(`Version must be ${API_VERSION}`);
    }
    const region = request.region ?? "us-east-1";
    switch (operation) {
      case "CreateTrustStore": {
        const name = required(params, "Name");
        const tags = readTags(params);
        const store = this.#create(region, name, bundleParams(params), tags);
        return answer(operation, el("TrustStores", member(this.#storeXml(store))));
      }
      case "ModifyTrustStore": {
        const store = this.#byArn(required(params, "TrustStoreArn"), region);
        this.#modify(store, bundleParams(params));
        return answer(operation, el("TrustStores", member(this.#storeXml(store))));
      }
      case "DescribeTrustStores":
        return this.#describe(params, region);
      case "AddTags": {
        const arns = readList(params, "ResourceArns", 20);
        const tags = readTags(params);
        if (tags.size === 0) throw validation("Tags must not be empty");
        const stores = arns.map((arn) => this.#byArn(arn, region));
        for (const store of stores) {
          const merged = new Map([...store.tags, ...tags]);
          if (merged.size > MAX_TAGS) throw new AwsError("TooManyTags", "You've reached the limit on tags");
        }
        for (const store of stores) for (const [k, v] of tags) store.tags.set(k, v);
        return answer(operation, "");
      }
      case "DescribeTags": {
        const arns = readList(params, "ResourceArns", 20);
        const descriptions = arns
          .map((arn) => this.#byArn(arn, region))
          .map(
            (store) =>
              `<member>${el("ResourceArn", escapeXml(store.arn))}` +
              // The model bounds TagList to 1..n: a resource without tags answers no <Tags>.
              (store.tags.size > 0
                ? el(
                    "Tags",
                    [...store.tags]
                      .map(([k, v]) => member(`${el("Key", escapeXml(k))}${el("Value", escapeXml(v))}`))
                      .join(""),
                  )
                : "") +
              "</member>",
          )
          .join("");
        return answer(operation, el("TagDescriptions", descriptions));
      }
      default:
        throw new AwsError("InvalidAction", `The action ${operation} is not valid for this web service.`);
    }
  }

  /** ELB's error document: `<ErrorResponse>` in the ELBv2 namespace. */
  errorResponse(error: AwsError): WireResponse {
    return queryErrorResponse(XMLNS, error);
  }

  // ---- operations ---------------------------------------------------------------------------------------

  #create(
    region: string,
    name: string,
    bundle: { bucket: string; key: string; versionId?: string },
    tags: Map<string, string>,
  ): TrustStore {
    if (name.length > 32 || !NAME.test(name)) {
      throw validation(
        `Trust store name '${name}' must be 1-32 alphanumeric characters or hyphens, not beginning or ending with a hyphen`,
      );
    }
    const inRegion = [...this.#stores.values()].filter((s) => s.region === region);
    if (inRegion.some((s) => s.name === name)) {
      throw new AwsError("DuplicateTrustStoreName", `A trust store with the name '${name}' already exists`);
    }
    if (inRegion.length >= this.#maxTrustStores) {
      throw new AwsError("TooManyTrustStores", "You've reached the limit on the number of trust stores");
    }
    if (tags.size > MAX_TAGS) throw new AwsError("TooManyTags", "You've reached the limit on tags");
    const { certificates, source } = this.#load(bundle);
    const arn = `arn:aws:elasticloadbalancing:${region}:${ACCOUNT_ID}:truststore/${name}/${randomBytes(8).toString("hex")}`;
    const store: TrustStore = {
      name,
      arn,
      region,
      createdAt: this.#now(),
      certificates,
      source,
      tags,
      modifications: 0,
    };
    this.#stores.set(arn, store);
    return store;
  }

  #modify(store: TrustStore, bundle: { bucket: string; key: string; versionId?: string }): void {
    // Everything is checked before anything changes: a refused bundle leaves the trust store as it was.
    const { certificates, source } = this.#load(bundle);
    store.certificates = certificates;
    store.source = source;
    store.modifications += 1;
  }

  #describe(params: URLSearchParams, region: string): WireResponse {
    const arns = readList(params, "TrustStoreArns", 20);
    const names = readList(params, "Names", 20);
    const pageSize = params.has("PageSize") ? Number(params.get("PageSize")) : 400;
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > 400) {
      throw validation("PageSize must be between 1 and 400");
    }
    const inRegion = [...this.#stores.values()].filter((s) => s.region === region);
    let selected = inRegion;
    if (arns.length > 0 || names.length > 0) {
      for (const arn of arns) this.#byArn(arn, region);
      for (const name of names) {
        if (!inRegion.some((s) => s.name === name)) throw notFound(name);
      }
      selected = inRegion.filter((s) => arns.includes(s.arn) || names.includes(s.name));
    }
    const marker = params.get("Marker");
    let start = 0;
    if (marker !== null) {
      start = Number(Buffer.from(marker, "base64url").toString("utf8"));
      if (!Number.isInteger(start) || start < 0 || start > selected.length) {
        throw validation("The marker is not valid");
      }
    }
    const page = selected.slice(start, start + pageSize);
    const next = start + pageSize < selected.length ? String(start + pageSize) : undefined;
    return answer(
      "DescribeTrustStores",
      el("TrustStores", page.map((s) => member(this.#storeXml(s))).join("")) +
        (next ? el("NextMarker", Buffer.from(next).toString("base64url")) : ""),
    );
  }

  // ---- helpers --------------------------------------------------------------------------------------------

  #byArn(arn: string, region: string): TrustStore {
    const store = this.#stores.get(arn);
    if (!store || store.region !== region) throw notFound(arn);
    return store;
  }

  #status(store: TrustStore): TrustStoreStatus {
    return this.#now() - store.createdAt >= this.#creationDelayMs ? "ACTIVE" : "CREATING";
  }

  #load(bundle: { bucket: string; key: string; versionId?: string }): {
    certificates: string[];
    source: BundleSource;
  } {
    const object = this.#bundles.read(bundle.bucket, bundle.key, bundle.versionId);
    if (!object) {
      throw new AwsError(
        "CaCertificatesBundleNotFound",
        `The specified ca certificate bundle does not exist: s3://${bundle.bucket}/${bundle.key}` +
          (bundle.versionId ? ` (version ${bundle.versionId})` : ""),
      );
    }
    return {
      certificates: validateCaBundle(object.body),
      source: { bucket: bundle.bucket, key: bundle.key, versionId: object.versionId },
    };
  }

  #storeXml(store: TrustStore): string {
    return (
      el("Name", escapeXml(store.name)) +
      el("TrustStoreArn", escapeXml(store.arn)) +
      el("Status", this.#status(store)) +
      el("NumberOfCaCertificates", String(store.certificates.length)) +
      el("TotalRevokedEntries", "0")
    );
  }

  #view(store: TrustStore): TrustStoreView {
    return {
      name: store.name,
      arn: store.arn,
      region: store.region,
      status: this.#status(store),
      numberOfCaCertificates: store.certificates.length,
      certificates: [...store.certificates],
      source: { ...store.source },
      tags: Object.fromEntries(store.tags),
      modifications: store.modifications,
    };
  }
}

/**
 * The CA certificates of a bundle, as ELB would accept them; AwsError InvalidCaCertificatesBundle otherwise.
 * Exported so tests can state the rules directly.
 */
export function validateCaBundle(body: Buffer): string[] {
  const text = body.toString("utf8");
  const invalid = (why: string) =>
    new AwsError("InvalidCaCertificatesBundle", `The specified ca certificate bundle is invalid: ${why}`);
  const blocks = [...text.matchAll(PEM_BLOCK)];
  if (text.replace(PEM_BLOCK, "").trim() !== "") throw invalid("it holds text outside PEM blocks");
  if (blocks.length === 0) throw invalid("it holds no certificate");
  const certificates: string[] = [];
  for (const [i, block] of blocks.entries()) {
    if (block[1] !== "CERTIFICATE") throw invalid(`block ${i + 1} is a ${block[1]}, not a CERTIFICATE`);
    const pem = `${block[0]}\n`;
    if (Buffer.byteLength(pem) > MAX_CA_CERTIFICATE_BYTES) {
      throw invalid(
        `certificate ${i + 1} is ${Buffer.byteLength(pem)} bytes; at most ${MAX_CA_CERTIFICATE_BYTES}`,
      );
    }
    let certificate: X509Certificate;
    try {
      certificate = new X509Certificate(pem);
    } catch {
      throw invalid(`certificate ${i + 1} does not parse`);
    }
    if (!certificate.ca)
      throw invalid(`certificate ${i + 1} (${certificate.subject}) is not a CA certificate`);
    certificates.push(pem);
  }
  if (certificates.length > MAX_CA_CERTIFICATES) {
    throw invalid(`it holds ${certificates.length} CA certificates; at most ${MAX_CA_CERTIFICATES}`);
  }
  return certificates;
}

// ---- request parsing ------------------------------------------------------------------------------------

function validation(message: string): AwsError {
  return new AwsError("ValidationError", message);
}

function notFound(what: string): AwsError {
  return new AwsError("TrustStoreNotFound", `The specified trust store does not exist: ${what}`);
}

function required(params: URLSearchParams, name: string): string {
  const value = params.get(name);
  if (value === null || value === "") {
    throw validation(
      `1 validation error detected: Value null at '${lowerFirst(name)}' failed to satisfy constraint: Member must not be null`,
    );
  }
  return value;
}

function lowerFirst(name: string): string {
  return name.charAt(0).toLowerCase() + name.slice(1);
}

function bundleParams(params: URLSearchParams): { bucket: string; key: string; versionId?: string } {
  const versionId = params.get("CaCertificatesBundleS3ObjectVersion");
  return {
    bucket: required(params, "CaCertificatesBundleS3Bucket"),
    key: required(params, "CaCertificatesBundleS3Key"),
    ...(versionId ? { versionId } : {}),
  };
}

/** `<Name>.member.N` list members in index order. */
function readList(params: URLSearchParams, name: string, max: number): string[] {
  const items: Array<[number, string]> = [];
  for (const [key, value] of params) {
    const index = new RegExp(`^${name}\\.member\\.(\\d+)$`).exec(key)?.[1];
    if (index !== undefined) items.push([Number(index), value]);
  }
  if (items.length > max) throw validation(`${name} must have at most ${max} members`);
  return items.sort((a, b) => a[0] - b[0]).map(([, value]) => value);
}

/** `Tags.member.N.Key` / `.Value`, checked. */
function readTags(params: URLSearchParams): Map<string, string> {
  const indices = new Set<string>();
  for (const key of params.keys()) {
    const index = /^Tags\.member\.(\d+)\.(Key|Value)$/.exec(key)?.[1];
    if (index !== undefined) indices.add(index);
  }
  const tags = new Map<string, string>();
  for (const index of [...indices].sort((a, b) => Number(a) - Number(b))) {
    const key = params.get(`Tags.member.${index}.Key`) ?? "";
    const value = params.get(`Tags.member.${index}.Value`) ?? "";
    if (key.length < 1 || key.length > 128) throw validation("A tag key must be 1-128 characters");
    if (value.length > 256) throw validation("A tag value must be at most 256 characters");
    if (tags.has(key))
      throw new AwsError("DuplicateTagKeys", `A tag key was specified more than once: ${key}`);
    tags.set(key, value);
  }
  return tags;
}

function el(name: string, inner: string): string {
  return `<${name}>${inner}</${name}>`;
}

function member(inner: string): string {
  return `<member>${inner}</member>`;
}

function answer(action: string, result: string): WireResponse {
  return {
    status: 200,
    headers: { "content-type": "text/xml" },
    body:
      `<${action}Response xmlns="${XMLNS}"><${action}Result>${result}</${action}Result>` +
      `<ResponseMetadata><RequestId>${randomUUID()}</RequestId></ResponseMetadata></${action}Response>`,
  };
}
