/**
 * The viewer revocation list: serial numbers of viewer certificates the edge must refuse, kept as keys of a
 * CloudFront KeyValueStore that the shipped connection function (functions/viewer/edge/deny-revoked.js)
 * reads. Keys are serials in their normal form (functions/core/viewer-serial.ts); values record why.
 *
 * Writes go through the KeyValueStore data plane (`cloudfront-keyvaluestore`), where every write carries the
 * store's current ETag (`If-Match`): a write that lost a race is refused with ConflictException and changes
 * nothing, so the adapter reads the ETag again and retries, a bounded number of times.
 *
 * AWS signs this API with SigV4A only ("The CloudFront KeyValueStore API is a global service that uses
 * Signature Version 4A (SigV4A) for authentication", developer guide, kvs-with-functions-kvp.html). The HTTP
 * client below takes its signer as a port; `keyValueStoreSigner` is the production one (SigV4A for every
 * region, sigv4.ts), `keyValueStoreEndpoint` the endpoint AWS's rules give a store's ARN.
 */
import { KEY_VALUE_STORE_ARN } from "../config/rules.ts";
import {
  InvalidViewerSerialError,
  MAX_REVOCATION_REASON,
  normalViewerSerial,
} from "../core/viewer-serial.ts";
import { AdapterError } from "./errors.ts";
import { type AwsCredentials, signedHeadersV4a } from "./sigv4.ts";

/** The data-plane operations the revocation list uses. */
export type KeyValueStoreOperation = "DescribeKeyValueStore" | "GetKey" | "PutKey" | "DeleteKey";

/**
 * One call of the KeyValueStore API: the model's input members in, its output members out (the `ETag`
 * header as `ETag`). Errors are KeyValueStoreError named by AWS's error code.
 */
export type KeyValueStoreSend = (
  operation: KeyValueStoreOperation,
  input: Record<string, string>,
) => Promise<Record<string, unknown>>;

export class KeyValueStoreError extends AdapterError {
  override name: string;
  readonly status: number;
  constructor(code: string, status: number, message: string) {
    // The caller is at fault for 4xx except a lost race (409): that one a later attempt can win.
    super(`${code}: ${message}`, { retryable: status >= 500 || status === 409 || status === 429 });
    this.name = code;
    this.status = status;
  }
}

/** Signs a request (method, URL, headers, body) for `cloudfront-keyvaluestore`: the headers to add. */
export type KeyValueStoreSigner = (request: {
  method: string;
  url: string;
  headers: Record<string, string>;
  body: string;
}) => Promise<Record<string, string>>;

/** The signing name of the KeyValueStore data plane (botocore cloudfront-keyvaluestore endpoint rules). */
export const KEY_VALUE_STORE_SIGNING_NAME = "cloudfront-keyvaluestore";

/**
 * The production signer: SigV4A over every region (`*`), as the endpoint rules' auth scheme says, with the
 * credentials `credentials` gives at each call (a Lambda role's rotate; a resolver is asked every time).
 */
export function keyValueStoreSigner(
  credentials: () => Promise<AwsCredentials>,
  now: () => Date = () => new Date(),
): KeyValueStoreSigner {
  return async (request) =>
    signedHeadersV4a(request, {
      service: KEY_VALUE_STORE_SIGNING_NAME,
      credentials: await credentials(),
      date: now(),
    });
}

export class InvalidKeyValueStoreArnError extends Error {
  override name = "InvalidKeyValueStoreArnError";
}

/**
 * The endpoint of a store, by AWS's endpoint rules (botocore cloudfront-keyvaluestore
 * endpoint-rule-set-1.json): `https://<account id>.cloudfront-kvs.global.api.aws` for an ARN of the `aws`
 * partition, service `cloudfront`, no region, resource `key-value-store/...`; the rules refuse FIPS and other
 * ARNs, and so does this.
 */
export function keyValueStoreEndpoint(storeArn: string): string {
  const match = KEY_VALUE_STORE_ARN.exec(storeArn);
  if (!match)
    throw new InvalidKeyValueStoreArnError(
      `not a CloudFront KeyValueStore ARN (arn:aws:cloudfront::<account>:key-value-store/<id>): ${storeArn}`,
    );
  return `https://${match[1]}.cloudfront-kvs.global.api.aws`;
}

/**
 * A small REST-JSON client of the four operations, by the model's HTTP bindings (botocore
 * cloudfront-keyvaluestore 2022-07-26): `GET /key-value-stores/{KvsARN}`, `GET|PUT|DELETE
 * /key-value-stores/{KvsARN}/keys/{Key}`, `If-Match` and `ETag` as headers, `{"Value"}` as PutKey's body.
 */
export function keyValueStoreHttpSend(options: {
  endpoint: string;
  sign: KeyValueStoreSigner;
  fetch?: typeof fetch;
}): KeyValueStoreSend {
  const doFetch = options.fetch ?? fetch;
  return async (operation, input) => {
    const store = `/key-value-stores/${encodeURIComponent(input.KvsARN ?? "")}`;
    const keyPath = `${store}/keys/${encodeURIComponent(input.Key ?? "")}`;
    const headers: Record<string, string> = {};
    if (input.IfMatch !== undefined) headers["if-match"] = input.IfMatch;
    let method = "GET";
    let path = keyPath;
    let body = "";
    if (operation === "DescribeKeyValueStore") path = store;
    if (operation === "DeleteKey") method = "DELETE";
    if (operation === "PutKey") {
      method = "PUT";
      body = JSON.stringify({ Value: input.Value });
      headers["content-type"] = "application/json";
    }
    const url = `${options.endpoint.replace(/\/$/, "")}${path}`;
    const signed = await options.sign({ method, url, headers, body });
    const response = await doFetch(url, {
      method,
      headers: { ...headers, ...signed },
      ...(body ? { body } : {}),
    });
    const text = await response.text();
    const parsed = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    if (!response.ok) {
      const code = response.headers.get("x-amzn-errortype")?.split(":")[0] ?? `Http${response.status}`;
      const message = typeof parsed.Message === "string" ? parsed.Message : response.statusText;
      throw new KeyValueStoreError(code, response.status, message);
    }
    const etag = response.headers.get("etag");
    return etag === null ? parsed : { ...parsed, ETag: etag };
  };
}

export { MAX_REVOCATION_REASON };

/** The largest value a KeyValueStore keeps, in UTF-8 bytes (PutKey's Value: at most 1 KB). */
export const MAX_REVOCATION_RECORD_BYTES = 1024;

/** What the store keeps under a revoked serial: why, when, and who (never key material). */
export interface RevocationRecord {
  reason: string;
  revokedAt: string;
  /** The principal that revoked it (the API's caller); absent on records written without one. */
  revokedBy?: string;
}

export interface RevokeResult {
  /** The serial as the store keys it. */
  serial: string;
  /** true when the serial was already revoked: the earlier record is kept. */
  alreadyRevoked: boolean;
  /** The record in the store: the new one, or the earlier one when it was already revoked. */
  record: RevocationRecord;
}

export interface ViewerRevocationsOptions {
  send: KeyValueStoreSend;
  /** The ARN of the revocation KeyValueStore (the one associated with the connection function). */
  storeArn: string;
  now?: () => Date;
  /** Attempts of one write when other writers keep changing the store's ETag (default 4). */
  maxAttempts?: number;
}

export class ViewerRevocations {
  readonly #send: KeyValueStoreSend;
  readonly #arn: string;
  readonly #now: () => Date;
  readonly #maxAttempts: number;

  constructor(options: ViewerRevocationsOptions) {
    this.#send = options.send;
    this.#arn = options.storeArn;
    this.#now = options.now ?? (() => new Date());
    this.#maxAttempts = options.maxAttempts ?? 4;
  }

  /**
   * Adds `serialText` to the list, recording why, when and (when given) who. Bad input (no hex serial, a
   * reason too long, a record over the store's 1 KB values) is refused before any call. Revoking a revoked
   * serial changes nothing and says so.
   */
  async revoke(
    serialText: string,
    reason = "revoked by operator",
    revokedBy?: string,
  ): Promise<RevokeResult> {
    const serial = normalViewerSerial(serialText);
    if (reason.length > MAX_REVOCATION_REASON) {
      throw new InvalidViewerSerialError(
        `a revocation reason has at most ${MAX_REVOCATION_REASON} characters`,
      );
    }
    const record: RevocationRecord = {
      reason,
      revokedAt: this.#now().toISOString(),
      ...(revokedBy === undefined ? {} : { revokedBy }),
    };
    const value = JSON.stringify(record);
    if (Buffer.byteLength(value, "utf8") > MAX_REVOCATION_RECORD_BYTES) {
      throw new InvalidViewerSerialError(
        `a revocation record is at most ${MAX_REVOCATION_RECORD_BYTES} bytes (the store's value limit): shorten the reason`,
      );
    }
    const earlier = await this.record(serial);
    if (earlier !== undefined) return { serial, alreadyRevoked: true, record: earlier };
    await this.#conditionally((IfMatch) =>
      this.#send("PutKey", { KvsARN: this.#arn, Key: serial, Value: value, IfMatch }),
    );
    return { serial, alreadyRevoked: false, record };
  }

  /** Takes `serialText` off the list (a revocation made by mistake); false when it was not on it. */
  async reinstate(serialText: string): Promise<boolean> {
    return (await this.withdraw(serialText)) !== undefined;
  }

  /**
   * Takes `serialText` off the list and answers the record it had, or undefined when it was not on it (then
   * nothing changed).
   */
  async withdraw(serialText: string): Promise<RevocationRecord | undefined> {
    const serial = normalViewerSerial(serialText);
    const earlier = await this.record(serial);
    if (earlier === undefined) return undefined;
    try {
      await this.#conditionally((IfMatch) =>
        this.#send("DeleteKey", { KvsARN: this.#arn, Key: serial, IfMatch }),
      );
    } catch (error) {
      // Another writer reinstated it between our read and our delete: the outcome asked for holds.
      if (error instanceof KeyValueStoreError && error.name === "ResourceNotFoundException") return undefined;
      throw error;
    }
    return earlier;
  }

  /** The record of a revoked serial (already in normal form), or undefined when it is not revoked. */
  async record(serial: string): Promise<RevocationRecord | undefined> {
    try {
      const out = await this.#send("GetKey", { KvsARN: this.#arn, Key: serial });
      return JSON.parse(String(out.Value)) as RevocationRecord;
    } catch (error) {
      if (error instanceof KeyValueStoreError && error.name === "ResourceNotFoundException") return undefined;
      throw error;
    }
  }

  /** Runs `write` with the store's current ETag; after a lost race reads the ETag again, boundedly. */
  async #conditionally(write: (ifMatch: string) => Promise<unknown>): Promise<void> {
    let lastConflict: unknown;
    for (let attempt = 1; attempt <= this.#maxAttempts; attempt++) {
      const described = await this.#send("DescribeKeyValueStore", { KvsARN: this.#arn });
      const etag = described.ETag;
      if (typeof etag !== "string") throw new AdapterError("DescribeKeyValueStore answered no ETag");
      try {
        await write(etag);
        return;
      } catch (error) {
        if (!(error instanceof KeyValueStoreError && error.name === "ConflictException")) throw error;
        lastConflict = error;
      }
    }
    throw new AdapterError(
      `the revocation list kept changing: ${this.#maxAttempts} conditional writes lost to other writers`,
      { cause: lastConflict, retryable: true },
    );
  }
}
