/**
 * SigV4 request signing with the AWS SDK's own signer (`@smithy/signature-v4`) and node:crypto's SHA-256, for
 * the requests this project sends without an SDK client: the CLI's calls of the HTTP API (`execute-api`) and
 * the read-only API routes' DynamoDB reads (signed-table.ts).
 */
import { createHash, createHmac, type Hash, type Hmac } from "node:crypto";
import { HttpRequest } from "@smithy/protocol-http";
import { SignatureV4 } from "@smithy/signature-v4";

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
  request: { method: string; url: string; body?: string; headers?: Record<string, string> },
  signing: SigningContext,
): Promise<Record<string, string>> {
  const url = new URL(request.url);
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) query[name] = value;
  const signer = new SignatureV4({
    service: signing.service,
    region: signing.region,
    credentials: signing.credentials,
    sha256: NodeSha256,
  });
  const signed = await signer.sign(
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
    signing.date ? { signingDate: signing.date } : {},
  );
  return signed.headers;
}
