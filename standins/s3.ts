/**
 * Amazon S3 stand-in (REST-XML, path-style addressing), served to the real `@aws-sdk/client-s3` with
 * `forcePathStyle: true` over loopback HTTP. Enough of S3 to publish trust bundles as versioned objects.
 *
 * Routing: it claims every request signed for the `s3` service (SigV4 credential scope), so requests to
 * buckets it does not know still get S3's answer (404 NoSuchBucket) instead of falling through.
 *
 * Operations: PutObject, GetObject, HeadObject, ListObjectVersions (prefix, markers and max-keys; not
 * delimiter), CreateBucket, HeadBucket, PutBucketVersioning. Anything else signed for S3 (multipart, tagging,
 * ranges, conditional reads, a listing delimiter, ...) answers 501 NotImplemented rather than being
 * silently ignored; such a request still goes by the name of the S3 operation it is (DeleteObject,
 * PutObjectTagging, ...), so the model check validates it as that operation.
 *
 * Rules enforced:
 * - Unknown bucket -> 404 NoSuchBucket; missing key -> 404 NoSuchKey; unknown version -> 404 NoSuchVersion.
 *   HEAD answers those as a bare 404 without body (the SDK names it `NotFound`).
 * - A request signed for another region than the bucket's -> 400 AuthorizationHeaderMalformed.
 * - Versioning Enabled: every put creates a new version id and older versions stay retrievable by
 *   `versionId`. Unversioned or Suspended: a put replaces the `null` version.
 * - Objects are capped at 5 MiB here (AWS caps a single PUT at 5 GB) -> 400 EntityTooLarge.
 * - User metadata (`x-amz-meta-*`) at most 2 KB (keys + values, UTF-8) -> 400 MetadataTooLarge.
 * - The body must match what the client signed and summed: `x-amz-content-sha256` (400
 *   XAmzContentSHA256Mismatch), `Content-MD5` (400 BadDigest / InvalidDigest) and the flexible checksums
 *   `x-amz-checksum-crc32|crc32c|sha1|sha256`, in a header or an aws-chunked trailer (400 BadDigest).
 * - ETag is the quoted MD5 of the body; GetObject/HeadObject answer the stored checksum when the client asks
 *   (`x-amz-checksum-mode: ENABLED`), so the SDK validates the bytes it receives.
 * - [s3.conditional-put] Conditional writes (PutObject only): `If-None-Match: *` writes only when the key has
 *   no current object, else 412 PreconditionFailed; `If-Match: <etag>` writes only when the current object's
 *   ETag is that one (quotes not significant), else 412, and 404 NoSuchKey when there is no current object
 *   (https://docs.aws.amazon.com/AmazonS3/latest/userguide/conditional-writes.html; moto 5.2 agrees,
 *   test/differential/s3.test.ts). An `If-None-Match` other than `*` is not implemented (501). The stand-in
 *   serves one request at a time, so it never answers 409 ConditionalRequestConflict (AWS's answer to a
 *   conflicting write during the upload: writers treat it like a 412 and read again).
 */
import { createHash, randomBytes } from "node:crypto";
import { crc32 } from "node:zlib";
import { loadServiceModel } from "./model/botocore.ts";
import { AwsError, escapeXml } from "./protocol.ts";
import { signingServiceOf, type WireRequest, type WireResponse, type WireService } from "./server.ts";

/** AWS's single-PUT cap is 5 GB; the stand-in holds objects in memory, so it caps them at 5 MiB. */
export const DEFAULT_MAX_OBJECT_BYTES = 5 * 1024 * 1024;
/** S3: user-defined metadata is limited to 2 KB (sum of the UTF-8 bytes of each key and value). */
export const MAX_USER_METADATA_BYTES = 2048;

const XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/";
const XML_PROLOG = `<?xml version="1.0" encoding="UTF-8"?>`;
const OWNER_ID = "75aa57f09aa0c8caeab4f8c24e99d10f8e7faeebf76c078efc7c6caea54ba06a";

export type VersioningStatus = "Unversioned" | "Enabled" | "Suspended";

/** One stored version of an object, as the plain inspection methods hand it out. */
export interface S3ObjectVersion {
  key: string;
  /** A generated id on a versioned bucket; "null" for a put while versioning was off or suspended. */
  versionId: string;
  body: Buffer;
  contentType: string;
  /** User metadata, keys lowercased without the `x-amz-meta-` prefix. */
  metadata: Record<string, string>;
  /** Quoted MD5 of the body, as S3 answers it. */
  etag: string;
  size: number;
  lastModified: Date;
  isLatest: boolean;
  /** The flexible checksum the client sent, e.g. { algorithm: "crc32", value: "NhCmhg==" }. */
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
}

export interface S3StandinOptions {
  now?: () => Date;
  /** Object size cap in bytes. Default DEFAULT_MAX_OBJECT_BYTES (5 MiB). */
  maxObjectBytes?: number;
}

export interface CreateBucketOptions {
  /** Turn versioning on (PutBucketVersioning Enabled). Default false. */
  versioned?: boolean;
  /** The bucket's region. Default us-east-1. */
  region?: string;
}

interface StoredVersion {
  versionId: string;
  body: Buffer;
  contentType: string;
  metadata: Record<string, string>;
  etag: string;
  lastModified: Date;
  checksum?: { algorithm: ChecksumAlgorithm; value: string };
}

interface Bucket {
  name: string;
  region: string;
  versioning: VersioningStatus;
  /** key -> versions, oldest first. */
  objects: Map<string, StoredVersion[]>;
}

/** Query parameters that only shape the answer, not the operation. */
const NEUTRAL_QUERY = new Set(["x-id", "versionId"]);
/** The ListObjectVersions parameters the stand-in models; `delimiter` (CommonPrefixes) and the rest are not. */
const LIST_VERSIONS_QUERY = new Set(["versions", "prefix", "key-marker", "version-id-marker", "max-keys"]);
/** Headers whose semantics the stand-in does not implement; accepting them silently would lie. */
const UNSUPPORTED_HEADERS = ["range", "if-modified-since", "if-unmodified-since", "x-amz-copy-source"];

export class S3Standin implements WireService {
  readonly service = "s3";
  readonly #buckets = new Map<string, Bucket>();
  readonly #now: () => Date;
  readonly #maxObjectBytes: number;

  constructor(options: S3StandinOptions = {}) {
    this.#now = options.now ?? (() => new Date());
    this.#maxObjectBytes = options.maxObjectBytes ?? DEFAULT_MAX_OBJECT_BYTES;
  }

  // ---- plain methods for tests --------------------------------------------------------------------------

  /** Creates a bucket (versioning on when `versioned`). Throws if the name is invalid or taken. */
  createBucket(name: string, options: CreateBucketOptions = {}): void {
    checkBucketName(name);
    if (this.#buckets.has(name)) throw new Error(`bucket ${name} already exists`);
    this.#buckets.set(name, {
      name,
      region: options.region ?? "us-east-1",
      versioning: options.versioned ? "Enabled" : "Unversioned",
      objects: new Map(),
    });
  }

  buckets(): string[] {
    return [...this.#buckets.keys()].sort();
  }

  /** The bucket's region, or undefined when there is no such bucket. */
  regionOf(bucket: string): string | undefined {
    return this.#buckets.get(bucket)?.region;
  }

  versioning(bucket: string): VersioningStatus {
    return this.#inspect(bucket).versioning;
  }

  /** Every stored version of a key, newest first (empty when the key was never written). */
  versions(bucket: string, key: string): S3ObjectVersion[] {
    const versions = this.#inspect(bucket).objects.get(key) ?? [];
    return versions.map((v, i) => describe(key, v, i === versions.length - 1)).reverse();
  }

  /** The latest version of a key, or the given version; undefined when there is none. */
  object(bucket: string, key: string, versionId?: string): S3ObjectVersion | undefined {
    return this.versions(bucket, key).find((v) =>
      versionId === undefined ? v.isLatest : v.versionId === versionId,
    );
  }

  // ---- WireService --------------------------------------------------------------------------------------

  operationFor(request: WireRequest): string | undefined {
    if (signingServiceOf(request) !== "s3") return undefined;
    const served = this.#served(request);
    const named = operationNamedBySdk(request);
    if (served !== "Unsupported" && (named === undefined || named === served)) return served;
    // Not served (or the SDK names another operation on the same path, e.g. CopyObject): still named as the
    // S3 operation it is. AWS's model (botocore s3 2006-03-01) has no operation "Unsupported"; under a
    // made-up name the model check refuses the call as an unknown operation (UnknownOperationException)
    // before the stand-in can answer its 501 NotImplemented.
    const { bucket, key } = target(request);
    return named ?? s3OperationOf(request, bucket, key) ?? "Unsupported";
  }

  /** The operation the stand-in serves for this request, or "Unsupported" for anything it does not model. */
  #served(request: WireRequest): string {
    const { bucket, key } = target(request);
    const subresources = [...request.query.keys()].filter((k) => !NEUTRAL_QUERY.has(k));
    if (bucket === undefined) return "Unsupported"; // ListBuckets and friends
    if (key === undefined) {
      if (request.method === "PUT" && subresources.length === 0) return "CreateBucket";
      if (request.method === "PUT" && only(subresources, "versioning")) return "PutBucketVersioning";
      if (request.method === "HEAD" && subresources.length === 0) return "HeadBucket";
      if (request.method === "GET" && subresources.includes("versions")) {
        return subresources.every((k) => LIST_VERSIONS_QUERY.has(k)) ? "ListObjectVersions" : "Unsupported";
      }
      return "Unsupported";
    }
    if (subresources.length > 0) return "Unsupported"; // tagging, acl, uploads (multipart), ...
    if (request.method === "PUT") return "PutObject";
    if (request.method === "GET") return "GetObject";
    if (request.method === "HEAD") return "HeadObject";
    return "Unsupported";
  }

  handle(operation: string, request: WireRequest): WireResponse {
    const { bucket: bucketName, key } = target(request);
    const conditional =
      request.headers["if-match"] !== undefined || request.headers["if-none-match"] !== undefined;
    if (
      operation !== this.#served(request) ||
      UNSUPPORTED_HEADERS.some((h) => request.headers[h] !== undefined) ||
      (conditional && operation !== "PutObject") ||
      (request.headers["if-none-match"] !== undefined && header(request, "if-none-match") !== "*")
    ) {
      throw new AwsError(
        "NotImplemented",
        `A header or query you provided implies functionality that is not implemented (stand-in: ${request.method} ${request.path}).`,
        501,
      );
    }
    if (bucketName === undefined) throw new Error("unreachable: operation without a bucket");
    if (operation === "CreateBucket") return this.#createBucket(bucketName, request);
    const bucket = this.#bucket(bucketName, request);
    switch (operation) {
      case "HeadBucket":
        return { status: 200, headers: { "x-amz-bucket-region": bucket.region }, body: "" };
      case "PutBucketVersioning":
        return this.#putVersioning(bucket, request);
      case "ListObjectVersions":
        return this.#listVersions(bucket, request);
      case "PutObject":
        return this.#put(bucket, key ?? "", request);
      case "GetObject":
      case "HeadObject":
        return this.#get(bucket, key ?? "", request, operation === "HeadObject");
      default:
        throw new AwsError("NotImplemented", `stand-in does not implement ${operation}`, 501);
    }
  }

  /** S3's own error document: a bare `<Error>`; HEAD answers carry no body at all. */
  errorResponse(error: AwsError, request: WireRequest): WireResponse {
    if (request.method === "HEAD") return { status: error.status, body: "" };
    return {
      status: error.status,
      headers: { "content-type": "application/xml", "x-amz-request-id": "standin" },
      body:
        `${XML_PROLOG}<Error><Code>${escapeXml(error.code)}</Code>` +
        `<Message>${escapeXml(error.message)}</Message><RequestId>standin</RequestId></Error>`,
    };
  }

  // ---- operations ---------------------------------------------------------------------------------------

  #createBucket(name: string, request: WireRequest): WireResponse {
    const region = request.region ?? "us-east-1";
    const constraint = /<LocationConstraint>([^<]*)<\/LocationConstraint>/.exec(request.body)?.[1];
    if ((constraint ?? "us-east-1") !== region) {
      throw new AwsError(
        "IllegalLocationConstraintException",
        constraint === undefined
          ? `The unspecified location constraint is incompatible for the region specific endpoint this request was sent to.`
          : `The ${constraint} location constraint is incompatible for the region specific endpoint this request was sent to.`,
      );
    }
    const existing = this.#buckets.get(name);
    if (existing) {
      // AWS: us-east-1 answers 200 to the owner re-creating a bucket (legacy); every other region 409.
      if (region !== "us-east-1" || existing.region !== "us-east-1") {
        throw new AwsError(
          "BucketAlreadyOwnedByYou",
          "Your previous request to create the named bucket succeeded and you already own it.",
          409,
        );
      }
    } else {
      try {
        checkBucketName(name);
      } catch (error) {
        throw new AwsError("InvalidBucketName", (error as Error).message);
      }
      this.#buckets.set(name, { name, region, versioning: "Unversioned", objects: new Map() });
    }
    return { status: 200, headers: { location: `/${name}` }, body: "" };
  }

  #putVersioning(bucket: Bucket, request: WireRequest): WireResponse {
    const status = /<Status>([^<]*)<\/Status>/.exec(request.body)?.[1];
    if (status !== "Enabled" && status !== "Suspended") {
      throw new AwsError("MalformedXML", "The XML you provided was not well-formed or did not validate.");
    }
    bucket.versioning = status;
    return { status: 200, body: "" };
  }

  #put(bucket: Bucket, key: string, request: WireRequest): WireResponse {
    checkKey(key);
    const { body, trailers } = payloadOf(request);
    if (body.length > this.#maxObjectBytes) {
      throw new AwsError(
        "EntityTooLarge",
        `Your proposed upload exceeds the maximum allowed object size (stand-in cap: ${this.#maxObjectBytes} bytes).`,
      );
    }
    verifyContentMd5(request, body);
    const checksum = verifyChecksum(request, trailers, body);
    // [s3.conditional-put]
    const current = bucket.objects.get(key)?.at(-1);
    const ifMatch = header(request, "if-match");
    if (ifMatch !== undefined) {
      if (!current) throw new AwsError("NoSuchKey", "The specified key does not exist.", 404);
      if (ifMatch.replaceAll('"', "") !== current.etag.replaceAll('"', "")) {
        throw new AwsError(
          "PreconditionFailed",
          "At least one of the pre-conditions you specified did not hold",
          412,
        );
      }
    }
    if (header(request, "if-none-match") === "*" && current) {
      throw new AwsError(
        "PreconditionFailed",
        "At least one of the pre-conditions you specified did not hold",
        412,
      );
    }
    const metadata = userMetadata(request);
    const versionId = bucket.versioning === "Enabled" ? newVersionId() : "null";
    const version: StoredVersion = {
      versionId,
      body,
      contentType: header(request, "content-type") ?? "binary/octet-stream",
      metadata,
      etag: `"${createHash("md5").update(body).digest("hex")}"`,
      // S3 keeps Last-Modified to the second.
      lastModified: new Date(Math.floor(this.#now().getTime() / 1000) * 1000),
      checksum,
    };
    const versions = bucket.objects.get(key) ?? [];
    // Unversioned and Suspended buckets overwrite the "null" version; Enabled keeps every version.
    const kept = versionId === "null" ? versions.filter((v) => v.versionId !== "null") : versions;
    bucket.objects.set(key, [...kept, version]);

    const headers: Record<string, string> = { etag: version.etag, "x-amz-request-id": "standin" };
    if (bucket.versioning !== "Unversioned") headers["x-amz-version-id"] = versionId;
    if (checksum) {
      headers[`x-amz-checksum-${checksum.algorithm}`] = checksum.value;
      headers["x-amz-checksum-type"] = "FULL_OBJECT";
    }
    return { status: 200, headers, body: "" };
  }

  #get(bucket: Bucket, key: string, request: WireRequest, headOnly: boolean): WireResponse {
    const versions = bucket.objects.get(key);
    const versionId = request.query.get("versionId") ?? undefined;
    let version: StoredVersion | undefined;
    if (versionId !== undefined) {
      version = versions?.find((v) => v.versionId === versionId);
      if (!version) throw new AwsError("NoSuchVersion", "The specified version does not exist.", 404);
    } else {
      version = versions?.at(-1);
      if (!version) throw new AwsError("NoSuchKey", "The specified key does not exist.", 404);
    }
    const headers: Record<string, string> = {
      "content-type": version.contentType,
      "content-length": String(version.body.length),
      etag: version.etag,
      "last-modified": version.lastModified.toUTCString(),
      "accept-ranges": "bytes",
      "x-amz-request-id": "standin",
    };
    if (bucket.versioning !== "Unversioned") headers["x-amz-version-id"] = version.versionId;
    for (const [name, value] of Object.entries(version.metadata)) headers[`x-amz-meta-${name}`] = value;
    if (version.checksum && header(request, "x-amz-checksum-mode") === "ENABLED") {
      headers[`x-amz-checksum-${version.checksum.algorithm}`] = version.checksum.value;
      headers["x-amz-checksum-type"] = "FULL_OBJECT";
    }
    return { status: 200, headers, body: headOnly ? "" : version.body };
  }

  #listVersions(bucket: Bucket, request: WireRequest): WireResponse {
    const prefix = request.query.get("prefix") ?? "";
    const keyMarker = request.query.get("key-marker") ?? "";
    const versionIdMarker = request.query.get("version-id-marker") ?? "";
    const maxKeys = Math.min(Number(request.query.get("max-keys") ?? 1000), 1000);
    if (!Number.isInteger(maxKeys) || maxKeys < 0) {
      throw new AwsError("InvalidArgument", "Provided max-keys not an integer or within integer range");
    }
    // Keys in UTF-8 binary order, each key's versions newest first: S3's listing order.
    const rows: Array<{ key: string; version: StoredVersion; isLatest: boolean }> = [];
    for (const key of [...bucket.objects.keys()].filter((k) => k.startsWith(prefix)).sort(compareKeys)) {
      const versions = bucket.objects.get(key) ?? [];
      for (let i = versions.length - 1; i >= 0; i--) {
        rows.push({ key, version: versions[i]!, isLatest: i === versions.length - 1 });
      }
    }
    let start = 0;
    if (keyMarker !== "") {
      const at = versionIdMarker
        ? rows.findIndex((r) => r.key === keyMarker && r.version.versionId === versionIdMarker)
        : -1;
      start = at >= 0 ? at + 1 : rows.findIndex((r) => compareKeys(r.key, keyMarker) > 0);
      if (start < 0) start = rows.length;
    }
    const page = rows.slice(start, start + maxKeys);
    const truncated = start + maxKeys < rows.length;
    const last = page.at(-1);
    const versionsXml = page
      .map(
        (r) =>
          `<Version>${el("Key", r.key)}${el("VersionId", r.version.versionId)}${el("IsLatest", String(r.isLatest))}` +
          `${el("LastModified", r.version.lastModified.toISOString())}${el("ETag", r.version.etag)}` +
          `${el("Size", String(r.version.body.length))}${el("StorageClass", "STANDARD")}` +
          `<Owner>${el("ID", OWNER_ID)}</Owner></Version>`,
      )
      .join("");
    const body =
      `${XML_PROLOG}<ListVersionsResult xmlns="${XMLNS}">${el("Name", bucket.name)}${el("Prefix", prefix)}` +
      `${el("KeyMarker", keyMarker)}${el("VersionIdMarker", versionIdMarker)}${el("MaxKeys", String(maxKeys))}` +
      `${el("IsTruncated", String(truncated))}` +
      (truncated && last
        ? `${el("NextKeyMarker", last.key)}${el("NextVersionIdMarker", last.version.versionId)}`
        : "") +
      `${versionsXml}</ListVersionsResult>`;
    return { status: 200, headers: { "content-type": "application/xml" }, body };
  }

  // ---- helpers --------------------------------------------------------------------------------------------

  #bucket(name: string, request: WireRequest): Bucket {
    const bucket = this.#buckets.get(name);
    if (!bucket) throw new AwsError("NoSuchBucket", "The specified bucket does not exist", 404);
    const region = request.region ?? bucket.region;
    if (region !== bucket.region) {
      throw new AwsError(
        "AuthorizationHeaderMalformed",
        `The authorization header is malformed; the region '${region}' is wrong; expecting '${bucket.region}'`,
      );
    }
    return bucket;
  }

  #inspect(name: string): Bucket {
    const bucket = this.#buckets.get(name);
    if (!bucket) throw new Error(`no bucket ${name}`);
    return bucket;
  }
}

// ---- request parsing ------------------------------------------------------------------------------------

/** Path-style addressing: /<bucket>[/<key>]. An empty key (`/bucket/`) addresses the bucket. */
function target(request: WireRequest): { bucket?: string; key?: string } {
  const path = request.path.slice(1);
  if (path === "") return {};
  const slash = path.indexOf("/");
  if (slash === -1) return { bucket: decodeURIComponent(path) };
  const key = path.slice(slash + 1);
  return {
    bucket: decodeURIComponent(path.slice(0, slash)),
    key: key === "" ? undefined : decodeURIComponent(key),
  };
}

/**
 * The operation the SDK names in its `x-id` query (it adds one where method and path alone do not tell S3's
 * operations apart: DeleteObject, CopyObject, UploadPart, ...), when AWS's model has it with that method.
 */
function operationNamedBySdk(request: WireRequest): string | undefined {
  const xId = request.query.get("x-id");
  if (!xId) return undefined;
  return loadServiceModel("s3").operations[xId]?.http.method === request.method ? xId : undefined;
}

/**
 * The S3 operation a request is, by AWS's model (botocore s3 2006-03-01): the operation whose HTTP binding
 * fits (same method, same kind of path: service, bucket or object; every subresource of its URI present),
 * the most specific one winning.
 */
function s3OperationOf(request: WireRequest, bucket?: string, key?: string): string | undefined {
  const model = loadServiceModel("s3");
  const path = bucket === undefined ? "/" : key === undefined ? "/{Bucket}" : "/{Bucket}/{Key+}";
  let best: { name: string; specificity: number } | undefined;
  for (const [name, operation] of Object.entries(model.operations)) {
    const [uriPath, literal = ""] = operation.http.requestUri.split("?");
    if (operation.http.method !== request.method || uriPath !== path) continue;
    const subresources = [...new URLSearchParams(literal)];
    const fits = subresources.every(
      ([k, v]) => request.query.has(k) && (v === "" || request.query.get(k) === v),
    );
    if (fits && (!best || subresources.length > best.specificity)) {
      best = { name, specificity: subresources.length };
    }
  }
  return best?.name;
}

function only(list: string[], item: string): boolean {
  return list.length === 1 && list[0] === item;
}

function header(request: WireRequest, name: string): string | undefined {
  const value = request.headers[name];
  return Array.isArray(value) ? value.join(",") : value;
}

function checkBucketName(name: string): void {
  const valid =
    /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(name) &&
    !name.includes("..") &&
    !/^\d+\.\d+\.\d+\.\d+$/.test(name);
  if (!valid) throw new Error(`The specified bucket is not valid: ${name}`);
}

function checkKey(key: string): void {
  if (Buffer.byteLength(key) > 1024) throw new AwsError("KeyTooLongError", "Your key is too long");
}

/** The object bytes: the body as sent, or decoded from aws-chunked framing (with its trailer headers). */
function payloadOf(request: WireRequest): { body: Buffer; trailers: Record<string, string> } {
  const sha = header(request, "x-amz-content-sha256");
  const encoding = header(request, "content-encoding") ?? "";
  if (!encoding.split(",").some((e) => e.trim() === "aws-chunked")) {
    if (
      sha &&
      /^[0-9a-f]{64}$/.test(sha) &&
      createHash("sha256").update(request.bytes).digest("hex") !== sha
    ) {
      throw new AwsError(
        "XAmzContentSHA256Mismatch",
        "The provided 'x-amz-content-sha256' header does not match what was computed.",
      );
    }
    return { body: request.bytes, trailers: {} };
  }
  const decoded = decodeAwsChunked(request.bytes);
  const declared = header(request, "x-amz-decoded-content-length");
  if (declared === undefined || Number(declared) !== decoded.body.length) {
    throw new AwsError(
      "IncompleteBody",
      "You did not provide the number of bytes specified by the x-amz-decoded-content-length header.",
    );
  }
  return decoded;
}

/** aws-chunked: `<hex size>[;chunk-signature=...]\r\n<data>\r\n` ... `0\r\n<trailer lines>\r\n\r\n`. */
function decodeAwsChunked(bytes: Buffer): { body: Buffer; trailers: Record<string, string> } {
  const parts: Buffer[] = [];
  let at = 0;
  const malformed = () => new AwsError("IncompleteBody", "The request body terminated unexpectedly");
  for (;;) {
    const eol = bytes.indexOf("\r\n", at);
    if (eol === -1) throw malformed();
    const size = Number.parseInt(bytes.subarray(at, eol).toString("latin1").split(";")[0] ?? "", 16);
    if (!Number.isInteger(size) || size < 0) throw malformed();
    at = eol + 2;
    if (size === 0) break;
    if (at + size + 2 > bytes.length) throw malformed();
    parts.push(bytes.subarray(at, at + size));
    at += size + 2;
  }
  const trailers: Record<string, string> = {};
  for (const line of bytes.subarray(at).toString("latin1").split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon > 0) trailers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  return { body: Buffer.concat(parts), trailers };
}

function verifyContentMd5(request: WireRequest, body: Buffer): void {
  const md5 = header(request, "content-md5");
  if (md5 === undefined) return;
  if (Buffer.from(md5, "base64").length !== 16) {
    throw new AwsError("InvalidDigest", "The Content-MD5 you specified was invalid.");
  }
  if (createHash("md5").update(body).digest("base64") !== md5) {
    throw new AwsError("BadDigest", "The Content-MD5 you specified did not match what we received.");
  }
}

export type ChecksumAlgorithm = "crc32" | "crc32c" | "sha1" | "sha256";

const CHECKSUMS: Record<ChecksumAlgorithm, (body: Buffer) => string> = {
  crc32: (body) => u32(crc32(body)),
  crc32c: (body) => u32(crc32c(body)),
  sha1: (body) => createHash("sha1").update(body).digest("base64"),
  sha256: (body) => createHash("sha256").update(body).digest("base64"),
};

/** `x-amz-checksum-*` headers that say how to checksum, not what the checksum is. */
const CHECKSUM_CONTROL = new Set(["x-amz-checksum-type", "x-amz-checksum-mode", "x-amz-checksum-algorithm"]);

/** Checks the flexible checksum sent in a header or trailer; answers what to store. */
function verifyChecksum(
  request: WireRequest,
  trailers: Record<string, string>,
  body: Buffer,
): { algorithm: ChecksumAlgorithm; value: string } | undefined {
  const sent = new Map<string, string>();
  for (const [name, value] of Object.entries(request.headers)) {
    if (name.startsWith("x-amz-checksum-") && !CHECKSUM_CONTROL.has(name) && typeof value === "string") {
      sent.set(name, value);
    }
  }
  for (const [name, value] of Object.entries(trailers)) {
    if (name.startsWith("x-amz-checksum-")) sent.set(name, value);
  }
  if (sent.size > 1) {
    throw new AwsError(
      "InvalidRequest",
      "Expecting a single x-amz-checksum- header. Multiple checksum Types are not allowed.",
    );
  }
  const [entry] = sent;
  if (!entry) return undefined;
  const [name, value] = entry;
  const algorithm = name.slice("x-amz-checksum-".length);
  if (!(algorithm in CHECKSUMS)) {
    throw new AwsError("NotImplemented", `The stand-in does not verify ${name} checksums.`, 501);
  }
  const computed = CHECKSUMS[algorithm as ChecksumAlgorithm](body);
  if (computed !== value) {
    throw new AwsError(
      "BadDigest",
      `The ${algorithm.toUpperCase()} you specified did not match the calculated checksum.`,
    );
  }
  return { algorithm: algorithm as ChecksumAlgorithm, value };
}

function userMetadata(request: WireRequest): Record<string, string> {
  const metadata: Record<string, string> = {};
  let size = 0;
  for (const [name, value] of Object.entries(request.headers)) {
    if (!name.startsWith("x-amz-meta-") || value === undefined) continue;
    const key = name.slice("x-amz-meta-".length);
    const text = Array.isArray(value) ? value.join(",") : value;
    metadata[key] = text;
    size += Buffer.byteLength(key) + Buffer.byteLength(text);
  }
  if (size > MAX_USER_METADATA_BYTES) {
    throw new AwsError("MetadataTooLarge", "Your metadata headers exceed the maximum allowed metadata size.");
  }
  return metadata;
}

// ---- small helpers ---------------------------------------------------------------------------------------

function describe(key: string, v: StoredVersion, isLatest: boolean): S3ObjectVersion {
  return {
    key,
    versionId: v.versionId,
    body: Buffer.from(v.body),
    contentType: v.contentType,
    metadata: { ...v.metadata },
    etag: v.etag,
    size: v.body.length,
    lastModified: v.lastModified,
    isLatest,
    ...(v.checksum ? { checksum: { ...v.checksum } } : {}),
  };
}

/** S3 version ids: 32 URL-safe characters. */
function newVersionId(): string {
  return randomBytes(24).toString("base64url");
}

function compareKeys(a: string, b: string): number {
  return Buffer.compare(Buffer.from(a), Buffer.from(b));
}

function el(name: string, text: string): string {
  return `<${name}>${escapeXml(text)}</${name}>`;
}

function u32(value: number): string {
  const out = Buffer.alloc(4);
  out.writeUInt32BE(value >>> 0);
  return out.toString("base64");
}

let crc32cTable: Uint32Array | undefined;

/** CRC-32C (Castagnoli), reflected polynomial 0x82F63B78. */
function crc32c(bytes: Buffer): number {
  if (!crc32cTable) {
    crc32cTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      crc32cTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of bytes) crc = crc32cTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
