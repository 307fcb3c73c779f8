/**
 * SigV4 request signing with the AWS SDK's own signer (`@smithy/signature-v4`) and node:crypto's SHA-256, for
 * the requests this project sends without an SDK client: the CLI's calls of the HTTP API (`execute-api`) and
 * the read-only API routes' DynamoDB reads (signed-table.ts). SigV4A (`@smithy/signature-v4a`, pure
 * JavaScript: an ECDSA P-256 key derived from the credentials, a region SET instead of one region) for the
 * global APIs that accept nothing else: the CloudFront KeyValueStore data plane (viewer-revocations.ts).
 */
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";
import { SignatureV4a } from "@smithy/signature-v4a";

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface SigningContext {
  /** The signing name: `execute-api`, `dynamodb`, ... */
  service: string;
  region: string;
  credentials: AwsCredentials;
  /** The signing clock's reading; now when absent. */
  date?: Date;
}

/** SHA-256 / HMAC-SHA256 for the signer, from node:crypto. */
class NodeSha256 {
  readonly #secret: Buffer | undefined;
  #hash: Hash | Hmac;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.#secret = secret === undefined ? undefined : bytesOf(secret);
    this.#hash = this.#fresh();
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.#hash.update(bytesOf(data));
  }
  async digest(): Promise<Uint8Array> {
    return new Uint8Array(this.#hash.digest());
  }
  reset(): void {
    this.#hash = this.#fresh();
  }
  #fresh(): Hash | Hmac {
    return this.#secret ? createHmac("sha256", this.#secret) : createHash("sha256");
  }
}

function bytesOf(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === "string") return Buffer.from(data, "utf8");
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}

/**
 * The headers (host included) that sign `request` with SigV4. `url` is the URL as sent: path and query
 * already percent-encoded (RFC 3986); `headers` are signed with it.
 */
export async function signedHeaders(
  request: SignableRequest,
  signing: SigningContext,
): Promise<Record<string, string>> {
  const signer = new SignatureV4({
    service: signing.service,
    region: signing.region,
    credentials: signing.credentials,
    sha256: NodeSha256,
  });
  return signWith(signer, request, signing.date);
}

export interface SignableRequest {
  method: string;
  url: string;
  body?: string;
  headers?: Record<string, string>;
}

/**
 * The headers (host and `x-amz-region-set` included) that sign `request` with SigV4A for every region
 * (`*`), as the CloudFront KeyValueStore endpoint rules ask (botocore cloudfront-keyvaluestore
 * endpoint-rule-set: authSchemes sigv4a, signingName `cloudfront-keyvaluestore`, signingRegionSet `*`).
 */
export async function signedHeadersV4a(
  request: SignableRequest,
  signing: Omit<SigningContext, "region"> & { regionSet?: string },
): Promise<Record<string, string>> {
  const signer = new SignatureV4a({
    service: signing.service,
    region: signing.regionSet ?? "*",
    credentials: signing.credentials,
    sha256: NodeSha256,
  });
  return signWith(signer, request, signing.date);
}

async function signWith(
  signer: { sign(request: HttpRequest, options: { signingDate?: Date }): Promise<unknown> },
  request: SignableRequest,
  date: Date | undefined,
): Promise<Record<string, string>> {
  const url = new URL(request.url);
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = value;
  const signed = (await signer.sign(
    new HttpRequest({
      method: request.method,
      protocol: url.protocol,
      hostname: url.hostname,
      ...(url.port ? { port: Number(url.port) } : {}),
      path: url.pathname,
      query,
      headers: { host: url.host, ...request.headers },
      body: request.body,
    }),
    date ? { signingDate: date } : {},
  )) as HttpRequest;
  return signed.headers;
}
